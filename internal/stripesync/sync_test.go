package stripesync_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/ingest"
	"impactd/internal/period"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
	"impactd/internal/stripesync"
	"impactd/internal/stripesync/stripefixture"
	"impactd/internal/synthetic"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func history(t testing.TB, donors int) synthetic.History {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	return synthetic.Make(donors, period.MustParse("2026-Q3"), loc)
}

// ledger is the part of the ledger both paths must agree on.
type giftRow struct {
	Charge, Currency, Email, Status string
	Amount, Refunded, Disputed      int64
	Recurring                       int
	GiftAidFrom                     string
}

func ledger(t *testing.T, s *store.Store) []giftRow {
	t.Helper()
	var rows []giftRow
	err := s.DB().Select(&rows, `SELECT g.stripe_charge_id AS charge, g.currency AS currency, d.email AS email, g.status AS status,
		g.amount AS amount, g.amount_refunded AS refunded, g.amount_disputed AS disputed, g.recurring AS recurring, d.gift_aid_from AS giftaidfrom
		FROM donations g JOIN donors d ON d.id = g.donor_id ORDER BY g.stripe_charge_id`)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func webhookLedger(t *testing.T, s *store.Store, h synthetic.History) {
	t.Helper()
	const secret = "whsec_sync_test"
	wh := &ingest.Webhook{Ingester: &ingest.Ingester{Store: s, Clock: domain.SystemClock{}, Log: quiet}, Secret: secret, Log: quiet}
	for _, ev := range h.Events {
		payload, err := ingest.EventJSON(ev.ID, ev.Type, ev.At, ev.Object)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(payload))
		req.Header.Set("Stripe-Signature", ingest.SignatureHeader(payload, secret, time.Now()))
		rec := httptest.NewRecorder()
		wh.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", ev.ID, rec.Code, rec.Body)
		}
	}
}

