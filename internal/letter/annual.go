package letter

// The annual giving statement (domain.SeriesAnnual): the same letterhead,
// window, footer and verification code as the impact letter, then a
// neutral record of the year's gifts — no figures, no appeal.

import (
	"strings"

	"impactd/internal/domain"
	"impactd/internal/money"
)

// statement draws the annual giving statement: on page 1 the opening, the
// year's totals with the Gift Aid note or the US acknowledgment and
// disclosure, and the signed closing; then every gift and refund of the
// year, the totals, and the line pointing to the impact letters.
func (d *doc) statement() {
	s := d.s
	d.pdf.AddPage()
	d.foldMarks()
	d.letterhead()
	d.addressBlock()
	d.opening("Your giving statement for " + yearName(s))
	var notes []string
	if s.GiftAid != nil {
		notes = append(notes, s.GiftAid.Note)
	}
	notes = append(notes, s.Acknowledgment, s.Disclosure)
	d.yourGiving("Your gifts in "+yearName(s), notes, func(t domain.Total) string { return d.givingDetail("returned to you", t) })
	d.signOff()
	d.statementGifts()
	if p := strings.TrimSpace(s.Pointer); p != "" {
		d.pdf.Ln(2)
		d.font("", 9, colMuted)
		lines := d.split(d.enc(p, true), d.width)
		d.need(float64(len(lines)) * 4.3)
		d.pdf.SetX(marginLeft)
		d.drawLines(d.width, 4.3, lines, "", false)
	}
}

// yearName is the statement's year as a sentence names it: "the tax year
// 2025/26", "2026".
func yearName(s *domain.Snapshot) string {
	if strings.Contains(s.Period, "/") {
		return "the " + s.PeriodLabel
	}
	return s.PeriodLabel
}

// statementGifts draws every gift of the year and every refund and lost
// dispute of them, dated, in one table; with Gift Aid, whether each gift is
// eligible and the tax reclaimed on it; then the totals per currency.
func (d *doc) statementGifts() {
	s := d.s
	d.heading("Your gifts in "+yearName(s), 20)
	if len(s.Gifts) == 0 && len(s.Refunds) == 0 {
		d.font("", bodySize, colInk)
		d.pdf.SetX(marginLeft)
		d.multiCell(d.width, bodyLine, "We received no gifts from you in this period.", false)
		return
	}
	// The Gift Aid columns appear when the donor has a declaration: every
	// gift in pounds then says yes or no.
	giftAid := s.GiftAid != nil && s.GiftAid.DeclaredFrom != ""
	const gaW, taxW = 17.0, 24.0
	cols := []column{{"Date", dateCol, "L"}}
	if giftAid {
		cols = append(cols, column{"Gift", d.width - dateCol - gaW - taxW - amountCol, "L"},
			column{"Gift Aid", gaW, "C"}, column{"Tax reclaimed", taxW, "R"})
	} else {
		cols = append(cols, column{"Gift", d.width - dateCol - amountCol, "L"})
	}
	cols = append(cols, column{"Amount", amountCol, "R"})
	d.tableHead(cols)
	i := 0
	row := func(date, what, ga, tax, amount string) {
		cells := []string{date, what}
		if giftAid {
			cells = append(cells, ga, tax)
		}
		d.tableRow(cols, append(cells, amount), i, "")
		i++
	}
	for _, g := range s.Gifts {
		what := giftText(g)
		if b := g.Benefit; b != nil {
			what += ". In exchange: " + b.Description + ", our good-faith estimate of its value " + b.Value.String()
		}
		ga, tax := "", ""
		if g.Amount.Currency == "GBP" {
			ga = "No"
			if g.GiftAid {
				ga, tax = "Yes", money.New(g.GiftAidTax, "GBP").String()
			}
		}
		row(longDate(g.Date), what, ga, tax, g.Amount.String())
	}
	for _, rf := range s.Refunds {
		neg := money.Money{Amount: -rf.Amount.Amount, Currency: rf.Amount.Currency}
		what := "Refund of your gift of " + longDate(rf.GiftDate)
		if rf.Kind == domain.RefundKindDispute {
			what = "Taken back by a card dispute: your gift of " + longDate(rf.GiftDate)
		}
		if rf.Date > s.PeriodEnd {
			what += " (after the end of the year)"
		}
		row(longDate(rf.Date), what, "", "", signed(neg))
	}
	tcols := d.totalRows("Refunded or taken back", func(tcols []column, t domain.Total) {
		if t.Benefits != 0 {
			d.tableRow(tcols, []string{"Of which the good-faith value of goods or services you received",
				money.Money{Amount: t.Benefits, Currency: t.Currency}.String()}, 0, "")
		}
	})
	if giftAid {
		d.tableRow(tcols, []string{"Gift Aid eligible, after refunds", s.GiftAid.Eligible.String()}, 0, "")
		d.tableRow(tcols, []string{"Tax we reclaim from HMRC", s.GiftAid.Uplift.String()}, 0, "B")
	}
	d.tableEnd()
	if giftAid {
		d.font("", 8.5, colMuted)
		d.pdf.SetX(marginLeft)
		d.multiCell(d.width, 4, "Your Gift Aid declaration applies to gifts in pounds from "+longDate(s.GiftAid.DeclaredFrom)+".", false)
	}
}
