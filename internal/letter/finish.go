package letter

import (
	"bytes"
	"compress/zlib"
	"crypto/md5"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
)

// finish is the post-step between fpdf's output and the letter's bytes.
// fpdf writes the pages uncompressed (SetCompression(false)) and finish
//
//   - compresses each uncompressed stream with a zlib writer from a pool:
//     fpdf makes a new writer for every page (about 1 MB to allocate and
//     clear), which was a quarter of a letter's time;
//   - gives each embedded font a /ToUnicode map, which fpdf's 8-bit font
//     route cannot write, so that text copies and reads aloud from the codes
//     themselves and not only through the glyph names;
//   - adds the binary comment after the header and the trailer's /ID that
//     PDF/A asks for, the ID derived from the letter's content hash.
//
// It reads fpdf's own output, whose layout is fixed (one "N 0 obj" per
// object, a single classic xref table, a trailer with /Size, /Root and
// /Info), and fails rather than guess when it finds anything else.
func (r *Renderer) finish(dst *bytes.Buffer, src []byte, contentHash string) error {
	objs, xref, err := splitObjects(src)
	if err != nil {
		return fmt.Errorf("finish pdf: %w", err)
	}
	trailer := src[xref:]
	size, err := dictInt(trailer, "/Size")
	if err != nil {
		return fmt.Errorf("finish pdf: trailer: %w", err)
	}
	root, err1 := dictInt(trailer, "/Root")
	info, err2 := dictInt(trailer, "/Info")
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("finish pdf: trailer: %w", err)
	}
	header := src[:objs[0].off]
	if !bytes.HasPrefix(header, []byte("%PDF-1.")) {
		return errors.New("finish pdf: no PDF header")
	}

	// The ToUnicode maps come after fpdf's objects, one per block used.
	next := size
	cmapObj := map[int]int{}
	var extra []int // blocks, in the order their maps are written

	offsets := make([]int, size+2*len(r.fonts.blocks))
	dst.Grow(len(src) * 3 / 4)
	dst.Write(bytes.TrimRight(header, "\n"))
	dst.WriteString("\n%\xe2\xe3\xcf\xd3\n")
	for _, o := range objs {
		offsets[o.num] = dst.Len()
		body := o.body
		switch {
		case isPlainStream(body):
			if err := compressStream(dst, o.num, body); err != nil {
				return fmt.Errorf("finish pdf: object %d: %w", o.num, err)
			}
			continue
		case bytes.HasPrefix(body, []byte("<</Type /Font\n/BaseFont /"+subsetPrefix)):
			b, ok := r.fontBlock(body)
			if !ok {
				return fmt.Errorf("finish pdf: object %d: unknown font", o.num)
			}
			n, seen := cmapObj[b]
			if !seen {
				n = next
				next++
				cmapObj[b] = n
				extra = append(extra, b)
			}
			end := bytes.LastIndex(body, []byte(">>"))
			fmt.Fprintf(dst, "%d 0 obj\n", o.num)
			dst.Write(body[:end])
			fmt.Fprintf(dst, "/ToUnicode %d 0 R", n)
			dst.Write(body[end:])
			continue
		}
		fmt.Fprintf(dst, "%d 0 obj\n", o.num)
		dst.Write(body)
	}
	for _, b := range extra {
		n := cmapObj[b]
		offsets[n] = dst.Len()
		z := r.fonts.blocks[b].toUnicode
		fmt.Fprintf(dst, "%d 0 obj\n<</Filter /FlateDecode /Length %d>>\nstream\n", n, len(z))
		dst.Write(z)
		dst.WriteString("\nendstream\nendobj\n")
	}
	start := dst.Len()
	fmt.Fprintf(dst, "xref\n0 %d\n0000000000 65535 f \n", next)
	for n := 1; n < next; n++ {
		fmt.Fprintf(dst, "%010d 00000 n \n", offsets[n])
	}
	id := md5.Sum([]byte(contentHash))
	fmt.Fprintf(dst, "trailer\n<<\n/Size %d\n/Root %d 0 R\n/Info %d 0 R\n/ID [<%x> <%x>]\n>>\nstartxref\n%d\n%%%%EOF\n",
		next, root, info, id, id, start)
	return nil
}

// subsetPrefix starts the PostScript name of every cut font (cutfonts'
// subsetTag): IMPD, then a letter for the block and one for the style.
const subsetPrefix = "IMPD"

// fontBlock reads the block of a font dictionary from its subset tag.
func (r *Renderer) fontBlock(dict []byte) (int, bool) {
	i := len("<</Type /Font\n/BaseFont /" + subsetPrefix)
	if len(dict) <= i {
		return 0, false
	}
	b := int(dict[i] - 'A')
	return b, b >= 0 && b < len(r.fonts.blocks)
}

// object is one "N 0 obj … endobj" of fpdf's output, without its first line.
type object struct {
	num, off int
	body     []byte
}

