package giftaid_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"impactd/internal/domain"
	"impactd/internal/giftaid"
	"impactd/internal/ingest"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// bundle is a ledger fed through the real ingest, and the claim service.
type bundle struct {
	s   *store.Store
	in  *ingest.Ingester
	svc *giftaid.Service
	n   int
}

func setup(t *testing.T, s *store.Store) *bundle {
	clock := fixedClock{time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC)}
	return &bundle{s: s,
		in:  &ingest.Ingester{Store: s, Clock: clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
		svc: &giftaid.Service{Store: s, Clock: clock, Location: london}}
}

func (b *bundle) event(t *testing.T, typ string, at time.Time, obj map[string]any) {
	t.Helper()
	b.n++
	payload, err := ingest.EventJSON(fmt.Sprintf("evt_ga_%04d", b.n), typ, at, obj)
	if err != nil {
		t.Fatal(err)
	}
	var ev stripe.Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	out, err := b.in.Apply(context.Background(), &ev)
	if err != nil || out != ingest.Applied {
		t.Fatalf("%s: %s %v", typ, out, err)
	}
}

var home = &stripe.Address{Line1: "12 High Street", City: "London", PostalCode: "se1 7tp", Country: "GB"}

// customer says what the donor's Stripe customer record says: gift_aid
// "yes" from declared, or "no" (a withdrawal) on withdrawn.
func (b *bundle) customer(t *testing.T, id, name string, addr *stripe.Address, at time.Time, md map[string]string) {
	t.Helper()
	b.event(t, "customer.updated", at, ingest.CustomerObject(id, name, id+"@example.org", addr, at, md))
}

func (b *bundle) gift(t *testing.T, ch ingest.Charge) ingest.Charge {
	t.Helper()
	if ch.Currency == "" {
		ch.Currency = "gbp"
	}
	ch.Email = ch.Customer + "@example.org"
	b.event(t, "charge.succeeded", ch.Created, ch.Object())
	return ch
}

func (b *bundle) refund(t *testing.T, ch ingest.Charge, refunded int64, at time.Time) {
	t.Helper()
	ch.AmountRefunded = refunded
	b.event(t, "charge.refunded", at, ch.Object())
}

func on(m time.Month, d int) time.Time { return time.Date(2026, m, d, 12, 0, 0, 0, london) }

// claimed maps each claimed donation's charge to its claim.
func claimed(t *testing.T, s *store.Store) map[string]string {
	t.Helper()
	var rows []struct {
		Charge string `db:"stripe_charge_id"`
		Claim  string `db:"claim_id"`
	}
	if err := s.DB().Select(&rows, `SELECT g.stripe_charge_id, c.claim_id FROM giftaid_claim_gifts c JOIN donations g ON g.id = c.donation_id`); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.Charge] = r.Claim
	}
	return out
}

func charges(s *giftaid.Schedule, b *bundle, t *testing.T) []string {
	t.Helper()
	var out []string
	for _, l := range s.Lines {
		var ch string
		if err := b.s.DB().Get(&ch, b.s.DB().Rebind(`SELECT stripe_charge_id FROM donations WHERE id = ?`), l.DonationID); err != nil {
			t.Fatal(err)
		}
		out = append(out, ch)
	}
	sort.Strings(out)
	return out
}

