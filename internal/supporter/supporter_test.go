package supporter_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/links"
	"impactd/internal/period"
	"impactd/internal/runs"
	"impactd/internal/store/storetest"
	"impactd/internal/supporter"
	"impactd/internal/webtest"
)

func TestSupporterPages(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		b := webtest.Setup(t, dbURL, webtest.Options{})
		b.Publish(t, b.DraftUpdate(t))
		p := period.MustParse(webtest.Period)
		run, err := b.App.Runs.Run(ctx, runs.Request{Period: p.String(), Trigger: "test", Reason: "test"})
		if err != nil || run.Sent != 2 {
			t.Fatalf("run: %+v %v", run, err)
		}
		sts, err := b.App.Store.StatementsForRun(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		byDonor := map[string]domain.Statement{}
		for _, s := range sts {
			byDonor[s.DonorID] = s
		}
		alice, bob := byDonor[b.Donors["alice"].ID], byDonor[b.Donors["bob"].ID]
		week := time.Now().Add(7 * 24 * time.Hour)
		tok := links.StatementToken(b.App.Links, alice.ID, week)
		bobTok := links.StatementToken(b.App.Links, bob.ID, week)
		expired := links.StatementToken(b.App.Links, alice.ID, time.Now().Add(-time.Minute))
		// Bob's statement id with the signature of Alice's link.
		tampered := bob.ID + tok[len(alice.ID):]
		// Alice's link with a later expiry, keeping the signature.
		_, sig, _ := strings.Cut(tok, ".")
		extended := alice.ID + "~" + "zzzzzzz" + "." + sig

		c := webtest.Client(t)
		tests := []struct {
			name, path string
			status     int
			want, not  string
		}{
			{"statement page", "/s/" + tok, 200, "July to September 2026", "Bob"},
			{"download", "/s/" + tok + "/pdf", 200, "%PDF", ""},
			{"own statement by id", "/s/" + tok + "/pdf/" + alice.ID, 200, "%PDF", ""},
			{"another donor's statement id", "/s/" + tok + "/pdf/" + bob.ID, 404, "no such statement", "%PDF"},
			{"tampered link", "/s/" + tampered, 404, "not valid", "Bob"},
			{"tampered download", "/s/" + tampered + "/pdf", 404, "not valid", "%PDF"},
			{"extended expiry", "/s/" + extended, 404, "not valid", ""},
			{"expired link", "/s/" + expired, 410, "expired", "Alice"},
			{"garbage", "/s/garbage", 404, "not valid", ""},
			{"other purpose", "/s/" + b.App.Links.Token(links.PurposeUnsubscribe, alice.ID), 404, "not valid", ""},
			{"preferences", "/s/" + tok + "/preferences", 200, "The annual statement only", ""},
			{"verify form", "/verify", 200, "verification code", ""},
			{"verify genuine", "/verify?code=" + url.QueryEscape(strings.ToLower(domain.VerificationCode(alice.ContentHash))), 200, "A. E.", "Alice"},
			{"verify unknown", "/verify?code=AAAAA-AAAAA", 200, "Not found", ""},
			{"verify nonsense", "/verify?code=%3Cscript%3E", 200, "Not found", "<script>"},
		}
		for _, tt := range tests {
			r := b.Get(t, c, tt.path)
			if r.Status != tt.status || !strings.Contains(r.Body, tt.want) || (tt.not != "" && strings.Contains(r.Body, tt.not)) {
				t.Errorf("%s: %d, want %d with %q without %q; %.200q", tt.name, r.Status, tt.status, tt.want, tt.not, r.Body)
			}
		}
		if r := b.Get(t, c, "/s/"+bobTok); !strings.Contains(r.Body, "July to September 2026") || r.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("bob's page: %d %v", r.Status, r.Header)
		}

		// Preferences per series, through the real page: each choice is
		// stored and the runs of each series follow it.
		choices := []struct {
			letters        string
			impact, annual bool // whether Alice is left out of each series' run
		}{
			{domain.LettersAnnual, true, false},
			{domain.LettersNone, true, true},
			{domain.LettersAll, false, false},
		}
		for _, ch := range choices {
			r := b.Post(t, c, "/s/"+tok+"/preferences", url.Values{"letters": {ch.letters}})
			if r.Status != 200 || !strings.Contains(r.Body, "Saved:") || !strings.Contains(r.Body, `value="`+ch.letters+`" aria-describedby="letters-`+ch.letters+`-hint" checked`) {
				t.Fatalf("choose %s: %d %.600s", ch.letters, r.Status, r.Body)
			}
			if d, _ := b.App.Store.Donor(ctx, alice.DonorID); d.Letters != ch.letters || d.Status != domain.DonorActive {
				t.Fatalf("after choosing %s: letters %q status %q", ch.letters, d.Letters, d.Status)
			}
			next, err := b.App.Runs.Run(ctx, runs.Request{Period: p.String(), Trigger: "test", Reason: "test", DryRun: true, Force: true})
			if err != nil || strings.Contains(next.Exceptions, `"unsubscribed":1`) != ch.impact {
				t.Fatalf("%s: impact dry run: %+v %v, want Alice left out %v", ch.letters, next, err, ch.impact)
			}
			if got := runs.Exclusion(mustDonor(t, b, alice.DonorID), false, domain.SeriesAnnual, false) == domain.SkipUnsubscribed; got != ch.annual {
				t.Fatalf("%s: annual exclusion %v, want %v", ch.letters, got, ch.annual)
			}
		}
		if r := b.Post(t, c, "/s/"+tok+"/preferences", url.Values{"letters": {"impact"}}); r.Status != 400 {
			t.Fatalf("an unknown choice: %d", r.Status)
		}
		if r := b.Post(t, c, "/s/"+tampered+"/preferences", url.Values{"letters": {domain.LettersNone}}); r.Status != 404 {
			t.Fatalf("tampered stop: %d", r.Status)
		}
		if d, _ := b.App.Store.Donor(ctx, bob.DonorID); d.Letters != domain.LettersAll {
			t.Fatalf("bob's letters changed through a tampered link: %s", d.Letters)
		}
		// The one-click unsubscribe of the impact letter's emails, without a
		// session: it stops impact letters only, and says the annual
		// statement continues with a one-click way to stop that too.
		oneClick := func(path string) string {
			t.Helper()
			req, _ := http.NewRequest(http.MethodPost, b.URL+path, strings.NewReader("List-Unsubscribe=One-Click"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("one-click %s: %v %v", path, resp, err)
			}
			defer resp.Body.Close()
			var body strings.Builder
			_, _ = io.Copy(&body, resp.Body)
			return body.String()
		}
		body := oneClick("/unsubscribe/" + b.App.Links.Token(links.PurposeUnsubscribe, bob.DonorID))
		if d := mustDonor(t, b, bob.DonorID); d.Letters != domain.LettersAnnual {
			t.Fatalf("bob after the impact letter's unsubscribe: %q", d.Letters)
		}
		also := regexp.MustCompile(`action="(/unsubscribe/[^"]+)"`).FindStringSubmatch(body)
		if !strings.Contains(body, "annual statement of gifts") || !strings.Contains(body, "continues") || also == nil {
			t.Fatalf("impact unsubscribe page: %s", body)
		}
		if id, series, ok := links.CheckUnsubscribe(b.App.Links, strings.TrimPrefix(also[1], "/unsubscribe/")); !ok || id != bob.DonorID || series != domain.SeriesAnnual {
			t.Fatalf("the page's second button: %q %q %v", id, series, ok)
		}
		// Repeating the impact one changes nothing more; the annual one stops everything.
		oneClick("/unsubscribe/" + b.App.Links.Token(links.PurposeUnsubscribe, bob.DonorID))
		if d := mustDonor(t, b, bob.DonorID); d.Letters != domain.LettersAnnual {
			t.Fatalf("bob after a second impact unsubscribe: %q", d.Letters)
		}
		body = oneClick(also[1])
		if d := mustDonor(t, b, bob.DonorID); d.Letters != domain.LettersNone || !strings.Contains(body, "You will not receive the annual statement") {
			t.Fatalf("bob after the annual unsubscribe: %q %s", d.Letters, body)
		}
		// An annual statement's own link, for a donor on all letters.
		if _, err := b.App.Store.SetDonorLetters(ctx, bob.DonorID, domain.LettersAll, 1); err != nil {
			t.Fatal(err)
		}
		oneClick(links.SeriesUnsubscribeURL("", b.App.Links, bob.DonorID, domain.SeriesAnnual))
		if d := mustDonor(t, b, bob.DonorID); d.Letters != domain.LettersNone {
			t.Fatalf("bob after the annual statement's own unsubscribe: %q", d.Letters)
		}
		if _, err := b.App.Store.SetDonorLetters(ctx, bob.DonorID, domain.LettersAll, 1); err != nil {
			t.Fatal(err)
		}
		// The confirmation pages a GET shows change nothing.
		if u := b.Get(t, c, links.SeriesUnsubscribeURL("", b.App.Links, bob.DonorID, domain.SeriesAnnual)); u.Status != 200 || !strings.Contains(u.Body, "Stop the annual statement?") {
			t.Errorf("annual unsubscribe page: %d %s", u.Status, u.Body)
		}
		if d := mustDonor(t, b, bob.DonorID); d.Letters != domain.LettersAll {
			t.Fatalf("a GET changed bob's letters: %q", d.Letters)
		}

		// A late gift makes Alice's letter a correction: her old link says it
		// was replaced, and neither page lists the replaced letter as one of
		// her other statements.
		late := &domain.Donation{DonorID: alice.DonorID, ChargeID: "ch_alice_late", Amount: 1000, Currency: "GBP",
			Status: domain.DonationSucceeded, Created: time.Date(2026, 9, 20, 12, 0, 0, 0, time.UTC).Unix()}
		if _, err := b.App.Store.InsertDonation(ctx, late); err != nil {
			t.Fatal(err)
		}
		fix, err := b.App.Runs.Run(ctx, runs.Request{Period: p.String(), Trigger: "test", Reason: "late gift"})
		if err != nil || fix.Sent != 1 {
			t.Fatalf("correction run: %+v %v", fix, err)
		}
		fixed, err := b.App.Store.StatementsForRun(ctx, fix.ID)
		if err != nil || len(fixed) != 1 {
			t.Fatalf("correction statements: %v %v", fixed, err)
		}
		old := b.Get(t, c, "/s/"+tok)
		for _, want := range []string{"This letter was replaced by the corrected letter of", "Download the corrected letter", fixed[0].ID} {
			if !strings.Contains(old.Body, want) {
				t.Errorf("replaced letter's page lacks %q:\n%s", want, old.Body)
			}
		}
		if strings.Contains(old.Body, "Your other statements") {
			t.Errorf("replaced letter's page lists other statements:\n%s", old.Body)
		}
		cur := b.Get(t, c, "/s/"+links.StatementToken(b.App.Links, fixed[0].ID, week))
		if strings.Contains(cur.Body, "replaced") || strings.Contains(cur.Body, "Your other statements") {
			t.Errorf("corrected letter's page lists the replaced one:\n%s", cur.Body)
		}
		// Dates as people write them; how often letters come, from the configuration.
		if !regexp.MustCompile(`Sent \d{1,2} [A-Z][a-z]+ \d{4}`).MatchString(cur.Body) || strings.Contains(cur.Body, "Sent 20") {
			t.Errorf("statement page date is not written out:\n%s", cur.Body)
		}
		if u := b.Get(t, c, "/unsubscribe/"+b.App.Links.Token(links.PurposeUnsubscribe, alice.DonorID)); !strings.Contains(u.Body, "quarterly impact letters") || !strings.Contains(u.Body, "The annual statement of your gifts continues") {
			t.Errorf("unsubscribe page does not name the period: %s", u.Body)
		}
	})
}

