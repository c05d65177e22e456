package letter

// The first page: what a supporter reads first (see doc.letter).

import (
	"strconv"
	"strings"

	"impactd/internal/domain"
	"impactd/internal/money"
)

// Window is the part of a letter's first page that a window envelope shows,
// in millimetres from the page's top left corner, and Folds are where the
// page is folded to fit it.
type Window struct {
	X, Y, W, H float64
	Folds      []float64
}

// WindowFor returns the window of a paper size ("A4" or "Letter").
//
// A4: the address field of DIN 5008 form B — 20 mm from the left, 45 mm
// from the top, 85 × 45 mm, its top 5 mm for the sender's return line —
// which is what DL (DIN 676: window 90 × 45 mm, 20 mm from the left and 15
// mm from the bottom) and C5/C6 window envelopes are made for; folds at 105
// and 210 mm (thirds, for DL; C5 takes the sheet folded once at 148.5 mm).
//
// Letter: a #10 envelope's standard window (1⅛ × 4½ in, ⅞ in from the left
// and ½ in from the bottom of the 4⅛ in envelope) over a sheet folded in
// thirds that has settled to the bottom of the envelope: 2.042 in from the
// top of the sheet. The address stays inside it with ⅛ in to spare.
func WindowFor(paper string) Window {
	if paper == "Letter" {
		const in = 25.4
		return Window{X: 0.875 * in, Y: 2.042 * in, W: 4.5 * in, H: 1.125 * in,
			Folds: []float64{11.0 / 3 * in, 22.0 / 3 * in}}
	}
	return Window{X: 20, Y: 45, W: 85, H: 45, Folds: []float64{105, 210}}
}

// foldMarks draws short marks in the left margin where the sheet is folded
// for its window envelope.
func (d *doc) foldMarks() {
	pdf := d.pdf
	pdf.SetDrawColor(colMuted.r, colMuted.g, colMuted.b)
	pdf.SetLineWidth(0.2)
	for _, y := range d.win.Folds {
		pdf.Line(4, y, 9, y)
	}
	// The hole-punch mark at the middle of the sheet.
	pdf.Line(4, d.pageH/2, 7, d.pageH/2)
}

// letterhead draws the logo and the organisation's name at the top left and
// its contact details at the top right, above an accent rule.
func (d *doc) letterhead() {
	pdf, org := d.pdf, d.s.Org
	nameX := marginLeft
	logoBottom := letterheadY
	if d.r.logo.shows(org.LogoSHA256) {
		lg := d.r.logo
		h := 17.0
		w := h * float64(lg.w) / float64(lg.h)
		if w > 55 {
			w = 55
			h = w * float64(lg.h) / float64(lg.w)
		}
		d.image(lg, marginLeft, letterheadY, w, h)
		nameX += w + 4
		logoBottom = letterheadY + h
	}
	contactW := 62.0
	nameW := d.pageW - marginRight - contactW - 4 - nameX
	d.font("B", 14, colBrand)
	lines := d.split(d.enc(org.Name, false), nameW)
	nameH := float64(len(lines)) * 6.2
	y := letterheadY
	if logoBottom > letterheadY {
		y = letterheadY + (logoBottom-letterheadY-nameH)/2
	}
	for _, l := range lines {
		pdf.SetXY(nameX, y)
		d.draw(nameW, 6.2, l, "", 0, "L", false)
		y += 6.2
	}
	var small []string
	small = append(small, org.Address...)
	for _, c := range []string{org.Website, org.Email} {
		if c != "" {
			small = append(small, strings.TrimPrefix(strings.TrimPrefix(c, "https://"), "http://"))
		}
	}
	d.font("", 7.5, colMuted)
	cy := letterheadY + 0.5
	for _, line := range small {
		pdf.SetXY(d.pageW-marginRight-contactW, cy)
		d.cell(contactW, 3.5, line, 0, "R")
		cy += 3.5
	}
	if org.CharityNumber != "" {
		pdf.SetXY(d.pageW-marginRight-contactW, cy)
		d.cell(contactW, 3.5, "Registered charity no. "+org.CharityNumber, 0, "R")
		cy += 3.5
	}
	rule := max(y, cy, logoBottom) + 3
	pdf.SetDrawColor(colAccent.r, colAccent.g, colAccent.b)
	pdf.SetLineWidth(0.5)
	pdf.Line(marginLeft, rule, d.pageW-marginRight, rule)
	pdf.SetLineWidth(0.2)
}

