package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/runs"
	"impactd/internal/store/storetest"
	"impactd/internal/webtest"
)

// TestRunInProgressPausedAndResumed: starting a period whose run is
// unfinished shows that run and starts nothing; a paused run says why and
// offers operators a Resume button; bounced addresses are listed and an
// operator clears one, audited.
func TestRunInProgressPausedAndResumed(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		b := webtest.Setup(t, dbURL, webtest.Options{})
		b.Publish(t, b.DraftUpdate(t))
		held, err := b.App.Runs.Start(ctx, runs.Request{Period: webtest.Period, Reason: "quarterly", Trigger: "test"})
		if err != nil {
			t.Fatal(err)
		}
		// Paused at once, as if its relay had refused us: the workers leave it.
		if ok, err := b.App.Store.PauseRun(ctx, held.ID, "the mail relay refused to send: mail: MAIL FROM: 550 5.7.1 not allowed", time.Now().Unix()); err != nil || !ok {
			t.Fatal(ok, err)
		}
		op, viewer := webtest.Client(t), webtest.Client(t)
		csrf := b.SignIn(t, op, webtest.Operator)
		vcsrf := b.SignIn(t, viewer, webtest.Viewer)

		r := b.Post(t, op, "/console/runs", url.Values{"csrf": {csrf}, "period": {webtest.Period}, "reason": {"again"}, "confirm": {"yes"}})
		if r.Status != http.StatusSeeOther || r.Location != "/console/runs/"+held.ID+"?done=in-progress" {
			t.Fatalf("start while unfinished: %d %q %s", r.Status, r.Location, r.Body)
		}
		if recent, _ := b.App.Store.RecentRuns(ctx, 10); len(recent) != 1 {
			t.Fatalf("%d runs, want the one", len(recent))
		}
		page := b.Get(t, op, r.Location)
		for _, want := range []string{"already in progress", "Paused:", "MAIL FROM: 550 5.7.1 not allowed", "Nobody was marked bounced", `action="/console/runs/` + held.ID + `/resume"`,
			"<th>Eligible</th><td class=\"num\">2</td>", "<th>Waiting</th><td class=\"num\">2</td>", "A rerun can start once this run has finished."} {
			if !strings.Contains(page.Body, want) {
				t.Errorf("run page lacks %q", want)
			}
		}
		if strings.Contains(page.Body, `/rerun"`) {
			t.Error("an unfinished run offers a rerun, which could not start")
		}
		if vp := b.Get(t, viewer, "/console/runs/"+held.ID); strings.Contains(vp.Body, "/resume") {
			t.Error("a viewer is offered the Resume button")
		}
		if r := b.Post(t, viewer, "/console/runs/"+held.ID+"/resume", url.Values{"csrf": {vcsrf}, "reason": {"x"}, "confirm": {"yes"}}); r.Status != http.StatusForbidden {
			t.Errorf("viewer resume: %d", r.Status)
		}
		r = b.Post(t, op, "/console/runs/"+held.ID+"/resume", url.Values{"csrf": {csrf}, "reason": {"relay fixed"}, "confirm": {"yes"}})
		if r.Status != http.StatusSeeOther || !strings.HasSuffix(r.Location, "?done=resumed") {
			t.Fatalf("resume: %d %q %s", r.Status, r.Location, r.Body)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			run, err := b.App.Store.Run(ctx, held.ID)
			if err != nil {
				t.Fatal(err)
			}
			if run.Status == domain.RunSucceeded && run.Sent == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("resumed run did not finish: %+v", run)
			}
			time.Sleep(50 * time.Millisecond)
		}

		if err := b.App.Store.AddBounce(ctx, domain.Bounce{Email: "bob@example.org", Detail: "550 5.1.1 no such user", CreatedAt: time.Now().Unix()}); err != nil {
			t.Fatal(err)
		}
		if page := b.Get(t, viewer, "/console/bounces"); !strings.Contains(page.Body, "bob@example.org") || strings.Contains(page.Body, `action="/console/bounces/clear"`) {
			t.Errorf("viewer's bounces page: %d", page.Status)
		}
		if r := b.Post(t, viewer, "/console/bounces/clear", url.Values{"csrf": {vcsrf}, "email": {"bob@example.org"}, "reason": {"x"}, "confirm": {"yes"}}); r.Status != http.StatusForbidden {
			t.Errorf("viewer clears a bounce: %d", r.Status)
		}
		r = b.Post(t, op, "/console/bounces/clear", url.Values{"csrf": {csrf}, "email": {"bob@example.org"}, "reason": {"mailbox fixed"}, "confirm": {"yes"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("clear: %d %s", r.Status, r.Body)
		}
		if bounced, _ := b.App.Store.IsBounced(ctx, "bob@example.org"); bounced {
			t.Error("still bounced")
		}
		audit, _ := b.App.Store.AuditLog(ctx, 1)
		if len(audit) != 1 || audit[0].Action != "bounce.clear" || audit[0].Actor != "staff:"+webtest.Operator || audit[0].Subject != b.Donors["bob"].ID {
			t.Errorf("audit: %+v", audit)
		}
	})
}