// TestSyncEqualsWebhooks: the same account read through the API (paginated,
// rate-limited) and through webhooks gives the same ledger.
func TestSyncEqualsWebhooks(t *testing.T) {
	h := history(t, 80)
	storetest.Each(t, func(t *testing.T, viaWebhooks *store.Store) {
		webhookLedger(t, viaWebhooks, h)

		viaSync := storetest.SQLite(t)
		if viaWebhooks.Dialect() == store.Postgres {
			viaSync = storetest.Postgres(t)
		}
		fx := stripefixture.New(h.Latest())
		fx.RateLimitEvery = 11
		srv := httptest.NewServer(fx)
		defer srv.Close()
		var progress bytes.Buffer
		sy := &stripesync.Syncer{API: stripesync.NewClient("sk_test_fixture", srv.URL, 5), Store: viaSync,
			Ingester: &ingest.Ingester{Store: viaSync, Clock: domain.SystemClock{}, Log: quiet}, Log: quiet, Progress: &progress, PageSize: 25}
		stats, err := sy.Sync(context.Background(), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if stats[3].Resource != "charges" || stats[3].Objects != h.Charges {
			t.Fatalf("stats %+v, want %d charges", stats, h.Charges)
		}
		// One progress line per page, none repeated; a resource with no
		// objects still gets its line.
		lines := strings.Split(strings.TrimSpace(progress.String()), "\n")
		seen := map[string]bool{}
		for _, l := range lines {
			if seen[l] {
				t.Errorf("progress line printed twice: %q\n%s", l, progress.String())
			}
			seen[l] = true
		}
		for _, st := range stats {
			pages := max(1, (st.Objects+24)/25)
			if n := strings.Count(progress.String(), st.Resource+" "); n != pages {
				t.Errorf("%s: %d progress lines for %d objects, want %d:\n%s", st.Resource, n, st.Objects, pages, progress.String())
			}
		}
		a, b := ledger(t, viaWebhooks), ledger(t, viaSync)
		if len(a) != h.Charges || len(a) != len(b) {
			t.Fatalf("webhooks %d gifts, sync %d, history %d", len(a), len(b), h.Charges)
		}
		for i := range a {
			if a[i] != b[i] {
				t.Errorf("gift %d differs:\nwebhooks %+v\nsync     %+v", i, a[i], b[i])
			}
		}
		nw, _ := viaWebhooks.CountDonors(context.Background())
		ns, _ := viaSync.CountDonors(context.Background())
		if nw != ns {
			t.Errorf("donors: webhooks %d, sync %d", nw, ns)
		}
	})
}

// TestSyncResumes: a sync cut off mid-way continues where it stopped.
func TestSyncResumes(t *testing.T) {
	h := history(t, 60)
	s := storetest.SQLite(t)
	fx := stripefixture.New(h.Latest())
	srv := httptest.NewServer(fx)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	fx.OnRequest = func(n int64) {
		if n == 6 {
			cancel()
		}
	}
	sy := &stripesync.Syncer{API: stripesync.NewClient("sk_test_fixture", srv.URL, 0), Store: s,
		Ingester: &ingest.Ingester{Store: s, Clock: domain.SystemClock{}, Log: quiet}, Log: quiet, PageSize: 10}
	if _, err := sy.Sync(ctx, time.Time{}); err == nil {
		t.Fatal("interrupted sync reported success")
	}
	fx.OnRequest = nil
	before := fx.Requests()
	stats, err := sy.Sync(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	resumed := false
	for _, st := range stats {
		resumed = resumed || st.Resumed
	}
	if !resumed {
		t.Fatalf("second sync did not resume: %+v", stats)
	}
	full := storetest.SQLite(t)
	webhookLedger(t, full, h)
	a, b := ledger(t, full), ledger(t, s)
	if len(a) != len(b) {
		t.Fatalf("resumed sync has %d gifts, want %d", len(b), len(a))
	}
	// The resumed sync did not start again from the top: it made fewer
	// requests than a sync from scratch.
	resumedRequests := fx.Requests() - before
	fresh := stripefixture.New(h.Latest())
	freshSrv := httptest.NewServer(fresh)
	defer freshSrv.Close()
	s2 := storetest.SQLite(t)
	sy2 := &stripesync.Syncer{API: stripesync.NewClient("sk_test_fixture", freshSrv.URL, 0), Store: s2,
		Ingester: &ingest.Ingester{Store: s2, Clock: domain.SystemClock{}, Log: quiet}, Log: quiet, PageSize: 10}
	if _, err := sy2.Sync(context.Background(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if resumedRequests >= fresh.Requests() {
		t.Fatalf("resumed sync made %d requests, a fresh one %d", resumedRequests, fresh.Requests())
	}
}

// TestSyncAgainstStripeMock proves the API calls are well formed: Stripe's
// own stripe-mock validates every request against the OpenAPI spec.
func TestSyncAgainstStripeMock(t *testing.T) {
	base := os.Getenv("IMPACTD_TEST_STRIPE_MOCK")
	if base == "" {
		t.Skip("stripe-mock not available: set IMPACTD_TEST_STRIPE_MOCK (e.g. http://127.0.0.1:12111)")
	}
	s := storetest.SQLite(t)
	sy := &stripesync.Syncer{API: stripesync.NewClient("sk_test_123", base, 0), Store: s,
		Ingester: &ingest.Ingester{Store: s, Clock: domain.SystemClock{}, Log: quiet}, Log: quiet, PageSize: 100}
	stats, err := sy.Sync(context.Background(), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("sync against stripe-mock: %v", err)
	}
	for _, st := range stats {
		if st.Objects == 0 {
			t.Errorf("%s: stripe-mock returned nothing", st.Resource)
		}
	}
	if _, err := stripesync.Reconcile(context.Background(), sy.API, s, period.MustParse("2026-Q3"), time.UTC); err != nil {
		t.Fatalf("reconcile against stripe-mock: %v", err)
	}
}

// TestReconcile: a ledger built from webhooks matches Stripe; then Stripe
// is made to disagree in three ways and each difference is reported.
func TestReconcile(t *testing.T) {
	h := history(t, 60)
	q3 := period.MustParse("2026-Q3")
	loc, _ := time.LoadLocation("Europe/London")
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		webhookLedger(t, s, h)
		latest := h.Latest()
		srv := httptest.NewServer(stripefixture.New(latest))
		defer srv.Close()
		api := stripesync.NewClient("sk_test_fixture", srv.URL, 0)
		rep, err := stripesync.Reconcile(context.Background(), api, s, q3, loc)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Differences) != 0 || len(rep.Ledger) == 0 {
			t.Fatalf("clean ledger: %+v", rep)
		}
		for i := range rep.Ledger {
			if rep.Ledger[i] != rep.Stripe[i] {
				t.Fatalf("totals differ: %+v vs %+v", rep.Ledger[i], rep.Stripe[i])
			}
		}

		// Stripe knows a refund the ledger missed, a charge the ledger lacks,
		// and the ledger has a charge Stripe does not list.
		from, to := q3.Bounds(loc)
		var inQ3 []map[string]any
		for _, c := range latest["charge"] {
			if ts := c["created"].(int64); ts >= from.Unix() && ts < to.Unix() {
				inQ3 = append(inQ3, c)
			}
		}
		changed := map[string]any{}
		for k, v := range inQ3[0] {
			changed[k] = v
		}
		changed["amount_refunded"] = int64(100)
		extra := map[string]any{"id": "ch_only_in_stripe", "object": "charge", "amount": int64(999), "currency": "gbp",
			"status": "succeeded", "created": from.Add(time.Hour).Unix(), "metadata": map[string]string{}}
		charges := append([]map[string]any{changed, extra}, inQ3[2:]...)
		srv2 := httptest.NewServer(stripefixture.New(map[string][]map[string]any{"charge": charges}))
		defer srv2.Close()
		rep, err = stripesync.Reconcile(context.Background(), stripesync.NewClient("sk_test_fixture", srv2.URL, 0), s, q3, loc)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]string{}
		for _, d := range rep.Differences {
			kinds[d.ChargeID] = d.Kind
		}
		want := map[string]string{inQ3[0]["id"].(string): "refunded", "ch_only_in_stripe": "missing_in_ledger", inQ3[1]["id"].(string): "missing_in_stripe"}
		for id, k := range want {
			if kinds[id] != k {
				t.Errorf("%s: %q, want %q (all: %v)", id, kinds[id], k, kinds)
			}
		}
		var out bytes.Buffer
		rep.Print(&out)
		if !strings.Contains(out.String(), "3 differences") {
			t.Errorf("report:\n%s", out.String())
		}
	})
}
