// Package statement builds the snapshot of one donor's letter for one period
// from the ledger, the published impact update and the templates. The
// snapshot is the record: the PDF and the email are made from it alone.
package statement

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"impactd/internal/address"
	"impactd/internal/domain"
	"impactd/internal/money"
	"impactd/internal/period"
	"impactd/internal/store"
	"impactd/internal/wording"
)

// Builder makes snapshots.
type Builder struct {
	Store     *store.Store
	Templates *wording.Templates
	Org       domain.Org
	Location  *time.Location
	PaperSize string
}

// Context is what every statement of one run shares.
type Context struct {
	// Series is the kind of letter the run makes; the zero value is the
	// impact letter. Build dispatches on it.
	Series     domain.Series
	Period     period.Period
	Impact     *domain.ImpactUpdate // the published update; required
	Supporters int                  // donors who gave in the period, for the collective sentence
}

// NewSeriesContext loads what a run of one series shares: NewContext for
// the impact letter, the annual statement's own context for SeriesAnnual.
func (b *Builder) NewSeriesContext(ctx context.Context, series domain.Series, p period.Period) (*Context, error) {
	if series.OrDefault() == domain.SeriesAnnual {
		return b.newAnnualContext(ctx, p)
	}
	return b.NewContext(ctx, p)
}

// NewContext loads what a run's statements share. A period without a
// published impact update is an error: no letter goes out without one.
func (b *Builder) NewContext(ctx context.Context, p period.Period) (*Context, error) {
	upd, err := b.Store.PublishedImpactUpdate(ctx, p.String())
	if err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return nil, domain.Errorf(domain.EINVALID, "no published impact update for %s: publish one before running statements", p)
		}
		return nil, fmt.Errorf("statement context: %w", err)
	}
	from, to := p.Bounds(b.Location)
	n, err := b.Store.CountDonorsBetween(ctx, from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("statement context: %w", err)
	}
	return &Context{Period: p, Impact: upd, Supporters: n}, nil
}

// NewDraftContext is NewContext for previews: it takes the newest version of
// the period's impact update, draft or published, so that staff can see a
// letter before approving its figures. Never send a letter built with it.
func (b *Builder) NewDraftContext(ctx context.Context, p period.Period) (*Context, error) {
	upd, err := b.Store.LatestImpactUpdate(ctx, p.String(), "")
	if err != nil {
		return nil, fmt.Errorf("statement draft context: %w", err)
	}
	from, to := p.Bounds(b.Location)
	n, err := b.Store.CountDonorsBetween(ctx, from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("statement draft context: %w", err)
	}
	return &Context{Period: p, Impact: upd, Supporters: n}, nil
}

