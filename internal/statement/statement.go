// Package statement builds the snapshot of one donor's letter for one period
// from the ledger, the published impact update and the templates. The
// snapshot is the record: the PDF and the email are made from it alone.
package statement

import (
	"context"
	"fmt"
	"strings"
	"time"

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
	Period     period.Period
	Impact     *domain.ImpactUpdate // the published update; required
	Supporters int                  // donors who gave in the period, for the collective sentence
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

// Build returns the snapshot of a donor's statement, dated issuedOn.
func (b *Builder) Build(ctx context.Context, sc *Context, donor *domain.Donor, issuedOn time.Time) (*domain.Snapshot, error) {
	p := sc.Period
	from, to := p.Bounds(b.Location)
	gifts, err := b.Store.DonationsForDonor(ctx, donor.ID, from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("build statement: %w", err)
	}
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
		Donor:           domain.SnapshotDonor{ID: donor.ID, Name: donor.Name, Address: splitLines(donor.Address)},
		Period:          p.String(),
		PeriodLabel:     p.Label(),
		PeriodStart:     from.Format(time.DateOnly),
		PeriodEnd:       to.AddDate(0, 0, -1).Format(time.DateOnly),
		Gifts:           []domain.Gift{},
		Refunds:         []domain.RefundLine{},
	}
	gross, refunded := money.Totals{}, money.Totals{}
	monthly := false
	for _, g := range gifts {
		s.Gifts = append(s.Gifts, domain.Gift{
			Date: b.date(g.Created), Amount: g.Gross(), Recurring: g.Recurring == 1, Designation: g.Designation,
		})
		gross.Add(g.Gross())
		monthly = monthly || g.Recurring == 1
	}
	for _, r := range refunds {
		m := money.New(r.Amount, r.Currency)
		s.Refunds = append(s.Refunds, domain.RefundLine{Date: b.date(r.Created), Amount: m, GiftDate: b.date(r.GiftCreated)})
		refunded.Add(m)
		gross.Add(money.New(0, r.Currency)) // a refund-only currency still gets a totals row
	}
	var nets []string
	for _, c := range gross.Currencies() {
		t := domain.Total{Currency: c, Gross: gross[c], Refunded: refunded[c], Net: gross[c] - refunded[c]}
		s.Totals = append(s.Totals, t)
		nets = append(nets, money.New(t.Net, c).String())
	}
	s.Impact = impactSection(sc.Impact)
	words, err := b.Templates.Letter(wording.LetterData{
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
		Supporters:      sc.Supporters,
		SupportersText:  wording.Thousands(int64(sc.Supporters)),
		Impact:          s.Impact,
	})
	if err != nil {
		return nil, fmt.Errorf("build statement: %w", err)
	}
	s.Greeting, s.Paragraphs, s.SignOff, s.Footer = words.Greeting, words.Paragraphs, words.SignOff, words.Footer
	return s, nil
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
		AsOf: u.AsOf, DemoData: u.DemoData == 1, Metrics: u.Metrics,
	}
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
