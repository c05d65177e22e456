// Package post makes a run's letters for the post into a print batch: one
// print-ready PDF of all of them and a CSV manifest for the mailing house.
// Both are a pure function of the letters' snapshots, made again whenever
// they are downloaded (like every PDF impactd serves), so nothing is
// stored but the batch's record (store.EnsureBatch) and the same batch
// gives the same bytes every time.
package post

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"impactd/internal/domain"
)

// Renderer turns a snapshot into a PDF; *letter.Renderer is the real one.
type Renderer interface {
	Render(w io.Writer, s *domain.Snapshot, contentHash string) error
}

// Letter is one letter of a batch: its statement, and where it goes.
type Letter struct {
	StatementID string
	Snapshot    *domain.Snapshot
	ContentHash string
	Country     string // ISO code
	Postcode    string
}

// Printed is a batch made into files.
type Printed struct {
	PDF      []byte
	Manifest []byte // CSV
	Letters  int
	Pages    int // of the PDF, blank pages included
}

// manifestLines is how many address columns the manifest has; a longer
// address (none of the formats in internal/address makes one) has its last
// lines joined into the last column.
const manifestLines = 6

// Assemble prints letters as a batch, in the order a mailing house wants
// them: by country, then postcode, then statement id (so that the order,
// and the bytes, never depend on how the letters were read). Each letter
// starts on an odd page, for duplex printing: a letter of an odd number of
// pages is followed by a blank page. The address already sits in the
// window position of each letter's first page (internal/letter). created
// (the batch's creation time) dates the PDF, so that the same batch gives
// the same bytes.
func Assemble(r Renderer, letters []Letter, created time.Time) (*Printed, error) {
	if len(letters) == 0 {
		return nil, domain.Errorf(domain.EINVALID, "a print batch needs at least one letter")
	}
	ls := slices.Clone(letters)
	slices.SortFunc(ls, func(a, b Letter) int {
		return cmp.Or(strings.Compare(a.Country, b.Country), strings.Compare(a.Postcode, b.Postcode),
			strings.Compare(a.StatementID, b.StatementID))
	})
	conf := config()
	var parts []io.ReadSeeker
	var rows [][]string
	page, hashes := 1, sha256.New()
	for _, l := range ls {
		var buf bytes.Buffer
		if err := r.Render(&buf, l.Snapshot, l.ContentHash); err != nil {
			return nil, fmt.Errorf("print batch: statement %s: %w", l.StatementID, err)
		}
		n, err := api.PageCount(bytes.NewReader(buf.Bytes()), conf)
		if err != nil {
			return nil, fmt.Errorf("print batch: statement %s: count pages: %w", l.StatementID, err)
		}
		parts = append(parts, bytes.NewReader(buf.Bytes()))
		rows = append(rows, manifestRow(l, n, page))
		page += n
		if n%2 == 1 {
			blank, err := blankPage(l.Snapshot.PaperSize)
			if err != nil {
				return nil, err
			}
			parts = append(parts, bytes.NewReader(blank))
			page++
		}
		hashes.Write([]byte(l.StatementID + ":" + l.ContentHash + "\n"))
	}
	var out bytes.Buffer
	if err := api.MergeRaw(parts, &out, false, conf); err != nil {
		return nil, fmt.Errorf("print batch: merge: %w", err)
	}
	pdf, err := canonical(out.Bytes())
	if err != nil {
		return nil, err
	}
	if pdf, err = settle(pdf, created, hashes.Sum(nil)); err != nil {
		return nil, err
	}
	var man bytes.Buffer
	w := csv.NewWriter(&man)
	head := []string{"statement_id", "name"}
	for i := 1; i <= manifestLines; i++ {
		head = append(head, "address_line_"+strconv.Itoa(i))
	}
	head = append(head, "country", "postcode", "pages", "first_page")
	if err := w.Write(head); err != nil {
		return nil, fmt.Errorf("print batch: manifest: %w", err)
	}
	if err := w.WriteAll(rows); err != nil {
		return nil, fmt.Errorf("print batch: manifest: %w", err)
	}
	return &Printed{PDF: pdf, Manifest: man.Bytes(), Letters: len(ls), Pages: page - 1}, nil
}

// manifestRow is a letter's line of the manifest: who, the address lines as
// the envelope shows them, and where the letter is in the PDF.
func manifestRow(l Letter, pages, first int) []string {
	lines := make([]string, manifestLines)
	for i, a := range l.Snapshot.Donor.Address {
		if i < manifestLines {
			lines[i] = a
		} else {
			lines[manifestLines-1] += ", " + a
		}
	}
	row := []string{l.StatementID, l.Snapshot.Donor.Name}
	row = append(row, lines...)
	row = append(row, l.Country, l.Postcode, strconv.Itoa(pages), strconv.Itoa(first))
	for i := range row {
		row[i] = cell(row[i])
	}
	return row
}

