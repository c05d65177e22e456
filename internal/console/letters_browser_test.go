package console_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"impactd/internal/domain"
	"impactd/internal/links"
	"impactd/internal/runs"
	"impactd/internal/store/storetest"
	"impactd/internal/webtest"
)

// TestBrowserLettersChoice: a supporter opens the preferences page from
// their statement link in Chromium, chooses "the annual statement only" and
// saves; the choice is stored, and the page shows it chosen.
func TestBrowserLettersChoice(t *testing.T) {
	ctx := browser(t)
	b := webtest.Setup(t, storetest.SQLiteURL(t), webtest.Options{})
	b.Publish(t, b.DraftUpdate(t))
	bg := context.Background()
	first, err := b.App.Runs.Run(bg, runs.Request{Period: webtest.Period, Trigger: "test", Reason: "send"})
	if err != nil || first.Sent == 0 {
		t.Fatalf("run: %+v %v", first, err)
	}
	alice := b.Donors["alice"]
	sent, err := b.App.Store.LastSentStatement(bg, alice.ID, domain.SeriesImpact, webtest.Period)
	if err != nil {
		t.Fatal(err)
	}
	tok := links.StatementToken(b.App.Links, sent.ID, time.Now().Add(24*time.Hour))
	var checked bool
	run(t, ctx, "choose the annual statement only",
		chromedp.Navigate(b.URL+"/s/"+tok+"/preferences"),
		chromedp.WaitVisible("#letters-annual", chromedp.ByQuery),
		chromedp.Click("#letters-annual", chromedp.ByQuery),
		chromedp.Click("form button[type=submit]", chromedp.ByQuery),
		chromedp.WaitVisible(".flash", chromedp.ByQuery),
		chromedp.JavascriptAttribute("#letters-annual", "checked", &checked, chromedp.ByQuery),
	)
	if got := text(t, ctx); !strings.Contains(got, "the annual statement of your gifts only") || !checked {
		t.Fatalf("after saving (checked %v): %.500s", checked, got)
	}
	if d, _ := b.App.Store.Donor(bg, alice.ID); d.Letters != domain.LettersAnnual {
		t.Fatalf("stored letters %q", d.Letters)
	}
}