// splitObjects cuts fpdf's output into its objects, in the order they
// appear, using its xref table; xref is where the table starts.
func splitObjects(src []byte) (objs []object, xref int, err error) {
	i := bytes.LastIndex(src, []byte("\nstartxref\n"))
	if i < 0 {
		return nil, 0, errors.New("no startxref")
	}
	rest := src[i+len("\nstartxref\n"):]
	j := bytes.IndexByte(rest, '\n')
	if j < 0 {
		return nil, 0, errors.New("startxref has no offset")
	}
	xref, err = strconv.Atoi(string(rest[:j]))
	if err != nil || xref <= 0 || xref >= len(src) || !bytes.HasPrefix(src[xref:], []byte("xref\n0 ")) {
		return nil, 0, errors.New("startxref does not point at an xref table")
	}
	t := src[xref+len("xref\n0 "):]
	j = bytes.IndexByte(t, '\n')
	count, err := strconv.Atoi(string(t[:max(j, 0)]))
	if j < 0 || err != nil || count < 2 {
		return nil, 0, errors.New("bad xref subsection")
	}
	t = t[j+1:]
	const entry = 20
	if len(t) < count*entry {
		return nil, 0, errors.New("short xref table")
	}
	for n := 1; n < count; n++ {
		e := t[n*entry : n*entry+entry]
		off, err := strconv.Atoi(string(e[:10]))
		if err != nil || e[17] != 'n' {
			return nil, 0, fmt.Errorf("xref entry %d: %q", n, e)
		}
		objs = append(objs, object{num: n, off: off})
	}
	slices.SortFunc(objs, func(a, b object) int { return a.off - b.off })
	for k := range objs {
		end := xref
		if k+1 < len(objs) {
			end = objs[k+1].off
		}
		o := &objs[k]
		if o.off >= end {
			return nil, 0, fmt.Errorf("object %d has no bytes", o.num)
		}
		head := fmt.Appendf(nil, "%d 0 obj\n", o.num)
		if !bytes.HasPrefix(src[o.off:end], head) {
			return nil, 0, fmt.Errorf("object %d is not where the xref says", o.num)
		}
		o.body = src[o.off+len(head) : end]
	}
	return objs, xref, nil
}

// isPlainStream reports whether an object is a stream without a filter:
// fpdf's page contents ("<</Length n>>"); the font files it copies are
// compressed already.
func isPlainStream(body []byte) bool {
	if !bytes.HasPrefix(body, []byte("<</Length ")) {
		return false
	}
	i := bytes.Index(body, []byte(">>\nstream\n"))
	return i > 0 && !bytes.Contains(body[:i], []byte("/Filter"))
}

// dictInt reads "KEY n" from a dictionary.
func dictInt(b []byte, key string) (int, error) {
	i := bytes.Index(b, []byte(key+" "))
	if i < 0 {
		return 0, fmt.Errorf("no %s", key)
	}
	rest := b[i+len(key)+1:]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	return strconv.Atoi(string(rest[:j]))
}

// zlibPool holds zlib writers between letters: Reset reuses a writer's
// state, where zlib.NewWriter allocates and clears it anew.
var zlibPool = sync.Pool{New: func() any {
	w, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed)
	return w
}}

// compressStream writes object num, an uncompressed stream
// "<</Length n>>\nstream\n…\nendstream\nendobj\n", compressed.
func compressStream(dst *bytes.Buffer, num int, body []byte) error {
	n, err := dictInt(body, "/Length")
	if err != nil {
		return err
	}
	i := bytes.Index(body, []byte(">>\nstream\n"))
	if i < 0 || bytes.Contains(body[:i], []byte("/Filter")) {
		return errors.New("not an uncompressed stream")
	}
	data := body[i+len(">>\nstream\n"):]
	if len(data) < n || !bytes.HasPrefix(data[n:], []byte("\nendstream\nendobj")) {
		return errors.New("stream length does not match")
	}
	var z bytes.Buffer
	z.Grow(n / 3)
	w := zlibPool.Get().(*zlib.Writer)
	w.Reset(&z)
	_, err = w.Write(data[:n])
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	zlibPool.Put(w)
	if err != nil {
		return err
	}
	fmt.Fprintf(dst, "%d 0 obj\n<</Filter /FlateDecode /Length %d>>\nstream\n", num, z.Len())
	dst.Write(z.Bytes())
	dst.WriteString("\nendstream\nendobj\n")
	return nil
}

// toUnicodeCMap returns the compressed ToUnicode CMap of an 8-bit block
// whose codes print runes.
func toUnicodeCMap(runes *[256]rune) []byte {
	var b bytes.Buffer
	b.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n" +
		"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<00> <FF>\nendcodespacerange\n")
	var codes []int
	for c, r := range runes {
		if r != 0 {
			codes = append(codes, c)
		}
	}
	for len(codes) > 0 {
		k := min(len(codes), 100) // at most 100 entries per section
		fmt.Fprintf(&b, "%d beginbfchar\n", k)
		for _, c := range codes[:k] {
			fmt.Fprintf(&b, "<%02X> <", c)
			for _, u := range utf16Units(runes[c]) {
				fmt.Fprintf(&b, "%04X", u)
			}
			b.WriteString(">\n")
		}
		b.WriteString("endbfchar\n")
		codes = codes[k:]
	}
	b.WriteString("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend")
	var z bytes.Buffer
	w, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	w.Write(b.Bytes())
	w.Close()
	return z.Bytes()
}

// utf16Units is r in UTF-16, as ToUnicode maps write it.
func utf16Units(r rune) []uint16 {
	if r < 0x10000 {
		return []uint16{uint16(r)}
	}
	r -= 0x10000
	return []uint16{uint16(0xD800 + r>>10), uint16(0xDC00 + r&0x3FF)}
}
