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
	"impactd/internal/giftaid"
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
		send := func(id, typ string, obj map[string]any, outcome string) {
			t.Helper()
			payload, err := ingest.EventJSON(id, typ, at.Add(time.Minute), obj)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(payload))
			req.Header.Set("Stripe-Signature", ingest.SignatureHeader(payload, demo.WebhookSecret, time.Now()))
			rec := httptest.NewRecorder()
			a.Webhook.ServeHTTP(rec, req)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"`+outcome+`"`) {
				t.Fatalf("%s: %d %s, want %s", id, rec.Code, rec.Body, outcome)
			}
		}
		post := func(id, typ string, obj map[string]any) { t.Helper(); send(id, typ, obj, "applied") }
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
		// What the gift gave in return is free text from the form: it can name them.
		ch["metadata"] = map[string]string{"designation": "Rescue fund", ingest.BenefitDescriptionKey: "Gala dinner for Perdita Quillfeather",
			ingest.BenefitValueKey: "1000"}
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
		// A guest checkout still waiting for its charge when the erasure comes.
		pending := guest
		pending.ID, pending.Amount = "ch_pg2", 700
		post("evt_p10", "checkout.session.completed", ingest.CheckoutSessionObject("cs_pg2", "payment", "pi_pg2", "", pending, nil))

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
		// A Gift Aid claim of her gifts: it keeps ids and amounts only.
		if _, err := a.GiftAid.Claim(ctx, giftaid.Request{To: time.Now().In(a.Config.Location).Format(time.DateOnly), Actor: "staff:ops@example.org"}); err != nil {
			t.Fatal(err)
		}
		if count(`SELECT COUNT(*) FROM giftaid_claim_gifts c JOIN donations g ON g.id = c.donation_id WHERE g.donor_id = ?`, d.ID) == 0 {
			t.Fatal("the Gift Aid claim took none of the supporter's gifts: the search below would prove little for it")
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
		if count(`SELECT COUNT(*) FROM donations WHERE benefit_description <> '' AND benefit_value = 1000`) != 1 {
			t.Fatal("the gift's benefit was not stored: the search below would prove little")
		}
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
		// Stripe still knows them: every later event about them — a monthly
		// gift, a new checkout and its payment, a customer update, an
		// invoice, a late copy of an old event, a dispute with evidence, one
		// that breaks a rule, types impactd ignores, the charge of the guest
		// checkout — adds to the ledger but brings none of their details
		// back, payment hints included.
		later := c
		later.ID, later.AmountRefunded, later.Created = "ch_p2", 0, at.Add(24*time.Hour)
		post("evt_p9", "charge.succeeded", later.Object())
		third := later
		third.ID, third.Amount = "ch_p3", 3000
		cs3 := ingest.CheckoutSessionObject("cs_p3", "payment", "pi_p3", "", third, map[string]string{"designation": "Rescue fund"})
		cs3["customer_details"].(map[string]any)["phone"] = "+44 7700 900123"
		cs3["shipping_details"] = shipping
		cs3["custom_fields"] = []any{map[string]any{"key": "in_memory_of", "text": map[string]any{"value": "Perdita's mother"}}}
		post("evt_p11", "checkout.session.completed", cs3)
		pi3 := ingest.PaymentIntentObject("pi_p3", third)
		pi3["shipping"] = shipping
		post("evt_p12", "payment_intent.succeeded", pi3)
		ch3 := third.Object()
		ch3["payment_intent"], ch3["shipping"], ch3["description"] = "pi_p3", shipping, "Gift from Perdita Quillfeather"
		post("evt_p13", "charge.updated", ch3)
		cus2 := ingest.CustomerObject("cus_p1", c.Name, c.Email, addr, at, map[string]string{"gift_aid": "yes", "note": "Perdita's own words"})
		cus2["phone"], cus2["shipping"] = "+44 7700 900123", shipping
		post("evt_p14", "customer.updated", cus2)
		monthly := later
		monthly.ID, monthly.Amount = "ch_p4", 1000
		inv := ingest.InvoiceObject("in_p4", "sub_p4", "price_p4", monthly)
		inv["payment_intent"], inv["customer_address"], inv["customer_phone"] = "pi_p4", addr, "+44 7700 900123"
		post("evt_p15", "invoice.paid", inv)
		post("evt_p16", "checkout.session.completed", cs) // a late copy of the first checkout
		dp := ingest.DisputeObject("dp_p2", c, 200, "needs_response")
		dp["evidence"] = map[string]any{"customer_name": c.Name, "customer_email_address": c.Email,
			"billing_address": "17 Xylophone Mews, Quillby-on-Sea", "uncategorized_text": "Perdita says she gave twice"}
		post("evt_p17", "charge.dispute.created", dp)
		bad := c.Object()
		bad["amount_refunded"] = 99999
		send("evt_p18", "charge.refunded", bad, "rejected")
		failed := c.Object()
		failed["id"], failed["status"] = "ch_p5", "failed"
		send("evt_p19", "charge.failed", failed, "ignored")
		send("evt_p20", "payment_method.attached", map[string]any{"id": "pm_p1", "object": "payment_method", "customer": "cus_p1",
			"billing_details": map[string]any{"name": c.Name, "email": c.Email, "phone": "07700900123", "address": addr}}, "ignored")
		guestCharge := pending.Object()
		guestCharge["payment_intent"] = "pi_pg2"
		post("evt_p21", "charge.succeeded", guestCharge)
		for _, f := range find() {
			t.Error(f)
		}
		if after := amounts(); after != "ch_p1:2500:500:GBP,ch_p2:2500:0:GBP,ch_p3:3000:0:GBP,ch_p4:1000:0:GBP,ch_pg:1500:0:GBP" {
			t.Errorf("gifts after erasure and more gifts: %s, were %s", after, before)
		}
		if n := count(`SELECT COUNT(*) FROM donations g JOIN donors d ON d.id = g.donor_id
			WHERE g.stripe_charge_id = 'ch_pg2' AND g.amount = 700 AND d.status = 'erased'`); n != 1 {
			t.Error("the guest checkout's charge is not kept on an erased donor")
		}
		if n := count(`SELECT COUNT(*) FROM donors WHERE status <> 'erased' AND (email LIKE '%perdita%' OR name LIKE '%Quillfeather%')`); n != 0 {
			t.Errorf("%d live donors made from the erased supporter's events", n)
		}
		if count(`SELECT COUNT(*) FROM stripe_events WHERE payload LIKE '%ch\_p1%' ESCAPE '\' AND payload LIKE '%2500%'`) == 0 {
			t.Error("the charge's id and amount left the stored events")
		}
		if count(`SELECT COUNT(*) FROM audit_log WHERE action = 'donor.erase' AND subject = ?`, d.ID) != 1 {
			t.Error("the erasure is not in the audit log")
		}
	})
}
