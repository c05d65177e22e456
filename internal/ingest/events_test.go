package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/ingest"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

type ev struct {
	id, typ string
	at      time.Time
	obj     map[string]any
}

func (b bundle) send(t *testing.T, e ev) string {
	t.Helper()
	payload, err := ingest.EventJSON(e.id, e.typ, e.at, e.obj)
	if err != nil {
		t.Fatal(err)
	}
	rec := b.post(t, payload, ingest.SignatureHeader(payload, secret, time.Now()))
	if rec.Code != 200 {
		t.Fatalf("%s %s: %d %s", e.id, e.typ, rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func donation(t *testing.T, s *store.Store, chargeID string) *domain.Donation {
	t.Helper()
	var got *domain.Donation
	err := s.InTx(context.Background(), func(tx *store.Tx) error {
		d, err := tx.DonationByChargeForUpdate(context.Background(), chargeID)
		got = d
		return err
	})
	if err != nil {
		t.Fatalf("donation %s: %v", chargeID, err)
	}
	return got
}

func permutations(n int) [][]int {
	if n == 1 {
		return [][]int{{0}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

// TestOneGiftManyEvents: a guest checkout seen as checkout session, payment
// intent and charge, in every order, with duplicates, is one donation.
func TestOneGiftManyEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		base := time.Date(2026, 8, 1, 10, 0, 0, 0, time.UTC)
		for n, order := range permutations(3) {
			c := ingest.Charge{ID: fmt.Sprintf("ch_perm%d", n), Email: fmt.Sprintf("guest%d@example.org", n), Name: "Ngọc Ánh Nguyễn",
				Amount: 4200, Currency: "gbp", Created: base}
			pi := fmt.Sprintf("pi_perm%d", n)
			chObj := c.Object()
			chObj["payment_intent"] = pi
			evs := []ev{
				{fmt.Sprintf("evt_cs%d", n), "checkout.session.completed", base, ingest.CheckoutSessionObject(fmt.Sprintf("cs_%d", n), "payment", pi, "", c, map[string]string{"designation": "Aftercare"})},
				{fmt.Sprintf("evt_pi%d", n), "payment_intent.succeeded", base, ingest.PaymentIntentObject(pi, c)},
				{fmt.Sprintf("evt_ch%d", n), "charge.succeeded", base, chObj},
			}
			for _, i := range order {
				b.send(t, evs[i])
				b.send(t, evs[i]) // every event twice
			}
			d := donation(t, s, c.ID)
			if d.Amount != 4200 || d.PaymentIntentID != pi || d.Designation != "Aftercare" || d.Recurring != 0 {
				t.Errorf("order %v: %+v", order, d)
			}
			donor, err := s.Donor(context.Background(), d.DonorID)
			if err != nil || donor.Email != c.Email || donor.Name != c.Name {
				t.Errorf("order %v: donor %+v %v", order, donor, err)
			}
			gifts, _ := s.DonationsForDonor(context.Background(), d.DonorID, 0, 1<<62)
			if len(gifts) != 1 {
				t.Errorf("order %v: %d donations", order, len(gifts))
			}
		}
	})
}

func TestRefundsAndDisputes(t *testing.T) {
	at := time.Date(2026, 8, 1, 10, 0, 0, 0, time.UTC)
	c := ingest.Charge{Customer: "cus_rd", Email: "rd@example.org", Amount: 10000, Currency: "gbp", Created: at}
	refunded := func(amount int64, refunds ...[2]any) map[string]any {
		cc := c
		cc.AmountRefunded = amount
		o := cc.Object()
		if refunds != nil {
			var data []any
			for _, r := range refunds {
				data = append(data, map[string]any{"id": r[0], "object": "refund", "amount": r[1], "status": "succeeded", "created": at.Add(48 * time.Hour).Unix()})
			}
			o["refunds"] = map[string]any{"object": "list", "data": data}
		}
		return o
	}
	tests := []struct {
		name                   string
		events                 []ev
		wantRefunded, wantLost int64
		wantStatus             string
		wantLines              int
	}{
		{"partial refund before the charge event", []ev{
			{"e2", "charge.refunded", at.Add(time.Hour), refunded(2500)},
			{"e1", "charge.succeeded", at, refunded(0)},
		}, 2500, 0, domain.DonationSucceeded, 1},
		{"synthetic refund replaced by the real ones", []ev{
			{"e1", "charge.succeeded", at, refunded(0)},
			{"e2", "charge.refunded", at.Add(time.Hour), refunded(3000)},
			{"e3", "charge.refunded", at.Add(2 * time.Hour), refunded(3000, [2]any{"re_a", 1000}, [2]any{"re_b", 2000})},
		}, 3000, 0, domain.DonationSucceeded, 2},
		{"refund object events", []ev{
			{"e1", "charge.succeeded", at, refunded(0)},
			{"e2", "refund.created", at.Add(time.Hour), map[string]any{"id": "re_x", "object": "refund", "charge": "", "amount": 700, "status": "succeeded", "created": at.Add(time.Hour).Unix()}},
		}, 700, 0, domain.DonationSucceeded, 1},
		{"lost dispute reverses the gift", []ev{
			{"e1", "charge.succeeded", at, refunded(0)},
			{"e2", "charge.dispute.created", at.Add(24 * time.Hour), nil},
			{"e3", "charge.dispute.closed", at.Add(30 * 24 * time.Hour), map[string]any{"status": "lost"}},
		}, 0, 10000, domain.DonationReversed, 1},
		{"won dispute changes nothing", []ev{
			{"e1", "charge.succeeded", at, refunded(0)},
			{"e2", "charge.dispute.created", at.Add(24 * time.Hour), nil},
			{"e3", "charge.dispute.closed", at.Add(30 * 24 * time.Hour), map[string]any{"status": "won"}},
		}, 0, 0, domain.DonationSucceeded, 0},
		{"dispute closed before the charge event, created after closed", []ev{
			{"e3", "charge.dispute.closed", at.Add(30 * 24 * time.Hour), map[string]any{"status": "lost"}},
			{"e2", "charge.dispute.created", at.Add(24 * time.Hour), nil},
			{"e1", "charge.succeeded", at, refunded(0)},
		}, 0, 10000, domain.DonationReversed, 1},
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := setup(t, s)
				cc := c
				cc.ID = fmt.Sprintf("ch_rd%d", i)
				cc.Customer = fmt.Sprintf("cus_rd%d", i)
				cc.Email = fmt.Sprintf("rd%d@example.org", i)
				for _, e := range tt.events {
					obj := e.obj
					switch {
					case e.typ == "charge.dispute.created" || e.typ == "charge.dispute.closed":
						status := "needs_response"
						if e.obj != nil {
							status = e.obj["status"].(string)
						}
						obj = ingest.DisputeObject(fmt.Sprintf("dp_rd%d", i), cc, 10000, status)
					case e.typ == "refund.created":
						obj["charge"] = cc.ID
					default:
						obj["id"], obj["customer"] = cc.ID, cc.Customer
						obj["billing_details"] = map[string]any{"email": cc.Email}
					}
					b.send(t, ev{fmt.Sprintf("%s_%d", e.id, i), e.typ, e.at, obj})
				}
				d := donation(t, s, cc.ID)
				if d.AmountRefunded != tt.wantRefunded || d.AmountDisputed != tt.wantLost || d.Status != tt.wantStatus {
					t.Errorf("refunded %d disputed %d %s; want %d %d %s", d.AmountRefunded, d.AmountDisputed, d.Status, tt.wantRefunded, tt.wantLost, tt.wantStatus)
				}
				lines, _ := s.RefundsForDonor(context.Background(), d.DonorID, 0, 1<<62)
				var sum int64
				for _, l := range lines {
					sum += l.Amount
				}
				if len(lines) != tt.wantLines || sum != tt.wantRefunded+tt.wantLost {
					t.Errorf("%d lines summing to %d; want %d summing to %d", len(lines), sum, tt.wantLines, tt.wantRefunded+tt.wantLost)
				}
			})
		}
	})
}

