package console_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"impactd/internal/domain"
	"impactd/internal/links"
	"impactd/internal/runs"
	"impactd/internal/store/storetest"
	"impactd/internal/webtest"
)

// screenshotsEnv, when set to 1, makes TestBrowser write phone-width
// screenshots of the main pages to docs/screenshots/.
const screenshotsEnv = "IMPACTD_UPDATE_SCREENSHOTS"

// browser starts headless Chromium with a fresh profile and returns a
// context for chromedp actions; each call is a separate browser (separate
// cookies), like a separate person.
func browser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed")
	}
	// Not t.TempDir: Chromium may still be writing its profile when the
	// test ends, and TempDir fails the test if it cannot remove it.
	profile, err := os.MkdirTemp("", "impactd-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.UserDataDir(profile),
		chromedp.WindowSize(390, 844), // a phone
	)
	opts = append(opts, extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA(); _ = os.RemoveAll(profile) })
	return ctx
}

func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func text(t *testing.T, ctx context.Context) string {
	t.Helper()
	var s string
	run(t, ctx, "read page", chromedp.Text("body", &s, chromedp.ByQuery))
	return s
}

func signIn(t *testing.T, ctx context.Context, base, email string) {
	t.Helper()
	run(t, ctx, "sign in as "+email,
		chromedp.Navigate(base+"/console"),
		chromedp.WaitVisible("#email", chromedp.ByQuery),
		chromedp.SendKeys("#email", email, chromedp.ByQuery),
		chromedp.SendKeys("#password", webtest.Password, chromedp.ByQuery),
		chromedp.Submit("#password", chromedp.ByQuery),
		chromedp.WaitVisible("header.bar .who", chromedp.ByQuery),
	)
	if got := text(t, ctx); !strings.Contains(got, email) {
		t.Fatalf("not signed in as %s: %.300s", email, got)
	}
}