// waitRun waits for a run to finish and returns it.
func waitRun(t *testing.T, b *webtest.Bundle, id string) *domain.Run {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		run, err := b.App.Store.Run(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if !run.Unfinished() {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s did not finish: %+v", id, run)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runID is the run a redirect to a run page names.
func runID(t *testing.T, r webtest.Response) string {
	t.Helper()
	id, ok := strings.CutPrefix(strings.Split(r.Location, "?")[0], "/console/runs/")
	if r.Status != http.StatusSeeOther || !ok {
		t.Fatalf("not a run: %d %q %.300s", r.Status, r.Location, r.Body)
	}
	return id
}

// TestRerunOneDonorSaysWhatItDid: an operator reruns one donor by part of
// their name; when the name matches several people the page lists them to
// pick from and keeps the form; a rerun that sends nothing says why and
// links to the form filled to send again; a dry run shows its letters; a
// start is audited once; a period with no published update points to the
// impact updates.
func TestRerunOneDonorSaysWhatItDid(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		b := webtest.Setup(t, dbURL, webtest.Options{})
		b.Publish(t, b.DraftUpdate(t))
		alice := b.Donors["alice"]
		op := webtest.Client(t)
		csrf := b.SignIn(t, op, webtest.Operator)

		// Started from the console: audited once, by the runs service.
		first := runID(t, b.Post(t, op, "/console/runs", url.Values{"csrf": {csrf}, "period": {webtest.Period}, "reason": {"quarterly"}, "confirm": {"yes"}}))
		if run := waitRun(t, b, first); run.Sent != 2 {
			t.Fatalf("first run: %+v", run)
		}
		log, _ := b.App.Store.AuditLog(ctx, 50)
		n := 0
		for _, e := range log {
			if e.Subject == first {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the console's run is audited %d times, want once: %+v", n, log)
		}

		// By part of her name, without the capital: one match, her run;
		// her letter is unchanged, so nothing is sent, and the page says so.
		form := url.Values{"csrf": {csrf}, "scope": {"donor"}, "donor": {"alic"}, "reason": {"she asked again"}, "confirm": {"yes"}}
		id := runID(t, b.Post(t, op, "/console/runs/"+first+"/rerun", form))
		if run := waitRun(t, b, id); run.DonorID != alice.ID || run.Sent != 0 {
			t.Fatalf("rerun by name: %+v", run)
		}
		page := b.Get(t, op, "/console/runs/"+id)
		for _, want := range []string{"Run of 2026-Q3 for Alice Example", "Nothing was sent", "This run sent nothing: the donor already has this letter, unchanged.",
			"To send again anyway, tick “Send again” in Rerun and say why.", "Already sent, unchanged"} {
			if !strings.Contains(plain(page.Body), want) {
				t.Errorf("run page of the unchanged rerun lacks %q", want)
			}
		}
		if !strings.Contains(page.Body, `href="/console/runs/`+id+`?again=1#rerun-h"`) {
			t.Error("the next step does not link to the form filled in")
		}
		again := b.Get(t, op, "/console/runs/"+id+"?again=1")
		for _, want := range []string{`value="donor" checked`, `name="donor" value="` + alice.ID + `"`, `id="force" name="force" type="checkbox" value="yes" checked`} {
			if !strings.Contains(again.Body, want) {
				t.Errorf("the next step's form lacks %q", want)
			}
		}

		// Two people match: listed to pick from, the form kept, nothing started.
		other := &domain.Donor{Name: "Alicia Ørsted", Email: "alicia@example.net", Status: domain.DonorActive}
		if err := b.App.Store.CreateDonor(ctx, other); err != nil {
			t.Fatal(err)
		}
		before, _ := b.App.Store.RecentRuns(ctx, 50)
		r := b.Post(t, op, "/console/runs/"+first+"/rerun", form)
		for _, want := range []string{"2 donors match “alic”: pick one below.", "Which donor?", "Donors matching “alic”", "Alice Example", "Alicia Ørsted",
			`name="donor_pick" value="` + other.ID + `"`, `value="she asked again"`} {
			if !strings.Contains(r.Body, want) {
				t.Errorf("several matches: the page lacks %q (%d)", want, r.Status)
			}
		}
		if r.Status != http.StatusBadRequest {
			t.Errorf("several matches: %d", r.Status)
		}
		if after, _ := b.App.Store.RecentRuns(ctx, 50); len(after) != len(before) {
			t.Error("several matches started a run")
		}
		picked := url.Values{"donor_pick": {other.ID}}
		for k, v := range form {
			picked[k] = v
		}
		if r := b.Post(t, op, "/console/runs/"+first+"/rerun", picked); r.Status != http.StatusSeeOther {
			t.Errorf("picked: %d %.300s", r.Status, r.Body)
		} else if run, _ := b.App.Store.Run(ctx, runID(t, r)); run.DonorID != other.ID {
			t.Errorf("picked %s, the run is for %s", other.ID, run.DonorID)
		}
		nobody := url.Values{}
		for k, v := range form {
			nobody[k] = v
		}
		nobody.Set("donor", "Zebedee")
		if r := b.Post(t, op, "/console/runs/"+first+"/rerun", nobody); r.Status != http.StatusNotFound ||
			!strings.Contains(r.Body, "no donor") || !strings.Contains(r.Body, `value="Zebedee"`) {
			t.Errorf("nobody matches: %d %.300s", r.Status, r.Body)
		}

		// A dry run of the sent period, sending again: its letters to look at.
		dry := runID(t, b.Post(t, op, "/console/runs/"+first+"/rerun", url.Values{"csrf": {csrf}, "scope": {"period"}, "force": {"yes"}, "dry_run": {"yes"},
			"reason": {"look at them"}, "confirm": {"yes"}}))
		waitRun(t, b, dry)
		page = b.Get(t, op, "/console/runs/"+dry)
		samples, err := b.App.Runs.Samples(ctx, dry, 3)
		if err != nil || len(samples) != 2 {
			t.Fatalf("samples: %d %v", len(samples), err)
		}
		for _, want := range []string{"Sample letters", "Made by this dry run and sent to nobody", "Bob Sample", "$40.00 net (1 gift)",
			`href="/console/statements/` + samples[0].Statement.ID + `/pdf"`, "Open the letter (PDF)", "The letter sent on "} {
			if !strings.Contains(page.Body, want) {
				t.Errorf("dry run page lacks %q", want)
			}
		}
		if strings.Contains(page.Body, "Nothing to look at") {
			t.Error("a dry run with letters says there is nothing to look at")
		}
		if pdf := b.Get(t, op, "/console/statements/"+samples[0].Statement.ID+"/pdf"); pdf.Status != 200 || !strings.HasPrefix(pdf.Body, "%PDF") {
			t.Errorf("sample PDF: %d", pdf.Status)
		}

		// No published update: the error page says where to publish one.
		r = b.Post(t, op, "/console/runs", url.Values{"csrf": {csrf}, "period": {"2026-Q1"}, "reason": {"early"}, "confirm": {"yes"}})
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "no published impact update for 2026-Q1") || !strings.Contains(r.Body, `<a href="/console/impact">Impact updates</a>`) {
			t.Errorf("no update: %d %.400s", r.Status, r.Body)
		}
	})
}
