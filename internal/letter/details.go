package letter

// The pages after the first: the gifts, giving over time, the impact table.

import (
	"strconv"
	"strings"
	"time"

	"impactd/internal/domain"
	"impactd/internal/money"
)

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
	d.totalRows("Refunded", nil)
	d.tableEnd()
}

// totalRows draws, under a hairline, the net per currency, with what was
// given and what came back (refunded names it) when a refund makes them
// differ; after is drawn under each currency's total when set. It returns
// the two columns it drew, for rows that follow.
func (d *doc) totalRows(refunded string, after func(tcols []column, t domain.Total)) []column {
	tcols := []column{{"", d.width - amountCol, "R"}, {"", amountCol, "R"}}
	d.pdf.SetDrawColor(colHairline.r, colHairline.g, colHairline.b)
	d.pdf.Line(marginLeft, d.pdf.GetY(), marginLeft+d.width, d.pdf.GetY())
	for _, t := range d.s.Totals {
		m := func(a int64) money.Money { return money.Money{Amount: a, Currency: t.Currency} }
		label := "Total"
		if len(d.s.Totals) > 1 {
			label = "Total in " + t.Currency
		}
		if t.Refunded != 0 {
			d.tableRow(tcols, []string{"Given", m(t.Gross).String()}, 0, "")
			d.tableRow(tcols, []string{refunded, signed(m(-t.Refunded))}, 0, "")
			label += " after refunds"
		}
		d.tableRow(tcols, []string{label, signed(m(t.Net))}, 0, "B")
		if after != nil {
			after(tcols, t)
		}
	}
	return tcols
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
	blockH := labelH + plotH + axisH + 17
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
	// The chart's own title, in the headings' colour and weight, then what
	// it counts.
	d.font("B", 9.5, colBrand)
	pdf.SetXY(x, top)
	d.cell(w, 4.6, "Your gifts by quarter", 0, "L")
	caption := "In " + c.Currency + ", after refunds"
	if len(c.OtherCurrencies) > 0 {
		caption += " (gifts in " + strings.Join(c.OtherCurrencies, " and ") + " are not shown)"
	}
	d.font("", 8, colMuted)
	capLines := d.split(d.enc(caption, false), w)
	y := top + 4.8
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