func TestCustomers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		// A guest gives first; later they create an account with the same email.
		guest := ingest.Charge{ID: "ch_guest", Email: "sam@example.org", Name: "Sam", Amount: 1000, Currency: "gbp", Created: at}
		b.send(t, ev{"evt_c1", "charge.succeeded", at, guest.Object()})
		b.send(t, ev{"evt_c2", "customer.created", at.Add(time.Hour), ingest.CustomerObject("cus_sam", "Sam Smith", "SAM@example.org", nil, at, nil)})
		d, err := s.DonorByCustomer(ctx, "cus_sam")
		if err != nil || d.Name != "Sam Smith" {
			t.Fatalf("customer did not merge into the guest: %+v %v", d, err)
		}
		if n, _ := s.CountDonors(ctx); n != 1 {
			t.Fatalf("%d donors, want 1", n)
		}
		// A newer update applies; an older one arriving late does not.
		b.send(t, ev{"evt_c4", "customer.updated", at.Add(3 * time.Hour), ingest.CustomerObject("cus_sam", "Samantha Smith", "sam@example.org", nil, at,
			map[string]string{ingest.GiftAidKey: "yes", ingest.GiftAidDateKey: "2026-02-01"})})
		if body := b.send(t, ev{"evt_c3", "customer.updated", at.Add(2 * time.Hour), ingest.CustomerObject("cus_sam", "S. Smith", "sam@example.org", nil, at, nil)}); body == "" {
			t.Fatal("no body")
		}
		d, _ = s.DonorByCustomer(ctx, "cus_sam")
		if d.Name != "Samantha Smith" || d.GiftAidFrom != "2026-02-01" {
			t.Fatalf("donor after updates: %+v", d)
		}
		// Deleting the Stripe customer keeps the donor and the gift.
		b.send(t, ev{"evt_c5", "customer.deleted", at.Add(4 * time.Hour), ingest.CustomerObject("cus_sam", "Samantha Smith", "sam@example.org", nil, at, nil)})
		if gifts, _ := s.DonationsForDonor(ctx, d.ID, 0, 1<<62); len(gifts) != 1 {
			t.Fatalf("gifts after customer.deleted: %d", len(gifts))
		}
	})
}