// cell keeps a spreadsheet from reading a value as a formula: a value that
// starts with =, +, - or @ gets a leading apostrophe, which spreadsheets
// show as text (OWASP, "CSV Injection").
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

var (
	configOnce sync.Once
	blanks     sync.Map // paper size → PDF bytes
)

// config is pdfcpu's configuration for the batch: no configuration
// directory on disk, and every object written plainly (no object or xref
// streams) so that settle can find the dates and the file id.
func config() *model.Configuration {
	configOnce.Do(api.DisableConfigDir)
	conf := model.NewDefaultConfiguration()
	conf.WriteObjectStream = false
	conf.WriteXRefStream = false
	conf.ValidationMode = model.ValidationRelaxed
	// pdfcpu's optimiser (shared fonts and resources) numbers what it
	// keeps in the order of a Go map: off, so that the same letters make
	// the same file. Each letter keeps its own font subsets.
	conf.Optimize, conf.OptimizeBeforeWriting = false, false
	return conf
}

// blankPage is a PDF of one empty page of the letter's paper size.
func blankPage(paper string) ([]byte, error) {
	if paper != "Letter" {
		paper = "A4"
	}
	if b, ok := blanks.Load(paper); ok {
		return b.([]byte), nil
	}
	f := fpdf.New("P", "mm", paper, "")
	f.SetCreationDate(time.Unix(0, 0).UTC())
	f.SetModificationDate(time.Unix(0, 0).UTC())
	f.AddPage()
	var buf bytes.Buffer
	if err := f.Output(&buf); err != nil {
		return nil, fmt.Errorf("print batch: blank page: %w", err)
	}
	blanks.Store(paper, buf.Bytes())
	return buf.Bytes(), nil
}

var (
	pdfDate = regexp.MustCompile(`/(?:CreationDate|ModDate)\s*\((D:[^)]*)\)`)
	fileID  = regexp.MustCompile(`/ID\s*\[\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*\]`)
)

// settle makes pdfcpu's output the same for the same batch: pdfcpu dates
// the document and derives its file identifier from the clock as it
// writes. The dates become the batch's creation time and the identifier a
// hash of the letters; each replacement has the length of what it
// replaces, so every byte offset in the cross-reference table stays true.
func settle(pdf []byte, created time.Time, sum []byte) ([]byte, error) {
	date := types.DateString(created.UTC())
	out := slices.Clone(pdf)
	for _, m := range pdfDate.FindAllSubmatchIndex(out, -1) {
		if m[3]-m[2] != len(date) {
			return nil, fmt.Errorf("print batch: a PDF date of unexpected length %q", out[m[2]:m[3]])
		}
		copy(out[m[2]:m[3]], date)
	}
	id := strings.Repeat(hex.EncodeToString(sum), 4)
	ms := fileID.FindAllSubmatchIndex(out, -1)
	if len(ms) == 0 {
		return nil, fmt.Errorf("print batch: the merged PDF has no file identifier")
	}
	for _, m := range ms {
		for g := 2; g < len(m); g += 2 {
			if n := m[g+1] - m[g]; n > len(id) {
				return nil, fmt.Errorf("print batch: a file identifier of unexpected length %d", n)
			}
			copy(out[m[g]:m[g+1]], id[:m[g+1]-m[g]])
		}
	}
	return out, nil
}