// addressBlock draws the sender's return line and the supporter's name and
// address inside the envelope window, and the statement's period and date
// to the right of it. A name or address line the fonts cannot print is left
// out rather than shown as boxes or question marks.
func (d *doc) addressBlock() {
	pdf, w := d.pdf, d.win
	x := w.X + 3
	inner := w.W - 6
	y := w.Y + 2
	lineH, size := 4.3, 10.0
	if d.s.PaperSize == "Letter" {
		// The #10 window is shallow: no return line (the envelope carries
		// it), and a slightly smaller line.
		y, lineH, size = w.Y+3.2, 3.9, 9.5
	} else if ret := d.returnLine(); ret != "" {
		d.font("", 6.5, colMuted)
		lines := d.split(d.enc(ret, false), inner)
		pdf.SetXY(x, y)
		d.draw(inner, 3, lines[0], "", 0, "L", false)
		pdf.SetDrawColor(colHairline.r, colHairline.g, colHairline.b)
		pdf.Line(x+pdf.GetCellMargin(), y+3.2, x+inner-pdf.GetCellMargin(), y+3.2)
		y = w.Y + 8.5
	}
	// Every line must show in the window, the last ones (town, postcode,
	// country) above all: a long address is set smaller, and if it still
	// does not fit, street lines give way from the top of the street.
	maxY := w.Y + w.H - 1
	var lines []string
	for _, size = range []float64{size, size - 0.5, size - 1, size - 1.5} {
		d.font("", size, colInk)
		lh := lineH * size / 10
		lines = d.addressLines(inner)
		if y+float64(len(lines))*lh <= maxY {
			break
		}
	}
	lh := lineH * size / 10
	for n := int((maxY - y) / lh); len(lines) > n && len(lines) > 2; {
		lines = append(lines[:1], lines[2:]...)
	}
	for _, l := range lines {
		pdf.SetXY(x, y)
		d.draw(inner, lh, l, "", 0, "L", false)
		y += lh
	}

	// The reference column, level with the address.
	colX := w.X + w.W + 15
	colW := d.pageW - marginRight - colX
	ry := w.Y + 8.5
	d.font("", 8, colMuted)
	pdf.SetXY(colX, ry)
	d.cell(colW, 4, d.kind(), 0, "R")
	d.font("B", 10, colBrand)
	pdf.SetXY(colX, ry+4.5)
	d.cell(colW, 5, d.s.PeriodLabel, 0, "R")
	d.font("", 10, colInk)
	pdf.SetXY(colX, ry+10)
	d.cell(colW, 5, longDate(d.s.IssuedOn), 0, "R")
}

// addressLines is the supporter's name and address wrapped to w in the
// current font, leaving out a line the fonts cannot print.
func (d *doc) addressLines(w float64) []string {
	var out []string
	for _, line := range append([]string{d.s.Donor.Name}, d.s.Donor.Address...) {
		if strings.TrimSpace(line) == "" || !d.r.fonts.coversAll(line) {
			continue
		}
		out = append(out, d.split(d.enc(line, false), w)...)
	}
	return out
}

// returnLine is the organisation's name and address on one line, printed
// small above the recipient so that undeliverable post can come back.
func (d *doc) returnLine() string {
	org := d.s.Org
	if len(org.Address) == 0 {
		return ""
	}
	return strings.Join(append([]string{org.Name}, org.Address...), " · ")
}