func TestRecurringGift(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		start := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
		c := ingest.Charge{ID: "ch_m1", Customer: "cus_m", Email: "m@example.org", Name: "Monthly", Amount: 1500, Currency: "gbp", Created: start}
		b.send(t, ev{"evt_m0", "checkout.session.completed", start, ingest.CheckoutSessionObject("cs_m", "subscription", "", "sub_m", c, nil)})
		b.send(t, ev{"evt_m1", "invoice.paid", start, ingest.InvoiceObject("in_m1", "sub_m", "price_monthly", c)})
		chObj := c.Object()
		chObj["invoice"] = "in_m1"
		b.send(t, ev{"evt_m2", "charge.succeeded", start, chObj})
		d := donation(t, s, "ch_m1")
		if d.Recurring != 1 || d.SubscriptionID != "sub_m" || d.InvoiceID != "in_m1" {
			t.Fatalf("%+v", d)
		}
		since, err := s.MonthlySince(ctx, d.DonorID)
		if err != nil || since != start.Unix() {
			t.Fatalf("monthly since %d, want %d (%v)", since, start.Unix(), err)
		}
	})
}

func TestDonationRule(t *testing.T) {
	rule, err := ingest.ParseRule("metadata:kind=donation;price:price_gift")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"metadata", "metadata:novalue", "colour:red", "price:"} {
		if _, err := ingest.ParseRule(bad); err == nil {
			t.Errorf("ParseRule(%q) accepted", bad)
		}
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		b.in.Rule = rule
		at := time.Date(2026, 8, 1, 10, 0, 0, 0, time.UTC)
		shop := ingest.Charge{ID: "ch_tshirt", Email: "x@example.org", Amount: 2000, Currency: "gbp", Created: at}
		gift := ingest.Charge{ID: "ch_gift", Email: "x@example.org", Amount: 2000, Currency: "gbp", Created: at}
		giftObj := gift.Object()
		giftObj["metadata"] = map[string]string{"kind": "donation"}
		if body := b.send(t, ev{"evt_r1", "charge.succeeded", at, shop.Object()}); !strings.Contains(body, "ignored") {
			t.Fatalf("merchandise: %s", body)
		}
		if body := b.send(t, ev{"evt_r2", "charge.succeeded", at, giftObj}); !strings.Contains(body, "applied") {
			t.Fatalf("gift: %s", body)
		}
		sub := ingest.Charge{ID: "ch_sub", Customer: "cus_rule", Email: "y@example.org", Amount: 500, Currency: "gbp", Created: at}
		b.send(t, ev{"evt_r3", "invoice.paid", at, ingest.InvoiceObject("in_r", "sub_r", "price_gift", sub)})
		b.send(t, ev{"evt_r4", "charge.succeeded", at, sub.Object()})
		if d := donation(t, s, "ch_sub"); d.Amount != 500 {
			t.Fatalf("%+v", d)
		}
		var n int
		if err := s.DB().Get(&n, `SELECT COUNT(*) FROM donations`); err != nil || n != 2 {
			t.Fatalf("%d donations, want 2 (%v)", n, err)
		}
	})
}

