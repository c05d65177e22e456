package letter

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"impactd/internal/domain"
	"impactd/internal/money"
)

// Page geometry in millimetres.
const (
	marginLeft   = 20.0
	marginRight  = 20.0
	marginTop    = 22.0 // where pages after the first start, below the running header
	letterheadY  = 13.0 // top of the logo and organisation name
	footerBottom = 9.0  // space below the footer
	bodyLine     = 5.0  // line height of body text
	bodySize     = 10.5 // body text, in points
	tableSize    = 9.0
	tableLine    = 4.1
	tablePadY    = 0.8
	footerSize   = 7.0
	footerLine   = 3.1
	dateCol      = 34.0 // fits "30 September 2026" in the table font
	amountCol    = 30.0
)

// rgb is a colour.
type rgb struct{ r, g, b int }

// The palette: one dark blue for the organisation, a teal accent, greys for
// small print. Every text colour meets WCAG AA contrast on white and on the
// tints it is printed on.
var (
	colInk       = rgb{33, 37, 41}
	colMuted     = rgb{88, 94, 100}
	colBrand     = rgb{0, 57, 93}
	colAccent    = rgb{0, 112, 140}
	colTint      = rgb{236, 243, 247}
	colHeadFill  = rgb{226, 235, 241}
	colZebra     = rgb{246, 248, 250}
	colHairline  = rgb{205, 212, 218}
	colDemoFill  = rgb{255, 243, 205}
	colDemoText  = rgb{122, 72, 0}
	colDemoFrame = rgb{230, 180, 80}
)

// Window is the part of a letter's first page that a window envelope shows,
// in millimetres from the page's top left corner, and Folds are where the
// page is folded to fit it.
type Window struct {
	X, Y, W, H float64
	Folds      []float64
	// Envelope names the envelopes and the standard the window follows.
	Envelope string
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
			Folds: []float64{11.0 / 3 * in, 22.0 / 3 * in}, Envelope: "#10 window envelope (USPS standard window)"}
	}
	return Window{X: 20, Y: 45, W: 85, H: 45, Folds: []float64{105, 210},
		Envelope: "DL or C5 window envelope (DIN 5008 form B, DIN 676)"}
}

// fallbackGreeting replaces a greeting the fonts cannot print; the email's
// template uses the same words when it has no name.
const fallbackGreeting = "Dear supporter,"

// doc is one letter being drawn: it lives for one Render call only.
type doc struct {
	r      *Renderer
	s      *domain.Snapshot
	pdf    *fpdf.Fpdf
	code   string // verification code
	issued time.Time
	win    Window
	// style is the current style (regular or bold), which drawing needs to
	// measure and draw text in other blocks.
	style int
	// added records which blocks' fonts, per style, the document has.
	added [][2]bool
	// images records which pictures the document has registered.
	images map[string]bool
	// runBuf and textBuf are reused by runs.
	runBuf  []run
	textBuf []byte

	pageW, pageH float64
	width        float64  // width of the text column
	footer       []string // footer lines, wrapped and prepared by enc
	footerH      float64
}

// column is one column of a table.
type column struct {
	title string
	width float64
	align string // "L", "C" or "R"
}

// newDoc starts a letter.
func newDoc(r *Renderer, s *domain.Snapshot, contentHash string, issued time.Time) *doc {
	d := &doc{r: r, s: s, pdf: r.newFpdf(s, issued), code: domain.VerificationCode(contentHash), issued: issued,
		win: WindowFor(s.PaperSize)}
	pdf := d.pdf
	// The base block prints every letter's copy, in both styles.
	d.added = make([][2]bool, len(r.fonts.blocks))
	d.useBlock(0, regular)
	d.useBlock(0, bold)
	d.pageW, d.pageH = pdf.GetPageSize()
	d.width = d.pageW - marginLeft - marginRight
	pdf.SetMargins(marginLeft, marginTop, marginRight)
	pdf.SetCellMargin(1.2)
	pdf.SetTitle(d.clean("Impact statement, "+s.PeriodLabel), true)
	pdf.SetAuthor(d.clean(s.Org.Name), true)
	pdf.SetSubject(d.clean("Your gifts to "+s.Org.Name+" in "+s.PeriodLabel+" and what they helped achieve"), true)
	lang := "en-GB"
	if s.Org.Country == domain.CountryUS {
		lang = "en-US"
	}
	pdf.SetLang(lang)

	// The footer's height depends on how its lines wrap; it sets where the
	// body must stop on every page.
	d.font("", footerSize, colMuted)
	for _, line := range d.footerCopy() {
		d.footer = append(d.footer, d.balanced(d.enc(line, false), d.width)...)
	}
	d.footerH = float64(len(d.footer)+1)*footerLine + 3
	pdf.SetAutoPageBreak(true, footerBottom+d.footerH+5)
	pdf.SetHeaderFunc(d.runningHeader)
	pdf.SetFooterFunc(d.pageFooter)
	return d
}

