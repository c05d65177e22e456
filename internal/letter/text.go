package letter

import (
	"math"
	"strings"
	"unicode/utf8"
)

// enc prepares UTF-8 text for drawing: cleaned (see fontSet.clean). Every
// string the layout draws goes through here.
func (d *doc) enc(s string, keepNewlines bool) string {
	return d.r.fonts.clean(s, keepNewlines)
}

// split wraps text that enc prepared into lines that fit a cell w wide in
// the current font, breaking at spaces (and at explicit newlines) as
// fpdf's MultiCell does, or inside a word that is wider than the cell. A
// line may mix blocks, so each rune is measured in its own block's font
// (fpdf's SplitText knows only the current font's widths).
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
		r, n := utf8.DecodeRuneInString(s[i:])
		if s[i] == '\n' {
			lines = append(lines, s[start:i])
			i++
			start, space, width = i, -1, 0
			continue
		}
		if s[i] == ' ' {
			space = i
		}
		width += d.r.fonts.width(d.style, r)
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
		d.draw(w, h, line, b, 2, "L", fill)
	}
	d.pdf.SetX(marginLeft)
}

// cell draws one line of UTF-8 text in a cell, as fpdf's CellFormat.
func (d *doc) cell(w, h float64, text string, ln int, align string) {
	d.draw(w, h, d.enc(text, false), "", ln, align, false)
}

// draw is fpdf's CellFormat for a line that enc prepared. A line in one
// block goes to CellFormat as it is; a line that moves between blocks is
// drawn as CellFormat would draw it — the cell's fill and border by
// CellFormat itself, then each run of text in its block's font at the
// place CellFormat would have put it.
func (d *doc) draw(w, h float64, line, border string, ln int, align string, fill bool) {
	pdf := d.pdf
	runs := d.runs(line)
	if len(runs) == 0 || (len(runs) == 1 && runs[0].block == 0) {
		text := ""
		if len(runs) == 1 {
			text = runs[0].text
		}
		pdf.CellFormat(w, h, text, border, ln, align, fill, 0, "")
		return
	}
	// The empty cell breaks the page, if it must, before any text is placed.
	pdf.CellFormat(w, h, "", border, 0, "", fill, 0, "")
	if pdf.Err() {
		return
	}
	x, y := pdf.GetX()-w, pdf.GetY()
	size, unit := pdf.GetFontSize()
	total := 0.0
	for _, r := range runs {
		total += float64(r.width) * unit / 1000
	}
	var dx float64
	switch {
	case strings.Contains(align, "R"):
		dx = w - pdf.GetCellMargin() - total
	case strings.Contains(align, "C"):
		dx = (w - total) / 2
	default:
		dx = pdf.GetCellMargin()
	}
	baseline := y + .5*h + .3*unit
	style := styleNames[d.style].fpdf
	for _, r := range runs {
		d.useBlock(r.block, d.style)
		pdf.SetFont(d.r.fonts.blocks[r.block].family, style, size)
		pdf.Text(x+dx, baseline, r.text)
		dx += float64(r.width) * unit / 1000
	}
	pdf.SetFont(fontFamily, style, size)
	switch ln {
	case 1:
		left, _, _, _ := pdf.GetMargins()
		pdf.SetXY(left, y+h)
	case 2:
		pdf.SetXY(x, y+h)
	}
}

// lineWidth is the width of a prepared line in the current font, in user
// units, as draw lays it out.
func (d *doc) lineWidth(line string) float64 {
	_, unit := d.pdf.GetFontSize()
	total := 0
	for _, r := range line {
		total += d.r.fonts.width(d.style, r)
	}
	return float64(total) * unit / 1000
}

// run is a stretch of a line printed in one block's font: its 8-bit text
// and its width in thousandths of the font size.
type run struct {
	block int
	text  string
	width int
}

// runs cuts a prepared line into runs of one block each. Every rune of a
// prepared line is in some block (clean made sure); any other is skipped.
func (d *doc) runs(line string) []run {
	fs := d.r.fonts
	out := d.runBuf[:0]
	text := d.textBuf[:0]
	cur, width := -1, 0
	flush := func() {
		if cur >= 0 && len(text) > 0 {
			out = append(out, run{block: cur, text: string(text), width: width})
		}
		text, width = text[:0], 0
	}
	for _, r := range line {
		b, c, ok := fs.lookup(r)
		if !ok {
			continue
		}
		if b != cur {
			flush()
			cur = b
		}
		text = append(text, c)
		width += fs.blocks[b].cw[d.style][c]
	}
	flush()
	d.runBuf, d.textBuf = out, text
	return out
}

// useBlock adds block b's font in style st to the document the first time
// a line needs it: a letter carries only the blocks it prints.
func (d *doc) useBlock(b, st int) {
	if d.added[b][st] {
		return
	}
	d.added[b][st] = true
	bl := &d.r.fonts.blocks[b]
	d.pdf.AddFontFromBytes(bl.family, styleNames[st].fpdf, bl.def[st], bl.z[st])
}