// fetchStatus fetches a URL from the page (with the page's cookies) and
// returns "STATUS CONTENT-TYPE FIRST-BYTES".
func fetchStatus(t *testing.T, ctx context.Context, url string) string {
	t.Helper()
	var out string
	js := `fetch(` + quote(url) + `, {credentials: "same-origin"}).then(async r => {
		const b = new Uint8Array(await r.arrayBuffer());
		return r.status + " " + r.headers.get("content-type") + " " + String.fromCharCode(...b.slice(0, 4));
	})`
	run(t, ctx, "fetch "+url, chromedp.Evaluate(js, &out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	return out
}

func quote(s string) string { return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"` }

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv(screenshotsEnv) != "1" {
		return
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// At phone width, then at desktop width, then back to the phone.
	for _, w := range []struct {
		width  int64
		suffix string
	}{{390, ""}, {1280, "-1280"}} {
		var png []byte
		run(t, ctx, "screenshot "+name, chromedp.EmulateViewport(w.width, 844), chromedp.FullScreenshot(&png, 80))
		if err := os.WriteFile(filepath.Join(dir, name+w.suffix+".jpg"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, ctx, "phone width", chromedp.EmulateViewport(390, 844))
}

// TestBrowser drives the console and the supporter pages in real headless
// Chromium at phone width.
func TestBrowser(t *testing.T) {
	b := webtest.Setup(t, storetest.SQLiteURL(t), webtest.Options{})
	upd := b.DraftUpdate(t)
	alice := b.Donors["alice"]

	// A staff member signs in, publishes the update and starts a dry run.
	staff := browser(t)
	signIn(t, staff, b.URL, webtest.Operator)
	shot(t, staff, "console-dashboard-empty")
	run(t, staff, "publish",
		chromedp.Navigate(b.URL+"/console/impact/"+upd.ID),
		chromedp.SendKeys("#approved_by", "Head of Programmes", chromedp.ByQuery),
		chromedp.Click("#pub-confirm", chromedp.ByQuery),
		chromedp.Click(`form[action$="/publish"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(".flash", chromedp.ByQuery),
	)
	if got := text(t, staff); !strings.Contains(got, "is published") || !strings.Contains(got, "approved by Head of Programmes") {
		t.Fatalf("after publishing: %.400s", got)
	}
	shot(t, staff, "console-impact-update")
	run(t, staff, "start a dry run",
		chromedp.Navigate(b.URL+"/console"),
		chromedp.SetValue("#period", webtest.Period, chromedp.ByQuery),
		chromedp.SendKeys("#reason", "check the letters", chromedp.ByQuery),
		chromedp.Click("#confirm", chromedp.ByQuery),
		chromedp.Click(`form[action="/console/runs"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(".flash", chromedp.ByQuery),
	)
	// Progress: the dashboard shows the run, and refreshes itself until it ends.
	deadline := time.Now().Add(30 * time.Second)
	for {
		run(t, staff, "dashboard", chromedp.Navigate(b.URL+"/console"), chromedp.WaitVisible("h1", chromedp.ByQuery))
		got := text(t, staff)
		if strings.Contains(got, "succeeded") && strings.Contains(got, "2 / 2") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dry run never showed as done: %.600s", got)
		}
		time.Sleep(300 * time.Millisecond)
	}
	shot(t, staff, "console-dashboard")
	recent, err := b.App.Store.RecentRuns(context.Background(), 1)
	if err != nil || len(recent) != 1 || !recent[0].DryRun {
		t.Fatalf("recent: %+v %v", recent, err)
	}
	dry := recent[0]

	// A rerun of one donor found by name, with a reason and a confirmation.
	run(t, staff, "rerun one donor",
		chromedp.Navigate(b.URL+"/console/runs/"+dry.ID),
		chromedp.Click("#scope-donor", chromedp.ByQuery),
		chromedp.SendKeys("#donor", "alice exa", chromedp.ByQuery),
		chromedp.SendKeys("#rerun-reason", "address corrected", chromedp.ByQuery),
		chromedp.Click("#rerun-confirm", chromedp.ByQuery),
		chromedp.Click(`form[action$="/rerun"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(".flash", chromedp.ByQuery),
	)
	if got := text(t, staff); !strings.Contains(got, "rerun has started") {
		t.Fatalf("after rerun of one donor: %.400s", got)
	}

	// Downloads the PDF of a statement from the donor page.
	run(t, staff, "donor page", chromedp.Navigate(b.URL+"/console/donors?q=alice"), chromedp.Click(`a[href^="/console/donors/dnr_"]`, chromedp.ByQuery),
		chromedp.WaitVisible("h2", chromedp.ByQuery))
	if got := text(t, staff); !strings.Contains(got, "£25.00") || !strings.Contains(got, "dry run") {
		t.Fatalf("donor page: %.500s", got)
	}
	shot(t, staff, "console-donor")
	var href string
	run(t, staff, "statement link", chromedp.AttributeValue(`a[href$="/pdf?download=1"]`, "href", &href, nil, chromedp.ByQuery))
	if got := fetchStatus(t, staff, b.URL+href); got != "200 application/pdf %PDF" {
		t.Fatalf("staff download: %q", got)
	}

	// A viewer cannot rerun: no form, and the server refuses a forged post.
	viewer := browser(t)
	signIn(t, viewer, b.URL, webtest.Viewer)
	run(t, viewer, "run page", chromedp.Navigate(b.URL+"/console/runs/"+dry.ID), chromedp.WaitVisible("h1", chromedp.ByQuery))
	var forms int
	run(t, viewer, "count forms", chromedp.Evaluate(`document.querySelectorAll('form[action$="/rerun"]').length`, &forms))
	if forms != 0 {
		t.Fatal("a viewer sees the rerun form")
	}
	var status int
	run(t, viewer, "forged rerun", chromedp.Evaluate(`(async () => {
		const csrf = document.querySelector('input[name=csrf]').value;
		const r = await fetch(location.pathname + "/rerun", {method: "POST", credentials: "same-origin",
			body: new URLSearchParams({csrf, scope: "period", reason: "x", confirm: "yes"})});
		return r.status; })()`, &status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if status != 403 {
		t.Fatalf("viewer's rerun post: %d", status)
	}

	// A supporter opens the link of a sent statement, downloads the PDF and
	// stops the letters; the next run skips them.
	ctx := context.Background()
	// The one-donor rerun above already sent Alice's letter (the workers
	// run in the background); this run sends Bob's and skips hers, unchanged.
	waitFor(t, func() bool {
		_, err := b.App.Store.LastSentStatement(ctx, alice.ID, domain.SeriesImpact, webtest.Period)
		return err == nil
	})
	sent, err := b.App.Runs.Run(ctx, runs.Request{Period: webtest.Period, Trigger: "test", Reason: "send"})
	if err != nil || sent.Sent != 1 || !strings.Contains(sent.Exceptions, `"already_sent_unchanged":1`) {
		t.Fatalf("send run: %+v %v", sent, err)
	}
	last, err := b.App.Store.LastSentStatement(ctx, alice.ID, domain.SeriesImpact, webtest.Period)
	if err != nil {
		t.Fatal(err)
	}
	mine := last.Statement
	link := links.StatementURL(b.URL, b.App.Links, mine.ID, time.Now().Add(24*time.Hour))
	person := browser(t)
	run(t, person, "open the link", chromedp.Navigate(link), chromedp.WaitVisible("h1", chromedp.ByQuery))
	if got := text(t, person); !strings.Contains(got, "July to September 2026") || strings.Contains(got, "Bob") {
		t.Fatalf("statement page: %.400s", got)
	}
	shot(t, person, "supporter-statement")
	if got := fetchStatus(t, person, link+"/pdf"); got != "200 application/pdf %PDF" {
		t.Fatalf("supporter download: %q", got)
	}
	run(t, person, "stop letters",
		chromedp.Click(`a[href$="/preferences"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#letters-none`, chromedp.ByQuery),
		chromedp.Click(`#letters-none`, chromedp.ByQuery),
		chromedp.Click(`form button`, chromedp.ByQuery),
		chromedp.WaitVisible(".flash", chromedp.ByQuery),
	)
	shot(t, person, "supporter-preferences")
	if d, _ := b.App.Store.Donor(ctx, alice.ID); d.Letters != domain.LettersNone {
		t.Fatalf("after stopping: %s", d.Letters)
	}
	next, err := b.App.Runs.Run(ctx, runs.Request{Period: webtest.Period, Trigger: "test", Reason: "next", DryRun: true})
	if err != nil || !strings.Contains(next.Exceptions, `"unsubscribed":1`) {
		t.Fatalf("next run: %+v %v", next, err)
	}
	// That dry run made nothing: its page says why and what to do.
	run(t, staff, "empty dry run", chromedp.Navigate(b.URL+"/console/runs/"+next.ID), chromedp.WaitVisible("#empty-h", chromedp.ByQuery))
	if got := text(t, staff); !strings.Contains(got, "This dry run made no letter to look at: 1 already has this letter, unchanged; 1 asked for no more letters.") {
		t.Fatalf("empty dry run: %.600s", got)
	}
	shot(t, staff, "console-run-nothing-made")
	run(t, person, "verify", chromedp.Navigate(b.URL+"/verify"),
		chromedp.SendKeys("#code", domain.VerificationCode(mine.ContentHash), chromedp.ByQuery),
		chromedp.Submit("#code", chromedp.ByQuery),
		chromedp.WaitVisible(".card", chromedp.ByQuery))
	if got := text(t, person); !strings.Contains(got, "Genuine") || !strings.Contains(got, "A. E.") {
		t.Fatalf("verify: %.400s", got)
	}
	shot(t, person, "supporter-verify")
	run(t, person, "tampered", chromedp.Navigate(strings.Replace(link, mine.ID, "stmt_x", 1)), chromedp.WaitVisible("h1", chromedp.ByQuery))
	if got := text(t, person); !strings.Contains(got, "not valid") {
		t.Fatalf("tampered link: %.300s", got)
	}

	// Nothing on the pages is wider than the phone.
	for _, page := range []struct {
		ctx  context.Context
		path string
	}{{staff, "/console"}, {staff, "/console/runs/" + dry.ID}, {staff, "/console/donors/" + alice.ID}, {staff, "/console/impact/new"}, {person, "/verify"}} {
		var wide bool
		run(t, page.ctx, "width of "+page.path, chromedp.Navigate(b.URL+page.path), chromedp.WaitVisible("h1", chromedp.ByQuery),
			chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth + 1`, &wide))
		if wide {
			t.Errorf("%s scrolls sideways at 390px", page.path)
		}
		if page.path == "/console/runs/"+dry.ID {
			shot(t, page.ctx, "console-run")
		}
	}
}

// waitFor polls cond for up to 20 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
