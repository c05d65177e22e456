package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"impactd/internal/demo"
	"impactd/internal/domain"
	"impactd/internal/ingest"
	"impactd/internal/period"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

// TestEraseLeavesNothing gives a supporter every kind of record impactd
// keeps — Stripe events with billing, shipping and phone, checkout and
// payment-intent hints, a guest gift merged in, a refund and a dispute,
// a statement run with its letters and deliveries, a bounce, an audit entry
// that names them — then runs `impactd donor erase` and searches every text
// column of every table (from the catalog) for their name, email addresses,
// address and phone. Amounts and ids stay.
func TestEraseLeavesNothing(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		dir := t.TempDir()
		env := map[string]string{
			"IMPACTD_DATABASE_URL": dbURL, "IMPACTD_SMTP_URL": "file://" + filepath.Join(dir, "outbox"),
			"IMPACTD_STRIPE_WEBHOOK_SECRET": demo.WebhookSecret, "IMPACTD_SECRET_KEY": demo.SecretKey,
			"IMPACTD_LOG_LEVEL": "warn", "IMPACTD_LOG_FORMAT": "text",
		}
		getenv := func(k string) string { return env[k] }
		a, err := open(ctx, getenv, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		last := period.LastComplete(a.Clock.Now(), a.Config.PeriodKind, a.Config.Location)
		from, _ := last.Bounds(a.Config.Location)
		at := from.Add(10 * 24 * time.Hour)
		post := func(id, typ string, obj map[string]any) {
			t.Helper()
			payload, err := ingest.EventJSON(id, typ, at.Add(time.Minute), obj)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(payload))
			req.Header.Set("Stripe-Signature", ingest.SignatureHeader(payload, demo.WebhookSecret, time.Now()))
			rec := httptest.NewRecorder()
			a.Webhook.ServeHTTP(rec, req)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), "applied") {
				t.Fatalf("%s: %d %s", id, rec.Code, rec.Body)
			}
		}
		addr := &stripe.Address{Line1: "17 Xylophone Mews", Line2: "Flat Quokka", City: "Quillby-on-Sea", PostalCode: "QQ1 7XZ", Country: "GB"}
		c := ingest.Charge{ID: "ch_p1", Customer: "cus_p1", Name: "Perdita Quillfeather", Email: "Perdita.Q@Example.net",
			Address: addr, Amount: 2500, Currency: "gbp", Created: at, Designation: "Rescue fund"}
		shipping := map[string]any{"name": "Perdita Quillfeather", "phone": "+44 7700 900123", "address": addr}

		cus := ingest.CustomerObject("cus_p1", c.Name, c.Email, addr, at, map[string]string{"gift_aid": "yes", "note": "Perdita's own words"})
		cus["phone"], cus["shipping"] = "+44 7700 900123", shipping
		post("evt_p1", "customer.created", cus)
		cs := ingest.CheckoutSessionObject("cs_p1", "payment", "pi_p1", "", c, map[string]string{"designation": "Rescue fund"})
		cs["customer_details"].(map[string]any)["phone"] = "+44 7700 900123"
		post("evt_p2", "checkout.session.completed", cs)
		post("evt_p3", "payment_intent.succeeded", ingest.PaymentIntentObject("pi_p1", c))
		ch := c.Object()
		ch["payment_intent"], ch["shipping"], ch["description"] = "pi_p1", shipping, "Gift from Perdita Quillfeather"
		ch["billing_details"].(map[string]any)["phone"] = "07700900123"
		post("evt_p4", "charge.succeeded", ch)
		guest := ingest.Charge{ID: "ch_pg", Name: "P. Quillfeather", Email: "perdita.alt@example.net", Amount: 1500,
			Currency: "gbp", Created: at.Add(time.Hour)}
		post("evt_p5", "charge.succeeded", guest.Object())
		alt := ingest.CustomerObject("cus_p1", c.Name, guest.Email, addr, at.Add(2*time.Hour), nil)
		post("evt_p6", "customer.updated", alt) // merges the guest donor into the customer's
		c.AmountRefunded = 500
		refunded := c.Object()
		refunded["refunds"] = map[string]any{"object": "list", "data": []any{map[string]any{"id": "re_p1", "object": "refund",
			"amount": 500, "currency": "gbp", "status": "succeeded", "charge": c.ID, "created": at.Add(3 * time.Hour).Unix()}}}
		post("evt_p7", "charge.refunded", refunded)
		post("evt_p8", "charge.dispute.created", ingest.DisputeObject("dp_p1", c, 300, "needs_response"))

		// A statement run (through the demo, which also makes other supporters).
		if _, err := demo.Run(ctx, a, demo.Options{Donors: 6, PDFDir: filepath.Join(dir, "pdf"), Outbox: filepath.Join(dir, "outbox")}); err != nil {
			t.Fatal(err)
		}
		d, err := a.Store.DonorByCustomer(ctx, "cus_p1")
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Store.AddBounce(ctx, domain.Bounce{Email: "perdita.alt@example.net", Detail: "550 5.1.1 <perdita.alt@example.net>: no such user", CreatedAt: 1}); err != nil {
			t.Fatal(err)
		}
		if err := a.Store.Audit(ctx, &store.AuditEntry{Actor: "staff:ops@example.org", Action: "donor.note", Subject: d.ID,
			Reason: "Perdita Quillfeather rang about her address, 17 Xylophone Mews", CreatedAt: 1}); err != nil {
			t.Fatal(err)
		}
		count := func(q string, args ...any) int {
			t.Helper()
			var n int
			if err := a.Store.DB().Get(&n, a.Store.DB().Rebind(q), args...); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if count(`SELECT COUNT(*) FROM statements WHERE donor_id = ?`, d.ID) == 0 ||
			count(`SELECT COUNT(*) FROM deliveries l JOIN statements s ON s.id = l.statement_id WHERE s.donor_id = ?`, d.ID) == 0 {
			t.Fatal("the run made no statement or delivery for the supporter: the search below would prove little")
		}
		amounts := func() string {
			var rows []string
			if err := a.Store.DB().Select(&rows, a.Store.DB().Rebind(`SELECT stripe_charge_id || ':' || amount || ':' || amount_refunded || ':' || currency
				FROM donations WHERE donor_id = ? ORDER BY stripe_charge_id`), d.ID); err != nil {
				t.Fatal(err)
			}
			return strings.Join(rows, ",")
		}
		before := amounts()
		if before != "ch_p1:2500:500:GBP,ch_pg:1500:0:GBP" {
			t.Fatalf("gifts before erasure: %s", before)
		}
		searchable := func() []store.TextColumn {
			cols, err := a.Store.TextColumns(ctx)
			if err != nil || len(cols) < 40 {
				t.Fatalf("%d text columns (%v)", len(cols), err)
			}
			return cols
		}
		needles := []string{"perdita", "quillfeather", "xylophone", "quokka", "quillby", "qq1 7xz", "7700 900123", "7700900123", "perdita.q@", "perdita.alt@"}
		find := func() []string {
			var found []string
			for _, c := range searchable() {
				for _, n := range needles {
					var vals []string
					q := `SELECT "` + c.Column + `" FROM "` + c.Table + `" WHERE LOWER("` + c.Column + `") LIKE ?`
					if err := a.Store.DB().Select(&vals, a.Store.DB().Rebind(q), "%"+n+"%"); err != nil {
						t.Fatalf("%s.%s: %v", c.Table, c.Column, err)
					}
					for _, v := range vals {
						found = append(found, c.Table+"."+c.Column+" holds "+n+": "+v[:min(len(v), 160)])
					}
				}
			}
			return found
		}
		if len(find()) < 10 {
			t.Fatalf("before erasure the search finds only %v: it is not searching where the data is", find())
		}
		a.Close()

		if err := run(ctx, []string{"donor", "erase", d.ID, "--reason", "Perdita Quillfeather asked us to, by phone"}, getenv, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}

		if a, err = open(ctx, getenv, io.Discard); err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		// Stripe still knows them: a later monthly gift adds to the ledger
		// but brings none of their details back.
		later := c
		later.ID, later.AmountRefunded, later.Created = "ch_p2", 0, at.Add(24*time.Hour)
		post("evt_p9", "charge.succeeded", later.Object())
		for _, f := range find() {
			t.Error(f)
		}
		if after := amounts(); after != "ch_p1:2500:500:GBP,ch_p2:2500:0:GBP,ch_pg:1500:0:GBP" {
			t.Errorf("gifts after erasure and one more gift: %s, were %s", after, before)
		}
		if count(`SELECT COUNT(*) FROM stripe_events WHERE payload LIKE '%ch\_p1%' ESCAPE '\' AND payload LIKE '%2500%'`) == 0 {
			t.Error("the charge's id and amount left the stored events")
		}
		if count(`SELECT COUNT(*) FROM audit_log WHERE action = 'donor.erase' AND subject = ?`, d.ID) != 1 {
			t.Error("the erasure is not in the audit log")
		}
	})
}
