package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"impactd/internal/domain"
	"impactd/internal/httpapi"
	"impactd/internal/links"
	"impactd/internal/store/storetest"
	"impactd/internal/webtest"
)

// endless is a body of n zero bytes that counts how much of it was read.
type endless struct {
	n, read int64
	served  *atomic.Int64
}

func (e *endless) Read(p []byte) (int, error) {
	if e.read >= e.n {
		return 0, io.EOF
	}
	k := min(int64(len(p)), e.n-e.read)
	clear(p[:k])
	e.read += k
	e.served.Add(k)
	return int(k), nil
}

func multipartFiles(t *testing.T) int {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(os.TempDir(), "multipart-*"))
	return len(m)
}

// TestSignInReadsLittle: POST /console/sign-in used to read multipart bodies
// whole, spooling them to temporary files, before answering 401. Now it
// reads at most a few KiB of any body and never spools one.
func TestSignInReadsLittle(t *testing.T) {
	b := webtest.Setup(t, storetest.SQLiteURL(t), webtest.Options{SignInBurst: 100})
	const huge = 1 << 30 // 1 GiB offered, as in the report
	tempBefore := multipartFiles(t)

	post := func(contentType string, body io.Reader, length int64) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, b.URL+"/console/sign-in", body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = length
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return -1 // the server may close the connection while we still write: it read no more
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	// A multipart upload of unknown length (chunked), as the attack used.
	var served atomic.Int64
	head := &bytes.Buffer{}
	mw := multipart.NewWriter(head)
	_ = mw.WriteField("email", webtest.Viewer)
	_, _ = mw.CreateFormFile("password", "big.bin")
	start := time.Now()
	code := post(mw.FormDataContentType(), io.MultiReader(head, &endless{n: huge, served: &served}), -1)
	if code == http.StatusSeeOther || code == http.StatusOK {
		t.Fatalf("multipart sign-in answered %d", code)
	}
	if n := served.Load(); n > 32<<20 { // what the kernel buffers on loopback, not what the server read
		t.Fatalf("the server read %d bytes of a multipart sign-in (status %d)", n, code)
	}
	t.Logf("multipart: status %d after %d bytes in %s", code, served.Load(), time.Since(start))

	// A URL-encoded body longer than the limit, chunked: 413.
	served.Store(0)
	long := io.MultiReader(strings.NewReader("email=a%40example.org&password="), &endless{n: huge, served: &served})
	if code := post("application/x-www-form-urlencoded", long, -1); code != http.StatusRequestEntityTooLarge && code != -1 {
		t.Fatalf("long form: %d, want 413", code)
	}
	if n := served.Load(); n > 32<<20 { // what the kernel buffers on loopback, not what the server read
		t.Fatalf("the server read %d bytes of a long form", n)
	}
	// Declared larger than the limit: refused before reading.
	served.Store(0)
	if code := post("application/x-www-form-urlencoded", &endless{n: huge, served: &served}, huge); code != http.StatusRequestEntityTooLarge && code != -1 {
		t.Fatalf("declared 1 GiB: %d, want 413", code)
	}
	if n := served.Load(); n > 32<<20 { // what the kernel buffers on loopback, not what the server read
		t.Fatalf("the server read %d bytes of a body declared too large", n)
	}
	if after := multipartFiles(t); after > tempBefore {
		t.Fatalf("%d multipart temporary files appeared", after-tempBefore)
	}
	// An ordinary sign-in still works, and a wrong password is still 401.
	c := webtest.Client(t)
	b.SignIn(t, c, webtest.Viewer)
	if r := b.Post(t, webtest.Client(t), "/console/sign-in", url.Values{"email": {webtest.Viewer}, "password": {"wrong"}}); r.Status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", r.Status)
	}
	// Every other form is bounded too (256 KiB).
	csrf := b.CSRF(t, c)
	big := url.Values{"csrf": {csrf}, "reason": {strings.Repeat("x", httpapi.MaxBodyBytes)}}
	if r := b.Post(t, c, "/console/runs", big); r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 256 KiB console form: %d, want 413", r.Status)
	}
}

// TestSecurityHeaders: every HTML page — the console's, the supporter's and
// the unsubscribe page — forbids framing, sniffing and referrers and has a
// content security policy; every other response at least the first three.
// Console pages send their Referer to impactd itself only (same-origin): with
// no-referrer a browser signs in with "Origin: null" over plain http.
func TestSecurityHeaders(t *testing.T) {
	b := webtest.Setup(t, storetest.SQLiteURL(t), webtest.Options{})
	signer := links.NewSigner("webtest-key-webtest-key-webtest-key-0123")
	tok := signer.Token("unsubscribe", b.Donors["alice"].ID)
	for _, path := range []string{"/console/sign-in", "/unsubscribe/" + tok, "/unsubscribe/forged", "/verify", "/healthz", "/nope"} {
		r := b.Get(t, webtest.Client(t), path)
		referrer := "no-referrer"
		if strings.HasPrefix(path, "/console/") {
			referrer = "same-origin"
		}
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": referrer, "X-Frame-Options": "DENY"} {
			if got := r.Header.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", path, k, got, want)
			}
		}
		csp := r.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		if strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") && (!strings.Contains(csp, "default-src 'self'") || strings.Contains(r.Body, "<style")) {
			t.Errorf("%s: HTML page with policy %q (inline style: %v)", path, csp, strings.Contains(r.Body, "<style"))
		}
		if r.Header.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS sent while IMPACTD_HSTS is off", path)
		}
	}
}

// TestHSTSAndMetrics: HSTS when configured; /metrics only behind its token
// on the main address, or on its own handler.
func TestHSTSAndMetrics(t *testing.T) {
	s := storetest.SQLite(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "impactd_test_total", Help: "test"}))
	newServer := func(token, hsts string) *httptest.Server {
		srv := httptest.NewServer(httpapi.NewServer(httpapi.Deps{
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: s, Webhook: http.NotFoundHandler(),
			Registry: reg, Clock: domain.SystemClock{}, Location: time.UTC, HSTS: hsts, MetricsToken: token,
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	get := func(url, auth string) *http.Response {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	open := newServer("", "max-age=31536000")
	if r := get(open.URL+"/healthz", ""); r.Header.Get("Strict-Transport-Security") != "max-age=31536000" {
		t.Errorf("HSTS = %q", r.Header.Get("Strict-Transport-Security"))
	}
	if r := get(open.URL+"/metrics", ""); r.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics without a token configured: %d, want 404 (served elsewhere or not at all)", r.StatusCode)
	}
	guarded := newServer("metrics-token-0123456789", "")
	for auth, want := range map[string]int{"": 401, "Bearer wrong-token-0123456789": 401, "metrics-token-0123456789": 401, "Bearer metrics-token-0123456789": 200} {
		if r := get(guarded.URL+"/metrics", auth); r.StatusCode != want {
			t.Errorf("/metrics with %q: %d, want %d", auth, r.StatusCode, want)
		}
	}
	own := httptest.NewServer(httpapi.MetricsHandler(reg, ""))
	defer own.Close()
	if r := get(own.URL+"/metrics", ""); r.StatusCode != 200 {
		t.Errorf("metrics on their own address: %d", r.StatusCode)
	}
}
