package letter

import (
	_ "embed"
	"fmt"
	"strings"
	"unicode"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/text/unicode/norm"
)

// DejaVu Sans and DejaVu Sans Bold, under the Bitstream Vera licence in
// fonts/LICENSE.
var (
	//go:embed fonts/DejaVuSans.ttf
	dejaVuSans []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	dejaVuSansBold []byte
)

// repertoire lists the Unicode blocks the letter prints: Latin (with
// Vietnamese), Greek, Cyrillic and the punctuation and currency signs of the
// copy. fpdf writes runes one glyph each, left to right, with no shaping and
// no bidi, so only scripts that need neither are listed: Hebrew and Arabic are
// in DejaVu Sans but would come out disconnected and reversed, so they are
// left out on purpose and fall back like CJK.
//
// The list is deliberately short: fpdf re-parses and re-subsets the font for
// every document, and that work grows with the number of glyphs, so cutting
// the fonts to these blocks once in New made a typical letter ~25% faster than
// a wider list (Armenian, Georgian, polytonic Greek, arrows…) and ~2× faster
// than the whole font. Widen it here if donors need more.
var repertoire = [][2]rune{
	{0x0020, 0x007E}, // Basic Latin
	{0x00A0, 0x024F}, // Latin-1 Supplement, Latin Extended-A and -B
	{0x02B0, 0x02FF}, // spacing modifier letters (ʻokina, apostrophes)
	{0x0300, 0x036F}, // combining diacritical marks
	{0x0370, 0x03FF}, // Greek and Coptic
	{0x0400, 0x04FF}, // Cyrillic
	{0x1E00, 0x1EFF}, // Latin Extended Additional (Vietnamese)
	{0x2000, 0x206F}, // general punctuation
	{0x20A0, 0x20CF}, // currency symbols
	{0x2116, 0x2116}, // numero sign
	{0x2122, 0x2122}, // trade mark sign
	{0x2212, 0x2212}, // minus sign
	{0xFFFD, 0xFFFD}, // replacement character
}

// fontSet is the parsed, immutable font data shared by every render.
type fontSet struct {
	// regular and bold are the TTF bytes handed to fpdf for each document:
	// the DejaVu fonts cut down to the repertoire (or whole, see subset).
	regular, bold []byte
	// covered has a bit set for each BMP rune both fonts can print.
	covered [0x10000 / 64]uint64
}

// loadFonts works out which runes both fonts cover and, when subset is true,
// cuts both fonts down to those runes so that fpdf parses and subsets a much
// smaller file for every letter.
func loadFonts(subset bool) (*fontSet, error) {
	fs := &fontSet{regular: dejaVuSans, bold: dejaVuSansBold}
	reg, err := sfnt.Parse(dejaVuSans)
	if err != nil {
		return nil, fmt.Errorf("load fonts: parse DejaVu Sans: %w", err)
	}
	bold, err := sfnt.Parse(dejaVuSansBold)
	if err != nil {
		return nil, fmt.Errorf("load fonts: parse DejaVu Sans Bold: %w", err)
	}
	var buf sfnt.Buffer
	var cutset strings.Builder
	for _, rg := range repertoire {
		for r := rg[0]; r <= rg[1]; r++ {
			gr, err := reg.GlyphIndex(&buf, r)
			if err != nil {
				return nil, fmt.Errorf("load fonts: glyph of U+%04X: %w", r, err)
			}
			gb, err := bold.GlyphIndex(&buf, r)
			if err != nil {
				return nil, fmt.Errorf("load fonts: bold glyph of U+%04X: %w", r, err)
			}
			if gr == 0 || gb == 0 {
				continue
			}
			fs.covered[r/64] |= 1 << (r % 64)
			cutset.WriteRune(r)
		}
	}
	if subset {
		fs.regular = fpdf.UTF8CutFont(dejaVuSans, cutset.String())
		fs.bold = fpdf.UTF8CutFont(dejaVuSansBold, cutset.String())
		if len(fs.regular) == 0 || len(fs.bold) == 0 {
			return nil, fmt.Errorf("load fonts: subsetting gave an empty font")
		}
	}
	return fs, nil
}

// covers reports whether the letter's fonts can print r.
func (fs *fontSet) covers(r rune) bool {
	return r >= 0 && r < 0x10000 && fs.covered[r/64]&(1<<(r%64)) != 0
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