// footerCopy is the footer's text: the template's lines, then the
// organisation's registered name, number and address (Charities Act 2011
// s.39 asks a registered charity to say so on such documents).
func (d *doc) footerCopy() []string {
	org := d.s.Org
	lines := append([]string(nil), d.s.Footer...)
	var reg []string
	if org.CharityNumber != "" {
		reg = append(reg, org.Name+" is a registered charity, no. "+org.CharityNumber)
	}
	if len(org.Address) > 0 {
		reg = append(reg, strings.Join(org.Address, ", "))
	}
	if len(reg) > 0 {
		lines = append(lines, strings.Join(reg, " · ")+".")
	}
	return lines
}

// clean prepares document metadata (title, author), which fpdf stores as
// UTF-16 (see fontSet.clean).
func (d *doc) clean(s string) string { return d.r.fonts.clean(s, false) }

// font selects style ("" or "B") at size points in colour c.
func (d *doc) font(style string, size float64, c rgb) {
	d.style = regular
	if style == "B" {
		d.style = bold
	}
	d.pdf.SetFont(fontFamily, style, size)
	d.pdf.SetTextColor(c.r, c.g, c.b)
}

// bottom is the lowest y the body may reach on a page.
func (d *doc) bottom() float64 {
	_, m := d.pdf.GetAutoPageBreak()
	return d.pageH - m
}

// need starts a new page unless h millimetres are left on this one, so that
// a heading is never left alone at the bottom of a page.
func (d *doc) need(h float64) {
	if d.pdf.GetY()+h > d.bottom() {
		d.pdf.AddPage()
	}
}