// figures draws the period's impact as a row of large figures with their
// labels: what a supporter's eye should meet first.
func (d *doc) figures() {
	im := d.s.Impact
	if im == nil {
		return
	}
	var ms []domain.Metric
	for _, m := range im.Metrics {
		if m.Period != nil {
			ms = append(ms, m)
		}
	}
	if len(ms) == 0 {
		return
	}
	if len(ms) > 4 {
		ms = ms[:4]
	}
	pdf := d.pdf
	allDemo := allDemoData(im)
	const gap = 4.0
	boxW := (d.width - gap*float64(len(ms)-1)) / float64(len(ms))
	// Labels set the height of the row.
	d.font("", 8.5, colInk)
	labels := make([][]string, len(ms))
	rows := 1
	for i, m := range ms {
		labels[i] = d.split(d.enc(m.Label, false), boxW-4)
		rows = max(rows, len(labels[i]))
	}
	boxH := 4 + 10.5 + float64(rows)*3.8 + 3
	title := "What we achieved together in " + d.s.PeriodLabel
	d.need(6 + boxH + 4)
	d.pdf.Ln(1)
	d.font("B", 8.5, colAccent)
	pdf.SetX(marginLeft)
	d.multiCell(d.width, 4.4, strings.ToUpper(title), false)
	pdf.Ln(1.5)
	top := pdf.GetY()
	for i, m := range ms {
		x := marginLeft + float64(i)*(boxW+gap)
		pdf.SetFillColor(colTint.r, colTint.g, colTint.b)
		pdf.RoundedRect(x, top, boxW, boxH, 1.6, "1234", "F")
		n := count(m.Period, "")
		d.font("B", 24, colBrand)
		pdf.SetXY(x+1, top+3.2)
		d.cell(d.lineWidth(d.enc(n, false))+2*pdf.GetCellMargin(), 10.5, n, 0, "L")
		if allDemo || (im.DemoData && m.PeriodDemo) {
			d.font("B", 11, colBrand)
			pdf.SetXY(pdf.GetX()-1.2, top+3.4)
			d.cell(5, 5, demoMark, 0, "L")
		}
		d.font("", 8.5, colInk)
		ly := top + 4 + 10.5
		for _, l := range labels[i] {
			pdf.SetXY(x+1, ly)
			d.draw(boxW-2, 3.8, l, "", 0, "L", false)
			ly += 3.8
		}
	}
	pdf.SetXY(marginLeft, top+boxH+4)
}

// allDemoData reports whether every figure of the update is demonstration
// data: an update flagged as demo data without any per-value flag (snapshot
// version 1) is demonstration data throughout.
func allDemoData(im *domain.ImpactSection) bool {
	if !im.DemoData {
		return false
	}
	for _, m := range im.Metrics {
		if m.PeriodDemo || m.CumulativeDemo {
			return false
		}
	}
	return true
}

// yourGiving draws the supporter's own total for the period, per currency,
// under title, with the notes that apply (Gift Aid, the US acknowledgment;
// empty ones are left out); detail says how each total came about.
func (d *doc) yourGiving(title string, all []string, detail func(domain.Total) string) {
	s, pdf := d.s, d.pdf
	if len(s.Totals) == 0 && len(s.Gifts) == 0 {
		return
	}
	var notes []string
	for _, n := range all {
		if strings.TrimSpace(n) != "" {
			notes = append(notes, n)
		}
	}
	innerW := d.width - 8
	d.font("", 9, colInk)
	var noteLines [][]string
	notesH := 0.0
	for _, n := range notes {
		l := d.split(d.enc(n, true), innerW)
		noteLines = append(noteLines, l)
		notesH += float64(len(l))*4.3 + 1.5
	}
	// One currency: the amount and how it came about on one line. Several:
	// side by side, each over its detail, so the box keeps its height.
	n := max(len(s.Totals), 1)
	colW := innerW / float64(n)
	details := make([][]string, len(s.Totals))
	detailRows := 0
	if n > 1 {
		d.font("", 8.5, colInk)
		for i, t := range s.Totals {
			details[i] = d.split(d.enc(detail(t), false), colW-2)
			detailRows = max(detailRows, len(details[i]))
		}
	}
	amountsH := 7.5 + float64(detailRows)*3.8
	if detailRows > 0 && len(notes) > 0 && d.annual() {
		amountsH += 2 // the statement's long notes need air under the details
	}
	boxH := 4 + 4.5 + amountsH + notesH + 2.5
	d.need(boxH + 3)
	top := pdf.GetY()
	pdf.SetFillColor(colTint.r, colTint.g, colTint.b)
	pdf.Rect(marginLeft, top, d.width, boxH, "F")
	pdf.SetFillColor(colAccent.r, colAccent.g, colAccent.b)
	pdf.Rect(marginLeft, top, 1.2, boxH, "F")
	x := marginLeft + 4
	y := top + 3
	d.font("B", 8.5, colAccent)
	pdf.SetXY(x, y)
	d.cell(innerW, 4.5, strings.ToUpper(title), 0, "L")
	y += 5
	if len(s.Totals) == 0 {
		d.font("", bodySize, colInk)
		pdf.SetXY(x, y)
		d.cell(innerW, 7, "We received no gifts from you in this period.", 0, "L")
	}
	for i, t := range s.Totals {
		cx := x + float64(i)*colW
		amount := signed(money.Money{Amount: t.Net, Currency: t.Currency})
		d.font("B", 15, colBrand)
		pdf.SetXY(cx, y)
		w := d.lineWidth(d.enc(amount, false)) + 2*pdf.GetCellMargin()
		d.cell(w, 7, amount, 0, "L")
		if n == 1 {
			d.font("", 9.5, colInk)
			pdf.SetXY(cx+w+1, y+0.6)
			d.cell(innerW-w-1, 7, detail(t), 0, "L")
			continue
		}
		d.font("", 8.5, colInk)
		for j, l := range details[i] {
			pdf.SetXY(cx, y+7.3+float64(j)*3.8)
			d.draw(colW-2, 3.8, l, "", 0, "L", false)
		}
	}
	y += amountsH
	d.font("", 9, colInk)
	for _, lines := range noteLines {
		pdf.SetXY(x, y)
		d.drawLines(innerW, 4.3, lines, "", false)
		y += float64(len(lines))*4.3 + 1.5
	}
	pdf.SetXY(marginLeft, top+boxH+3.5)
}

