// Package webtest starts impactd's real HTTP server — staff console,
// supporter pages, webhook — on a fresh database, with staff accounts of
// every role and a few donors, for the console, supporter and browser tests.
package webtest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"impactd/internal/app"
	"impactd/internal/config"
	"impactd/internal/console"
	"impactd/internal/domain"
	"impactd/internal/httpapi"
	"impactd/internal/impact"
	"impactd/internal/ingest"
	"impactd/internal/store"
)

// Password is every test staff member's password.
const Password = "correct horse battery staple"

// Staff emails, one per role.
const (
	Viewer   = "viewer@example.org"
	Operator = "operator@example.org"
	Admin    = "admin@example.org"
)

// Period is the period the test donors gave in.
const Period = "2026-Q3"

const webhookSecret = "whsec_webtest"

// Bundle is a running server and what the tests need to reach into it.
type Bundle struct {
	App    *app.App
	URL    string
	Outbox string
	// Donors by their test name: "alice", "bob".
	Donors map[string]*domain.Donor
}

// Options change the server.
type Options struct {
	SignInBurst int // default 5
}

// Setup starts the server on the database at dbURL.
func Setup(t testing.TB, dbURL string, o Options) *Bundle {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	env := map[string]string{
		"IMPACTD_DATABASE_URL":          dbURL,
		"IMPACTD_SMTP_URL":              "file://" + filepath.Join(dir, "outbox"),
		"IMPACTD_STRIPE_WEBHOOK_SECRET": webhookSecret,
		"IMPACTD_SECRET_KEY":            "webtest-key-webtest-key-webtest-key-0123",
		"IMPACTD_COOKIE_SECURE":         "false",
		"IMPACTD_LOG_LEVEL":             "error",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(ctx, cfg, log, domain.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	con, sup, err := a.WebForTest(ctx, o.SignInBurst, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// The workers serve starts: runs started from the console are worked
	// as in production.
	workersDone := make(chan struct{})
	go func() {
		defer close(workersDone)
		_ = a.Runner.Work(ctx, "")
	}()
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Deps{Log: log, Store: a.Store, Webhook: a.Webhook, Registry: a.Registry,
		Links: a.Links, Clock: a.Clock, Location: cfg.Location, Console: con, Supporter: sup, Runs: a.Runs, PDFs: a.Runner}))
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-workersDone
		a.Close()
	})
	b := &Bundle{App: a, URL: srv.URL, Outbox: filepath.Join(dir, "outbox"), Donors: map[string]*domain.Donor{}}
	for email, role := range map[string]string{Viewer: "viewer", Operator: "operator", Admin: "admin"} {
		h, err := console.HashPassword(Password)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Store.CreateStaff(ctx, &store.Staff{Email: email, Role: role, PasswordHash: h}); err != nil {
			t.Fatal(err)
		}
	}
	at := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 12, 0, 0, 0, time.UTC) }
	for name, c := range map[string]ingest.Charge{
		"alice": {ID: "ch_alice", Customer: "cus_alice", Name: "Alice Example", Email: "alice@example.org", Amount: 2500, Currency: "gbp", Created: at(7, 3)},
		"bob":   {ID: "ch_bob", Customer: "cus_bob", Name: "Bob Sample", Email: "bob@example.org", Amount: 4000, Currency: "usd", Created: at(8, 9)},
	} {
		b.deliver(t, c)
		d, err := a.Store.DonorByCustomer(ctx, c.Customer)
		if err != nil {
			t.Fatal(err)
		}
		b.Donors[name] = d
	}
	return b
}

func (b *Bundle) deliver(t testing.TB, c ingest.Charge) {
	t.Helper()
	payload, err := ingest.EventJSON("evt_"+c.ID, "charge.succeeded", c.Created, c.Object())
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(payload))
	req.Header.Set("Stripe-Signature", ingest.SignatureHeader(payload, webhookSecret, time.Now()))
	rec := httptest.NewRecorder()
	b.App.Webhook.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("webhook: %d %s", rec.Code, rec.Body)
	}
}

// DraftUpdate stores a draft impact update for Period and returns it.
func (b *Bundle) DraftUpdate(t testing.TB) *domain.ImpactUpdate {
	t.Helper()
	n := int64(41)
	u := &domain.ImpactUpdate{Period: Period, Title: "Children brought to safety", Narrative: "Together we did this.",
		Source: "Annual report", AsOf: "2026-10-01", Metrics: []domain.Metric{{Key: "safe", Label: "Children brought to safety", Period: &n}}}
	stored, _, err := impact.Import(context.Background(), b.App.Store, u, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

// Publish publishes an update.
func (b *Bundle) Publish(t testing.TB, u *domain.ImpactUpdate) {
	t.Helper()
	if err := impact.Publish(context.Background(), b.App.Store, u.ID, "tester", time.Now()); err != nil {
		t.Fatal(err)
	}
}

// Client is an HTTP client with its own cookie jar that does not follow redirects.
func Client(t testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Response is a read response.
type Response struct {
	Status   int
	Body     string
	Location string
	Header   http.Header
}

// Get fetches a path.
func (b *Bundle) Get(t testing.TB, c *http.Client, path string) Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, c, req)
}

// Post submits a form as a same-origin browser would (Sec-Fetch-Site: same-origin).
func (b *Bundle) Post(t testing.TB, c *http.Client, path string, form url.Values) Response {
	t.Helper()
	return b.PostWith(t, c, path, form, map[string]string{"Sec-Fetch-Site": "same-origin"})
}

// PostWith submits a form with the given headers.
func (b *Bundle) PostWith(t testing.TB, c *http.Client, path string, form url.Values, headers map[string]string) Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return do(t, c, req)
}

func do(t testing.TB, c *http.Client, req *http.Request) Response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Body: string(body), Location: resp.Header.Get("Location"), Header: resp.Header}
}

// SignIn signs a client in and returns its CSRF token.
func (b *Bundle) SignIn(t testing.TB, c *http.Client, email string) string {
	t.Helper()
	r := b.Post(t, c, "/console/sign-in", url.Values{"email": {email}, "password": {Password}, "next": {"/console"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d %s", email, r.Status, r.Body)
	}
	return b.CSRF(t, c)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// CSRF reads the CSRF token from the dashboard.
func (b *Bundle) CSRF(t testing.TB, c *http.Client) string {
	t.Helper()
	r := b.Get(t, c, "/console")
	m := csrfRE.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no CSRF token on the dashboard (%d)", r.Status)
	}
	return m[1]
}