// image draws picture p at x, y, w wide (and h high, or in proportion when
// h is 0), registering it the first time.
func (d *doc) image(p *picture, x, y, w, h float64) {
	if d.images == nil {
		d.images = map[string]bool{}
	}
	if !d.images[p.name] {
		d.images[p.name] = true
		d.pdf.RegisterImageOptionsReader(p.name, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(p.data))
	}
	d.pdf.ImageOptions(p.name, x, y, w, h, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
}

// letter draws the whole letter: on the first page what a supporter reads
// first — who it is from, to whom, the period's impact in a few figures,
// their own giving and the signature — then the details.
func (d *doc) letter() {
	s := d.s
	d.pdf.AddPage()
	d.foldMarks()
	d.letterhead()
	d.addressBlock()
	// The title starts below the window; if the first fold would cross it,
	// below the fold.
	top := d.win.Y + d.win.H + 7
	if f := d.win.Folds[0]; top < f && top+7.2 > f {
		top = f - 8.2 // above the fold, if there is room under the window
		if top < d.win.Y+d.win.H+3 {
			top = f + 3
		}
	}
	d.pdf.SetXY(marginLeft, top)

	d.font("B", 16, colBrand)
	d.multiCell(d.width, 7.2, "Your impact in "+s.PeriodLabel, false)
	d.pdf.Ln(3)
	if s.Corrects != "" {
		// A corrected letter says so before anything else.
		d.font("B", 9.5, colDemoText)
		d.pdf.SetFillColor(colDemoFill.r, colDemoFill.g, colDemoFill.b)
		d.pdf.SetDrawColor(colDemoFrame.r, colDemoFrame.g, colDemoFrame.b)
		d.pdf.SetX(marginLeft)
		note := "Corrected statement — replaces the one sent on " + s.Corrects + "."
		d.drawLines(d.width, 5, d.split(d.enc(note, false), d.width), "1", true)
		d.pdf.Ln(3)
	}

	greeting := s.Greeting
	if strings.TrimSpace(greeting) == "" || !d.r.fonts.coversAll(greeting) {
		greeting = fallbackGreeting
	}
	d.font("", bodySize, colInk)
	d.multiCell(d.width, bodyLine, greeting, false)
	d.pdf.Ln(2)
	for _, p := range s.Paragraphs {
		d.multiCell(d.width, bodyLine, p, true)
		d.pdf.Ln(2)
	}
	d.figures()
	if strings.TrimSpace(s.Collective) != "" {
		d.font("", bodySize, colInk)
		d.pdf.SetX(marginLeft)
		d.multiCell(d.width, bodyLine, s.Collective, true)
		d.pdf.Ln(2)
	}
	d.yourGiving()
	d.signOff()

	// The details start on a page of their own.
	d.pdf.AddPage()
	d.gifts()
	d.history()
	d.impact()
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
	d.cell(colW, 4, "Impact statement", 0, "R")
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
// with the Gift Aid line or the US acknowledgment where they apply.
func (d *doc) yourGiving() {
	s, pdf := d.s, d.pdf
	if len(s.Totals) == 0 && len(s.Gifts) == 0 {
		return
	}
	var notes []string
	if s.GiftAid != nil && strings.TrimSpace(s.GiftAid.Note) != "" {
		notes = append(notes, s.GiftAid.Note)
	}
	if strings.TrimSpace(s.Acknowledgment) != "" {
		notes = append(notes, s.Acknowledgment)
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
			details[i] = d.split(d.enc(d.givingDetail(t), false), colW-2)
			detailRows = max(detailRows, len(details[i]))
		}
	}
	amountsH := 7.5 + float64(detailRows)*3.8
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
	d.cell(innerW, 4.5, strings.ToUpper("Your giving in "+s.PeriodLabel), 0, "L")
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
			d.cell(innerW-w-1, 7, d.givingDetail(t), 0, "L")
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

// givingDetail says how a currency's total came about: "in 3 gifts, after
// £7.50 refunded".
func (d *doc) givingDetail(t domain.Total) string {
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
		parts = append(parts, "after "+money.Money{Amount: t.Refunded, Currency: t.Currency}.String()+" refunded")
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

// heading starts a section, keeping it on a page with at least keep
// millimetres of what follows.
func (d *doc) heading(title string, keep float64) {
	if d.pdf.GetY() > marginTop+1 {
		d.pdf.Ln(3)
	}
	d.need(9 + keep)
	d.font("B", 12, colBrand)
	d.pdf.SetX(marginLeft)
	d.multiCell(d.width, 6.2, title, false)
	d.pdf.Ln(1.2)
}

// gifts draws the period's gifts and refunds in one table, oldest first
// within each, and the totals per currency under them.
func (d *doc) gifts() {
	s := d.s
	d.heading("Your gifts in "+s.PeriodLabel, 20)
	if len(s.Gifts) == 0 && len(s.Refunds) == 0 {
		d.font("", bodySize, colInk)
		d.multiCell(d.width, bodyLine, "We received no gifts from you in this period.", false)
		return
	}
	giftAid := false
	for _, g := range s.Gifts {
		giftAid = giftAid || g.GiftAid
	}
	gaW := 0.0
	if giftAid {
		gaW = 17
	}
	cols := []column{
		{"Date", dateCol, "L"},
		{"Gift", d.width - dateCol - gaW - amountCol, "L"},
	}
	if giftAid {
		cols = append(cols, column{"Gift Aid", gaW, "C"})
	}
	cols = append(cols, column{"Amount", amountCol, "R"})
	d.tableHead(cols)
	i := 0
	row := func(cells ...string) {
		if !giftAid {
			cells = append(cells[:2], cells[3])
		}
		d.tableRow(cols, cells, i, "")
		i++
	}
	for _, g := range s.Gifts {
		mark := ""
		if g.GiftAid {
			mark = "Yes"
		}
		row(longDate(g.Date), giftText(g), mark, g.Amount.String())
	}
	for _, rf := range s.Refunds {
		neg := money.Money{Amount: -rf.Amount.Amount, Currency: rf.Amount.Currency}
		row(longDate(rf.Date), "Refund of your gift of "+longDate(rf.GiftDate), "", signed(neg))
	}
	// Totals: the net per currency, with what was given and refunded when
	// a refund makes them differ.
	tcols := []column{{"", d.width - amountCol, "R"}, {"", amountCol, "R"}}
	d.pdf.SetDrawColor(colHairline.r, colHairline.g, colHairline.b)
	d.pdf.Line(marginLeft, d.pdf.GetY(), marginLeft+d.width, d.pdf.GetY())
	for _, t := range s.Totals {
		m := func(a int64) money.Money { return money.Money{Amount: a, Currency: t.Currency} }
		label := "Total"
		if len(s.Totals) > 1 {
			label = "Total in " + t.Currency
		}
		if t.Refunded != 0 {
			d.tableRow(tcols, []string{"Given", m(t.Gross).String()}, 0, "")
			d.tableRow(tcols, []string{"Refunded", signed(m(-t.Refunded))}, 0, "")
			label += " after refunds"
		}
		d.tableRow(tcols, []string{label, signed(m(t.Net))}, 0, "B")
	}
	d.tableEnd()
}

// giftText describes a gift without repeating itself: "Monthly gift",
// "One-off gift · Survivor aftercare" — a designation that only says what
// kind of gift it was ("Monthly gift") is not printed twice.
func giftText(g domain.Gift) string {
	kind := "One-off gift"
	if g.Recurring {
		kind = "Monthly gift"
	}
	des := strings.TrimSpace(g.Designation)
	switch strings.ToLower(des) {
	case "", "gift", "donation", "monthly", "monthly gift", "monthly donation", "one-off", "one-off gift", "one-off donation":
		return kind
	}
	return kind + " · " + des
}

// history draws the donor's giving over time: this period, the year to date
// and all time per currency beside the chart of their quarters.
func (d *doc) history() {
	s := d.s
	if len(s.Lifetime) == 0 && s.Chart == nil {
		return
	}
	pdf := d.pdf
	const (
		plotH  = 20.0 // height of the tallest bar
		labelH = 4.0  // room for the amounts above the bars
		axisH  = 6.0  // room for the quarter labels below the axis
	)
	sideW := 0.0
	if len(s.Lifetime) > 0 {
		sideW = 58
	}
	chartW := d.width - sideW
	if sideW > 0 && s.Chart != nil {
		chartW -= 8
	}
	blockH := labelH + plotH + axisH + 12
	if s.Chart == nil {
		blockH = float64(len(s.Lifetime))*16 + 4
	}
	d.heading("Your giving over time", blockH)
	top := pdf.GetY()
	end := top
	if s.Chart != nil {
		end = max(end, d.chart(s.Chart, marginLeft, top, chartW, plotH, labelH, axisH))
	}
	if sideW > 0 {
		x := marginLeft + d.width - sideW
		y := top
		ytdTitle := "Year to date"
		if t, err := time.Parse(time.DateOnly, s.YearStart); err == nil {
			ytdTitle = "Since 1 January " + strconv.Itoa(t.Year())
		}
		allTitle := "All time"
		if s.FirstGiftOn != "" {
			allTitle = "Since " + monthYear(s.FirstGiftOn)
		}
		for _, life := range s.Lifetime {
			c := life.Currency
			if len(s.Lifetime) > 1 {
				d.font("B", 7.5, colAccent)
				pdf.SetXY(x, y)
				d.cell(sideW, 4, "In "+c, 0, "L")
				y += 4.2
			}
			m := func(ts []domain.Total) string {
				for _, t := range ts {
					if t.Currency == c {
						return signed(money.Money{Amount: t.Net, Currency: c})
					}
				}
				return money.Money{Currency: c}.String()
			}
			for _, kv := range [][2]string{{"This period", m(s.Totals)}, {ytdTitle, m(s.YearToDate)}, {allTitle, m(s.Lifetime)}} {
				d.font("", 8.5, colMuted)
				pdf.SetXY(x, y)
				d.cell(sideW-28, 4.6, kv[0], 0, "L")
				d.font("B", 9.5, colInk)
				d.cell(28, 4.6, kv[1], 0, "R")
				y += 4.8
			}
			y += 1.5
		}
		d.font("", 7, colMuted)
		pdf.SetXY(x, y)
		d.drawLines(sideW, 3.2, d.split(d.enc("After refunds. Amounts in different currencies are never added together.", false), sideW), "", false)
		end = max(end, pdf.GetY())
	}
	pdf.SetXY(marginLeft, end+2)
}

// chart draws a bar chart of the donor's giving per quarter in the box at
// x, top, w wide, the period's own quarter marked, and returns the y below
// it.
func (d *doc) chart(c *domain.GivingChart, x, top, w, plotH, labelH, axisH float64) float64 {
	pdf := d.pdf
	caption := "Your gifts by quarter in " + c.Currency + ", after refunds"
	if len(c.OtherCurrencies) > 0 {
		caption += " (gifts in " + strings.Join(c.OtherCurrencies, " and ") + " are not shown)"
	}
	d.font("", 8, colMuted)
	capLines := d.split(d.enc(caption, false), w)
	y := top
	for _, l := range capLines {
		pdf.SetXY(x, y)
		d.draw(w, 3.8, l, "", 0, "L", false) // l is prepared
		y += 3.8
	}
	plotTop := y + labelH + 1
	base := plotTop + plotH
	var peak int64
	for _, b := range c.Bars {
		peak = max(peak, b.Amount)
	}
	n := max(len(c.Bars), 4) // a chart of one or two quarters keeps its bars slim
	slot := w / float64(n)
	barW := min(slot*0.56, 14)
	for i, b := range c.Bars {
		bx := x + float64(i)*slot
		now := b.Period == d.s.Period
		col := colAccent
		if now {
			col = colBrand
		}
		style := ""
		if now {
			style = "B"
		}
		if b.Amount > 0 && peak > 0 {
			h := max(plotH*float64(b.Amount)/float64(peak), 0.6)
			pdf.SetFillColor(col.r, col.g, col.b)
			pdf.Rect(bx+(slot-barW)/2, base-h, barW, h, "F")
			d.font(style, 6.8, colInk)
			pdf.SetXY(bx, base-h-labelH)
			d.cell(slot, labelH, money.Money{Amount: b.Amount, Currency: c.Currency}.String(), 0, "C")
		}
		d.font(style, 7, colMuted)
		if now {
			d.font(style, 7, colBrand)
		}
		pdf.SetXY(bx, base+1)
		d.cell(slot, 3.2, b.Label, 0, "C")
		if now {
			pdf.SetXY(bx, base+4)
			d.cell(slot, 3, "this period", 0, "C")
		}
	}
	pdf.SetDrawColor(colHairline.r, colHairline.g, colHairline.b)
	pdf.SetLineWidth(0.3)
	pdf.Line(x, base, x+w, base)
	pdf.SetLineWidth(0.2)
	return base + axisH + 2
}

// impact draws the organisation's results for the period and since the
// start, the narrative and its source.
func (d *doc) impact() {
	im := d.s.Impact
	if im == nil {
		return
	}
	pdf := d.pdf
	title := im.Title
	if strings.TrimSpace(title) == "" {
		title = "What we achieved together"
	}
	d.heading(title, 30)
	// Demonstration data is marked value by value, so that a letter never
	// labels the organisation's real, published figures as invented.
	allDemo := allDemoData(im)
	anyDemo := allDemo
	if len(im.Metrics) > 0 {
		cols := []column{
			{"", d.width - 32 - 46, "L"},
			{"This period", 32, "R"},
			{"Since the start", 46, "R"},
		}
		d.tableHead(cols)
		for i, m := range im.Metrics {
			period := count(m.Period, m.Unit)
			if m.Period != nil && (allDemo || (im.DemoData && m.PeriodDemo)) {
				period += demoMark
				anyDemo = true
			}
			cum := count(m.Cumulative, m.Unit)
			if m.Cumulative != nil && m.CumulativeSince != "" {
				cum += " since " + m.CumulativeSince
			}
			if m.Cumulative != nil && (allDemo || (im.DemoData && m.CumulativeDemo)) {
				cum += demoMark
				anyDemo = true
			}
			d.tableRow(cols, []string{m.Label, period, cum}, i, "")
		}
		d.tableEnd()
		pdf.Ln(1)
	}
	if anyDemo {
		note := demoMark + " Demonstration figure, invented for this demo — not a real result."
		if !allDemo {
			note += " Figures without the mark are the organisation's own, as published (see the source below)."
		}
		d.font("", 8, colDemoText)
		pdf.SetFillColor(colDemoFill.r, colDemoFill.g, colDemoFill.b)
		pdf.SetDrawColor(colDemoFrame.r, colDemoFrame.g, colDemoFrame.b)
		pdf.SetX(marginLeft)
		d.drawLines(d.width, 4.2, d.split(d.enc(note, false), d.width), "1", true)
		pdf.Ln(3)
	}
	if strings.TrimSpace(im.Narrative) != "" {
		// The narrative is kept whole on one page.
		d.font("", 9.5, colInk)
		lines := d.split(d.enc(im.Narrative, true), d.width)
		d.need(float64(len(lines)) * 4.6)
		pdf.SetX(marginLeft)
		d.drawLines(d.width, 4.6, lines, "", false)
		pdf.Ln(2)
	}
	var src []string
	if s := strings.TrimSpace(im.Source); s != "" {
		if !strings.HasSuffix(s, ".") {
			s += "."
		}
		src = append(src, "Source: "+s)
	}
	if im.AsOf != "" {
		src = append(src, "Figures as of "+longDate(im.AsOf)+".")
	}
	if len(src) > 0 {
		d.font("", 8, colMuted)
		lines := d.split(d.enc(strings.Join(src, " "), false), d.width)
		d.need(float64(len(lines)) * 3.8)
		pdf.SetX(marginLeft)
		d.drawLines(d.width, 3.8, lines, "", false)
	}
}

// tableHead draws a table's header row.
func (d *doc) tableHead(cols []column) {
	pdf := d.pdf
	d.font("B", 8.5, colBrand)
	pdf.SetFillColor(colHeadFill.r, colHeadFill.g, colHeadFill.b)
	pdf.SetX(marginLeft)
	for _, c := range cols {
		d.draw(c.width, 6.2, d.enc(c.title, false), "", 0, c.align, true)
	}
	pdf.Ln(-1)
}

// tableRow draws one row, wrapping long cells; if the row does not fit on
// the page it goes to the next one, under a repeated header row.
func (d *doc) tableRow(cols []column, cells []string, i int, style string) {
	pdf := d.pdf
	d.font(style, tableSize, colInk)
	wrapped := make([][]string, len(cols))
	n := 1
	for k, c := range cols {
		wrapped[k] = d.split(d.enc(cells[k], false), c.width)
		n = max(n, len(wrapped[k]))
	}
	h := float64(n)*tableLine + 2*tablePadY
	if pdf.GetY()+h > d.bottom() {
		pdf.AddPage()
		if cols[0].title != "" {
			d.tableHead(cols)
		}
		d.font(style, tableSize, colInk)
	}
	y := pdf.GetY()
	if i%2 == 1 {
		pdf.SetFillColor(colZebra.r, colZebra.g, colZebra.b)
		pdf.Rect(marginLeft, y, d.width, h, "F")
	}
	x := marginLeft
	for k, c := range cols {
		for j, line := range wrapped[k] {
			pdf.SetXY(x, y+tablePadY+float64(j)*tableLine)
			d.draw(c.width, tableLine, line, "", 0, c.align, false) // line is prepared
		}
		x += c.width
	}
	pdf.SetXY(marginLeft, y+h)
}

// tableEnd closes a table with a hairline.
func (d *doc) tableEnd() {
	pdf := d.pdf
	y := pdf.GetY()
	pdf.SetDrawColor(colHairline.r, colHairline.g, colHairline.b)
	pdf.SetLineWidth(0.3)
	pdf.Line(marginLeft, y, marginLeft+d.width, y)
	pdf.SetLineWidth(0.2)
	pdf.Ln(2)
}

// runningHeader is fpdf's header callback: pages after the first carry a
// small line naming the organisation, the supporter and the statement.
func (d *doc) runningHeader() {
	pdf := d.pdf
	// fpdf restores the page's font after its callbacks; so must d.
	defer func(st int) { d.style = st }(d.style)
	if pdf.PageNo() == 1 {
		return
	}
	d.font("", 8, colMuted)
	pdf.SetXY(marginLeft, 12)
	head := d.s.Org.Name + " — Impact statement, " + d.s.PeriodLabel
	if name := d.s.Donor.Name; name != "" && d.r.fonts.coversAll(name) {
		head += ", for " + name
	}
	d.cell(d.width, 4, head, 0, "L")
	pdf.SetDrawColor(colHairline.r, colHairline.g, colHairline.b)
	pdf.Line(marginLeft, 17.5, d.pageW-marginRight, 17.5)
	pdf.SetXY(marginLeft, marginTop)
}

// pageFooter is fpdf's footer callback: the footer copy, the verification
// code and the page number on every page.
func (d *doc) pageFooter() {
	pdf := d.pdf
	defer func(st int) { d.style = st }(d.style)
	y := d.pageH - footerBottom - d.footerH
	pdf.SetDrawColor(colHairline.r, colHairline.g, colHairline.b)
	pdf.SetLineWidth(0.2)
	pdf.Line(marginLeft, y, d.pageW-marginRight, y)
	y += 2.2
	d.font("", footerSize, colMuted)
	for _, line := range d.footer {
		pdf.SetXY(marginLeft, y)
		d.draw(d.width, footerLine, line, "", 0, "L", false) // line is prepared
		y += footerLine
	}
	verify := ""
	if d.code != "" {
		verify = "Verification code " + d.code
		if site := strings.TrimRight(d.s.Org.Website, "/"); site != "" {
			verify += " — check it at " + site + "/verify"
		}
	}
	pdf.SetXY(marginLeft, y+0.8)
	d.font("B", footerSize, colMuted)
	d.cell(d.width-30, footerLine, verify, 0, "L")
	d.font("", footerSize, colMuted)
	// fpdf aligns the text with "{nb}" still in it and substitutes the page
	// count later; widen the cell by the difference so that a one-digit count
	// ends at the margin.
	slack := pdf.GetStringWidth("{nb}") - pdf.GetStringWidth("0")
	d.cell(30+slack, footerLine, fmt.Sprintf("Page %d of {nb}", pdf.PageNo()), 0, "R")
}

// balanced wraps a prepared line to width w like split, but narrows the
// measure while the line count stays the same, so that the last line is
// not a word or two left alone (a widow).
func (d *doc) balanced(s string, w float64) []string {
	lines := d.split(s, w)
	const enough = 0.3 // of the measure: more than a word or two
	if len(lines) < 2 || d.lineWidth(lines[len(lines)-1]) >= w*enough {
		return lines
	}
	best := lines
	for nw := w - 2; nw > w*0.6; nw -= 2 {
		l := d.split(s, nw)
		if len(l) != len(lines) {
			break
		}
		best = l
		if d.lineWidth(l[len(l)-1]) >= nw*enough {
			break
		}
	}
	return best
}

// demoMark follows every demonstration value.
const demoMark = "†"

// minusSign is U+2212, the true minus sign, which the base block carries.
const minusSign = "\u2212"

// signed formats an amount with a true minus sign when it is negative.
func signed(m money.Money) string {
	if m.Amount < 0 {
		return minusSign + money.Money{Amount: -m.Amount, Currency: m.Currency}.String()
	}
	return m.String()
}

// monthYear formats "2025-03-14" as "March 2025".
func monthYear(s string) string {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return t.Format("January 2006")
}

// longDate formats "2026-11-26" as "26 November 2026"; text that is not a
// date is printed as it is.
func longDate(s string) string {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return t.Format("2 January 2006")
}

// count formats an impact figure with thousands separators and its unit, or
// a dash when the organisation does not publish it.
func count(v *int64, unit string) string {
	if v == nil {
		return "—"
	}
	n := *v
	sign := ""
	if n < 0 {
		sign, n = minusSign, -n
	}
	digits := strconv.FormatInt(n, 10)
	var b strings.Builder
	b.WriteString(sign)
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if unit != "" {
		b.WriteString(" " + unit)
	}
	return b.String()
}
