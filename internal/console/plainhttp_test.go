package console_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"impactd/internal/store/storetest"
	"impactd/internal/webtest"
)

// TestBrowserSignInOverPlainHTTP signs in with IMPACTD_COOKIE_SECURE=false
// at an address that is neither HTTPS nor loopback, as on a LAN or in a
// container. Chromium then sends no Sec-Fetch-Site header (it sends it only
// to trustworthy origins), so the cross-origin check rests on the Origin
// header, which a page served with Referrer-Policy: no-referrer turns into
// "null". The host name is mapped to 127.0.0.1 inside Chromium, so nothing
// leaves the machine.
func TestBrowserSignInOverPlainHTTP(t *testing.T) {
	b := webtest.Setup(t, storetest.SQLiteURL(t), webtest.Options{})
	u, err := url.Parse(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	lan := "http://impactd.test:" + u.Port()
	person := browser(t, chromedp.Flag("host-resolver-rules", "MAP impactd.test 127.0.0.1"))
	run(t, person, "sign in over plain http",
		chromedp.Navigate(lan+"/console"),
		chromedp.WaitVisible("#email", chromedp.ByQuery),
		chromedp.SendKeys("#email", webtest.Operator, chromedp.ByQuery),
		chromedp.SendKeys("#password", webtest.Password, chromedp.ByQuery),
		chromedp.Submit("#password", chromedp.ByQuery),
		chromedp.WaitNotPresent("#password", chromedp.ByQuery),
	)
	if got := text(t, person); !strings.Contains(got, webtest.Operator) {
		t.Fatalf("not signed in at %s: %.300s", lan, got)
	}
	// A form of the console works too, not only sign-in.
	run(t, person, "sign out", chromedp.Click(`form[action="/console/sign-out"] button`, chromedp.ByQuery),
		chromedp.WaitVisible("#email", chromedp.ByQuery))

	// The protection is as strict as before: a post from another origin,
	// or one whose origin the browser hid, is still refused.
	c := webtest.Client(t)
	if r := b.Get(t, c, "/console/sign-in"); r.Header.Get("Referrer-Policy") != "same-origin" {
		t.Errorf("console Referrer-Policy %q", r.Header.Get("Referrer-Policy"))
	}
	form := url.Values{"email": {webtest.Operator}, "password": {webtest.Password}, "next": {"/console"}}
	for _, origin := range []string{"http://elsewhere.example", "null"} {
		if r := b.PostWith(t, c, "/console/sign-in", form, map[string]string{"Origin": origin}); r.Status != 403 {
			t.Errorf("sign-in with Origin %s: %d", origin, r.Status)
		}
	}
}
