package statement

// The annual giving statement: a neutral record of one donor's gifts in
// one UK tax year (GB) or calendar year (elsewhere), for their tax affairs.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"impactd/internal/address"
	"impactd/internal/domain"
	"impactd/internal/money"
	"impactd/internal/period"
	"impactd/internal/wording"
)

// AnnualKind is the period the annual statement of an organisation in
// country covers: the UK tax year (6 April to 5 April) in GB, the calendar
// year everywhere else.
func AnnualKind(country string) period.Kind {
	if country == domain.CountryGB {
		return period.TaxYear
	}
	return period.Year
}

// usQuidProQuoThreshold is the payment, in cents, above which a gift made
// partly for goods or services needs the IRS quid-pro-quo disclosure
// (Publication 1771): more than $75.
const usQuidProQuoThreshold = 75_00

// newAnnualContext checks the period and returns what a run of annual
// giving statements shares: the statement needs no impact update and no
// count of supporters (it makes no appeal and no collective claim).
func (b *Builder) newAnnualContext(_ context.Context, p period.Period) (*Context, error) {
	if want := AnnualKind(b.Org.Country); p.Kind != want {
		if want == period.TaxYear {
			return nil, domain.Errorf(domain.EINVALID, "the annual statement of a charity in the UK covers a tax year such as %d/%02d, not %s",
				p.Year, (p.Year+1)%100, p)
		}
		return nil, domain.Errorf(domain.EINVALID, "the annual statement covers a calendar year such as %d, not %s", p.Year, p)
	}
	return &Context{Series: domain.SeriesAnnual, Period: p}, nil
}

