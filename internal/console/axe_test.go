package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"impactd/internal/domain"
	"impactd/internal/ingest"
	"impactd/internal/links"
	"impactd/internal/runs"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
	"impactd/internal/webtest"
)

// AxeEnv names the file of axe-core (axe.min.js, from npm) the
// accessibility test injects; .ci/run installs it and sets the variable.
const AxeEnv = "IMPACTD_TEST_AXE"

// shotsEnv, when set to a directory, makes TestAccessibility save a
// screenshot of every page it checks there, to look at.
const shotsEnv = "IMPACTD_TEST_SHOTS"

// axeSource finds axe-core: $IMPACTD_TEST_AXE, or where .ci/run installs it.
func axeSource(t *testing.T) string {
	t.Helper()
	paths := []string{os.Getenv(AxeEnv)}
	if home, err := os.UserHomeDir(); err == nil {
		paths = append(paths, filepath.Join(home, ".cache", "impactd-axe", "node_modules", "axe-core", "axe.min.js"))
	}
	for _, p := range paths {
		if p == "" {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			return string(b)
		}
	}
	t.Skip("axe-core not found: set " + AxeEnv + " to axe.min.js (npm install axe-core; .ci/run does)")
	return ""
}

// axeViolation is what the test reports of an axe finding.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// TestAccessibility runs axe-core in Chromium on every console and
// supporter page, at desktop and at phone width, and fails on any serious
// or critical finding; at phone width nothing may scroll sideways.
func TestAccessibility(t *testing.T) {
	axe := axeSource(t)
	b := webtest.Setup(t, storetest.SQLiteURL(t), webtest.Options{})
	ctx := context.Background()
	upd := b.DraftUpdate(t)
	b.Publish(t, upd)
	draft := b.DraftUpdate(t) // unchanged: the same version
	sendRun, err := b.App.Runs.Run(ctx, runs.Request{Period: webtest.Period, Trigger: "test", Reason: "send the letters"})
	if err != nil || sendRun.Sent != 2 {
		t.Fatalf("run: %+v %v", sendRun, err)
	}
	alice := b.Donors["alice"]
	sent, err := b.App.Store.LastSentStatement(ctx, alice.ID, domain.SeriesImpact, webtest.Period)
	if err != nil {
		t.Fatal(err)
	}
	link := links.StatementURL(b.URL, b.App.Links, sent.ID, time.Now().Add(time.Hour))
	unsubscribe := b.URL + "/unsubscribe/" + b.App.Links.Token(links.PurposeUnsubscribe, alice.ID)
	if err := b.App.Store.Audit(ctx, &store.AuditEntry{Actor: "staff:" + webtest.Admin, Action: "donor.merge", Subject: alice.ID,
		Reason: "the same person gave twice", Detail: "merged dnr_other into " + alice.ID, CreatedAt: time.Now().Unix()}); err != nil {
		t.Fatal(err)
	}

	// The run pages as they can be: a dry run with its sample letters, a
	// one-donor rerun that sent nothing (and its next step), a run paused
	// by the relay, shown as the run in progress that kept a start back.
	dry, err := b.App.Runs.Run(ctx, runs.Request{Period: webtest.Period, Trigger: "test", Reason: "look again", DryRun: true, Force: true})
	if err != nil || dry.Rendered != 2 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	unchanged, err := b.App.Runs.Run(ctx, runs.Request{Period: webtest.Period, Trigger: "test", Reason: "asked", Scope: domain.RunScopeDonor, Donor: "alice"})
	if err != nil || unchanged.Sent != 0 {
		t.Fatalf("one-donor rerun: %+v %v", unchanged, err)
	}
	if err := b.App.Store.CreateDonor(ctx, &domain.Donor{Name: "Alicia Ørsted", Email: "alicia@example.net", Status: domain.DonorActive}); err != nil {
		t.Fatal(err)
	}
	if err := b.App.Store.AddBounce(ctx, domain.Bounce{Email: "bob@example.org", Detail: "550 5.1.1 no such user", RunID: sendRun.ID, CreatedAt: time.Now().Unix()}); err != nil {
		t.Fatal(err)
	}
	reject(t, b, "evt_bad_currency", ingest.Charge{ID: "ch_xyz", Email: "x@example.org", Amount: 1000, Currency: "xyz", Created: time.Now()})
	// Paused at once, as if its relay had refused us: the workers, which
	// look for new jobs once a second, leave it.
	held, err := b.App.Runs.Start(ctx, runs.Request{Period: webtest.Period, Trigger: "test", Reason: "send again", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := b.App.Store.PauseRun(ctx, held.ID, "the mail relay refused to send: mail: MAIL FROM: 550 5.7.1 sender not allowed", time.Now().Unix()); err != nil || !ok {
		t.Fatal(ok, err)
	}

	staff := browser(t)
	signIn(t, staff, b.URL, webtest.Admin)
	visitor := browser(t)
	// Pages that a form leads to: the rerun form with two donors to pick from.
	several := chromedp.Tasks{
		chromedp.Navigate(b.URL + "/console/runs/" + unchanged.ID),
		chromedp.Click("#scope-donor", chromedp.ByQuery),
		chromedp.SetValue("#donor", "alic", chromedp.ByQuery),
		chromedp.SendKeys("#rerun-reason", "asked again", chromedp.ByQuery),
		chromedp.Click("#rerun-confirm", chromedp.ByQuery),
		chromedp.Click(`form[action$="/rerun"] button`, chromedp.ByQuery),
		chromedp.WaitVisible("fieldset.pick", chromedp.ByQuery),
	}
	pages := []struct {
		ctx  context.Context
		path string
		via  chromedp.Tasks // instead of going to path
	}{
		{visitor, "/console/sign-in", nil},
		{staff, "/console", nil},
		{staff, "/console/runs/" + sendRun.ID, nil},
		{staff, "/console/runs/" + dry.ID, nil},
		{staff, "/console/runs/" + unchanged.ID, nil},
		{staff, "/console/runs/" + unchanged.ID + "?again=1", nil},
		{staff, "/console/runs/" + unchanged.ID + "/rerun (several match)", several},
		{staff, "/console/runs/" + held.ID + "?done=in-progress", nil},
		{staff, "/console/bounces", nil},
		{staff, "/console/exceptions", nil},
		{staff, "/console/donors", nil},
		{staff, "/console/donors?q=example", nil},
		{staff, "/console/donors?q=nobody", nil},
		{staff, "/console/donors/" + alice.ID, nil},
		{staff, "/console/impact", nil},
		{staff, "/console/impact/new", nil},
		{staff, "/console/impact/" + draft.ID, nil},
		{staff, "/console/audit", nil},
		{staff, "/console/donors/dnr_missing", nil}, // the error page
		{visitor, strings.TrimPrefix(link, b.URL), nil},
		{visitor, strings.TrimPrefix(link, b.URL) + "/preferences", nil},
		{visitor, "/s/not-a-link", nil},
		{visitor, "/verify", nil},
		{visitor, "/verify?code=" + domain.VerificationCode(sent.ContentHash), nil},
		{visitor, "/verify?code=AAAAA-AAAAA", nil},
		{visitor, strings.TrimPrefix(unsubscribe, b.URL), nil},
	}
	for _, width := range []int64{1280, 390} {
		for _, p := range pages {
			t.Run(fmt.Sprintf("%d%s", width, p.path), func(t *testing.T) {
				var out string
				var wide bool
				var reach chromedp.Action = chromedp.Navigate(b.URL + p.path)
				if p.via != nil {
					reach = p.via
				}
				run(t, p.ctx, "axe "+p.path,
					chromedp.EmulateViewport(width, 900),
					reach,
					chromedp.WaitReady("body", chromedp.ByQuery),
					chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth + 1`, &wide),
					chromedp.Evaluate(axe, nil),
					chromedp.Evaluate(`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations.map(v => ({
						id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" ") + " " + n.html.slice(0, 160))}))))`,
						&out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
				)
				var vs []axeViolation
				if err := json.Unmarshal([]byte(out), &vs); err != nil {
					t.Fatalf("axe result %q: %v", out, err)
				}
				for _, v := range vs {
					msg := fmt.Sprintf("%s (%s): %s\n\t%s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
					if v.Impact == "serious" || v.Impact == "critical" {
						t.Error(msg)
					} else {
						t.Log(msg)
					}
				}
				if dir := os.Getenv(shotsEnv); dir != "" {
					var png []byte
					run(t, p.ctx, "screenshot", chromedp.FullScreenshot(&png, 100))
					name := fmt.Sprintf("%d%s.png", width, strings.NewReplacer("/", "_", "?", "_", "=", "_", " ", "_", "(", "", ")", "").Replace(p.path))
					if len(name) > 80 {
						name = name[:80] + ".png"
					}
					if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if wide && width == 390 {
					var sw int
					run(t, p.ctx, "width", chromedp.Evaluate(`document.documentElement.scrollWidth`, &sw))
					t.Errorf("scrolls sideways at 390 px: %d px wide", sw)
				}
			})
		}
	}
}

// reject delivers a signed Stripe event the ledger refuses, for the
// exceptions page.
func reject(t *testing.T, b *webtest.Bundle, event string, c ingest.Charge) {
	t.Helper()
	payload, err := ingest.EventJSON(event, "charge.succeeded", time.Now(), c.Object())
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(payload))
	req.Header.Set("Stripe-Signature", ingest.SignatureHeader(payload, "whsec_webtest", time.Now()))
	rec := httptest.NewRecorder()
	b.App.Webhook.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "rejected") {
		t.Fatalf("webhook: %d %s", rec.Code, rec.Body)
	}
}
