package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/ingest"
	"impactd/internal/metrics"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

const secret = "whsec_test_secret"

type bundle struct {
	store   *store.Store
	in      *ingest.Ingester
	handler http.Handler
}

func setup(t testing.TB, s *store.Store) bundle {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	in := &ingest.Ingester{Store: s, Clock: domain.SystemClock{}, Log: log}
	return bundle{store: s, in: in, handler: &ingest.Webhook{Ingester: in, Secret: secret, Metrics: metrics.Discard(), Log: log}}
}

func (b bundle) post(t *testing.T, payload []byte, header string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(payload))
	if header != "" {
		req.Header.Set("Stripe-Signature", header)
	}
	rec := httptest.NewRecorder()
	b.handler.ServeHTTP(rec, req)
	return rec
}

func chargeEvent(t *testing.T, id, typ string, c ingest.Charge) []byte {
	t.Helper()
	b, err := ingest.EventJSON(id, typ, c.Created.Add(time.Minute), c.Object())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var gift = ingest.Charge{ID: "ch_1", Customer: "cus_1", Name: "Zoë Łukasiewicz", Email: "Zoe@Example.org",
	Amount: 2500, Currency: "gbp", Created: time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)}

func TestWebhookSignature(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		payload := chargeEvent(t, "evt_sig", "charge.succeeded", gift)
		now := time.Now()
		tests := []struct {
			name   string
			body   []byte
			header string
			status int
		}{
			{"no signature", payload, "", 400},
			{"wrong secret", payload, ingest.SignatureHeader(payload, "whsec_wrong", now), 400},
			{"stale timestamp", payload, ingest.SignatureHeader(payload, secret, now.Add(-10*time.Minute)), 400},
			{"garbage header", payload, "t=abc,v1=zzz", 400},
			{"body changed after signing", bytes.Replace(payload, []byte("2500"), []byte("9999"), 1), ingest.SignatureHeader(payload, secret, now), 400},
			{"signed but not JSON", []byte("{not json"), ingest.SignatureHeader([]byte("{not json"), secret, now), 400},
			{"too large", bytes.Repeat([]byte("x"), ingest.MaxBodyBytes+1), "t=1,v1=00", 413},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rec := b.post(t, tt.body, tt.header)
				if rec.Code != tt.status {
					t.Fatalf("status = %d (%s), want %d", rec.Code, rec.Body, tt.status)
				}
				if n, _ := s.CountEvents(context.Background()); n != 0 {
					t.Fatalf("a rejected event was stored (%d events)", n)
				}
			})
		}
		t.Run("valid, then redelivered", func(t *testing.T) {
			for i, want := range []string{"applied", "duplicate"} {
				rec := b.post(t, payload, ingest.SignatureHeader(payload, secret, time.Now()))
				if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
					t.Fatalf("delivery %d: %d %s, want %s", i, rec.Code, rec.Body, want)
				}
			}
			d, err := s.DonorByCustomer(context.Background(), "cus_1")
			if err != nil || d.Name != "Zoë Łukasiewicz" || d.Email != "zoe@example.org" {
				t.Fatalf("donor: %+v %v", d, err)
			}
			gifts, _ := s.DonationsForDonor(context.Background(), d.ID, 0, 1<<62)
			if len(gifts) != 1 || gifts[0].Amount != 2500 || gifts[0].Currency != "GBP" {
				t.Fatalf("gifts: %+v", gifts)
			}
		})
		t.Run("no card data is stored", func(t *testing.T) {
			var payloads []string
			if err := s.DB().Select(&payloads, `SELECT payload FROM stripe_events`); err != nil {
				t.Fatal(err)
			}
			for _, p := range payloads {
				if strings.Contains(p, "4242") || strings.Contains(p, "last4") || strings.Contains(p, "payment_method_details") {
					t.Fatalf("card data stored: %s", p)
				}
			}
		})
	})
}

