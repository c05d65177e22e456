package letter

//go:generate go run ./cutfonts -src fonts -out fonts/cut

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// cutFonts holds Noto Sans and Noto Sans Bold cut once, by cutfonts, into
// 8-bit TrueType fonts that fpdf embeds as they are: blocks.txt names the
// blocks in order, and each has an encoding (NAME.map, in fpdf's format) and,
// per style, fpdf's definition file (NAME-regular.json) and the compressed
// font (NAME-regular.z). Their source (Debian's fonts-noto-core) and its
// SIL Open Font License are in fonts/LICENSE.
//
//go:embed fonts/cut
var cutFonts embed.FS

// Styles, as indexes into the per-style arrays below.
const (
	regular = iota
	bold
)

// styleNames are the file suffixes and fpdf style strings of the styles.
var styleNames = [2]struct{ file, fpdf string }{{"regular", ""}, {"bold", "B"}}

// fontBlock is one 8-bit font in both styles.
type fontBlock struct {
	// family is the name the document registers it under.
	family string
	// def and z are fpdf's definition JSON and the compressed TrueType
	// font, handed to AddFontFromBytes in each document that uses the block.
	def, z [2][]byte
	// cw are the advance widths of codes 0–255, in thousandths of the font
	// size, as fpdf measures them.
	cw [2][256]int
	// toUnicode is the block's compressed ToUnicode CMap (finish adds it
	// to the fonts, which fpdf's 8-bit route writes without one).
	toUnicode []byte
}

// fontSet is the parsed, immutable font data shared by every render.
type fontSet struct {
	// blocks[0] is Windows-1252 (/WinAnsiEncoding) with a few extras on its
	// undefined codes (the minus sign among them): every letter's copy is
	// set in it. Later blocks hold the rest of the repertoire.
	blocks []fontBlock
	// glyph maps a BMP rune to (block index + 1) << 8 | code; 0 means no
	// block can print it.
	glyph [0x10000]uint16
}

// loadFonts reads the cut fonts. All font work — parsing definitions,
// building the rune table — happens here, once per Renderer.
func loadFonts() (*fontSet, error) {
	manifest, err := cutFonts.ReadFile("fonts/cut/blocks.txt")
	if err != nil {
		return nil, fmt.Errorf("load fonts: %w", err)
	}
	fs := &fontSet{}
	for i, name := range strings.Fields(string(manifest)) {
		if i >= 0xFF {
			return nil, fmt.Errorf("load fonts: too many blocks")
		}
		bl := fontBlock{family: fontFamily}
		if i > 0 {
			bl.family = fmt.Sprintf("%s%d", fontFamily, i)
		}
		for st, sn := range styleNames {
			base := "fonts/cut/" + name + "-" + sn.file
			if bl.def[st], err = cutFonts.ReadFile(base + ".json"); err != nil {
				return nil, fmt.Errorf("load fonts: %w", err)
			}
			if bl.z[st], err = cutFonts.ReadFile(base + ".z"); err != nil {
				return nil, fmt.Errorf("load fonts: %w", err)
			}
			var def struct {
				Tp   string
				Cw   []int
				File string
			}
			if err := json.Unmarshal(bl.def[st], &def); err != nil {
				return nil, fmt.Errorf("load fonts: %s.json: %w", base, err)
			}
			if def.Tp != "TrueType" || len(def.Cw) != 256 || def.File != name+"-"+sn.file+".z" {
				return nil, fmt.Errorf("load fonts: %s.json is not an 8-bit TrueType definition of %s", base, def.File)
			}
			copy(bl.cw[st][:], def.Cw)
		}
		enc, err := cutFonts.ReadFile("fonts/cut/" + name + ".map")
		if err != nil {
			return nil, fmt.Errorf("load fonts: %w", err)
		}
		var runes [256]rune
		sc := bufio.NewScanner(bytes.NewReader(enc))
		for sc.Scan() {
			var code int
			var r rune
			var glyph string
			if _, err := fmt.Sscanf(sc.Text(), "!%x U+%x %s", &code, &r, &glyph); err != nil {
				return nil, fmt.Errorf("load fonts: %s.map: %q: %w", name, sc.Text(), err)
			}
			if code < 32 || code > 255 || r < 0 || r > 0xFFFF {
				return nil, fmt.Errorf("load fonts: %s.map: %q out of range", name, sc.Text())
			}
			if fs.glyph[r] != 0 {
				return nil, fmt.Errorf("load fonts: %s.map: U+%04X is in two blocks", name, r)
			}
			fs.glyph[r] = uint16(i+1)<<8 | uint16(code)
			runes[code] = r
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("load fonts: %s.map: %w", name, err)
		}
		bl.toUnicode = toUnicodeCMap(&runes)
		fs.blocks = append(fs.blocks, bl)
	}
	if len(fs.blocks) == 0 || fs.glyph[' ']>>8 != 1 || fs.glyph['?']>>8 != 1 {
		return nil, fmt.Errorf("load fonts: the first block must be Windows-1252")
	}
	return fs, nil
}

// lookup returns the block and code that print r; ok is false when no block
// can.
func (fs *fontSet) lookup(r rune) (block int, code byte, ok bool) {
	if r < 0 || r >= 0x10000 {
		return 0, 0, false
	}
	g := fs.glyph[r]
	if g == 0 {
		return 0, 0, false
	}
	return int(g>>8) - 1, byte(g), true
}

// width is r's advance in thousandths of the font size, in style st.
func (fs *fontSet) width(st int, r rune) int {
	b, c, ok := fs.lookup(r)
	if !ok {
		return 0
	}
	return fs.blocks[b].cw[st][c]
}

// covers reports whether the letter's fonts can print r.
func (fs *fontSet) covers(r rune) bool {
	_, _, ok := fs.lookup(r)
	return ok
}

// coversAll reports whether every rune of s, after normalisation, can be
// printed. Control characters count as printable: clean turns them into spaces.
func (fs *fontSet) coversAll(s string) bool {
	for _, r := range norm.NFC.String(s) {
		if !fs.covers(r) && !unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// clean makes s safe to hand to fpdf: NFC-normalised (so "ọ" typed as o +
// combining dot is one precomposed glyph), control characters turned into
// spaces (newlines too, unless keepNewlines) and any rune the fonts cannot
// print replaced by "?", so a letter never shows empty boxes.
func (fs *fontSet) clean(s string, keepNewlines bool) string {
	s = norm.NFC.String(s)
	ok := true
	for _, r := range s {
		if !fs.covers(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\n' && keepNewlines:
			b.WriteRune(r)
		case r == '\r':
			// dropped: "\r\n" must stay one line break
		case unicode.IsControl(r):
			b.WriteByte(' ')
		case fs.covers(r):
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r):
			// a combining mark the font lacks: drop it, keep its base letter
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}