// canonical writes pdfcpu's output again with its objects numbered and
// laid out in one order: the order in which they are reached from the
// trailer, each object's references in the order they are written. pdfcpu
// numbers the objects of a merge in the order of a Go map, so two merges of
// the same letters differ in numbering and layout though not in content.
// The objects are found through the file's cross-reference table (a plain
// table: config turns xref and object streams off); references are
// rewritten in the objects' dictionaries only, never inside a stream's data
// (a page's content refers to its resources by name, not by number).
func canonical(pdf []byte) ([]byte, error) {
	fail := func(what string) ([]byte, error) {
		return nil, fmt.Errorf("print batch: the merged PDF %s", what)
	}
	sx := bytes.LastIndex(pdf, []byte("startxref"))
	if sx < 0 {
		return fail("has no startxref")
	}
	fields := strings.Fields(string(pdf[sx+len("startxref"):]))
	if len(fields) == 0 {
		return fail("has no xref offset")
	}
	xref, err := strconv.Atoi(fields[0])
	if err != nil || xref <= 0 || xref >= sx || !bytes.HasPrefix(pdf[xref:], []byte("xref")) {
		return fail("has no cross-reference table where startxref says")
	}
	tr := bytes.Index(pdf[xref:], []byte("trailer"))
	if tr < 0 {
		return fail("has no trailer")
	}
	tr += xref
	offs := map[int]int{}
	lines := strings.Split(strings.ReplaceAll(string(pdf[xref+len("xref"):tr]), "\r", ""), "\n")
	for i := 0; i < len(lines); i++ {
		head := strings.Fields(lines[i])
		if len(head) == 0 {
			continue
		}
		first, err1 := strconv.Atoi(head[0])
		n, err2 := 0, error(nil)
		if len(head) == 2 {
			n, err2 = strconv.Atoi(head[1])
		}
		if len(head) != 2 || err1 != nil || err2 != nil || i+n >= len(lines) {
			return fail("has a cross-reference section it cannot read")
		}
		for k := range n {
			e := strings.Fields(lines[i+1+k])
			if len(e) != 3 {
				return fail("has a cross-reference entry it cannot read")
			}
			if e[2] == "n" {
				off, err := strconv.Atoi(e[0])
				if err != nil || off <= 0 || off >= xref {
					return fail("has an object offset out of range")
				}
				offs[first+k] = off
			}
		}
		i += n
	}
	if len(offs) == 0 {
		return fail("has no objects")
	}
	sorted := make([]int, 0, len(offs))
	for _, off := range offs {
		sorted = append(sorted, off)
	}
	slices.Sort(sorted)
	// Each object: its dictionary (or other value) and its stream, if any.
	type obj struct{ dict, stream []byte }
	objs := map[int]obj{}
	for num, off := range offs {
		i, _ := slices.BinarySearch(sorted, off)
		end := xref
		if i+1 < len(sorted) {
			end = sorted[i+1]
		}
		chunk := pdf[off:end]
		head := fmt.Sprintf("%d 0 obj", num)
		if !bytes.HasPrefix(chunk, []byte(head)) {
			return fail("has an object where the table does not say")
		}
		body := chunk[len(head):]
		stop := bytes.LastIndex(body, []byte("endobj"))
		if stop < 0 {
			return fail("has an object without endobj")
		}
		body = body[:stop]
		o := obj{dict: body}
		if k := bytes.Index(body, []byte(">>\nstream")); k >= 0 {
			o = obj{dict: body[:k+2], stream: body[k+2:]}
		}
		objs[num] = o
	}
	trailer := pdf[tr:sx]
	// Number the objects in the order they are reached.
	renum := map[int]int{}
	var order []int
	queue := []int{}
	visit := func(b []byte) {
		for _, m := range refRE.FindAllSubmatch(b, -1) {
			n, _ := strconv.Atoi(string(m[1]))
			if _, ok := objs[n]; ok {
				if _, seen := renum[n]; !seen {
					renum[n] = len(order) + 1
					order = append(order, n)
					queue = append(queue, n)
				}
			}
		}
	}
	visit(trailer)
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		visit(objs[n].dict)
	}
	if len(order) != len(objs) {
		return fail("has objects nothing refers to")
	}
	rewrite := func(b []byte) []byte {
		return refRE.ReplaceAllFunc(b, func(m []byte) []byte {
			n, _ := strconv.Atoi(string(refRE.FindSubmatch(m)[1]))
			if nn, ok := renum[n]; ok {
				return []byte(strconv.Itoa(nn) + " 0 R")
			}
			return m
		})
	}
	var out bytes.Buffer
	out.Write(pdf[:sorted[0]])
	newOffs := make([]int, len(order)+1)
	for i, n := range order {
		newOffs[i+1] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj", i+1)
		out.Write(rewrite(objs[n].dict))
		out.Write(objs[n].stream)
		out.WriteString("endobj\n")
	}
	newXref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f\r\n", len(order)+1)
	for _, off := range newOffs[1:] {
		fmt.Fprintf(&out, "%010d 00000 n\r\n", off)
	}
	t := rewrite(trailer)
	t = sizeRE.ReplaceAll(t, []byte("/Size "+strconv.Itoa(len(order)+1)))
	out.Write(t)
	fmt.Fprintf(&out, "startxref\n%d\n%%%%EOF\n", newXref)
	return out.Bytes(), nil
}

var (
	refRE  = regexp.MustCompile(`\b(\d+) 0 R\b`)
	sizeRE = regexp.MustCompile(`/Size \d+`)
)