// Build returns the snapshot of a donor's statement, dated issuedOn.
func (b *Builder) Build(ctx context.Context, sc *Context, donor *domain.Donor, issuedOn time.Time) (*domain.Snapshot, error) {
	if sc.Series.OrDefault() == domain.SeriesAnnual {
		return b.buildAnnual(ctx, sc, donor, issuedOn)
	}
	p := sc.Period
	from, to := p.Bounds(b.Location)
	// Every gift up to the end of the period, in one query: the period's
	// are the tail of them, and the history (year to date, lifetime, chart)
	// needs them all. A run makes one snapshot per donor, so a query saved
	// here is one fewer round trip per letter.
	all, err := b.Store.DonationsForDonor(ctx, donor.ID, 0, to.Unix())
	if err != nil {
		return nil, fmt.Errorf("build statement: %w", err)
	}
	first := sort.Search(len(all), func(i int) bool { return all[i].Created >= from.Unix() })
	gifts := all[first:]
	refunds, err := b.Store.RefundsForDonor(ctx, donor.ID, from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("build statement: %w", err)
	}
	s := &domain.Snapshot{
		Version:         domain.SnapshotVersion,
		TemplateVersion: b.Templates.Version,
		IssuedOn:        issuedOn.In(b.Location).Format(time.DateOnly),
		PaperSize:       b.PaperSize,
		Org:             b.Org,
		Donor:           domain.SnapshotDonor{ID: donor.ID, Name: donor.Name, Address: address.ParseStored(donor.Address).Lines(b.Org.Country)},
		Period:          p.String(),
		PeriodLabel:     p.Label(),
		PeriodStart:     from.Format(time.DateOnly),
		PeriodEnd:       to.AddDate(0, 0, -1).Format(time.DateOnly),
		Gifts:           []domain.Gift{},
		Refunds:         []domain.RefundLine{},
	}
	gross, refunded := money.Totals{}, money.Totals{}
	giftAid := int64(0)
	monthly, acknowledged := false, false
	for _, g := range gifts {
		line := domain.Gift{Date: b.date(g.Created), Amount: g.Gross(), Recurring: g.Recurring == 1, Designation: g.Designation}
		if b.Org.Country == domain.CountryGB && domain.GiftAidEligible(g, donor.GiftAidFrom, b.Location) {
			line.GiftAid = true
			giftAid += g.Net().Amount
		}
		if b.Org.Country == domain.CountryUS && g.Currency == "USD" && g.Amount >= usAcknowledgmentThreshold {
			acknowledged = true
		}
		s.Gifts = append(s.Gifts, line)
		if err := gross.Add(g.Gross()); err != nil {
			return nil, fmt.Errorf("build statement: %w", err)
		}
		monthly = monthly || g.Recurring == 1
	}
	for _, r := range refunds {
		m := money.New(r.Amount, r.Currency)
		s.Refunds = append(s.Refunds, domain.RefundLine{Date: b.date(r.Created), Amount: m, GiftDate: b.date(r.GiftCreated)})
		if err := refunded.Add(m); err != nil {
			return nil, fmt.Errorf("build statement: %w", err)
		}
		_ = gross.Add(money.New(0, r.Currency)) // a refund-only currency still gets a totals row
	}
	var nets []string
	for _, c := range gross.Currencies() {
		t := domain.Total{Currency: c, Gross: gross[c], Refunded: refunded[c], Net: gross[c] - refunded[c]}
		s.Totals = append(s.Totals, t)
		nets = append(nets, money.New(t.Net, c).String())
	}
	if err := b.history(s, sc.Period, all); err != nil {
		return nil, fmt.Errorf("build statement: %w", err)
	}
	since, err := b.Store.MonthlySince(ctx, donor.ID)
	if err != nil {
		return nil, fmt.Errorf("build statement: %w", err)
	}
	sinceText := ""
	if since > 0 {
		s.MonthlySince = b.date(since)
		sinceText = time.Unix(since, 0).In(b.Location).Format("January 2006")
	}
	data := wording.LetterData{
		Donor:            wording.NameParts{Name: donor.Name, FirstName: wording.FirstName(donor.Name)},
		Org:              b.Org,
		Period:           p.String(),
		PeriodLabel:      p.Label(),
		PeriodStartLong:  from.Format("2 January 2006"),
		PeriodEndLong:    to.AddDate(0, 0, -1).Format("2 January 2006"),
		NetText:          strings.Join(nets, " and "),
		GiftCount:        len(gifts),
		Monthly:          monthly,
		MonthlySinceText: sinceText,
		HasRefunds:       len(refunds) > 0,
		Supporters:       sc.Supporters,
		SupportersText:   wording.Thousands(int64(sc.Supporters)),
		Acknowledged:     acknowledged,
	}
	if giftAid > 0 {
		s.GiftAid = &domain.GiftAidSummary{Eligible: money.New(giftAid, "GBP"), Uplift: money.New(GiftAidUplift(giftAid), "GBP")}
		data.GiftAidEligibleText, data.GiftAidUpliftText = s.GiftAid.Eligible.String(), s.GiftAid.Uplift.String()
	}
	s.Impact = impactSection(sc.Impact)
	data.Impact = s.Impact
	words, err := b.Templates.Letter(data)
	if err != nil {
		return nil, fmt.Errorf("build statement: %w", err)
	}
	if s.GiftAid != nil {
		s.GiftAid.Note = words.GiftAid
	}
	s.Acknowledgment = words.Acknowledgment
	s.Greeting, s.Paragraphs, s.Collective, s.SignOff, s.Footer = words.Greeting, words.Paragraphs, words.Collective, words.SignOff, words.Footer
	return s, nil
}

