package letter

import (
	"errors"
	"math"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// errNotCP1252 stops a core-font render when the letter has text that
// Windows-1252 cannot hold; Render then draws the letter with the embedded
// fonts instead.
var errNotCP1252 = errors.New("text outside Windows-1252")

// toCP1252 encodes s, which clean has prepared, as Windows-1252 bytes for
// fpdf's core fonts (whose font dictionaries say /WinAnsiEncoding). ok is
// false when some rune has no Windows-1252 byte. charmap's tables are
// read-only, so this is safe from many goroutines, unlike fpdf's translator.
func toCP1252(s string) (enc string, ok bool) {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		c, ok := charmap.Windows1252.EncodeRune(r)
		if !ok || r == utf8.RuneError {
			return "", false
		}
		b = append(b, c)
	}
	return string(b), true
}

// enc prepares UTF-8 text for fpdf on this letter's path: cleaned (see
// fontSet.clean) and, on the core-font path, encoded as Windows-1252. Every
// string the layout draws goes through here. A string the core fonts cannot
// print fails the document with errNotCP1252, and the rest of the drawing
// is skipped by fpdf.
func (d *doc) enc(s string, keepNewlines bool) string {
	s = d.r.fonts.clean(s, keepNewlines)
	if !d.core {
		return s
	}
	e, ok := toCP1252(s)
	if !ok {
		d.pdf.SetError(errNotCP1252)
		return ""
	}
	return e
}

// split wraps text that enc prepared into lines that fit a cell w wide in
// the current font, breaking at spaces (and at explicit newlines) as
// fpdf's MultiCell does, or inside a word that is wider than the cell. It
// measures with fpdf's widths for the current font, so it works on the
// 8-bit strings of the core-font path, where fpdf's SplitText cannot: it
// converts its argument to runes, so every byte of 0x80 or more becomes
// U+FFFD and indexes past the 256-entry width table.
func (d *doc) split(s string, w float64) []string {
	pdf := d.pdf
	_, unit := pdf.GetFontSize()
	wmax := int(math.Ceil((w - 2*pdf.GetCellMargin()) * 1000 / unit))
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	var lines []string
	start, space, width := 0, -1, 0
	for i := 0; i < len(s); {
		n := 1
		if !d.core {
			_, n = utf8.DecodeRuneInString(s[i:])
		}
		if s[i] == '\n' {
			lines = append(lines, s[start:i])
			i++
			start, space, width = i, -1, 0
			continue
		}
		if s[i] == ' ' {
			space = i
		}
		width += pdf.GetStringSymbolWidth(s[i : i+n])
		if width <= wmax {
			i += n
			continue
		}
		switch {
		case space >= start:
			// Break at the last space; it is not printed.
			lines = append(lines, s[start:space])
			i = space + 1
		case i == start:
			// One character wider than the cell: it gets a line.
			i += n
			lines = append(lines, s[start:i])
		default:
			lines = append(lines, s[start:i])
		}
		start, space, width = i, -1, 0
	}
	if start < len(s) || len(lines) == 0 {
		lines = append(lines, s[start:])
	}
	return lines
}

// multiCell draws UTF-8 text wrapped into a column w wide with lines h
// high, from the current position, like fpdf's MultiCell with left
// alignment. Newlines in text break lines only when keepNewlines is set.
func (d *doc) multiCell(w, h float64, text string, keepNewlines bool) {
	d.drawLines(w, h, d.split(d.enc(text, keepNewlines), w), "", false)
}

// drawLines draws lines that split returned, one cell each, then returns
// to the left margin, as fpdf's MultiCell does. A page break between lines
// keeps the column's x.
func (d *doc) drawLines(w, h float64, lines []string, border string, fill bool) {
	for i, line := range lines {
		b := ""
		if border == "1" {
			b = "LR"
			if i == 0 {
				b += "T"
			}
			if i == len(lines)-1 {
				b += "B"
			}
		}
		d.pdf.CellFormat(w, h, line, b, 2, "L", fill, 0, "")
	}
	d.pdf.SetX(marginLeft)
}

// cell draws one line of UTF-8 text in a cell, as fpdf's CellFormat.
func (d *doc) cell(w, h float64, text string, ln int, align string) {
	d.pdf.CellFormat(w, h, d.enc(text, false), "", ln, align, false, 0, "")
}