func TestLedgerArithmetic(t *testing.T) {
	type delivery struct {
		id, typ  string
		refunded int64
		at       time.Duration // after the gift
	}
	tests := []struct {
		name         string
		events       []delivery
		wantRefunded int64
		wantStatus   string
		wantRefunds  int
	}{
		{"gift only", []delivery{{"e1", "charge.succeeded", 0, 0}}, 0, domain.DonationSucceeded, 0},
		{"refund after refund", []delivery{
			{"e1", "charge.succeeded", 0, 0}, {"e2", "charge.refunded", 500, time.Hour}, {"e3", "charge.refunded", 1200, 2 * time.Hour},
		}, 1200, domain.DonationSucceeded, 2},
		{"refund before the charge event", []delivery{
			{"e2", "charge.refunded", 500, time.Hour}, {"e1", "charge.succeeded", 0, 0},
		}, 500, domain.DonationSucceeded, 1},
		{"an old refund event arriving late changes nothing", []delivery{
			{"e1", "charge.succeeded", 0, 0}, {"e3", "charge.refunded", 1200, 2 * time.Hour}, {"e2", "charge.refunded", 500, time.Hour},
		}, 1200, domain.DonationSucceeded, 1},
		{"full refund", []delivery{
			{"e1", "charge.succeeded", 0, 0}, {"e2", "charge.refunded", 2500, time.Hour},
		}, 2500, domain.DonationRefunded, 1},
		{"redelivered refund", []delivery{
			{"e1", "charge.succeeded", 0, 0}, {"e2", "charge.refunded", 500, time.Hour}, {"e2", "charge.refunded", 500, time.Hour},
		}, 500, domain.DonationSucceeded, 1},
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := setup(t, s)
				c := gift
				c.ID = "ch_arith_" + string(rune('a'+i))
				c.Customer = "cus_arith_" + string(rune('a'+i))
				c.Email = c.Customer + "@example.org"
				for _, d := range tt.events {
					c.AmountRefunded = d.refunded
					ev, err := ingest.EventJSON(c.ID+d.id, d.typ, c.Created.Add(d.at), c.Object())
					if err != nil {
						t.Fatal(err)
					}
					if rec := b.post(t, ev, ingest.SignatureHeader(ev, secret, time.Now())); rec.Code != 200 {
						t.Fatalf("%s: %d %s", d.id, rec.Code, rec.Body)
					}
				}
				var got domain.Donation
				err := s.InTx(context.Background(), func(tx *store.Tx) error {
					d, err := tx.DonationByChargeForUpdate(context.Background(), c.ID)
					if err == nil {
						got = *d
					}
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				if got.AmountRefunded != tt.wantRefunded || got.Status != tt.wantStatus {
					t.Errorf("refunded %d (%s), want %d (%s)", got.AmountRefunded, got.Status, tt.wantRefunded, tt.wantStatus)
				}
				sum, _ := s.SumRefunds(context.Background(), got.ID)
				if sum != tt.wantRefunded {
					t.Errorf("refund lines sum to %d, want %d", sum, tt.wantRefunded)
				}
				rs, _ := s.RefundsForDonor(context.Background(), got.DonorID, 0, 1<<62)
				if len(rs) != tt.wantRefunds {
					t.Errorf("%d refund lines, want %d", len(rs), tt.wantRefunds)
				}
			})
		}
	})
}

func TestWebhookDatabaseDown(t *testing.T) {
	s := storetest.SQLite(t)
	b := setup(t, s)
	s.Close()
	payload := chargeEvent(t, "evt_down", "charge.succeeded", gift)
	rec := b.post(t, payload, ingest.SignatureHeader(payload, secret, time.Now()))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500 so that Stripe retries", rec.Code)
	}
}

func TestGuestDonorsAreLinkedByEmail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		for i, c := range []ingest.Charge{
			{ID: "ch_g1", Email: "guest@example.org", Amount: 1000, Currency: "usd", Created: gift.Created},
			{ID: "ch_g2", Email: " GUEST@example.org ", Amount: 2000, Currency: "usd", Created: gift.Created},
		} {
			ev := chargeEvent(t, "evt_g"+string(rune('0'+i)), "charge.succeeded", c)
			if rec := b.post(t, ev, ingest.SignatureHeader(ev, secret, time.Now())); rec.Code != 200 {
				t.Fatal(rec.Body)
			}
		}
		if n, _ := s.CountDonors(context.Background()); n != 1 {
			t.Fatalf("donors = %d, want 1", n)
		}
	})
}

func FuzzWebhook(f *testing.F) {
	s := storetest.SQLite(f)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &ingest.Webhook{Ingester: &ingest.Ingester{Store: s, Clock: domain.SystemClock{}, Log: log}, Secret: secret, Log: log}
	seed, _ := ingest.EventJSON("evt_f", "charge.succeeded", gift.Created, gift.Object())
	f.Add(seed)
	f.Add([]byte(`{"id":"evt_x","type":"charge.refunded","data":{"object":{"id":"ch","amount":-5,"currency":"gbp","status":"succeeded"}}}`))
	f.Add([]byte(`{"id":"evt_y","type":"charge.succeeded","data":{"object":[]}}`))
	for i, obj := range []map[string]any{
		ingest.PaymentIntentObject("pi_f", gift),
		ingest.CheckoutSessionObject("cs_f", "payment", "pi_f", "", gift, map[string]string{"designation": "x"}),
		ingest.InvoiceObject("in_f", "sub_f", "price_f", gift),
		ingest.DisputeObject("dp_f", gift, 2500, "lost"),
		ingest.CustomerObject("cus_f", "Zoë", "z@example.org", nil, gift.Created, map[string]string{ingest.GiftAidKey: "yes"}),
	} {
		typ := []string{"payment_intent.succeeded", "checkout.session.completed", "invoice.paid", "charge.dispute.closed", "customer.updated"}[i]
		b, _ := ingest.EventJSON(fmt.Sprintf("evt_seed%d", i), typ, gift.Created, obj)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(body))
		req.Header.Set("Stripe-Signature", ingest.SignatureHeader(body, secret, time.Now()))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 && rec.Code != 400 && rec.Code != 413 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
	})
}