// TestDeclarationWindows: a declaration made mid-quarter covers the gifts
// from its date; a withdrawn one still covers the gifts before the
// withdrawal and none after it; a gift with no declaration is not claimed
// and is not an exception.
func TestDeclarationWindows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		b.customer(t, "cus_mid", "Olivia Smith", home, on(7, 1), nil)
		b.gift(t, ingest.Charge{ID: "ch_mid_before", Customer: "cus_mid", Amount: 1000, Created: on(7, 10)})
		b.customer(t, "cus_mid", "Olivia Smith", home, on(8, 15), map[string]string{ingest.GiftAidKey: "yes"}) // declared 15 August
		b.gift(t, ingest.Charge{ID: "ch_mid_on", Customer: "cus_mid", Amount: 1100, Created: on(8, 15)})
		b.gift(t, ingest.Charge{ID: "ch_mid_after", Customer: "cus_mid", Amount: 1200, Created: on(9, 1)})

		b.customer(t, "cus_wd", "James Jones", home, on(7, 1), map[string]string{ingest.GiftAidKey: "yes", ingest.GiftAidDateKey: "2026-07-01"})
		b.gift(t, ingest.Charge{ID: "ch_wd_before", Customer: "cus_wd", Amount: 2000, Created: on(7, 20)})
		b.customer(t, "cus_wd", "James Jones", home, on(8, 10), map[string]string{ingest.GiftAidKey: "no"}) // withdrawn 10 August
		b.gift(t, ingest.Charge{ID: "ch_wd_on", Customer: "cus_wd", Amount: 2100, Created: on(8, 10)})
		b.gift(t, ingest.Charge{ID: "ch_wd_after", Customer: "cus_wd", Amount: 2200, Created: on(9, 2)})

		b.customer(t, "cus_none", "Amelia Taylor", home, on(7, 1), nil)
		b.gift(t, ingest.Charge{ID: "ch_none", Customer: "cus_none", Amount: 3000, Created: on(7, 5)})

		sch, err := b.svc.Preview(context.Background(), "2026-09-30", false)
		if err != nil {
			t.Fatal(err)
		}
		got := charges(sch, b, t)
		want := []string{"ch_mid_after", "ch_mid_on", "ch_wd_before"}
		if fmt.Sprint(got) != fmt.Sprint(want) || len(sch.Exceptions) != 0 {
			t.Fatalf("claimable %v (exceptions %+v), want %v", got, sch.Exceptions, want)
		}
		if sch.Total != 1100+1200+2000 {
			t.Fatalf("total %d", sch.Total)
		}
		// Re-declared after the withdrawal: gifts from then on are covered again, the gap is not.
		b.customer(t, "cus_wd", "James Jones", home, on(9, 1), map[string]string{ingest.GiftAidKey: "yes", ingest.GiftAidDateKey: "2026-09-01"})
		sch, err = b.svc.Preview(context.Background(), "2026-09-30", false)
		if err != nil {
			t.Fatal(err)
		}
		if got := charges(sch, b, t); fmt.Sprint(got) != fmt.Sprint([]string{"ch_mid_after", "ch_mid_on", "ch_wd_after", "ch_wd_before"}) {
			t.Fatalf("after re-declaring: %v", got)
		}
		// --to leaves out later gifts.
		sch, err = b.svc.Preview(context.Background(), "2026-08-31", false)
		if err != nil {
			t.Fatal(err)
		}
		if got := charges(sch, b, t); fmt.Sprint(got) != fmt.Sprint([]string{"ch_mid_on", "ch_wd_before"}) {
			t.Fatalf("up to 31 August: %v", got)
		}
	})
}

