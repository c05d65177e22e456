package ingest_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"testing"
	"time"

	"impactd/internal/ingest"
	"impactd/internal/money"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

// interesting are the amounts the fuzzer picks from most often: the edges of
// the ceiling, of int64 and of a £10 gift.
var interesting = []int64{0, 1, 500, 999, 1000, 1001, 2000, money.MaxAmount - 1, money.MaxAmount, money.MaxAmount + 1,
	math.MaxInt64, math.MaxInt64 - 1, -1, -1000, math.MinInt64, 1 << 62, 6_900_000_000_000_000_000}

var currencies = []string{"gbp", "usd", "jpy", "kwd", "xyz", "xau", "", "GBP", "<b>"}

// FuzzLedger applies random sequences of validly signed events — charges,
// refunds, disputes, payment intents, invoices, customers, redeliveries —
// through the real webhook handler and checks after each sequence that the
// ledger is true: every answer is 200 and, for every donor and currency,
// 0 ≤ refunded ≤ gross and 0 ≤ net ≤ gross with no overflow. CI runs it for
// a few seconds; see the README for a longer run.
func FuzzLedger(f *testing.F) {
	f.Add([]byte{0, 4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 12, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 4, 0, 0, 0, 0, 0, 0, 0, 5, 0, 13, 0, 3, 0, 0, 0, 0, 5, 0, 4, 1, 3, 0, 0, 0, 0})
	f.Add([]byte{0, 10, 0, 0, 0, 0, 0, 0, 0, 10, 1, 0, 0, 0, 0, 0, 0, 2, 0, 9, 0, 9, 0, 0, 0, 0})
	f.Add([]byte{6, 4, 0, 0, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 2, 0, 6, 1, 1, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0})
	s := storetest.SQLite(f)
	b := setup(f, s)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 9*24 {
			data = data[:9*24] // at most 24 events a sequence
		}
		clearLedger(t, s)
		b := b
		for i := 0; i+9 <= len(data); i += 9 {
			op := data[i : i+9]
			id, typ, obj := fuzzEvent(i/9, op)
			if op[0]&0x80 != 0 && i >= 9 {
				id = fmt.Sprintf("evt_f%d", i/9-1) // a redelivery of the one before, perhaps with other contents
			}
			code, body := b.raw(t, id, typ, obj)
			if code != 200 {
				t.Fatalf("event %d (%s): %d %s", i/9, typ, code, body)
			}
		}
		if err := ledgerTrue(s); err != nil {
			t.Fatal(err)
		}
	})
}

// amount reads an amount: one of the interesting ones, or the raw bytes.
func amount(sel byte, raw []byte) int64 {
	if sel < 200 {
		return interesting[int(sel)%len(interesting)]
	}
	return int64(binary.LittleEndian.Uint64(append(raw, make([]byte, 8)...)[:8]))
}

// fuzzEvent turns 9 bytes into one event: op[0] the kind, op[1] the amount
// selector, op[2] which of three charges (and customers), op[3] a second
// amount selector, op[4] the currency, op[5:9] raw amount bytes.
func fuzzEvent(n int, op []byte) (id, typ string, obj map[string]any) {
	charge := fmt.Sprintf("ch_f%d", op[2]%3)
	c := ingest.Charge{ID: charge, Email: fmt.Sprintf("f%d@example.org", op[2]%2), Name: "Fuzz", Amount: amount(op[1], op[5:]),
		Currency: currencies[int(op[4])%len(currencies)], Created: hostileAt}
	if op[2]&4 != 0 {
		c.Customer = fmt.Sprintf("cus_f%d", op[2]%2)
	}
	id = fmt.Sprintf("evt_f%d", n)
	second := amount(op[3], op[5:])
	switch op[0] & 0x7f % 9 {
	case 0:
		return id, "charge.succeeded", c.Object()
	case 1:
		c.AmountRefunded = second
		return id, "charge.refunded", c.Object()
	case 2:
		obj := c.Object()
		obj["amount_refunded"] = second
		obj["refunds"] = map[string]any{"object": "list", "data": []any{
			map[string]any{"id": fmt.Sprintf("re_f%d", op[3]%4), "object": "refund", "amount": second, "currency": c.Currency,
				"status": "succeeded", "charge": charge, "created": hostileAt.Add(time.Hour).Unix()},
			map[string]any{"id": fmt.Sprintf("re_f%d", op[1]%4), "object": "refund", "amount": c.Amount, "currency": c.Currency,
				"status": "succeeded", "charge": charge, "created": hostileAt.Add(time.Hour).Unix()},
		}}
		return id, "charge.refunded", obj
	case 3:
		return id, "refund.created", map[string]any{"id": fmt.Sprintf("re_f%d", op[3]%4), "object": "refund", "amount": second,
			"currency": c.Currency, "status": "succeeded", "charge": charge, "created": hostileAt.Add(time.Hour).Unix()}
	case 4:
		status := []string{"needs_response", "under_review", "won", "lost"}[op[3]%4]
		return id, "charge.dispute.updated", ingest.DisputeObject(fmt.Sprintf("dp_f%d", op[1]%2), c, second, status)
	case 5:
		return id, "charge.dispute.closed", ingest.DisputeObject(fmt.Sprintf("dp_f%d", op[3]%2), c, second, "lost")
	case 6:
		return id, "payment_intent.succeeded", ingest.PaymentIntentObject(fmt.Sprintf("pi_f%d", op[2]%3), c)
	case 7:
		c.Customer = fmt.Sprintf("cus_f%d", op[2]%2)
		return id, "invoice.paid", ingest.InvoiceObject(fmt.Sprintf("in_f%d", op[3]%3), "sub_f", "price_f", c)
	default:
		return id, "customer.updated", ingest.CustomerObject(fmt.Sprintf("cus_f%d", op[2]%2), "Fuzz Customer",
			fmt.Sprintf("f%d@example.org", op[3]%2), nil, hostileAt, map[string]string{})
	}
}

// clearLedger empties the tables one sequence of events fills.
func clearLedger(tb testing.TB, s *store.Store) {
	tb.Helper()
	for _, table := range []string{"refunds", "donations", "subscriptions", "donor_customers", "donor_emails", "payment_hints",
		"disputes", "stripe_rejections", "stripe_events", "donors"} {
		if _, err := s.DB().ExecContext(context.Background(), `DELETE FROM `+table); err != nil {
			tb.Fatal(err)
		}
	}
}
