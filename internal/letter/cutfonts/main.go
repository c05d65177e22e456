// Command cutfonts cuts Noto Sans and Noto Sans Bold into the 8-bit fonts the
// letter embeds (internal/letter/fonts/cut). It is run by hand, through
// `go generate ./internal/letter`, when the blocks below or the Noto files
// change; its output is committed, so neither a build nor a test needs it.
// The source is Debian's fonts-noto-core (20201225-1: Noto Sans 2.004, SIL
// Open Font License 1.1, in fonts/LICENSE), read from where Debian installs
// it, so the 500 KB source files are not committed.
//
// Why 8-bit fonts: fpdf's UTF-8 route re-parses and re-subsets a TrueType
// font for every document, which held letters with a single non-Windows-1252
// character (Ł, ę, ệ, Я, Ω) to ~120 per second per core. fpdf's other
// TrueType route takes a font that was cut once, with a fixed 8-bit encoding
// and a definition file made by fpdf's own MakeFont, and copies it into the
// PDF as it is. One 8-bit font holds at most 224 characters, so the
// repertoire is cut into blocks: the base block is Windows-1252 (it prints
// every letter's copy), and each other block holds a script or part of one.
// A letter embeds the base font and only the blocks its text uses, and the
// renderer switches fonts inside a line where the text moves between blocks.
//
// The cutting itself is done by fontTools (Debian package python3-fonttools),
// the reference TrueType subsetter: hinting is dropped (PDF viewers do not
// use it; it was half of each font's size), as are layout tables fpdf cannot
// use. The PostScript names get a subset tag per block and style.
//
// Usage: go run ./internal/letter/cutfonts [-out internal/letter/fonts/cut]
package main

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/text/encoding/charmap"
)

// block is one 8-bit font: the runes in ranges that both Noto styles can
// print and that no earlier block took.
type block struct {
	name   string
	ranges [][2]rune
}

// blocks lists the fonts in the order the renderer prefers them. The first
// is Windows-1252 (/WinAnsiEncoding) with the few characters of latin1Extra
// on codes Windows-1252 leaves undefined; every other one gets its own
// encoding through a /Differences array. Vietnamese takes the
// few Latin Extended letters it needs (ă đ ĩ ũ ơ ư) so that a Vietnamese name
// needs one block besides the base; a Romanian ă or a Croatian đ then pulls in
// the Vietnamese block too, which costs a few kilobytes, not correctness.
//
// The repertoire is Latin (with Vietnamese), Greek, Cyrillic and the
// punctuation and currency signs of the copy. fpdf writes one glyph per
// character, left to right, with no shaping and no bidi, so scripts that need
// either (Hebrew, Arabic, Indic) are left out on purpose and fall back like
// CJK (see internal/letter/README.md).
var blocks = []block{
	{"latin1", nil}, // Windows-1252, filled in by main
	{"vietnamese", [][2]rune{
		{0x1EA0, 0x1EF9},
		{0x0102, 0x0103}, {0x0110, 0x0111}, {0x0128, 0x0129},
		{0x0168, 0x0169}, {0x01A0, 0x01A1}, {0x01AF, 0x01B0},
	}},
	{"latin-ext-a", [][2]rune{{0x0100, 0x017F}, {0x0218, 0x021B}}},
	{"latin-ext-b", [][2]rune{{0x0180, 0x024F}}},
	{"latin-ext-additional", [][2]rune{{0x1E00, 0x1E9F}}},
	{"greek", [][2]rune{{0x0386, 0x03CE}}}, // modern (monotonic) Greek
	{"greek-ext", [][2]rune{{0x0370, 0x03FF}}},
	{"cyrillic", [][2]rune{{0x0400, 0x045F}, {0x0490, 0x0491}}},
	{"cyrillic-ext", [][2]rune{{0x0460, 0x04FF}}},
	{"marks", [][2]rune{
		{0x02B0, 0x02FF}, // spacing modifier letters (ʻokina, apostrophes)
		{0x0300, 0x036F}, // combining diacritical marks
	}},
	{"signs", [][2]rune{
		{0x2000, 0x206F}, // general punctuation
		{0x20A0, 0x20CF}, // currency symbols
		{0x2116, 0x2116}, // numero sign
		{0x2122, 0x2122}, // trade mark sign
		{0xFFFD, 0xFFFD}, // replacement character
	}},
}

