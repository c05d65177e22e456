package runner_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"impactd/internal/app"
	"impactd/internal/config"
	"impactd/internal/domain"
	"impactd/internal/impact"
	"impactd/internal/ingest"
	"impactd/internal/runs"
	"impactd/internal/store/storetest"
)

const secret = "whsec_runner_test"

type bundle struct {
	app    *app.App
	outbox string
}

func setup(t *testing.T, dbURL string) bundle { return setupWith(t, dbURL, nil) }

// setupWith assembles impactd on dbURL with extra settings.
func setupWith(t *testing.T, dbURL string, extra map[string]string) bundle {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{
		"IMPACTD_DATABASE_URL":          dbURL,
		"IMPACTD_SMTP_URL":              "file://" + filepath.Join(dir, "outbox"),
		"IMPACTD_STRIPE_WEBHOOK_SECRET": secret,
		"IMPACTD_SECRET_KEY":            "runner-test-key-runner-test-key-0123",
	}
	for k, v := range extra {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), domain.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return bundle{app: a, outbox: filepath.Join(dir, "outbox")}
}

func (b bundle) deliver(t *testing.T, typ string, c ingest.Charge, at time.Time) {
	t.Helper()
	payload, err := ingest.EventJSON("evt_"+c.ID+"_"+typ+"_"+at.Format("150405"), typ, at, c.Object())
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(payload))
	req.Header.Set("Stripe-Signature", ingest.SignatureHeader(payload, secret, time.Now()))
	rec := httptest.NewRecorder()
	b.app.Webhook.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("webhook: %d %s", rec.Code, rec.Body)
	}
}

func (b bundle) publish(t *testing.T, p string) {
	t.Helper()
	one := int64(41)
	u := &domain.ImpactUpdate{Period: p, Title: "Impact", Narrative: "Together.", Source: "Test source", AsOf: "2026-10-01",
		Metrics: []domain.Metric{{Key: "safe", Label: "Children brought to safety", Period: &one}}}
	stored, _, err := impact.Import(context.Background(), b.app.Store, u, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := impact.Publish(context.Background(), b.app.Store, stored.ID, "tester", time.Now()); err != nil {
		t.Fatal(err)
	}
}

func (b bundle) emails(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(b.outbox, "*.eml"))
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(data))
	}
	return out
}

func TestRun(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		b := setup(t, dbURL)
		in := func(month time.Month, day int) time.Time { return time.Date(2026, month, day, 12, 0, 0, 0, time.UTC) }

		if _, err := b.app.Runs.Run(ctx, runs.Request{Period: "2026-Q3", Trigger: "test", Reason: "test"}); err == nil || !strings.Contains(err.Error(), "no published impact update") {
			t.Fatalf("run without an impact update: %v", err)
		}

		alice := ingest.Charge{ID: "ch_alice", Customer: "cus_alice", Name: "Zoë Łukasiewicz", Email: "alice@example.org", Amount: 2500, Currency: "gbp", Created: in(7, 3)}
		b.deliver(t, "charge.succeeded", alice, alice.Created)
		alice2 := alice
		alice2.ID, alice2.Amount, alice2.Created = "ch_alice2", 3250, in(8, 20)
		b.deliver(t, "charge.succeeded", alice2, alice2.Created)
		// Bob gave in Q2 and was refunded in Q3: his net for Q3 is negative,
		// so he gets no Q3 letter (it would thank him for -$40.00).
		bob := ingest.Charge{ID: "ch_bob", Customer: "cus_bob", Name: "Дмитрий Соколов", Email: "bob@example.org", Amount: 10000, Currency: "usd", Created: in(6, 15)}
		b.deliver(t, "charge.succeeded", bob, bob.Created)
		bob.AmountRefunded = 4000
		b.deliver(t, "charge.refunded", bob, in(7, 10))
		carol := ingest.Charge{ID: "ch_carol", Customer: "cus_carol", Name: "No Email", Amount: 500, Currency: "eur", Created: in(9, 1)}
		b.deliver(t, "charge.succeeded", carol, carol.Created)
		dan := ingest.Charge{ID: "ch_dan", Customer: "cus_dan", Name: "Dan Unsub", Email: "dan@example.org", Amount: 700, Currency: "gbp", Created: in(9, 2)}
		b.deliver(t, "charge.succeeded", dan, dan.Created)
		danDonor, err := b.app.Store.DonorByCustomer(ctx, "cus_dan")
		if err != nil {
			t.Fatal(err)
		}
		if err := b.app.Store.SetDonorStatus(ctx, danDonor.ID, domain.DonorActive, domain.DonorUnsubscribed, 1); err != nil {
			t.Fatal(err)
		}
		b.publish(t, "2026-Q3")

		dry, err := b.app.Runs.Run(ctx, runs.Request{Period: "2026-Q3", Trigger: "test", Reason: "test", DryRun: true})
		if err != nil || dry.Rendered != 1 || dry.Sent != 0 || len(b.emails(t)) != 0 {
			t.Fatalf("dry run: %+v %v, %d emails", dry, err, len(b.emails(t)))
		}

		run, err := b.app.Runs.Run(ctx, runs.Request{Period: "2026-Q3", Trigger: "test", Reason: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != domain.RunSucceeded || run.Eligible != 1 || run.Sent != 1 || run.Skipped != 3 ||
			run.Exceptions != `{"net_not_positive":1,"no_email":1,"unsubscribed":1}` {
			t.Fatalf("run: %+v", run)
		}
		sts, err := b.app.Store.StatementsForRun(ctx, run.ID)
		if err != nil || len(sts) != 1 {
			t.Fatalf("statements: %v %v", sts, err)
		}
		for _, st := range sts {
			snap, err := domain.DecodeSnapshot([]byte(st.Snapshot))
			if err != nil {
				t.Fatal(err)
			}
			if domain.ContentHash([]byte(st.Snapshot)) != st.ContentHash {
				t.Fatal("content hash does not match the stored snapshot")
			}
			switch snap.Donor.Name {
			case "Zoë Łukasiewicz":
				if len(snap.Gifts) != 2 || len(snap.Totals) != 1 || snap.Totals[0].Net != 5750 {
					t.Errorf("alice: %+v", snap.Totals)
				}
			default:
				t.Errorf("unexpected statement for %q", snap.Donor.Name)
			}
		}
		if n := len(b.emails(t)); n != 1 {
			t.Fatalf("%d emails", n)
		}

		// A rerun sends nothing: the letter was delivered and is unchanged.
		again, err := b.app.Runs.Run(ctx, runs.Request{Period: "2026-Q3", Trigger: "test", Reason: "test"})
		if err != nil || again.Sent != 0 || !strings.Contains(again.Exceptions, `"already_sent_unchanged":1`) {
			t.Fatalf("rerun: %+v %v", again, err)
		}

		// A late refund changes Alice's letter: she gets a corrected one, Bob nothing.
		alice2.AmountRefunded = 3250
		b.deliver(t, "charge.refunded", alice2, in(9, 25))
		fix, err := b.app.Runs.Run(ctx, runs.Request{Period: "2026-Q3", Trigger: "test", Reason: "late refund"})
		if err != nil || fix.Sent != 1 || fix.Skipped != 3 {
			t.Fatalf("correction run: %+v %v", fix, err)
		}
		corrected := 0
		for _, e := range b.emails(t) {
			if strings.Contains(e, "Subject: Corrected: Your impact statement") {
				corrected++
			}
		}
		if corrected != 1 {
			t.Fatalf("%d corrected emails, want 1", corrected)
		}
	})
}
