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
	pdf.SetTitle(d.clean(d.kind()+", "+s.PeriodLabel), true)
	pdf.SetAuthor(d.clean(s.Org.Name), true)
	subject := "Your gifts to " + s.Org.Name + " in " + s.PeriodLabel + " and what they helped achieve"
	if d.annual() {
		subject = "Your gifts to " + s.Org.Name + " in " + s.PeriodLabel + ", for your tax records"
	}
	pdf.SetSubject(d.clean(subject), true)
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
	d.opening("Your impact in " + s.PeriodLabel)
	d.figures()
	if strings.TrimSpace(s.Collective) != "" {
		d.font("", bodySize, colInk)
		d.pdf.SetX(marginLeft)
		d.multiCell(d.width, bodyLine, s.Collective, true)
		d.pdf.Ln(2)
	}
	var notes []string
	if s.GiftAid != nil {
		notes = append(notes, s.GiftAid.Note)
	}
	d.yourGiving("Your giving in "+s.PeriodLabel, append(notes, s.Acknowledgment), func(t domain.Total) string { return d.givingDetail("refunded", t) })
	d.signOff()

	// The details start on a page of their own.
	d.pdf.AddPage()
	d.gifts()
	d.history()
	d.impact()
}

// opening draws, below the address window, the title, a correction notice
// when the statement corrects an earlier one, the greeting and the body.
func (d *doc) opening(title string) {
	s := d.s
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
	d.multiCell(d.width, 7.2, title, false)
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
}

// annual reports whether the letter is the annual giving statement.
func (d *doc) annual() bool { return d.s.Series == domain.SeriesAnnual }

// kind names the letter in its reference column, running header and
// document title.
func (d *doc) kind() string {
	if d.annual() {
		return "Giving statement"
	}
	return "Impact statement"
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
	head := d.s.Org.Name + " — " + d.kind() + ", " + d.s.PeriodLabel
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