// latin1Extra are characters the copy itself prints, put on the five codes
// Windows-1252 leaves undefined so that they need no other block: the minus
// sign of refunds, the non-breaking hyphen, and the thin and narrow
// no-break spaces. Their glyph names are the Adobe Glyph List's where it has
// one ("minus"), so that every reader maps them back to the character.
var latin1Extra = []struct {
	code  int
	r     rune
	glyph string
}{
	{0x81, 0x2212, "minus"},
	{0x8D, 0x2011, "uni2011"},
	{0x8F, 0x2009, "uni2009"},
	{0x90, 0x202F, "uni202F"},
}

// styles are the two Noto Sans files and the suffix of their cut fonts.
var styles = []struct{ suffix, file, psName string }{
	{"regular", "NotoSans-Regular.ttf", "NotoSans-Regular"},
	{"bold", "NotoSans-Bold.ttf", "NotoSans-Bold"},
}

// firstCode and lastCode bound the codes an ext block may use: fpdf writes
// widths for 32–255 only, 32 is the space (kept in the base block, where
// the renderer breaks lines) and 127 is DEL.
const firstCode, lastCode = 33, 255

func main() {
	src := flag.String("src", "/usr/share/fonts/truetype/noto", "directory with the Noto Sans TTF files (Debian fonts-noto-core)")
	out := flag.String("out", "internal/letter/fonts/cut", "directory for the cut fonts")
	python := flag.String("python", "", "Python with fontTools (default: the first of python3, /usr/bin/python3 that has it)")
	flag.Parse()
	if *python == "" {
		*python = findPython()
	}
	if err := run(*src, *out, *python); err != nil {
		slog.Error("cutfonts", "err", err)
		os.Exit(1)
	}
}

