package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"impactd/internal/domain"
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
	sent, err := b.App.Store.LastSentStatement(ctx, alice.ID, webtest.Period)
	if err != nil {
		t.Fatal(err)
	}
	link := links.StatementURL(b.URL, b.App.Links, sent.ID, time.Now().Add(time.Hour))
	unsubscribe := b.URL + "/unsubscribe/" + b.App.Links.Token(links.PurposeUnsubscribe, alice.ID)
	if err := b.App.Store.Audit(ctx, &store.AuditEntry{Actor: "staff:" + webtest.Admin, Action: "donor.merge", Subject: alice.ID,
		Reason: "the same person gave twice", Detail: "merged dnr_other into " + alice.ID, CreatedAt: time.Now().Unix()}); err != nil {
		t.Fatal(err)
	}

	staff := browser(t)
	signIn(t, staff, b.URL, webtest.Admin)
	visitor := browser(t)
	pages := []struct {
		ctx  context.Context
		path string
	}{
		{visitor, "/console/sign-in"},
		{staff, "/console"},
		{staff, "/console/runs/" + sendRun.ID},
		{staff, "/console/donors"},
		{staff, "/console/donors?q=example"},
		{staff, "/console/donors?q=nobody"},
		{staff, "/console/donors/" + alice.ID},
		{staff, "/console/impact"},
		{staff, "/console/impact/new"},
		{staff, "/console/impact/" + draft.ID},
		{staff, "/console/audit"},
		{staff, "/console/donors/dnr_missing"}, // the error page
		{visitor, strings.TrimPrefix(link, b.URL)},
		{visitor, strings.TrimPrefix(link, b.URL) + "/preferences"},
		{visitor, "/s/not-a-link"},
		{visitor, "/verify"},
		{visitor, "/verify?code=" + domain.VerificationCode(sent.ContentHash)},
		{visitor, "/verify?code=AAAAA-AAAAA"},
		{visitor, strings.TrimPrefix(unsubscribe, b.URL)},
	}
	for _, width := range []int64{1280, 390} {
		for _, p := range pages {
			t.Run(fmt.Sprintf("%d%s", width, p.path), func(t *testing.T) {
				var out string
				var wide bool
				run(t, p.ctx, "axe "+p.path,
					chromedp.EmulateViewport(width, 900),
					chromedp.Navigate(b.URL+p.path),
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
					name := fmt.Sprintf("%d%s.png", width, strings.NewReplacer("/", "_", "?", "_", "=", "_").Replace(p.path))
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
