package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"impactd/internal/ingest"
)

func TestHelpListsEveryCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"demo", "serve", "migrate", "impact", "run", "preview"} {
		if !strings.Contains(out.String(), c) {
			t.Errorf("--help does not list %s", c)
		}
	}
}

func TestBadInputsGiveClearErrors(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"IMPACTD_DATABASE_URL": "sqlite:" + filepath.Join(dir, "x.db"), "IMPACTD_SMTP_URL": "file://" + dir}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--period", "2026-Q7", "--reason", "x"}, "invalid period"},
		{[]string{"run", "--period", "2026-Q3"}, "--reason is required"},
		{[]string{"run", "--period", "2020-Q1", "--reason", "test"}, "no published impact update for 2020-Q1"},
		{[]string{"impact", "import", filepath.Join(dir, "missing.yaml")}, "no such file"},
		{[]string{"nonsense"}, "unknown command"},
	}
	for _, tt := range tests {
		err := run(context.Background(), tt.args, getenv, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want %q", tt.args, err, tt.want)
		}
	}
	env["IMPACTD_TIMEZONE"] = "Nowhere/Special"
	if err := run(context.Background(), []string{"migrate"}, getenv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "IMPACTD_TIMEZONE") {
		t.Errorf("bad timezone: %v", err)
	}
}

// TestDemoEndToEnd runs the README's first command, twice.
func TestDemoEndToEnd(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	args := []string{"demo", "--dir", dir, "--donors", "60"}
	if err := run(context.Background(), args, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	emls, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
	pdfs, _ := filepath.Glob(filepath.Join(dir, "statements", "*", "*.pdf"))
	// Every letter made is a PDF; those not emailed are in a print batch,
	// one manifest line each.
	posted := 0
	manifests, _ := filepath.Glob(filepath.Join(dir, "post", "print-batch-*.csv"))
	for _, m := range manifests {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		posted += strings.Count(strings.TrimSpace(string(b)), "\n") // lines after the header
	}
	if len(emls) < 10 || posted == 0 || len(pdfs) != len(emls)+posted {
		t.Fatalf("%d emails, %d PDFs, %d letters in %d print batches", len(emls), len(pdfs), posted, len(manifests))
	}
	if !strings.Contains(out.String(), "succeeded") || !strings.Contains(out.String(), "GBP") && !strings.Contains(out.String(), "£") {
		t.Fatalf("summary: %s", out.String())
	}
	// The demo sends both series: check one email and one PDF of each.
	series := []struct{ attachment, pdfDir, text string }{
		{"impact-statement-", "*-Q*", "1,407"},                                                    // the published figure
		{"giving-statement-", "[0-9][0-9][0-9][0-9]-[0-9][0-9]", "Your giving statement for the"}, // the tax year, 2025-26
	}
	for _, sr := range series {
		var eml []byte
		for _, f := range emls {
			if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte(sr.attachment)) {
				eml = b
				break
			}
		}
		if eml == nil {
			t.Fatalf("no email with a %s attachment", sr.attachment)
		}
		for _, want := range []string{"List-Unsubscribe-Post: List-Unsubscribe=One-Click", "application/pdf", "/s/"} {
			if !bytes.Contains(eml, []byte(want)) {
				t.Errorf("%s email lacks %q", sr.attachment, want)
			}
		}
		pdf, _ := filepath.Glob(filepath.Join(dir, "statements", sr.pdfDir, "*.pdf"))
		if len(pdf) == 0 {
			t.Fatalf("no PDF under statements/%s", sr.pdfDir)
		}
		if _, err := exec.LookPath("pdftotext"); err == nil {
			txt, err := exec.Command("pdftotext", "-enc", "UTF-8", pdf[0], "-").Output()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(txt), sr.text) {
				t.Errorf("%s letter lacks %q:\n%s", sr.attachment, sr.text, txt)
			}
		}
	}

	// Again: nothing is counted or sent twice.
	out.Reset()
	if err := run(context.Background(), args, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatalf("second demo: %v", err)
	}
	again, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
	if len(again) != len(emls) {
		t.Fatalf("second demo sent %d more emails", len(again)-len(emls))
	}
	if !strings.Contains(out.String(), "Nothing new to send") {
		t.Fatalf("second summary: %s", out.String())
	}
}

// TestServe starts the real server through run, polls /healthz, delivers a
// signed webhook and shuts down on cancel.
func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	env := map[string]string{
		"IMPACTD_HTTP_ADDR":             addr,
		"IMPACTD_DATABASE_URL":          "sqlite:" + filepath.Join(dir, "impactd.db"),
		"IMPACTD_SMTP_URL":              "file://" + filepath.Join(dir, "outbox"),
		"IMPACTD_STRIPE_WEBHOOK_SECRET": "whsec_serve_test",
		"IMPACTD_LOG_LEVEL":             "warn",
		"IMPACTD_METRICS_TOKEN":         "serve-test-metrics-token",
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	}()
	base := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become healthy: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer serve-test-metrics-token")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET /metrics with the token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	for path, want := range map[string]int{"/readyz": 200, "/metrics": 401, "/nope": 404, "/unsubscribe/forged.token": 404} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
	c := ingest.Charge{ID: "ch_serve", Email: "serve@example.org", Name: "Serve Test", Amount: 1000, Currency: "gbp", Created: time.Now()}
	payload, _ := ingest.EventJSON("evt_serve", "charge.succeeded", time.Now(), c.Object())
	for _, tc := range []struct {
		header string
		want   int
	}{{ingest.SignatureHeader(payload, "whsec_serve_test", time.Now()), 200}, {ingest.SignatureHeader(payload, "whsec_wrong", time.Now()), 400}} {
		req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/stripe", bytes.NewReader(payload))
		req.Header.Set("Stripe-Signature", tc.header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("webhook = %d, want %d", resp.StatusCode, tc.want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not shut down")
	}
}

// TestAdminCommands: tokens are printed once and work; merge and erase
// need a reason and are audited.
func TestAdminCommands(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"IMPACTD_DATABASE_URL": "sqlite:" + filepath.Join(dir, "x.db"), "IMPACTD_SMTP_URL": "file://" + dir}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	if err := run(context.Background(), []string{"token", "create", "--role", "viewer", "--name", "reports"}, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "impd_") {
		t.Fatalf("token output %q", out.String())
	}
	if err := run(context.Background(), []string{"token", "create", "--role", "god"}, getenv, io.Discard, io.Discard); err == nil {
		t.Fatal("unknown role accepted")
	}
	for _, args := range [][]string{{"donor", "erase", "dnr_x"}, {"donor", "merge", "dnr_a", "dnr_b"}} {
		if err := run(context.Background(), args, getenv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "--reason") {
			t.Errorf("%v without a reason: %v", args, err)
		}
	}
	if err := run(context.Background(), []string{"donor", "erase", "dnr_missing", "--reason", "request"}, getenv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("erase of an unknown donor: %v", err)
	}
	if err := run(context.Background(), []string{"stripe", "sync"}, getenv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "IMPACTD_STRIPE_API_KEY") {
		t.Errorf("sync without a key: %v", err)
	}
}