// givingDetail says how a currency's total came about: "given in 3 gifts,
// after £7.50 refunded" (refunded is the word for what came back: the
// annual statement says "returned to you").
func (d *doc) givingDetail(refunded string, t domain.Total) string {
	n := 0
	for _, g := range d.s.Gifts {
		if g.Amount.Currency == t.Currency {
			n++
		}
	}
	var parts []string
	switch n {
	case 0:
	case 1:
		parts = append(parts, "given in 1 gift")
	default:
		parts = append(parts, "given in "+strconv.Itoa(n)+" gifts")
	}
	if t.Refunded != 0 {
		parts = append(parts, "after "+money.Money{Amount: t.Refunded, Currency: t.Currency}.String()+" "+refunded)
	}
	return strings.Join(parts, ", ")
}

// signOff draws the closing, the signature and the signatory's name and
// role, kept together on one page. A snapshot from before signatories
// (version 2) has its closing lines in SignOff alone.
func (d *doc) signOff() {
	s, pdf := d.s, d.pdf
	if len(s.SignOff) == 0 && s.Org.Signatory == "" {
		return
	}
	sig := d.r.signature
	showSig := s.Org.Signatory != "" && sig.shows(s.Org.SignatureSHA256)
	sigW, sigH := 0.0, 0.0
	if showSig {
		sigH = 11.5
		sigW = sigH * float64(sig.w) / float64(sig.h)
		if sigW > 60 {
			sigW = 60
			sigH = sigW * float64(sig.h) / float64(sig.w)
		}
	}
	var who []string
	if s.Org.Signatory != "" {
		who = append(who, s.Org.Signatory)
		if s.Org.SignatoryRole != "" {
			who = append(who, s.Org.SignatoryRole+", "+s.Org.Name)
		} else {
			who = append(who, s.Org.Name)
		}
	}
	pdf.Ln(1)
	d.need(float64(len(s.SignOff)+len(who))*bodyLine + sigH + 2)
	d.font("", bodySize, colInk)
	for _, line := range s.SignOff {
		pdf.SetX(marginLeft)
		d.multiCell(d.width, bodyLine, line, false)
	}
	if showSig {
		d.image(sig, marginLeft+1, pdf.GetY()+0.5, sigW, sigH)
		pdf.SetY(pdf.GetY() + sigH + 1)
	} else if len(who) > 0 {
		pdf.Ln(2)
	}
	for i, line := range who {
		style := ""
		if i == 0 {
			style = "B"
		}
		d.font(style, bodySize, colInk)
		pdf.SetX(marginLeft)
		d.multiCell(d.width, bodyLine, line, false)
	}
}
