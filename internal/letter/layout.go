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

	pageW, pageH float64
	width        float64 // width of the text column
	footer       []string
	footerH      float64
}

// column is one column of a table.
type column struct {
	title string
	width float64
	align string // "L", "C" or "R"
}

func newDoc(r *Renderer, s *domain.Snapshot, contentHash string, issued time.Time) *doc {
	d := &doc{r: r, s: s, pdf: r.newFpdf(s.PaperSize, issued), code: domain.VerificationCode(contentHash), issued: issued}
	pdf := d.pdf
	d.pageW, d.pageH = pdf.GetPageSize()
	d.width = d.pageW - marginLeft - marginRight
	pdf.SetMargins(marginLeft, marginTop, marginRight)
	pdf.SetCellMargin(1.2)
	pdf.SetTitle(d.clean("Impact statement — "+s.PeriodLabel), true)
	pdf.SetAuthor(d.clean(s.Org.Name), true)

	// The footer's height depends on how its lines wrap; it sets where the
	// body must stop on every page.
	pdf.SetFont(fontFamily, "", footerSize)
	for _, line := range s.Footer {
		d.footer = append(d.footer, pdf.SplitText(d.clean(line), d.width)...)
	}
	d.footerH = float64(len(d.footer)+1)*footerLine + 3
	pdf.SetAutoPageBreak(true, footerBottom+d.footerH+6)
	pdf.SetHeaderFunc(d.runningHeader)
	pdf.SetFooterFunc(d.pageFooter)
	return d
}

// clean prepares one line of text for printing (see fontSet.clean).
func (d *doc) clean(s string) string { return d.r.fonts.clean(s, false) }

// cleanText prepares text that may hold line breaks.
func (d *doc) cleanText(s string) string { return d.r.fonts.clean(s, true) }

