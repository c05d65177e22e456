package supporter_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/links"
	"impactd/internal/period"
	"impactd/internal/runs"
	"impactd/internal/store/storetest"
	"impactd/internal/webtest"
)

// TestChooseChannel: a supporter chooses letters by post on their
// preferences page, through the real handler; post needs a postal address
// on file, and the page says so; the choice is audited and the next run
// posts their letter.
func TestChooseChannel(t *testing.T) {
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
		alice := b.Donors["alice"]
		var tok string
		for _, s := range sts {
			if s.DonorID == alice.ID {
				tok = links.StatementToken(b.App.Links, s.ID, time.Now().Add(7*24*time.Hour))
			}
		}
		c := webtest.Client(t)
		prefs := "/s/" + tok + "/preferences"

		// No address on file: post cannot be chosen, and the page says why.
		r := b.Get(t, c, prefs)
		if r.Status != 200 || !strings.Contains(r.Body, "By post needs your postal address") || !strings.Contains(r.Body, `value="post" disabled`) {
			t.Fatalf("preferences without an address: %d %.2000s", r.Status, r.Body)
		}
		r = b.Post(t, c, prefs+"/channel", url.Values{"channel": {"post"}})
		if r.Status != 422 || !strings.Contains(r.Body, "no postal address") {
			t.Fatalf("post without an address: %d %.500s", r.Status, r.Body)
		}
		if d, _ := b.App.Store.Donor(ctx, alice.ID); d.Channel != domain.ChannelEmail {
			t.Fatalf("channel changed without an address: %q", d.Channel)
		}

		// With an address: chosen, audited, and the next run posts it.
		d, err := b.App.Store.Donor(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		d.Address = "1 High Street\nLondon SW1A 1AA\nGB"
		if err := b.App.Store.UpdateDonorContact(ctx, d); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			channel string
			status  int
			want    string
		}{
			{"fax", 400, "Choose an option"},
			{"post", 200, "Done: your letters will come by post."},
		}
		for _, tt := range tests {
			r := b.Post(t, c, prefs+"/channel", url.Values{"channel": {tt.channel}})
			if r.Status != tt.status || !strings.Contains(r.Body, tt.want) {
				t.Errorf("%s: %d, want %d with %q: %.500s", tt.channel, r.Status, tt.status, tt.want, r.Body)
			}
		}
		if d, _ := b.App.Store.Donor(ctx, alice.ID); d.Channel != domain.ChannelPost {
			t.Fatalf("channel after choosing post: %q", d.Channel)
		}
		if r := b.Get(t, c, prefs); !strings.Contains(r.Body, "By email or by post") || !strings.Contains(r.Body, `value="post" checked`) {
			t.Errorf("preferences after choosing post: %.2000s", r.Body)
		}
		log, err := b.App.Store.AuditLog(ctx, 20)
		if err != nil {
			t.Fatal(err)
		}
		audited := false
		for _, e := range log {
			audited = audited || (e.Action == "donor.channel" && e.Subject == alice.ID && e.Detail == "letters by post" && e.Actor == "supporter")
		}
		if !audited {
			t.Errorf("the choice is not audited: %+v", log)
		}
		late := &domain.Donation{DonorID: alice.ID, ChargeID: "ch_alice_late", Amount: 1000, Currency: "GBP",
			Status: domain.DonationSucceeded, Created: time.Date(2026, 9, 20, 12, 0, 0, 0, time.UTC).Unix()}
		if _, err := b.App.Store.InsertDonation(ctx, late); err != nil {
			t.Fatal(err)
		}
		next, err := b.App.Runs.Run(ctx, runs.Request{Period: p.String(), Trigger: "test", Reason: "late gift"})
		if err != nil {
			t.Fatal(err)
		}
		if c, err := b.App.Store.CountRun(ctx, next.ID); err != nil || c.Postal != 1 || c.Sent != 0 {
			t.Errorf("next run: %+v %v", c, err)
		}
	})
}