// TestExceptionsAndFourYears: every gift with a declaration that cannot be
// claimed is listed with its reason, and one older than four years is past
// HMRC's limit.
func TestExceptionsAndFourYears(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		yes := map[string]string{ingest.GiftAidKey: "yes", ingest.GiftAidDateKey: "2020-01-01"}
		type donor struct {
			cus, name string
			addr      *stripe.Address
			currency  string
			at        time.Time
			want      giftaid.Reason
		}
		old := time.Date(2022, 9, 30, 12, 0, 0, 0, london) // a day more than four years before 2026-10-05 (the claim is made then)
		inTime := time.Date(2022, 10, 6, 12, 0, 0, 0, london)
		ds := []donor{
			{"cus_ok", "Mrs Olivia Smith", home, "gbp", on(8, 1), ""},
			{"cus_usd", "Kwame Mensah", home, "usd", on(8, 1), giftaid.ReasonNotGBP},
			{"cus_nohouse", "Priya Patel", &stripe.Address{Line1: "High Street", City: "Bristol", PostalCode: "BS1 4DJ", Country: "GB"}, "gbp", on(8, 1), giftaid.ReasonNoHouse},
			{"cus_nopc", "Arjun Patel", &stripe.Address{Line1: "4 Mill Lane", City: "Cardiff", Country: "GB"}, "gbp", on(8, 1), giftaid.ReasonNoPostcode},
			{"cus_ie", "Tadhg Murphy", &stripe.Address{Line1: "1 Main Street", City: "Dublin", PostalCode: "D02 X285", Country: "IE"}, "gbp", on(8, 1), giftaid.ReasonNotUK},
			{"cus_noaddr", "Isla Brown", nil, "gbp", on(8, 1), giftaid.ReasonNoAddress},
			{"cus_cher", "Cher", home, "gbp", on(8, 1), giftaid.ReasonNoSurname},
			{"cus_long", "Ann Wolfeschlegelsteinhausenbergerdorffvoralternwaren", home, "gbp", on(8, 1), giftaid.ReasonNameTooLong},
			{"cus_old", "George Taylor", home, "gbp", old, giftaid.ReasonTooOld},
			{"cus_intime", "Chloé Rossi", home, "gbp", inTime, ""},
		}
		for i, d := range ds {
			b.customer(t, d.cus, d.name, d.addr, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), yes)
			b.gift(t, ingest.Charge{ID: fmt.Sprintf("ch_x%d", i), Customer: d.cus, Amount: 1500, Currency: d.currency, Created: d.at})
		}
		sch, err := b.svc.Preview(context.Background(), "2026-09-30", false)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]giftaid.Reason{}
		for _, e := range sch.Exceptions {
			got[e.DonorID] = e.Reason
		}
		if len(sch.Lines) != 2 || len(sch.Exceptions) != len(ds)-2 {
			t.Fatalf("%d lines, exceptions %+v", len(sch.Lines), sch.Exceptions)
		}
		for _, d := range ds {
			donor, err := s.DonorByCustomer(context.Background(), d.cus)
			if err != nil {
				t.Fatal(err)
			}
			if got[donor.ID] != d.want {
				t.Errorf("%s: reason %q, want %q", d.cus, got[donor.ID], d.want)
			}
		}
		if r := sch.Rows[1]; r.Title != "Mrs" || r.First != "Olivia" || r.Last != "Smith" || r.House != "12" || r.Postcode != "SE1 7TP" ||
			r.Date != "01/08/26" || r.Amount != "15.00" {
			t.Errorf("row %+v", r)
		}
	})
}