func run(src, out, python string) error {
	tmp, err := os.MkdirTemp("", "cutfonts")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var fonts []*sfnt.Font
	for _, st := range styles {
		// The prepared copy, with a minus sign, is what gets cut.
		prepared := filepath.Join(tmp, st.file)
		cmd := exec.Command(python, "-c", addMinus, filepath.Join(src, st.file), prepared)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("prepare %s: %w: %s", st.file, err, stderr.String())
		}
		b, err := os.ReadFile(prepared)
		if err != nil {
			return err
		}
		f, err := sfnt.Parse(b)
		if err != nil {
			return fmt.Errorf("parse %s: %w", st.file, err)
		}
		fonts = append(fonts, f)
	}
	var buf sfnt.Buffer
	printable := func(r rune) (bool, error) {
		for i, f := range fonts {
			g, err := f.GlyphIndex(&buf, r)
			if err != nil {
				return false, fmt.Errorf("%s: glyph of U+%04X: %w", styles[i].file, r, err)
			}
			if g == 0 {
				return false, nil
			}
		}
		return true, nil
	}

	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(out, "*"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}

	// MakeFont computes each font's /Differences against cp1252.map in the
	// encoding file's directory; naming every glyph uniXXXX there and in
	// the blocks makes the base block's list empty (plain
	// /WinAnsiEncoding) and every other block's list exactly its codes.
	var latin1 [256]rune
	for c := 32; c < 256; c++ {
		r := charmap.Windows1252.DecodeByte(byte(c))
		if r == 0xFFFD || (c >= 0x7F && c < 0xA0 && r < 0xA0) {
			continue // undefined in Windows-1252 (0x81, 0x8D, 0x8F, 0x90, 0x9D) or DEL
		}
		ok, err := printable(r)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("the Noto Sans font lacks U+%04X of Windows-1252", r)
		}
		latin1[c] = r
	}
	if err := writeMap(filepath.Join(tmp, "cp1252.map"), latin1); err != nil {
		return err
	}
	// The reference above is plain Windows-1252, so MakeFont lists the
	// extras, and only them, in the base block's /Differences.
	for _, x := range latin1Extra {
		ok, err := printable(x.r)
		if err != nil {
			return err
		}
		if !ok || latin1[x.code] != 0 {
			return fmt.Errorf("base block: U+%04X cannot go on code %#x", x.r, x.code)
		}
		latin1[x.code] = x.r
	}

	taken := map[rune]bool{}
	for _, r := range latin1 {
		if r != 0 {
			taken[r] = true
		}
	}
	var manifest strings.Builder
	for i, bl := range blocks {
		codes := latin1
		if i > 0 {
			codes = [256]rune{}
			c := firstCode
			for _, rg := range bl.ranges {
				for r := rg[0]; r <= rg[1]; r++ {
					if taken[r] {
						continue
					}
					ok, err := printable(r)
					if err != nil {
						return err
					}
					if !ok || isControl(r) {
						continue
					}
					if c == 0x7F {
						c++
					}
					if c > lastCode {
						return fmt.Errorf("block %s: more than %d characters; split it", bl.name, lastCode-firstCode)
					}
					codes[c] = r
					taken[r] = true
					c++
				}
			}
		}
		mapFile := filepath.Join(tmp, bl.name+".map")
		if err := writeMap(mapFile, codes); err != nil {
			return err
		}
		var unicodes []string
		for _, r := range codes {
			if r != 0 {
				unicodes = append(unicodes, fmt.Sprintf("U+%04X", r))
			}
		}
		for j, st := range styles {
			name := bl.name + "-" + st.suffix
			ttf := filepath.Join(tmp, name+".ttf")
			cmd := exec.Command(python, "-m", "fontTools.subset", filepath.Join(tmp, st.file),
				"--unicodes="+strings.Join(unicodes, ","),
				"--output-file="+ttf,
				"--no-hinting",
				"--layout-features=",
				"--notdef-outline",
				"--drop-tables+=FFTM,GDEF,GPOS,GSUB,kern,hdmx,VDMX,LTSH,gasp,DSIG",
			)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("fontTools.subset %s: %w: %s", name, err, stderr.String())
			}
			var msgs bytes.Buffer
			if err := fpdf.MakeFont(ttf, mapFile, out, &msgs, true); err != nil {
				return fmt.Errorf("makefont %s: %w", name, err)
			}
			// MakeFont reports progress and, for a character the font
			// lacks, "Character … is missing": the cut must have them all.
			if strings.Contains(msgs.String(), "missing") {
				return fmt.Errorf("makefont %s: %s", name, strings.TrimSpace(msgs.String()))
			}
			if err := finish(filepath.Join(out, name), subsetTag(i, j)+"+"+st.psName, codes, i == 0); err != nil {
				return err
			}
		}
		if err := copyFile(mapFile, filepath.Join(out, bl.name+".map")); err != nil {
			return err
		}
		fmt.Fprintln(&manifest, bl.name)
	}
	return os.WriteFile(filepath.Join(out, "blocks.txt"), []byte(manifest.String()), 0o644)
}

// findPython returns the first Python that can import fontTools; with none,
// it returns "python3" and the subsetting fails with Python's own message.
// Debian's python3-fonttools installs into /usr/bin/python3, which a
// python3 earlier on PATH (pyenv, a virtualenv) may hide.
func findPython() string {
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(p, "-c", "import fontTools.subset").Run() == nil {
			return p
		}
	}
	slog.Warn("no Python with fontTools found; install Debian's python3-fonttools (or pip install fonttools)")
	return "python3"
}

