package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"impactd/internal/store/storetest"
	"impactd/internal/webtest"
)

// TestConsoleRunAuditedOnce: a run started from the console is in the
// audit log once, by the operator who started it, with their reason.
func TestConsoleRunAuditedOnce(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		b := webtest.Setup(t, dbURL, webtest.Options{})
		b.Publish(t, b.DraftUpdate(t))
		op := webtest.Client(t)
		csrf := b.SignIn(t, op, webtest.Operator)
		r := b.Post(t, op, "/console/runs", url.Values{"csrf": {csrf}, "period": {webtest.Period}, "reason": {"quarterly letters"}, "confirm": {"yes"}})
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/console/runs/run_") {
			t.Fatalf("start: %d %q %s", r.Status, r.Location, r.Body)
		}
		runID := strings.TrimPrefix(strings.SplitN(r.Location, "?", 2)[0], "/console/runs/")
		audit, err := b.App.Store.AuditLog(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		var starts []string
		for _, e := range audit {
			if e.Subject == runID && strings.HasPrefix(e.Action, "run.") && e.Action != "run.pause" {
				starts = append(starts, e.Action+" by "+e.Actor+": "+e.Reason)
			}
		}
		if want := "run.start by staff:" + webtest.Operator + ": quarterly letters"; len(starts) != 1 || starts[0] != want {
			t.Errorf("audit entries of the run: %q, want [%q]", starts, want)
		}
	})
}