// TestRefundAfterClaim: a gift refunded after its claim is an adjustment of
// the next claim, once; a lost dispute too; a refund before the claim only
// lowers the amount claimed.
func TestRefundAfterClaim(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		b.customer(t, "cus_a", "Olivia Smith", home, on(7, 1), map[string]string{ingest.GiftAidKey: "yes", ingest.GiftAidDateKey: "2026-07-01"})
		a := b.gift(t, ingest.Charge{ID: "ch_a", Customer: "cus_a", Amount: 5000, Created: on(7, 2)})
		bb := b.gift(t, ingest.Charge{ID: "ch_b", Customer: "cus_a", Amount: 3000, Created: on(7, 3)})
		c := b.gift(t, ingest.Charge{ID: "ch_c", Customer: "cus_a", Amount: 4000, Created: on(7, 4)})
		b.refund(t, c, 1000, on(7, 20)) // before the claim: £30 is claimed
		first, err := b.svc.Claim(ctx, giftaid.Request{To: "2026-07-31", Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if first.Claim.Total != 5000+3000+3000 || first.Claim.Gifts != 3 {
			t.Fatalf("first claim %+v", first.Claim)
		}
		b.refund(t, a, 2000, on(8, 5))                                                                // £20 of the £50 back
		b.event(t, "charge.dispute.closed", on(8, 6), ingest.DisputeObject("dp_b", bb, 3000, "lost")) // all of ch_b
		b.gift(t, ingest.Charge{ID: "ch_d", Customer: "cus_a", Amount: 1000, Created: on(8, 7)})
		second, err := b.svc.Claim(ctx, giftaid.Request{To: "2026-08-31", Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if second.Claim.Gifts != 1 || second.Claim.Total != 1000 || second.Claim.Adjustments != 2 || second.Claim.AdjustmentTotal != -5000 {
			t.Fatalf("second claim %+v", second.Claim)
		}
		for _, adj := range second.Schedule.Adjustments {
			if adj.OriginalClaimID != first.Claim.ID {
				t.Errorf("adjustment %+v names claim %s", adj, adj.OriginalClaimID)
			}
		}
		if second.Schedule.AdjustmentTax != -1250 {
			t.Errorf("adjustment box %d, want -1250", second.Schedule.AdjustmentTax)
		}
		// Once: the next claim has nothing to adjust, until another refund.
		if _, err := b.svc.Claim(ctx, giftaid.Request{To: "2026-08-31", Actor: "test"}); domain.ErrorCode(err) != domain.ECONFLICT {
			t.Fatalf("third claim: %v, want nothing to claim", err)
		}
		b.refund(t, a, 5000, on(9, 5)) // the rest of ch_a
		third, err := b.svc.Claim(ctx, giftaid.Request{To: "2026-09-30", Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if third.Claim.Gifts != 0 || third.Claim.Adjustments != 1 || third.Claim.AdjustmentTotal != -3000 {
			t.Fatalf("third claim %+v", third.Claim)
		}
		// The claims as stored say the same.
		_, sch, err := b.svc.Remake(ctx, second.Claim.ID)
		if err != nil {
			t.Fatal(err)
		}
		if sch.AdjustmentTotal != -5000 || len(sch.Adjustments) != 2 || len(sch.Rows) != 1 || sch.Rows[0].Amount != "10.00" {
			t.Fatalf("remade second claim: %+v", sch)
		}
	})
}

// TestMarkSubmitted records HMRC's reference once, with an audit entry.
func TestMarkSubmitted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		b.customer(t, "cus_a", "Olivia Smith", home, on(7, 1), map[string]string{ingest.GiftAidKey: "yes", ingest.GiftAidDateKey: "2026-07-01"})
		b.gift(t, ingest.Charge{ID: "ch_a", Customer: "cus_a", Amount: 5000, Created: on(7, 2)})
		res, err := b.svc.Claim(ctx, giftaid.Request{To: "2026-09-30", Actor: "cli:tester"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.MarkSubmitted(ctx, res.Claim.ID, " ", "cli:tester"); domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("empty reference: %v", err)
		}
		c, err := b.svc.MarkSubmitted(ctx, res.Claim.ID, "HMRC-ACK-123", "cli:tester")
		if err != nil || c.HMRCReference != "HMRC-ACK-123" || c.SubmittedAt == 0 {
			t.Fatalf("%+v %v", c, err)
		}
		if _, err := b.svc.MarkSubmitted(ctx, res.Claim.ID, "OTHER", "cli:tester"); domain.ErrorCode(err) != domain.ECONFLICT {
			t.Fatalf("second mark: %v", err)
		}
		if _, err := b.svc.MarkSubmitted(ctx, "gac_missing", "X", "cli:tester"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("unknown claim: %v", err)
		}
		us := giftaid.Service{Store: s, Clock: b.svc.Clock, Location: london, Country: domain.CountryUS}
		if _, err := us.Preview(ctx, "2026-09-30", false); domain.ErrorCode(err) != domain.EINVALID || !strings.Contains(err.Error(), "IMPACTD_ORG_COUNTRY is US") {
			t.Fatalf("a US organisation's claim: %v", err)
		}
		if _, err := b.svc.Preview(ctx, "30/09/2026", false); domain.ErrorCode(err) != domain.EINVALID || !strings.Contains(err.Error(), "YYYY-MM-DD") {
			t.Fatalf("a date not YYYY-MM-DD: %v", err)
		}
		log, err := s.AuditLog(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]int{}
		for _, e := range log {
			if e.Subject == res.Claim.ID {
				actions[e.Action]++
			}
		}
		if actions["giftaid.claim"] != 1 || actions["giftaid.submitted"] != 1 {
			t.Fatalf("audit %v", actions)
		}
		stored, err := s.GiftAidClaim(ctx, res.Claim.ID)
		if err != nil || stored.HMRCReference != "HMRC-ACK-123" || stored.Actor != "cli:tester" {
			t.Fatalf("%+v %v", stored, err)
		}
	})
}

// TestErasedDonorsClaim: erasure leaves the claim's ids and amounts, and
// its schedule can no longer be made.
func TestErasedDonorsClaim(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		b.customer(t, "cus_a", "Olivia Smith", home, on(7, 1), map[string]string{ingest.GiftAidKey: "yes", ingest.GiftAidDateKey: "2026-07-01"})
		b.gift(t, ingest.Charge{ID: "ch_a", Customer: "cus_a", Amount: 5000, Created: on(7, 2)})
		res, err := b.svc.Claim(ctx, giftaid.Request{To: "2026-09-30", Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		donor, err := s.DonorByCustomer(ctx, "cus_a")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.EraseDonor(ctx, donor.ID, 1) }); err != nil {
			t.Fatal(err)
		}
		_, _, err = b.svc.Remake(ctx, res.Claim.ID)
		var gone *giftaid.ErasedError
		if !errors.As(err, &gone) || gone.Erased != 1 || domain.ErrorCode(err) != domain.ECONFLICT {
			t.Fatalf("remake after erasure: %v", err)
		}
		stored, err := s.GiftAidClaim(ctx, res.Claim.ID)
		if err != nil || stored.Total != 5000 {
			t.Fatalf("%+v %v", stored, err)
		}
	})
}

