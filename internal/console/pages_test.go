package console_test

import (
	"context"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/runs"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
	"impactd/internal/webtest"
)

var (
	inlineTags = regexp.MustCompile(`</?(a|strong|span|time|code)\b[^>]*>`)
	tags       = regexp.MustCompile(`<[^>]+>`)
)

// plain is a page's text as a reader sees it: no tags, white space folded.
func plain(body string) string {
	body = tags.ReplaceAllString(inlineTags.ReplaceAllString(body, ""), " ")
	return strings.Join(strings.Fields(html.UnescapeString(body)), " ")
}

// TestAuditLogReadsAsSentences: who, what, why and when, in words and in
// full, never JSON or a bare action name.
func TestAuditLogReadsAsSentences(t *testing.T) {
	b := webtest.Setup(t, storetest.SQLiteURL(t), webtest.Options{})
	ctx := context.Background()
	alice, bob := b.Donors["alice"], b.Donors["bob"]
	long := strings.Repeat("The supporter wrote to say that their address had changed twice this year. ", 4)
	at := time.Date(2026, 11, 3, 14, 5, 0, 0, time.UTC).Unix()
	for _, e := range []store.AuditEntry{
		{Actor: "staff:" + webtest.Admin, Action: "donor.merge", Subject: alice.ID, Reason: long, Detail: "merged " + bob.ID + " into " + alice.ID},
		{Actor: "cli:maria", Action: "donor.erase", Subject: bob.ID, Reason: "erasure request by email"},
		{Actor: "staff:" + webtest.Operator, Action: "run.start", Subject: "run_abc", Reason: "address corrected",
			Detail: `{"period":"2026-Q3","scope":"donor","donor_id":"` + alice.ID + `","dry_run":true,"force":false,"trigger":"console","jobs":1}`},
		{Actor: "schedule", Action: "run.start", Subject: "run_def", Reason: "scheduled run (0 9 1 1,4,7,10 *)",
			Detail: `{"period":"2026-Q3","scope":"period","dry_run":false,"force":false,"trigger":"schedule","jobs":1200}`},
		{Actor: "supporter", Action: "donor.letters_stopped", Subject: alice.ID, Reason: "preferences page"},
		{Actor: "cli:maria", Action: "token.create", Subject: "tok_1", Detail: "viewer monthly report"},
		{Actor: "staff:" + webtest.Admin, Action: "impact.publish", Subject: "upd_1", Reason: "approved by Head of Programmes"},
		{Actor: "staff:" + webtest.Admin, Action: "gift_aid.claim_export", Subject: "claim_7", Detail: `{"gifts":12,"total":"£300.00"}`},
		{Actor: "maria", Action: "run.start", Subject: "run_cli", Reason: "after the import",
			Detail: `{"period":"2026-Q3","scope":"failed","dry_run":false,"force":false,"trigger":"cli","jobs":3}`},
		{Actor: "impactd", Action: "run.pause", Subject: "run_def", Reason: "the mail relay refused to send: 550 5.7.1 sender not allowed",
			Detail: `{"worker":"host-1.4242","taken_back":2}`},
		{Actor: "staff:" + webtest.Operator, Action: "run.resume", Subject: "run_def", Reason: "relay fixed",
			Detail: `{"paused_for":"the mail relay refused to send: 550 5.7.1 sender not allowed"}`},
		{Actor: "staff:" + webtest.Operator, Action: "bounce.clear", Subject: alice.ID + "," + bob.ID, Reason: "mailbox full, now emptied"},
	} {
		e.CreatedAt = at
		if err := b.App.Store.Audit(ctx, &e); err != nil {
			t.Fatal(err)
		}
	}
	c := webtest.Client(t)
	b.SignIn(t, c, webtest.Viewer)
	r := b.Get(t, c, "/console/audit")
	got := plain(r.Body)
	for _, want := range []string{
		webtest.Admin + " merged Bob Sample into Alice Example: gifts, addresses and statements moved. Reason: “" + strings.TrimSpace(long) + "”",
		"maria (command line) erased the personal data of Bob Sample (amounts kept). Reason: “erasure request by email”",
		webtest.Operator + " started a dry run (nothing sent) of 2026-Q3 (July to September 2026), for Alice Example only: run_abc, 1 supporter to consider. Reason: “address corrected”",
		"The schedule started a run of 2026-Q3 (July to September 2026): run_def, 1200 supporters to consider. (started by the schedule)",
		"The supporter stopped the letters of Alice Example. Reason: “preferences page”",
		"maria (command line) created an API token with the viewer role for “monthly report”.",
		webtest.Admin + " published impact update upd_1, approved by Head of Programmes.",
		webtest.Admin + " gift aid claim export claim_7. gifts: 12 · total: £300.00",
		"3 Nov 2026",
		"maria (command line) started a run of 2026-Q3 (July to September 2026), only the letters that failed: run_cli, 3 supporters to consider. Reason: “after the import”",
		"impactd paused run_def: its remaining letters wait until someone resumes it, and unmarked the 2 addresses it had marked bounced for the same fault. Why: the mail relay refused to send: 550 5.7.1 sender not allowed.",
		webtest.Operator + " resumed run_def, which had paused because the mail relay refused to send: 550 5.7.1 sender not allowed. Reason: “relay fixed”",
		webtest.Operator + " cleared the bounce of the address of Alice Example and Bob Sample: letters go to it again. Reason: “mailbox full, now emptied”",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("audit log lacks %q\n%s", want, got)
		}
	}
	for _, raw := range []string{`{"`, "donor.merge", "run.start", `"dry_run"`, "run.pause", "run.resume", "bounce.clear", "host-1.4242", "paused for:"} {
		if strings.Contains(got, raw) {
			t.Errorf("audit log shows raw %q:\n%s", raw, got)
		}
	}
	if !strings.Contains(r.Body, `href="/console/donors/`+alice.ID+`"`) || !strings.Contains(r.Body, `href="/console/runs/run_abc"`) {
		t.Error("the audit log does not link what it names")
	}
}