func mustDonor(t *testing.T, b *webtest.Bundle, id string) *domain.Donor {
	t.Helper()
	d, err := b.App.Store.Donor(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestInitials(t *testing.T) {
	for name, want := range map[string]string{"Zoë Łukasiewicz": "Z. Ł.", "": "—", "дмитрий соколов": "Д. С.", "a b c d": "A. B. C."} {
		if got := supporter.Initials(name); got != want {
			t.Errorf("%q: %q, want %q", name, got, want)
		}
	}
}

// TestSeriesDoNotReplaceEachOther: an annual statement of the same period
// as an impact letter (IMPACTD_PERIOD=taxyear) is a letter of its own: the
// impact letter's page does not call it replaced, and lists the annual one
// among the donor's other statements.
func TestSeriesDoNotReplaceEachOther(t *testing.T) {
	ctx := context.Background()
	b := webtest.Setup(t, storetest.SQLiteURL(t), webtest.Options{})
	b.Publish(t, b.DraftUpdate(t))
	first, err := b.App.Runs.Run(ctx, runs.Request{Period: webtest.Period, Trigger: "test", Reason: "test"})
	if err != nil || first.Sent == 0 {
		t.Fatalf("run: %+v %v", first, err)
	}
	alice := b.Donors["alice"]
	letter, err := b.App.Store.LastSentStatement(ctx, alice.ID, domain.SeriesImpact, webtest.Period)
	if err != nil {
		t.Fatal(err)
	}
	// A later annual statement of the same period, delivered.
	annual := &domain.Run{Series: domain.SeriesAnnual, Period: webtest.Period, Trigger: "test", Status: domain.RunSucceeded, StartedAt: time.Now().Unix()}
	if ok, err := b.App.Store.AdmitRun(ctx, annual); err != nil || !ok {
		t.Fatal(ok, err)
	}
	st := &domain.Statement{RunID: annual.ID, DonorID: alice.ID, Series: domain.SeriesAnnual, Period: webtest.Period,
		Snapshot: letter.Snapshot, ContentHash: "annual-" + letter.ContentHash, CreatedAt: time.Now().Unix() + 60}
	if err := b.App.Store.InsertStatement(ctx, st); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.App.Store.InsertAttempt(ctx, &domain.Delivery{StatementID: st.ID, Attempt: 1, Status: domain.DeliverySent, CreatedAt: st.CreatedAt,
		UpdatedAt: st.CreatedAt, DonorID: alice.ID, Series: domain.SeriesAnnual, Period: webtest.Period, LetterKey: "annual"}); err != nil || !ok {
		t.Fatal(ok, err)
	}
	page := b.Get(t, webtest.Client(t), "/s/"+links.StatementToken(b.App.Links, letter.ID, time.Now().Add(time.Hour)))
	if page.Status != 200 || strings.Contains(page.Body, "This letter was replaced") || !strings.Contains(page.Body, st.ID) {
		t.Fatalf("the impact letter's page beside an annual statement of its period: %d\n%s", page.Status, page.Body)
	}
}