// buildAnnual returns the snapshot of a donor's annual giving statement,
// dated issuedOn. It lists every gift made in the period, and every refund
// and lost dispute of those gifts made by issuedOn — also one made after the
// period ended, since the statement is the record of the year's gifts as
// known when it is issued (a refund made later is on a corrected statement,
// or on the quarter's impact letter; a refund made this year of an earlier
// year's gift belongs to that year's record, not this one's). Totals are per
// currency, net of those refunds; Gift Aid is reckoned per gift on what is
// left of it.
func (b *Builder) buildAnnual(ctx context.Context, sc *Context, donor *domain.Donor, issuedOn time.Time) (*domain.Snapshot, error) {
	fail := func(err error) (*domain.Snapshot, error) { return nil, fmt.Errorf("build annual statement: %w", err) }
	p := sc.Period
	if p.Kind != AnnualKind(b.Org.Country) {
		if _, err := b.newAnnualContext(ctx, p); err != nil {
			return fail(err)
		}
	}
	from, to := p.Bounds(b.Location)
	gifts, err := b.Store.DonationsForDonor(ctx, donor.ID, from.Unix(), to.Unix())
	if err != nil {
		return fail(err)
	}
	refunds, err := b.Store.RefundsOfGifts(ctx, donor.ID, from.Unix(), to.Unix(), issuedOn.Unix())
	if err != nil {
		return fail(err)
	}
	tmpl := b.Templates.Annual()
	s := &domain.Snapshot{
		Version:         domain.SnapshotVersion,
		TemplateVersion: tmpl.Version,
		IssuedOn:        issuedOn.In(b.Location).Format(time.DateOnly),
		PaperSize:       b.PaperSize,
		Series:          domain.SeriesAnnual,
		Org:             b.Org,
		Donor:           domain.SnapshotDonor{ID: donor.ID, Name: donor.Name, Address: address.ParseStored(donor.Address).Lines(b.Org.Country)},
		Period:          p.String(),
		PeriodLabel:     p.Label(),
		PeriodStart:     from.Format(time.DateOnly),
		PeriodEnd:       to.AddDate(0, 0, -1).Format(time.DateOnly),
		Gifts:           []domain.Gift{},
		Refunds:         []domain.RefundLine{},
	}
	gross, refunded, benefits := money.Totals{}, money.Totals{}, money.Totals{}
	returned := map[string]int64{} // donation id → refunded and taken back by disputes, by issuedOn
	for _, r := range refunds {
		m := money.New(r.Amount, r.Currency)
		line := domain.RefundLine{Date: b.date(r.Created), Amount: m, GiftDate: b.date(r.GiftCreated)}
		if r.Kind == domain.RefundKindDispute {
			line.Kind = domain.RefundKindDispute
		}
		s.Refunds = append(s.Refunds, line)
		if returned[r.DonationID], err = money.Add(returned[r.DonationID], r.Amount); err != nil {
			return fail(err)
		}
		if err := refunded.Add(m); err != nil {
			return fail(err)
		}
	}
	gb, us := b.Org.Country == domain.CountryGB, b.Org.Country == domain.CountryUS
	var eligible, tax int64
	gbp, withBenefit, quidProQuo, monthly := false, false, false, false
	for _, g := range gifts {
		line := domain.Gift{Date: b.date(g.Created), Amount: g.Gross(), Recurring: g.Recurring == 1, Designation: g.Designation}
		net, err := money.Sub(g.Amount, returned[g.ID])
		if err != nil {
			return fail(err)
		}
		if gb && net > 0 && domain.GiftAidEligible(g, donor.GiftAidFrom, b.Location) {
			line.GiftAid, line.GiftAidTax = true, GiftAidUplift(net)
			if eligible, err = money.Add(eligible, net); err != nil {
				return fail(err)
			}
			if tax, err = money.Add(tax, line.GiftAidTax); err != nil {
				return fail(err)
			}
		}
		if g.BenefitDescription != "" {
			line.Benefit = &domain.Benefit{Description: g.BenefitDescription, Value: money.New(g.BenefitValue, g.Currency)}
			withBenefit = true
			quidProQuo = quidProQuo || (us && g.Currency == "USD" && g.Amount > usQuidProQuoThreshold)
			if err := benefits.Add(line.Benefit.Value); err != nil {
				return fail(err)
			}
		}
		if err := gross.Add(g.Gross()); err != nil {
			return fail(err)
		}
		gbp = gbp || g.Currency == "GBP"
		monthly = monthly || g.Recurring == 1
		s.Gifts = append(s.Gifts, line)
	}
	var nets []string
	for _, c := range gross.Currencies() {
		net, err := money.Sub(gross[c], refunded[c])
		if err != nil {
			return fail(err)
		}
		s.Totals = append(s.Totals, domain.Total{Currency: c, Gross: gross[c], Refunded: refunded[c], Net: net, Benefits: benefits[c]})
		nets = append(nets, money.New(net, c).String())
	}
	data := wording.LetterData{
		Donor:           wording.NameParts{Name: donor.Name, FirstName: wording.FirstName(donor.Name)},
		Org:             b.Org,
		Period:          p.String(),
		PeriodLabel:     p.Label(),
		PeriodStartLong: from.Format("2 January 2006"),
		PeriodEndLong:   to.AddDate(0, 0, -1).Format("2 January 2006"),
		NetText:         strings.Join(nets, " and "),
		GiftCount:       len(gifts),
		Monthly:         monthly,
		HasRefunds:      len(refunds) > 0,
		Acknowledged:    us && len(gifts) > 0,
		TaxYear:         p.Kind == period.TaxYear,
		GBP:             gbp,
		IssuedOnText:    issuedOn.In(b.Location).Format("2 January 2006"),
		Benefit:         withBenefit,
		QuidProQuo:      quidProQuo,
	}
	if gb && gbp {
		if donor.GiftAidFrom != "" {
			if t, err := time.Parse(time.DateOnly, donor.GiftAidFrom); err == nil {
				data.GiftAidFromText = t.Format("2 January 2006")
			}
		}
		if eligible > 0 {
			data.GiftAidEligibleText, data.GiftAidUpliftText = money.New(eligible, "GBP").String(), money.New(tax, "GBP").String()
		}
	}
	words, err := tmpl.Letter(data)
	if err != nil {
		return fail(err)
	}
	if gb && gbp {
		s.GiftAid = &domain.GiftAidSummary{Eligible: money.New(eligible, "GBP"), Uplift: money.New(tax, "GBP"),
			Note: words.GiftAid, DeclaredFrom: donor.GiftAidFrom}
	}
	s.Acknowledgment, s.Disclosure, s.Pointer = words.Acknowledgment, words.Disclosure, words.Pointer
	s.Greeting, s.Paragraphs, s.SignOff, s.Footer = words.Greeting, words.Paragraphs, words.SignOff, words.Footer
	return s, nil
}