// TestNoDoubleClaimConcurrently: claims made at once, by goroutines sharing
// a store and by separate stores (connection pools, as two processes
// have), share the gifts out: every gift in exactly one claim.
func TestNoDoubleClaimConcurrently(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		b := setup(t, s)
		const gifts = 120
		for i := range 6 {
			cus := fmt.Sprintf("cus_c%d", i)
			b.customer(t, cus, "Olivia Smith", home, on(7, 1), map[string]string{ingest.GiftAidKey: "yes", ingest.GiftAidDateKey: "2026-07-01"})
			for j := range gifts / 6 {
				b.gift(t, ingest.Charge{ID: fmt.Sprintf("ch_c%d_%d", i, j), Customer: cus, Amount: int64(1000 + j), Created: on(7, 2+j%25)})
			}
		}
		other, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		svcs := []*giftaid.Service{b.svc, b.svc, {Store: other, Clock: b.svc.Clock, Location: london}, {Store: other, Clock: b.svc.Clock, Location: london}}
		var wg sync.WaitGroup
		errs := make([]error, len(svcs))
		for i, svc := range svcs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Different ends, so that the claims overlap in part.
				to := []string{"2026-07-12", "2026-09-30", "2026-07-20", "2026-08-31"}[i]
				_, errs[i] = svc.Claim(ctx, giftaid.Request{To: to, Actor: fmt.Sprintf("claimer %d", i)})
			}()
		}
		wg.Wait()
		made := 0
		for _, err := range errs {
			switch {
			case err == nil:
				made++
			case domain.ErrorCode(err) != domain.ECONFLICT:
				t.Fatalf("claim: %v", err)
			}
		}
		checkEachOnce(t, s, gifts, made)
	})
}

// checkEachOnce checks that every gift is in exactly one claim and that
// the claims' totals add up to their gifts.
func checkEachOnce(t *testing.T, s *store.Store, gifts, claims int) {
	t.Helper()
	got := claimed(t, s)
	if len(got) != gifts {
		t.Fatalf("%d gifts claimed, want %d", len(got), gifts)
	}
	var n, rows int
	var sum, total int64
	if err := s.DB().Get(&n, `SELECT COUNT(*) FROM giftaid_claims`); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Get(&rows, `SELECT COUNT(*) FROM giftaid_claim_gifts`); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Get(&sum, `SELECT COALESCE(SUM(amount), 0) FROM giftaid_claim_gifts`); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Get(&total, `SELECT COALESCE(SUM(total), 0) FROM giftaid_claims`); err != nil {
		t.Fatal(err)
	}
	if claims >= 0 && n != claims {
		t.Fatalf("%d claims stored, %d reported made", n, claims)
	}
	if rows != gifts || sum != total || n == 0 {
		t.Fatalf("%d rows for %d gifts; gifts sum to %d, claims say %d; %d claims", rows, gifts, sum, total, n)
	}
	t.Logf("%d gifts in %d claims", gifts, n)
}
