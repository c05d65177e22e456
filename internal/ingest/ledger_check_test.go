package ingest_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"impactd/internal/money"
	"impactd/internal/store"
)

// checkLedger fails the test unless the ledger is true (DESIGN.md, guarantee
// 2): every amount in 0…money.MaxAmount, every currency ISO 4217, each gift's
// refund and dispute lines adding up to its refunded and disputed amounts,
// and for every donor and currency 0 ≤ refunded ≤ gross and 0 ≤ net ≤ gross,
// all summed with overflow checks.
func checkLedger(tb testing.TB, s *store.Store) {
	tb.Helper()
	if err := ledgerTrue(s); err != nil {
		tb.Fatal(err)
	}
}

func ledgerTrue(s *store.Store) error {
	ctx := context.Background()
	var rows []struct {
		ID       string `db:"id"`
		Donor    string `db:"donor_id"`
		Currency string `db:"currency"`
		Amount   int64  `db:"amount"`
		Refunded int64  `db:"amount_refunded"`
		Disputed int64  `db:"amount_disputed"`
		Lines    int64  `db:"refund_lines"`
		Lost     int64  `db:"dispute_lines"`
	}
	// Line totals are summed in Go, below, with overflow checks; here each
	// line is only fetched.
	if err := s.DB().SelectContext(ctx, &rows, `SELECT id, donor_id, currency, amount, amount_refunded, amount_disputed,
		0 AS refund_lines, 0 AS dispute_lines FROM donations`); err != nil {
		return err
	}
	var lines []struct {
		Donation string `db:"donation_id"`
		Amount   int64  `db:"amount"`
		Kind     string `db:"kind"`
	}
	if err := s.DB().SelectContext(ctx, &lines, `SELECT donation_id, amount, kind FROM refunds`); err != nil {
		return err
	}
	byID := map[string]int{}
	for i, r := range rows {
		byID[r.ID] = i
	}
	for _, l := range lines {
		i, ok := byID[l.Donation]
		if !ok {
			return fmt.Errorf("refund line of unknown donation %s", l.Donation)
		}
		if !money.ValidAmount(l.Amount) {
			return fmt.Errorf("donation %s: refund line of %d", l.Donation, l.Amount)
		}
		var err error
		if l.Kind == "dispute" {
			rows[i].Lost, err = money.Add(rows[i].Lost, l.Amount)
		} else {
			rows[i].Lines, err = money.Add(rows[i].Lines, l.Amount)
		}
		if err != nil {
			return fmt.Errorf("donation %s: refund lines overflow", l.Donation)
		}
	}
	type key struct{ donor, currency string }
	type sums struct{ gross, refunded int64 }
	totals := map[key]*sums{}
	for _, r := range rows {
		if !money.ValidAmount(r.Amount) || !money.ValidAmount(r.Refunded) || !money.ValidAmount(r.Disputed) {
			return fmt.Errorf("donation %s: amounts %d/%d/%d outside 0…%d", r.ID, r.Amount, r.Refunded, r.Disputed, money.MaxAmount)
		}
		if !money.ValidCurrency(r.Currency) || r.Currency != strings.ToUpper(r.Currency) {
			return fmt.Errorf("donation %s: currency %q", r.ID, r.Currency)
		}
		if r.Lines != r.Refunded || r.Lost != r.Disputed {
			return fmt.Errorf("donation %s: refund lines %d for refunded %d, dispute lines %d for disputed %d", r.ID, r.Lines, r.Refunded, r.Lost, r.Disputed)
		}
		k := key{r.Donor, r.Currency}
		t := totals[k]
		if t == nil {
			t = &sums{}
			totals[k] = t
		}
		returned, err := money.Add(r.Refunded, r.Disputed)
		if err != nil {
			return fmt.Errorf("donation %s: %w", r.ID, err)
		}
		if returned > r.Amount {
			return fmt.Errorf("donation %s: returned %d of %d", r.ID, returned, r.Amount)
		}
		if t.gross, err = money.Add(t.gross, r.Amount); err != nil {
			return fmt.Errorf("donor %s %s: gross %w", k.donor, k.currency, err)
		}
		if t.refunded, err = money.Add(t.refunded, returned); err != nil {
			return fmt.Errorf("donor %s %s: refunded %w", k.donor, k.currency, err)
		}
	}
	for k, t := range totals {
		net, err := money.Sub(t.gross, t.refunded)
		if err != nil {
			return err
		}
		if t.refunded < 0 || t.refunded > t.gross || net < 0 || net > t.gross {
			return fmt.Errorf("donor %s %s: gross %d, refunded %d, net %d", k.donor, k.currency, t.gross, t.refunded, net)
		}
	}
	return nil
}

// ledgerState is the ledger as text, to show that an event changed nothing.
func ledgerState(tb testing.TB, s *store.Store) string {
	tb.Helper()
	var out []string
	for _, q := range []string{
		`SELECT id || '|' || donor_id || '|' || amount || '|' || currency || '|' || amount_refunded || '|' || amount_disputed || '|' || status || '|' || designation || '|' || benefit_description || '|' || benefit_value FROM donations`,
		`SELECT id || '|' || donation_id || '|' || amount || '|' || kind FROM refunds`,
		`SELECT id || '|' || name || '|' || email || '|' || address || '|' || status FROM donors`,
		`SELECT id || '|' || charge_id || '|' || amount || '|' || status FROM disputes`,
		`SELECT email || '|' || donor_id FROM donor_emails`,
		`SELECT stripe_customer_id || '|' || donor_id FROM donor_customers`,
		`SELECT payment_intent_id || '|' || customer_id || '|' || email FROM payment_hints`,
	} {
		var rows []string
		if err := s.DB().Select(&rows, q); err != nil {
			tb.Fatal(err)
		}
		sort.Strings(rows)
		out = append(out, rows...)
	}
	return strings.Join(out, "\n")
}
