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
		for _, want := range []string{"already in progress", "Paused:", "MAIL FROM: 550 5.7.1 not allowed", "Nobody was marked bounced", `action="/console/runs/` + held.ID + `/resume"`} {
			if !strings.Contains(page.Body, want) {
				t.Errorf("run page lacks %q", want)
			}
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