// usAcknowledgmentThreshold is the single US gift, in cents, from which the
// IRS expects a written acknowledgment saying whether goods or services were
// given in exchange.
const usAcknowledgmentThreshold = 250_00

// chartQuarters is the most quarters the giving chart shows.
const chartQuarters = 8

// GiftAidUplift is the Gift Aid a charity reclaims on a net gift of amount
// pence: basic-rate tax, 25% of the gift, rounded down to the penny.
func GiftAidUplift(amount int64) int64 { return amount * 25 / 100 }

// history fills the year-to-date and lifetime totals and the chart from all
// of the donor's gifts up to the end of the period, oldest first.
func (b *Builder) history(s *domain.Snapshot, p period.Period, all []domain.Donation) error {
	_, end := p.Bounds(b.Location)
	if len(all) == 0 {
		return nil
	}
	last := end.Add(-time.Second)
	yearStart := time.Date(last.In(b.Location).Year(), time.January, 1, 0, 0, 0, 0, b.Location)
	s.YearStart = yearStart.Format(time.DateOnly)
	s.FirstGiftOn = b.date(all[0].Created)
	var ytd []domain.Donation
	for _, g := range all {
		if g.Created >= yearStart.Unix() {
			ytd = append(ytd, g)
		}
	}
	ytdSums, err := domain.Summarise(ytd, "", b.Location)
	if err != nil {
		return err
	}
	allSums, err := domain.Summarise(all, "", b.Location)
	if err != nil {
		return err
	}
	s.YearToDate, s.Lifetime = totals(ytdSums), totals(allSums)

	// The chart: from the quarter of the donor's first gift, or eight
	// quarters back if that is earlier, to the one the period ends in, in
	// the currency of most of those gifts (amounts in different currencies
	// are never drawn on one axis). A new supporter sees their own quarters,
	// not empty slots before they began.
	firstQ := period.Containing(time.Unix(all[0].Created, 0), period.Quarter, b.Location).String()
	var quarters []period.Period
	for q := period.Containing(last, period.Quarter, b.Location); len(quarters) < chartQuarters; q = q.Prev() {
		quarters = append(quarters, q)
		if q.String() <= firstQ {
			break
		}
	}
	slices.Reverse(quarters)
	chartFrom, _ := quarters[0].Bounds(b.Location)
	count := map[string]int{}
	for _, g := range all {
		if g.Created >= chartFrom.Unix() {
			count[g.Currency]++
		}
	}
	if len(count) == 0 {
		return nil
	}
	var currencies []string
	for c := range count {
		currencies = append(currencies, c)
	}
	sort.Slice(currencies, func(i, j int) bool {
		if count[currencies[i]] != count[currencies[j]] {
			return count[currencies[i]] > count[currencies[j]]
		}
		return currencies[i] < currencies[j]
	})
	chart := &domain.GivingChart{Currency: currencies[0], OtherCurrencies: currencies[1:]}
	sort.Strings(chart.OtherCurrencies)
	for _, q := range quarters {
		from, to := q.Bounds(b.Location)
		bar := domain.ChartBar{Period: q.String(), Label: fmt.Sprintf("Q%d %d", q.N, q.Year)}
		for _, g := range all {
			if g.Currency == chart.Currency && g.Created >= from.Unix() && g.Created < to.Unix() {
				bar.Amount += g.Net().Amount
			}
		}
		chart.Bars = append(chart.Bars, bar)
	}
	s.Chart = chart
	return nil
}

func totals(sums []domain.CurrencySummary) []domain.Total {
	out := make([]domain.Total, 0, len(sums))
	for _, c := range sums {
		out = append(out, domain.Total{Currency: c.Currency, Gross: c.Gross, Refunded: c.Refunded, Net: c.Net})
	}
	return out
}

func (b *Builder) date(unix int64) string {
	return time.Unix(unix, 0).In(b.Location).Format(time.DateOnly)
}

func impactSection(u *domain.ImpactUpdate) *domain.ImpactSection {
	if u == nil {
		return nil
	}
	return &domain.ImpactSection{
		UpdateID: u.ID, Version: u.Version, Title: u.Title, Narrative: u.Narrative, Source: u.Source,
		AsOf: u.AsOf, DemoData: u.DemoData, Metrics: u.Metrics,
	}
}