func (d *doc) font(style string, size float64, c rgb) {
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

// letter draws the whole letter.
func (d *doc) letter() {
	s := d.s
	d.pdf.AddPage()
	d.letterhead()
	d.addressBlock()

	d.font("B", 14, colBrand)
	d.pdf.MultiCell(d.width, 6.6, d.clean("Your impact statement — "+s.PeriodLabel), "", "L", false)
	d.pdf.Ln(4)

	greeting := s.Greeting
	if strings.TrimSpace(greeting) == "" || !d.r.fonts.coversAll(greeting) {
		greeting = fallbackGreeting
	}
	d.font("", bodySize, colInk)
	d.pdf.MultiCell(d.width, bodyLine, d.clean(greeting), "", "L", false)
	d.pdf.Ln(2.5)
	for _, p := range s.Paragraphs {
		d.pdf.MultiCell(d.width, bodyLine, d.cleanText(p), "", "L", false)
		d.pdf.Ln(2.5)
	}

	d.gifts()
	d.refunds()
	d.totals()
	d.impact()
	d.signOff()
}

// letterhead draws the organisation's name, details, optional logo and a
// coloured rule at the top of the first page.
func (d *doc) letterhead() {
	pdf, org := d.pdf, d.s.Org
	textW := d.width
	logoBottom := letterheadY
	if d.r.logo != nil {
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
	pdf.MultiCell(textW, 7.4, d.clean(org.Name), "", "L", false)
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
		pdf.MultiCell(textW, 3.8, d.clean(line), "", "L", false)
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
		pdf.MultiCell(blockW, bodyLine, d.clean(line), "", "L", false)
		lines++
	}
	end := pdf.GetY()
	pdf.SetXY(d.pageW-marginRight-dateW, top)
	pdf.CellFormat(dateW, bodyLine, longDate(d.s.IssuedOn), "", 0, "R", false, 0, "")
	pdf.SetXY(marginLeft, max(end, top+bodyLine)+9)
}

// heading starts a section, keeping it on a page with at least keep
// millimetres of what follows.
func (d *doc) heading(title string, keep float64) {
	d.pdf.Ln(3)
	d.need(9 + keep)
	d.font("B", 12, colBrand)
	d.pdf.SetX(marginLeft)
	d.pdf.MultiCell(d.width, 6.5, d.clean(title), "", "L", false)
	d.pdf.Ln(1.5)
}

// gifts draws the table of gifts made in the period.
func (d *doc) gifts() {
	d.heading("Your gifts", 20)
	if len(d.s.Gifts) == 0 {
		d.font("", bodySize, colInk)
		d.pdf.MultiCell(d.width, bodyLine, "We received no gifts from you in this period.", "", "L", false)
		return
	}
	cols := []column{
		{"Date", dateCol, "L"},
		{"Gift", 13, "C"},
		{"Type", 22, "L"},
		{"Designation", d.width - dateCol - 13 - 22 - 34, "L"},
		{"Amount", 34, "R"},
	}
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
		d.tableRow(cols, []string{longDate(g.Date), strconv.Itoa(i + 1), kind, designation, g.Amount.String()}, i, "")
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
	if im.DemoData {
		d.font("B", 9.5, colDemoText)
		pdf.SetFillColor(colDemoFill.r, colDemoFill.g, colDemoFill.b)
		pdf.SetDrawColor(colDemoFrame.r, colDemoFrame.g, colDemoFrame.b)
		pdf.SetX(marginLeft)
		pdf.CellFormat(d.width, 7, "Demonstration figures — not real results", "1", 1, "C", true, 0, "")
		pdf.Ln(2.5)
	}
	if len(im.Metrics) > 0 {
		cols := []column{
			{"", d.width - 36 - 50, "L"},
			{"This period", 36, "R"},
			{"Cumulative", 50, "R"},
		}
		d.tableHead(cols)
		for i, m := range im.Metrics {
			cum := count(m.Cumulative, m.Unit)
			if m.Cumulative != nil && m.CumulativeSince != "" {
				cum += " since " + m.CumulativeSince
			}
			d.tableRow(cols, []string{m.Label, count(m.Period, m.Unit), cum}, i, "")
		}
		d.tableEnd()
		pdf.Ln(3)
	}
	if strings.TrimSpace(im.Narrative) != "" {
		d.font("", bodySize, colInk)
		pdf.SetX(marginLeft)
		pdf.MultiCell(d.width, bodyLine, d.cleanText(im.Narrative), "", "L", false)
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
		text := d.clean(strings.Join(src, " "))
		d.need(float64(len(pdf.SplitText(text, d.width))) * 3.8)
		pdf.SetX(marginLeft)
		pdf.MultiCell(d.width, 3.8, text, "", "L", false)
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
		d.pdf.MultiCell(d.width, bodyLine, d.clean(line), "", "L", false)
	}
}

// tableHead draws a table's header row.
func (d *doc) tableHead(cols []column) {
	pdf := d.pdf
	d.font("B", 8.5, colBrand)
	pdf.SetFillColor(colHeadFill.r, colHeadFill.g, colHeadFill.b)
	pdf.SetX(marginLeft)
	for _, c := range cols {
		pdf.CellFormat(c.width, 6.4, c.title, "", 0, c.align, true, 0, "")
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
		wrapped[k] = pdf.SplitText(d.clean(cells[k]), c.width)
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
			pdf.CellFormat(c.width, tableLine, line, "", 0, c.align, false, 0, "")
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
	if pdf.PageNo() == 1 {
		return
	}
	d.font("", 8, colMuted)
	pdf.SetXY(marginLeft, 12)
	pdf.CellFormat(d.width, 4, d.clean(d.s.Org.Name+" — Your impact statement, "+d.s.PeriodLabel), "", 0, "L", false, 0, "")
	pdf.SetDrawColor(colHairline.r, colHairline.g, colHairline.b)
	pdf.Line(marginLeft, 17.5, d.pageW-marginRight, 17.5)
	pdf.SetXY(marginLeft, marginTop)
}

// pageFooter is fpdf's footer callback: the footer copy, the verification
// code and the page number on every page.
func (d *doc) pageFooter() {
	pdf := d.pdf
	y := d.pageH - footerBottom - d.footerH
	pdf.SetDrawColor(colHairline.r, colHairline.g, colHairline.b)
	pdf.SetLineWidth(0.2)
	pdf.Line(marginLeft, y, d.pageW-marginRight, y)
	y += 2.2
	d.font("", footerSize, colMuted)
	for _, line := range d.footer {
		pdf.SetXY(marginLeft, y)
		pdf.CellFormat(d.width, footerLine, line, "", 0, "L", false, 0, "")
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
	pdf.CellFormat(d.width-30, footerLine, d.clean(verify), "", 0, "L", false, 0, "")
	d.font("", footerSize, colMuted)
	// fpdf aligns the text with "{nb}" still in it and substitutes the page
	// count later; widen the cell by the difference so that a one-digit count
	// ends at the margin.
	slack := pdf.GetStringWidth("{nb}") - pdf.GetStringWidth("0")
	pdf.CellFormat(30+slack, footerLine, fmt.Sprintf("Page %d of {nb}", pdf.PageNo()), "", 0, "R", false, 0, "")
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
