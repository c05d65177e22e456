package supporter_test

import (
	"context"
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
			{"preferences", "/s/" + tok + "/preferences", 200, "Stop impact letters", ""},
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

		// Stopping letters from the preferences page: the next run skips Alice.
		r := b.Post(t, c, "/s/"+tok+"/preferences", url.Values{"action": {"stop"}})
		if r.Status != 200 || !strings.Contains(r.Body, "Restart impact letters") {
			t.Fatalf("stop: %d %.300s", r.Status, r.Body)
		}
		if d, _ := b.App.Store.Donor(ctx, alice.DonorID); d.Status != domain.DonorUnsubscribed {
			t.Fatalf("status after stop: %s", d.Status)
		}
		next, err := b.App.Runs.Run(ctx, runs.Request{Period: p.String(), Trigger: "test", Reason: "test", DryRun: true})
		if err != nil || !strings.Contains(next.Exceptions, `"unsubscribed":1`) {
			t.Fatalf("next run: %+v %v", next, err)
		}
		r = b.Post(t, c, "/s/"+tok+"/preferences", url.Values{"action": {"restart"}})
		if d, _ := b.App.Store.Donor(ctx, alice.DonorID); r.Status != 200 || d.Status != domain.DonorActive {
			t.Fatalf("restart: %d %s", r.Status, d.Status)
		}
		if r := b.Post(t, c, "/s/"+tampered+"/preferences", url.Values{"action": {"stop"}}); r.Status != 404 {
			t.Fatalf("tampered stop: %d", r.Status)
		}
		if d, _ := b.App.Store.Donor(ctx, bob.DonorID); d.Status != domain.DonorActive {
			t.Fatalf("bob's status changed through a tampered link: %s", d.Status)
		}
		// The one-click unsubscribe of the emails still works without a session.
		req, _ := http.NewRequest(http.MethodPost, b.URL+"/unsubscribe/"+b.App.Links.Token(links.PurposeUnsubscribe, bob.DonorID), strings.NewReader("List-Unsubscribe=One-Click"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("one-click: %v %v", resp, err)
		}
		resp.Body.Close()

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
		if u := b.Get(t, c, "/unsubscribe/"+b.App.Links.Token(links.PurposeUnsubscribe, alice.DonorID)); !strings.Contains(u.Body, "quarterly impact statements") {
			t.Errorf("unsubscribe page does not name the period: %s", u.Body)
		}
	})
}

func TestInitials(t *testing.T) {
	for name, want := range map[string]string{"Zoë Łukasiewicz": "Z. Ł.", "": "—", "дмитрий соколов": "Д. С.", "a b c d": "A. B. C."} {
		if got := supporter.Initials(name); got != want {
			t.Errorf("%q: %q, want %q", name, got, want)
		}
	}
}