func TestCurrenciesVersionsAndSettlement(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		at := time.Date(2026, 8, 1, 10, 0, 0, 0, time.UTC)
		tests := []struct {
			id, currency string
			amount       int64
			apiVersion   string
		}{
			{"ch_jpy", "jpy", 5000, ""},               // zero-decimal: ¥5,000
			{"ch_kwd", "kwd", 12345, ""},              // three decimals: KWD 12.345
			{"ch_old_api", "gbp", 1000, "2019-02-19"}, // an older API version is read leniently
			{"ch_new_api", "eur", 1000, "2099-01-01.preview"},
		}
		for _, tt := range tests {
			c := ingest.Charge{ID: tt.id, Email: tt.id + "@example.org", Amount: tt.amount, Currency: tt.currency, Created: at}
			payload, err := ingest.EventJSON("evt_"+tt.id, "charge.succeeded", at, c.Object())
			if err != nil {
				t.Fatal(err)
			}
			if tt.apiVersion != "" {
				payload = []byte(strings.Replace(string(payload), `"api_version":"`+stripeAPIVersion(t, payload)+`"`, `"api_version":"`+tt.apiVersion+`"`, 1))
			}
			if rec := b.post(t, payload, ingest.SignatureHeader(payload, secret, time.Now())); rec.Code != 200 {
				t.Fatalf("%s: %d %s", tt.id, rec.Code, rec.Body)
			}
			d := donation(t, s, tt.id)
			if d.Amount != tt.amount || d.Currency != strings.ToUpper(tt.currency) {
				t.Errorf("%s: %+v", tt.id, d)
			}
		}
		// The backfill reads charges with their balance transaction: a USD
		// gift settled in GBP keeps both.
		obj := ingest.Charge{ID: "ch_settled", Email: "s@example.org", Amount: 2500, Currency: "usd", Created: at}.Object()
		obj["balance_transaction"] = map[string]any{"id": "txn_1", "object": "balance_transaction", "amount": 1890, "currency": "gbp"}
		raw, _ := json.Marshal(obj)
		if _, err := b.in.ApplyObject(ctx, "charge.updated", raw, at.Unix()); err != nil {
			t.Fatal(err)
		}
		if d := donation(t, s, "ch_settled"); d.SettledAmount != 1890 || d.SettledCurrency != "GBP" || d.Amount != 2500 || d.Currency != "USD" {
			t.Fatalf("settlement: %+v", d)
		}
	})
}

func stripeAPIVersion(t *testing.T, payload []byte) string {
	t.Helper()
	var v struct {
		APIVersion string `json:"api_version"`
	}
	if err := json.Unmarshal(payload, &v); err != nil {
		t.Fatal(err)
	}
	return v.APIVersion
}

func TestUnknownEventTypesAreAcknowledged(t *testing.T) {
	s := storetest.SQLite(t)
	b := setup(t, s)
	body := b.send(t, ev{"evt_unknown", "issuing_card.created", time.Now(), map[string]any{"id": "ic_1", "object": "issuing.card"}})
	if !strings.Contains(body, "ignored") {
		t.Fatalf("unknown type: %s", body)
	}
	if n, _ := s.CountEvents(context.Background()); n != 1 {
		t.Fatalf("unknown event not stored for audit: %d", n)
	}
}

// TestConcurrentFirstGifts: a campaign-day burst of first gifts from the same
// new supporter, on several connections at once, makes one donor.
func TestConcurrentFirstGifts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		at := time.Date(2026, 8, 1, 10, 0, 0, 0, time.UTC)
		for k, who := range []struct{ customer, email string }{{"", "burst-guest@example.org"}, {"cus_burst", "burst-customer@example.org"}} {
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					c := ingest.Charge{ID: fmt.Sprintf("ch_burst_%d_%d", k, i), Customer: who.customer, Email: who.email,
						Amount: 1000, Currency: "gbp", Created: at}
					payload, _ := ingest.EventJSON("evt_"+c.ID, "charge.succeeded", at, c.Object())
					if rec := b.post(t, payload, ingest.SignatureHeader(payload, secret, time.Now())); rec.Code != 200 {
						t.Errorf("%d %s", rec.Code, rec.Body)
					}
				})
			}
			wg.Wait()
			ds, err := s.DonorsByEmail(context.Background(), who.email)
			if err != nil || len(ds) != 1 {
				t.Fatalf("%s: %d donors (%v)", who.email, len(ds), err)
			}
			if gifts, _ := s.DonationsForDonor(context.Background(), ds[0].ID, 0, 1<<62); len(gifts) != 8 {
				t.Fatalf("%s: %d gifts on the donor, want 8", who.email, len(gifts))
			}
		}
		var orphans int
		if err := s.DB().Get(&orphans, `SELECT COUNT(*) FROM donors WHERE id NOT IN (SELECT donor_id FROM donations)`); err != nil || orphans != 0 {
			t.Fatalf("%d donors without gifts (%v)", orphans, err)
		}
	})
}