// TestDonorPage: contact details, letters and Gift Aid in words, and one
// row for a letter made twice unchanged.
func TestDonorPage(t *testing.T) {
	b := webtest.Setup(t, storetest.SQLiteURL(t), webtest.Options{})
	ctx := context.Background()
	b.Publish(t, b.DraftUpdate(t))
	alice := b.Donors["alice"]
	alice.Address, alice.UpdatedAt = "12 Church Lane\nLondon\nSE1 7TP", time.Now().Unix()
	if err := b.App.Store.UpdateDonorContact(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if err := b.App.Store.SetGiftAid(ctx, alice.ID, "2026-04-06", time.Now().Unix()); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second, forced, makes the same letter again
		if _, err := b.App.Runs.Run(ctx, runs.Request{Period: webtest.Period, Trigger: "test", Reason: "send", Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	c := webtest.Client(t)
	b.SignIn(t, c, webtest.Viewer)
	r := b.Get(t, c, "/console/donors/"+alice.ID)
	got := plain(r.Body)
	for _, want := range []string{
		"Email alice@example.org",
		"Postal address 12 Church Lane London SE1 7TP",
		"Letters Receives the impact letters and the annual statement by email at alice@example.org.",
		"Gift Aid Declared: their GBP gifts from 6 April 2026 on are eligible for Gift Aid; £25.00 so far, worth £6.25 to the charity.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("donor page lacks %q:\n%s", want, got)
		}
	}
	sts, err := b.App.Store.StatementsForDonor(ctx, alice.ID)
	if err != nil || len(sts) < 2 {
		t.Fatalf("statements: %d %v", len(sts), err)
	}
	if n := strings.Count(r.Body, `data-label="Period"`); n != 1 {
		t.Errorf("%d statement rows for one letter made %d times", n, len(sts))
	}
	if !strings.Contains(got, "made 2 times, unchanged") {
		t.Errorf("the copies are not counted: %s", got)
	}

	if err := b.App.Store.SetDonorStatus(ctx, alice.ID, domain.DonorActive, domain.DonorUnsubscribed, time.Now().Unix()); err != nil {
		t.Fatal(err)
	}
	if got := plain(b.Get(t, c, "/console/donors/"+alice.ID).Body); !strings.Contains(got, "Asked for no more letters") {
		t.Errorf("an unsubscribed donor's page: %s", got)
	}
}
