package stripesync

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"impactd/internal/domain"
	"impactd/internal/ingest"
	"impactd/internal/money"
	"impactd/internal/period"
	"impactd/internal/store"
)

// Totals is one side's sum of a period's gifts in one currency.
type Totals struct {
	Currency                       string
	Count                          int
	Gross, Refunded, Disputed, Net int64
}

// Difference is one charge on which the ledger and Stripe disagree.
type Difference struct {
	ChargeID string
	Kind     string // missing_in_ledger, missing_in_stripe, amount, currency, refunded, disputed
	Ledger   string
	Stripe   string
}

// Report compares a period's gifts in the ledger with Stripe's charges.
type Report struct {
	Period      period.Period
	Ledger      []Totals
	Stripe      []Totals
	Differences []Difference
	NotGifts    int // Stripe charges the donation rule says are not gifts
}

type amounts struct {
	currency                   string
	amount, refunded, disputed int64
}

// Reconcile compares every gift made in the period, as the ledger has it,
// with the charges Stripe lists for the period (with their refunds and lost
// disputes), and reports the totals of both sides and every difference.
func Reconcile(ctx context.Context, api *client.API, s *store.Store, p period.Period, loc *time.Location, rules ...ingest.Rule) (*Report, error) {
	rule := ingest.Rule{}
	if len(rules) > 0 {
		rule = rules[0]
	}
	from, to := p.Bounds(loc)
	rep := &Report{Period: p}

	stripeSide := map[string]amounts{}
	params := &stripe.ChargeListParams{
		ListParams:   stripe.ListParams{Limit: stripe.Int64(100), Context: ctx},
		CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: from.Unix(), LesserThan: to.Unix()},
	}
	params.AddExpand("data.refunds")
	it := api.Charges.List(params)
	for it.Next() {
		ch := it.Charge()
		if ch.Status != stripe.ChargeStatusSucceeded {
			continue
		}
		if !rule.Matches(ch.Metadata, nil) {
			rep.NotGifts++
			continue
		}
		a := amounts{currency: strings.ToUpper(string(ch.Currency)), amount: ch.Amount, refunded: ch.AmountRefunded}
		if ch.Disputed {
			lost, err := lostDisputes(ctx, api, ch.ID)
			if err != nil {
				return nil, fmt.Errorf("reconcile: %w", err)
			}
			a.disputed = lost
		}
		stripeSide[ch.ID] = a
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("reconcile: list charges: %w", err)
	}

	var rows []domain.Donation
	if err := s.DB().SelectContext(ctx, &rows, s.DB().Rebind(`SELECT stripe_charge_id, amount, currency, amount_refunded, amount_disputed
		FROM donations WHERE created >= ? AND created < ?`), from.Unix(), to.Unix()); err != nil {
		return nil, fmt.Errorf("reconcile: ledger: %w", err)
	}
	ledgerSide := map[string]amounts{}
	for _, d := range rows {
		ledgerSide[d.ChargeID] = amounts{currency: d.Currency, amount: d.Amount, refunded: d.AmountRefunded, disputed: d.AmountDisputed}
	}
	rep.Ledger, rep.Stripe = totals(ledgerSide), totals(stripeSide)

	ids := map[string]bool{}
	for id := range ledgerSide {
		ids[id] = true
	}
	for id := range stripeSide {
		ids[id] = true
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	for _, id := range sorted {
		l, inL := ledgerSide[id]
		st, inS := stripeSide[id]
		diff := func(kind string, lv, sv int64) {
			rep.Differences = append(rep.Differences, Difference{ChargeID: id, Kind: kind,
				Ledger: money.New(lv, l.currency).String(), Stripe: money.New(sv, st.currency).String()})
		}
		switch {
		case !inL:
			rep.Differences = append(rep.Differences, Difference{ChargeID: id, Kind: "missing_in_ledger", Stripe: money.New(st.amount, st.currency).String()})
		case !inS:
			rep.Differences = append(rep.Differences, Difference{ChargeID: id, Kind: "missing_in_stripe", Ledger: money.New(l.amount, l.currency).String()})
		case l.currency != st.currency:
			rep.Differences = append(rep.Differences, Difference{ChargeID: id, Kind: "currency", Ledger: l.currency, Stripe: st.currency})
		default:
			if l.amount != st.amount {
				diff("amount", l.amount, st.amount)
			}
			if l.refunded != st.refunded {
				diff("refunded", l.refunded, st.refunded)
			}
			if l.disputed != st.disputed {
				diff("disputed", l.disputed, st.disputed)
			}
		}
	}
	return rep, nil
}

func lostDisputes(ctx context.Context, api *client.API, chargeID string) (int64, error) {
	it := api.Disputes.List(&stripe.DisputeListParams{ListParams: stripe.ListParams{Context: ctx}, Charge: stripe.String(chargeID)})
	var lost int64
	for it.Next() {
		if d := it.Dispute(); d.Status == stripe.DisputeStatusLost {
			lost += d.Amount
		}
	}
	if err := it.Err(); err != nil {
		return 0, fmt.Errorf("list disputes of %s: %w", chargeID, err)
	}
	return lost, nil
}

func totals(side map[string]amounts) []Totals {
	by := map[string]*Totals{}
	for _, a := range side {
		t := by[a.currency]
		if t == nil {
			t = &Totals{Currency: a.currency}
			by[a.currency] = t
		}
		t.Count++
		t.Gross += a.amount
		t.Refunded += a.refunded
		t.Disputed += a.disputed
		t.Net += a.amount - a.refunded - a.disputed
	}
	out := make([]Totals, 0, len(by))
	for _, t := range by {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out
}

// Print writes the report for people.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "Reconciliation of %s (%s)\n\n", r.Period, r.Period.Label())
	fmt.Fprintf(w, "%-8s %-8s %6s %14s %14s %14s %14s\n", "side", "currency", "gifts", "gross", "refunded", "disputed", "net")
	for _, side := range []struct {
		name string
		ts   []Totals
	}{{"ledger", r.Ledger}, {"stripe", r.Stripe}} {
		for _, t := range side.ts {
			fmt.Fprintf(w, "%-8s %-8s %6d %14s %14s %14s %14s\n", side.name, t.Currency, t.Count, money.New(t.Gross, t.Currency),
				money.New(t.Refunded, t.Currency), money.New(t.Disputed, t.Currency), money.New(t.Net, t.Currency))
		}
	}
	if r.NotGifts > 0 {
		fmt.Fprintf(w, "\n%d Stripe charges are not gifts under IMPACTD_DONATION_RULE and were left out.\n", r.NotGifts)
	}
	if len(r.Differences) == 0 {
		fmt.Fprintln(w, "\nNo differences: the ledger matches Stripe to the penny.")
		return
	}
	fmt.Fprintf(w, "\n%d differences:\n", len(r.Differences))
	for _, d := range r.Differences {
		fmt.Fprintf(w, "  %-28s %-18s ledger %-14s stripe %s\n", d.ChargeID, d.Kind, orDash(d.Ledger), orDash(d.Stripe))
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
