package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer that a running command and the test can share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// served is what `impactd demo --serve` printed.
type served struct {
	out                               string
	console, email, password, link    string
	verify, code, passwordFile, where string
}

var (
	consoleRE  = regexp.MustCompile(`staff console\s+(\S+)`)
	signInRE   = regexp.MustCompile(`sign in as (\S+) with the password (\S+)`)
	keptRE     = regexp.MustCompile(`\(kept in (\S+)\)`)
	linkRE     = regexp.MustCompile(`supporter page\s+(\S+)`)
	verifyRE   = regexp.MustCompile(`check a letter\s+(\S+)\s+\(code (\S+)\)`)
	servingRE  = regexp.MustCompile(`Serving on (\S+);`)
	fieldsOnce = func(re *regexp.Regexp, s string) []string {
		if m := re.FindStringSubmatch(s); m != nil {
			return m[1:]
		}
		return nil
	}
)

// serveDemo runs `impactd demo --serve` until the returned stop is called.
func serveDemo(t *testing.T, dir string) (served, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--dir", dir, "--donors", "20", "--serve", "--addr", "127.0.0.1:0"},
			func(string) string { return "" }, out, io.Discard)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "Ctrl-C stops") {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("demo --serve ended: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("demo --serve did not start:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	s := served{out: out.String()}
	for _, f := range []struct {
		re   *regexp.Regexp
		dest []*string
	}{
		{consoleRE, []*string{&s.console}}, {signInRE, []*string{&s.email, &s.password}}, {keptRE, []*string{&s.passwordFile}},
		{linkRE, []*string{&s.link}}, {verifyRE, []*string{&s.verify, &s.code}}, {servingRE, []*string{&s.where}},
	} {
		m := fieldsOnce(f.re, s.out)
		if len(m) != len(f.dest) {
			cancel()
			t.Fatalf("demo --serve printed no %v:\n%s", f.re, s.out)
		}
		for i, d := range f.dest {
			*d = m[i]
		}
	}
	return s, func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo --serve returned %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("demo --serve did not stop")
		}
	}
}

// TestDemoServe: the demo's summary names `demo --serve`, which serves the
// demo's database with its keys and prints what a person needs — and the
// staff account it creates is created once.
func TestDemoServe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"demo", "--dir", dir, "--donors", "20"}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "impactd demo --serve --dir "+dir) {
		t.Errorf("the summary ends %q", last)
	}

	s, stop := serveDemo(t, dir)
	if !strings.Contains(s.out, "made earlier") {
		t.Errorf("serving an existing demo did not say so:\n%s", s.out)
	}
	base := "http://" + s.where
	if s.console != base+"/console" || !strings.HasPrefix(s.link, base+"/s/") || s.verify != base+"/verify?code="+s.code {
		t.Errorf("URLs: %q %q %q (serving on %s)", s.console, s.link, s.verify, base)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) (int, string, string) {
		t.Helper()
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}
	if code, loc, _ := get(base + "/"); code != http.StatusSeeOther || loc != "/console" {
		t.Errorf("GET / = %d → %q", code, loc)
	}
	// The newest letter sent: an impact letter or an annual statement, and
	// the page names which.
	if code, _, body := get(s.link); code != 200 || !strings.Contains(body, "Your impact statement") && !strings.Contains(body, "Your giving statement") {
		t.Errorf("statement page: %d %.300s", code, body)
	}
	if code, _, body := get(s.verify); code != 200 || !strings.Contains(body, "Genuine") {
		t.Errorf("verify: %d %.300s", code, body)
	}
	signIn := func(password string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/console/sign-in",
			strings.NewReader(url.Values{"email": {s.email}, "password": {password}, "next": {"/console"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := signIn(s.password); code != http.StatusSeeOther {
		t.Errorf("sign-in with the printed password: %d", code)
	}
	stop()

	again, stop := serveDemo(t, dir)
	defer stop()
	if again.email != s.email || again.password != s.password {
		t.Errorf("second --serve: %s / %s, first %s / %s", again.email, again.password, s.email, s.password)
	}
}

// TestServeLogsWhatItOpened: serve says which database it opened, without
// credentials, and where the console is.
func TestServeLogsWhatItOpened(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "logged.db")
	env := map[string]string{
		"IMPACTD_DATABASE_URL": "sqlite:" + db, "IMPACTD_HTTP_ADDR": "127.0.0.1:0", "IMPACTD_BASE_URL": "http://console.example:8080",
		"IMPACTD_SMTP_URL": "file://" + filepath.Join(dir, "outbox"), "IMPACTD_STRIPE_WEBHOOK_SECRET": "whsec_log_test", "IMPACTD_SCHEDULE": "off",
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, io.Discard, logs) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), `"msg":"listening"`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"database":"sqlite:` + db + `"`, `"console":"http://console.example:8080/console"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("serve's log lacks %s:\n%s", want, logs.String())
		}
	}
}