// writeMap writes an encoding in fpdf's .map format ("!41 U+0041 uni0041").
func writeMap(path string, codes [256]rune) error {
	var b strings.Builder
	for c, r := range codes {
		if r != 0 {
			fmt.Fprintf(&b, "!%02X U+%04X %s\n", c, r, glyphName(r))
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// glyphName is the name r's glyph gets in an encoding: the Adobe Glyph
// List's name for an extra of the base block that has one, otherwise the
// AGL specification's uniXXXX form, which readers map back to U+XXXX.
func glyphName(r rune) string {
	for _, x := range latin1Extra {
		if x.r == r {
			return x.glyph
		}
	}
	return fmt.Sprintf("uni%04X", r)
}

// addMinus is run by Python with fontTools on each source font: Noto Sans
// 2.004 has no U+2212 MINUS SIGN, so the copy that gets cut is given one,
// made — as type designers make it — from the horizontal bar of the plus
// sign: the same width, weight and height, so that "−£7.50" lines up with
// "+" and the figures. Arguments: source path, destination path.
const addMinus = `
import sys
from fontTools.ttLib import TTFont
from fontTools.pens.ttGlyphPen import TTGlyphPen
f = TTFont(sys.argv[1], recalcTimestamp=False)  # keep the bytes reproducible
cmap = f.getBestCmap()
if 0x2212 not in cmap:
    glyf = f["glyf"]
    plus = cmap[0x2B]
    pts = list(glyf[plus].getCoordinates(glyf)[0])
    x0 = min(x for x, y in pts)
    x1 = max(x for x, y in pts)
    ys = [y for x, y in pts if x == x0]
    y0, y1 = min(ys), max(ys)
    pen = TTGlyphPen(None)
    pen.moveTo((x0, y0)); pen.lineTo((x0, y1)); pen.lineTo((x1, y1)); pen.lineTo((x1, y0)); pen.closePath()
    f.setGlyphOrder(f.getGlyphOrder() + ["minus"])
    glyf.glyphs["minus"] = pen.glyph()
    if "minus" not in glyf.glyphOrder:
        glyf.glyphOrder.append("minus")
    f["hmtx"].metrics["minus"] = (f["hmtx"].metrics[plus][0], x0)
    for t in f["cmap"].tables:
        if t.isUnicode():
            t.cmap[0x2212] = "minus"
f.save(sys.argv[2])
`

// finish edits what MakeFont wrote for one font (base is the path without
// extension). The font gets its subset name, since PDF readers identify
// fonts by name and every block of a style is a different font. An ext
// block's /Differences lists only the codes it uses: MakeFont also lists
// every unused code as /.notdef, a kilobyte per font in every letter. The
// font file is recompressed at zlib's best level: it is copied into every
// letter as it is.
func finish(base, name string, codes [256]rune, latin1 bool) error {
	b, err := os.ReadFile(base + ".json")
	if err != nil {
		return err
	}
	var def map[string]any
	if err := json.Unmarshal(b, &def); err != nil {
		return fmt.Errorf("%s.json: %w", base, err)
	}
	if def["Tp"] != "TrueType" {
		return errors.New(base + ".json: not a TrueType definition")
	}
	def["Name"] = name
	if !latin1 {
		var diff strings.Builder
		next := -1
		for c, r := range codes {
			if r == 0 {
				continue
			}
			if c != next {
				fmt.Fprintf(&diff, "%d ", c)
			}
			fmt.Fprintf(&diff, "/%s ", glyphName(r))
			next = c + 1
		}
		def["Diff"] = strings.TrimSpace(diff.String())
	}
	if b, err = json.Marshal(def); err != nil {
		return err
	}
	if err := os.WriteFile(base+".json", b, 0o644); err != nil {
		return err
	}
	z, err := os.ReadFile(base + ".z")
	if err != nil {
		return err
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		return fmt.Errorf("%s.z: %w", base, err)
	}
	ttf, err := io.ReadAll(zr)
	if err != nil {
		return fmt.Errorf("%s.z: %w", base, err)
	}
	var out bytes.Buffer
	zw, err := zlib.NewWriterLevel(&out, zlib.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(ttf); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(base+".z", out.Bytes(), 0o644)
}

// subsetTag is the six capital letters PDF puts before a subset font's name.
func subsetTag(blockIndex, styleIndex int) string {
	return fmt.Sprintf("IMPD%c%c", 'A'+blockIndex, "RB"[styleIndex])
}

func isControl(r rune) bool { return r < 0x20 || (r >= 0x7F && r < 0xA0) }

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	o, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(o, in); err != nil {
		o.Close()
		return err
	}
	return o.Close()
}
