package letter

import (
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
	marginTop    = 24.0 // where pages after the first start, below the running header
	letterheadY  = 15.0 // where the first page starts
	footerBottom = 10.0 // space below the footer
	bodyLine     = 5.2  // line height of body text
	bodySize     = 10.5 // body text, in points
	tableSize    = 9.0
	tableLine    = 4.1
	tablePadY    = 1.0
	footerSize   = 7.2
	footerLine   = 3.2
	dateCol      = 37.0 // fits "30 September 2026" in the table font
)

// rgb is a colour.
type rgb struct{ r, g, b int }

// The palette: one dark blue for the organisation, greys for small print.
var (
	colInk       = rgb{33, 37, 41}
	colMuted     = rgb{98, 104, 110}
	colBrand     = rgb{0, 57, 93}
	colAccent    = rgb{0, 122, 153}
	colHeadFill  = rgb{226, 235, 241}
	colZebra     = rgb{245, 248, 250}
	colHairline  = rgb{214, 220, 225}
	colDemoFill  = rgb{255, 243, 205}
	colDemoText  = rgb{122, 72, 0}
	colDemoFrame = rgb{230, 180, 80}
)

// fallbackGreeting replaces a greeting the fonts cannot print.
const fallbackGreeting = "Dear supporter,"

// doc is one letter being drawn: it lives for one Render call only.
type doc struct {
	r      *Renderer
	s      *domain.Snapshot
	pdf    *fpdf.Fpdf
	code   string // verification code
	issued time.Time
	// core is set when the letter is drawn with fpdf's core fonts in
	// Windows-1252, rather than the embedded fonts.
	core bool
	// style is the current style (regular or bold), which the embedded
	// path needs to measure and draw text in other blocks.
	style int
	// added records which blocks' fonts, per style, the document has.
	added [][2]bool
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

// newDoc starts a letter; core chooses the core-font path (see Render).
func newDoc(r *Renderer, s *domain.Snapshot, contentHash string, issued time.Time, core bool) *doc {
	d := &doc{r: r, s: s, pdf: r.newFpdf(s.PaperSize, issued, s.Org.LogoSHA256, core), code: domain.VerificationCode(contentHash), issued: issued, core: core}
	pdf := d.pdf
	if !core {
		// The base block prints every letter's copy, in both styles.
		d.added = make([][2]bool, len(r.fonts.blocks))
		d.useBlock(0, regular)
		d.useBlock(0, bold)
	}
	d.pageW, d.pageH = pdf.GetPageSize()
	d.width = d.pageW - marginLeft - marginRight
	pdf.SetMargins(marginLeft, marginTop, marginRight)
	pdf.SetCellMargin(1.2)
	pdf.SetTitle(d.clean("Impact statement — "+s.PeriodLabel), true)
	pdf.SetAuthor(d.clean(s.Org.Name), true)

	// The footer's height depends on how its lines wrap; it sets where the
	// body must stop on every page.
	d.font("", footerSize, colMuted)
	for _, line := range s.Footer {
		d.footer = append(d.footer, d.split(d.enc(line, false), d.width)...)
	}
	d.footerH = float64(len(d.footer)+1)*footerLine + 3
	pdf.SetAutoPageBreak(true, footerBottom+d.footerH+6)
	pdf.SetHeaderFunc(d.runningHeader)
	pdf.SetFooterFunc(d.pageFooter)
	return d
}

// clean prepares document metadata (title, author), which fpdf stores as
// UTF-16 on both paths (see fontSet.clean).
func (d *doc) clean(s string) string { return d.r.fonts.clean(s, false) }

// font selects style ("" or "B") at size points in colour c, from the core
// or the embedded family according to the letter's path.
func (d *doc) font(style string, size float64, c rgb) {
	family := fontFamily
	if d.core {
		family = coreFamily
	}
	d.style = regular
	if style == "B" {
		d.style = bold
	}
	d.pdf.SetFont(family, style, size)
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

// letter draws the whole letter.
func (d *doc) letter() {
	s := d.s
	d.pdf.AddPage()
	d.letterhead()
	d.addressBlock()

	d.font("B", 14, colBrand)
	d.multiCell(d.width, 6.6, "Your impact statement — "+s.PeriodLabel, false)
	d.pdf.Ln(4)
	if s.Corrects != "" {
		// A corrected letter says so before anything else, in the same
		// framed box as the demonstration note.
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
	d.pdf.Ln(2.5)
	for _, p := range s.Paragraphs {
		d.multiCell(d.width, bodyLine, p, true)
		d.pdf.Ln(2.5)
	}

	d.gifts()
	d.refunds()
	d.totals()
	d.notes()
	d.history()
	d.impact()
	d.signOff()
}

// letterhead draws the organisation's name, details, optional logo and a
// coloured rule at the top of the first page.
func (d *doc) letterhead() {
	pdf, org := d.pdf, d.s.Org
	textW := d.width
	logoBottom := letterheadY
	if d.r.showLogo(d.s.Org.LogoSHA256) {
		h := 18.0
		w := h * float64(d.r.logoW) / float64(d.r.logoH)
		if w > 50 {
			w = 50
			h = w * float64(d.r.logoH) / float64(d.r.logoW)
		}
		pdf.ImageOptions(logoName, d.pageW-marginRight-w, letterheadY, w, h, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
		textW -= w + 8
		logoBottom = letterheadY + h
	}
	pdf.SetXY(marginLeft, letterheadY)
	d.font("B", 17, colBrand)
	d.multiCell(textW, 7.4, org.Name, false)
	pdf.Ln(0.8)
	d.font("", 8, colMuted)
	var small []string
	if org.CharityNumber != "" {
		small = append(small, "Registered charity no. "+org.CharityNumber)
	}
	if len(org.Address) > 0 {
		small = append(small, strings.Join(org.Address, ", "))
	}
	var contact []string
	for _, c := range []string{org.Website, org.Email} {
		if c != "" {
			contact = append(contact, c)
		}
	}
	if len(contact) > 0 {
		small = append(small, strings.Join(contact, "  ·  "))
	}
	for _, line := range small {
		d.multiCell(textW, 3.8, line, false)
	}
	y := max(pdf.GetY(), logoBottom) + 3
	pdf.SetDrawColor(colAccent.r, colAccent.g, colAccent.b)
	pdf.SetLineWidth(0.6)
	pdf.Line(marginLeft, y, d.pageW-marginRight, y)
	pdf.SetLineWidth(0.2)
	pdf.SetY(y + 8)
}

// addressBlock draws the donor's name and postal address on the left and
// the letter's date on the right. A name or address line the fonts cannot
// print is left out rather than shown as boxes or question marks.
func (d *doc) addressBlock() {
	pdf, donor := d.pdf, d.s.Donor
	top := pdf.GetY()
	dateW := 50.0
	blockW := d.width - dateW - 10
	d.font("", bodySize, colInk)
	lines := 0
	for _, line := range append([]string{donor.Name}, donor.Address...) {
		if strings.TrimSpace(line) == "" || !d.r.fonts.coversAll(line) {
			continue
		}
		pdf.SetX(marginLeft)
		d.multiCell(blockW, bodyLine, line, false)
		lines++
	}
	end := pdf.GetY()
	pdf.SetXY(d.pageW-marginRight-dateW, top)
	d.cell(dateW, bodyLine, longDate(d.s.IssuedOn), 0, "R")
	pdf.SetXY(marginLeft, max(end, top+bodyLine)+9)
}

// heading starts a section, keeping it on a page with at least keep
// millimetres of what follows.
func (d *doc) heading(title string, keep float64) {
	d.pdf.Ln(3)
	d.need(9 + keep)
	d.font("B", 12, colBrand)
	d.pdf.SetX(marginLeft)
	d.multiCell(d.width, 6.5, title, false)
	d.pdf.Ln(1.5)
}

// gifts draws the table of gifts made in the period.
func (d *doc) gifts() {
	d.heading("Your gifts", 20)
	if len(d.s.Gifts) == 0 {
		d.font("", bodySize, colInk)
		d.multiCell(d.width, bodyLine, "We received no gifts from you in this period.", false)
		return
	}
	giftAid := false
	for _, g := range d.s.Gifts {
		giftAid = giftAid || g.GiftAid
	}
	gaW := 0.0
	if giftAid {
		gaW = 17
	}
	cols := []column{
		{"Date", dateCol, "L"},
		{"Type", 22, "L"},
		{"Designation", d.width - dateCol - 22 - gaW - 34, "L"},
	}
	if giftAid {
		cols = append(cols, column{"Gift Aid", gaW, "C"})
	}
	cols = append(cols, column{"Amount", 34, "R"})
	d.tableHead(cols)
	for i, g := range d.s.Gifts {
		kind := "One-off"
		if g.Recurring {
			kind = "Monthly"
		}
		designation := g.Designation
		if strings.TrimSpace(designation) == "" {
			designation = "—"
		}
		row := []string{longDate(g.Date), kind, designation}
		if giftAid {
			mark := ""
			if g.GiftAid {
				mark = "Yes"
			}
			row = append(row, mark)
		}
		d.tableRow(cols, append(row, g.Amount.String()), i, "")
	}
	d.tableEnd()
}

// refunds draws the refunds made in the period, each as its own dated line.
func (d *doc) refunds() {
	if len(d.s.Refunds) == 0 {
		return
	}
	d.heading("Refunds", 20)
	cols := []column{
		{"Date", dateCol, "L"},
		{"Refund", d.width - dateCol - 34, "L"},
		{"Amount", 34, "R"},
	}
	d.tableHead(cols)
	for i, rf := range d.s.Refunds {
		neg := money.Money{Amount: -rf.Amount.Amount, Currency: rf.Amount.Currency}
		d.tableRow(cols, []string{longDate(rf.Date), "Refund of your gift of " + longDate(rf.GiftDate), neg.String()}, i, "")
	}
	d.tableEnd()
}

// totals draws the period's totals, one row per currency: amounts in
// different currencies are never added together.
func (d *doc) totals() {
	if len(d.s.Totals) == 0 {
		return
	}
	d.heading("Your total giving this period", 14)
	cols := []column{
		{"Currency", d.width - 3*34, "L"},
		{"Gross", 34, "R"},
		{"Refunded", 34, "R"},
		{"Net", 34, "R"},
	}
	d.tableHead(cols)
	for i, t := range d.s.Totals {
		m := func(a int64) string { return money.Money{Amount: a, Currency: t.Currency}.String() }
		refunded := m(0)
		if t.Refunded != 0 {
			refunded = m(-t.Refunded)
		}
		d.tableRow(cols, []string{t.Currency, m(t.Gross), refunded, m(t.Net)}, i, "B")
	}
	d.tableEnd()
}

// notes prints the Gift Aid and US acknowledgment copy under the totals.
func (d *doc) notes() {
	var notes []string
	if d.s.GiftAid != nil && strings.TrimSpace(d.s.GiftAid.Note) != "" {
		notes = append(notes, d.s.GiftAid.Note)
	}
	if strings.TrimSpace(d.s.Acknowledgment) != "" {
		notes = append(notes, d.s.Acknowledgment)
	}
	for _, n := range notes {
		d.font("", 9.5, colInk)
		lines := d.split(d.enc(n, true), d.width)
		d.need(float64(len(lines)) * 4.6)
		d.pdf.SetX(marginLeft)
		d.drawLines(d.width, 4.6, lines, "", false)
		d.pdf.Ln(1.5)
	}
}

// history draws the donor's giving over time: this period, the year to date
// and all time per currency, then the chart of the last eight quarters.
func (d *doc) history() {
	s := d.s
	if len(s.Lifetime) == 0 && s.Chart == nil {
		return
	}
	d.heading("Your giving over time", 40)
	if len(s.Lifetime) > 0 {
		ytdTitle := "Year to date"
		if t, err := time.Parse(time.DateOnly, s.YearStart); err == nil {
			ytdTitle = "Since 1 January " + strconv.Itoa(t.Year())
		}
		allTitle := "All time"
		if s.FirstGiftOn != "" {
			allTitle = "Since " + monthYear(s.FirstGiftOn)
		}
		cols := []column{
			{"Currency", d.width - 3*40, "L"},
			{"This period", 40, "R"},
			{ytdTitle, 40, "R"},
			{allTitle, 40, "R"},
		}
		d.tableHead(cols)
		for i, life := range s.Lifetime {
			c := life.Currency
			m := func(ts []domain.Total) string {
				for _, t := range ts {
					if t.Currency == c {
						return money.Money{Amount: t.Net, Currency: c}.String()
					}
				}
				return money.Money{Currency: c}.String()
			}
			d.tableRow(cols, []string{c, m(s.Totals), m(s.YearToDate), m(s.Lifetime)}, i, "")
		}
		d.tableEnd()
		d.font("", 7.5, colMuted)
		d.pdf.SetX(marginLeft)
		d.multiCell(d.width, 3.6, "Amounts after refunds. Amounts in different currencies are never added together.", false)
	}
	if s.Chart != nil {
		d.chart(s.Chart)
	}
}

// chart draws a bar chart of the donor's giving per quarter, the period's
// own quarter in the darker colour.
func (d *doc) chart(c *domain.GivingChart) {
	pdf := d.pdf
	const (
		plotH  = 30.0 // height of the tallest bar
		labelH = 4.0  // room for the amounts above the bars
		axisH  = 6.0  // room for the quarter labels below the axis
	)
	caption := "Your gifts by quarter, in " + c.Currency + ", after refunds"
	if len(c.OtherCurrencies) > 0 {
		caption += " (gifts in " + strings.Join(c.OtherCurrencies, " and ") + " are not shown)"
	}
	d.font("", 8.5, colInk)
	capLines := d.split(d.enc(caption, false), d.width)
	d.need(float64(len(capLines))*4 + 3 + labelH + plotH + axisH + 2)
	pdf.Ln(3)
	for _, l := range capLines {
		pdf.SetX(marginLeft)
		d.draw(d.width, 4, l, "", 1, "L", false) // l is prepared
	}
	top := pdf.GetY() + labelH + 1
	base := top + plotH
	var peak int64
	for _, b := range c.Bars {
		peak = max(peak, b.Amount)
	}
	slot := d.width / float64(len(c.Bars))
	barW := slot * 0.56
	for i, b := range c.Bars {
		x := marginLeft + float64(i)*slot
		col := colAccent
		if b.Period == d.s.Period {
			col = colBrand
		}
		if b.Amount > 0 && peak > 0 {
			h := max(plotH*float64(b.Amount)/float64(peak), 0.6)
			pdf.SetFillColor(col.r, col.g, col.b)
			pdf.Rect(x+(slot-barW)/2, base-h, barW, h, "F")
			d.font("", 6.8, colInk)
			pdf.SetXY(x, base-h-labelH)
			d.cell(slot, labelH, money.Money{Amount: b.Amount, Currency: c.Currency}.String(), 0, "C")
		}
		style := ""
		if b.Period == d.s.Period {
			style = "B"
		}
		d.font(style, 7, colMuted)
		pdf.SetXY(x, base+1)
		d.cell(slot, axisH-1, b.Label, 0, "C")
	}
	pdf.SetDrawColor(colHairline.r, colHairline.g, colHairline.b)
	pdf.SetLineWidth(0.3)
	pdf.Line(marginLeft, base, marginLeft+d.width, base)
	pdf.SetLineWidth(0.2)
	pdf.SetXY(marginLeft, base+axisH+2)
}

// impact draws the organisation's results for the period, if there are any.
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
	d.pdf.Ln(3)
	d.heading(title, 30)
	// Demonstration data is marked value by value, so that a letter never
	// labels the organisation's real, published figures as invented. An
	// update flagged as demo data without any per-value flag (snapshot
	// version 1) is demonstration data throughout.
	allDemo := im.DemoData
	for _, m := range im.Metrics {
		if m.PeriodDemo || m.CumulativeDemo {
			allDemo = false
		}
	}
	anyDemo := allDemo
	if len(im.Metrics) > 0 {
		cols := []column{
			{"", d.width - 36 - 50, "L"},
			{"This period", 36, "R"},
			{"Cumulative", 50, "R"},
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
		d.font("", 8.5, colDemoText)
		pdf.SetFillColor(colDemoFill.r, colDemoFill.g, colDemoFill.b)
		pdf.SetDrawColor(colDemoFrame.r, colDemoFrame.g, colDemoFrame.b)
		pdf.SetX(marginLeft)
		d.drawLines(d.width, 4.4, d.split(d.enc(note, false), d.width), "1", true)
		pdf.Ln(3)
	}
	if strings.TrimSpace(im.Narrative) != "" {
		d.font("", bodySize, colInk)
		pdf.SetX(marginLeft)
		d.multiCell(d.width, bodyLine, im.Narrative, true)
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

// signOff draws the closing lines, kept together on one page.
func (d *doc) signOff() {
	if len(d.s.SignOff) == 0 {
		return
	}
	d.pdf.Ln(7)
	d.need(float64(len(d.s.SignOff)) * bodyLine)
	d.font("", bodySize, colInk)
	for _, line := range d.s.SignOff {
		d.pdf.SetX(marginLeft)
		d.multiCell(d.width, bodyLine, line, false)
	}
}

// tableHead draws a table's header row.
func (d *doc) tableHead(cols []column) {
	pdf := d.pdf
	d.font("B", 8.5, colBrand)
	pdf.SetFillColor(colHeadFill.r, colHeadFill.g, colHeadFill.b)
	pdf.SetX(marginLeft)
	for _, c := range cols {
		d.draw(c.width, 6.4, d.enc(c.title, false), "", 0, c.align, true)
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
		d.tableHead(cols)
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
// small line naming the organisation and the statement.
func (d *doc) runningHeader() {
	pdf := d.pdf
	// fpdf restores the page's font after its callbacks; so must d.
	defer func(st int) { d.style = st }(d.style)
	if pdf.PageNo() == 1 {
		return
	}
	d.font("", 8, colMuted)
	pdf.SetXY(marginLeft, 12)
	d.cell(d.width, 4, d.s.Org.Name+" — Your impact statement, "+d.s.PeriodLabel, 0, "L")
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

// demoMark follows every demonstration value.
const demoMark = "†"

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
		sign, n = "-", -n
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
