package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"impactd/internal/domain"
	"impactd/internal/period"
	"impactd/internal/runs"
	"impactd/internal/store"
)

// The run pages: the dashboard (next scheduled run, start a run, recent
// runs), one run (counts, exceptions, failures, rerun and resume), resending
// a statement, and the bounced addresses. Every start goes through
// runs.Service.Start; the console only translates the form.

// runningFor is the seconds between refreshes of a page that shows an
// unfinished run.
const runningFor = 5

// ScheduledRun is the next run the schedule will start.
type ScheduledRun struct {
	At     time.Time
	Period string
}

// Schedule tells when the next scheduled run is.
type Schedule interface {
	// Next returns the next scheduled run after now; ok is false when no
	// schedule is configured.
	Next(now time.Time) (next ScheduledRun, ok bool)
}

// NoSchedule is the schedule of an impactd that runs only when asked.
type NoSchedule struct{}

// Next reports that nothing is scheduled.
func (NoSchedule) Next(time.Time) (ScheduledRun, bool) { return ScheduledRun{}, false }

type runRow struct {
	domain.Run
	Counts  domain.RunCounts
	Percent int
}

func (c *Console) runRows(ctx context.Context, rs []domain.Run) ([]runRow, bool, error) {
	rows := make([]runRow, 0, len(rs))
	unfinished := false
	for _, r := range rs {
		counts, err := c.o.Store.CountRun(ctx, r.ID)
		if err != nil {
			return nil, false, err
		}
		pct := 0
		if counts.Jobs > 0 {
			pct = counts.Done() * 100 / counts.Jobs
		}
		unfinished = unfinished || r.Status == domain.RunRunning
		rows = append(rows, runRow{Run: r, Counts: counts, Percent: pct})
	}
	return rows, unfinished, nil
}

type dashboardData struct {
	Next       ScheduledRun
	HasNext    bool
	Runs       []runRow
	LastPeriod string
}

// Dashboard shows the next scheduled run, a form to start one and the recent runs.
func (c *Console) Dashboard() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recent, err := c.o.Store.RecentRuns(r.Context(), 20)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		rows, running, err := c.runRows(r.Context(), recent)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		now := c.o.Clock.Now()
		next, ok := c.o.Schedule.Next(now)
		v := view{Title: "Dashboard", Nav: "dashboard", Data: dashboardData{Next: next, HasNext: ok, Runs: rows,
			LastPeriod: period.LastComplete(now, c.o.PeriodKind, c.o.Location).String()}}
		if running {
			v.Refresh = runningFor
		}
		c.render(w, r, http.StatusOK, "dashboard", v)
	})
}

// formReason returns the trimmed reason and whether the confirmation box was ticked.
func formReason(r *http.Request) (string, error) {
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		return "", domain.Errorf(domain.EINVALID, "Say why: the reason is recorded in the audit log.")
	}
	if len(reason) > 500 {
		return "", domain.Errorf(domain.EINVALID, "Keep the reason under 500 characters.")
	}
	if r.PostFormValue("confirm") != "yes" {
		return "", domain.Errorf(domain.EINVALID, "Tick the confirmation box to go ahead.")
	}
	return reason, nil
}

// StartRun starts a run of a period (operators).
func (c *Console) StartRun() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reason, err := formReason(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.start(w, r, runs.Request{Period: r.PostFormValue("period"), Reason: reason, DryRun: r.PostFormValue("dry_run") == "yes"}, "run-started")
	})
}

// start hands a request to the runs service and shows the run: the new
// one, or the unfinished run of the period that kept it from starting.
func (c *Console) start(w http.ResponseWriter, r *http.Request, req runs.Request, done string) {
	req.Trigger, req.Actor = "console", actor(r.Context())
	run, err := c.o.Runs.Start(r.Context(), req)
	var busy *runs.InProgressError
	if errors.As(err, &busy) {
		redirect(w, r, "/console/runs/"+busy.Run.ID+"?done=in-progress")
		return
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	redirect(w, r, "/console/runs/"+run.ID+"?done="+done)
}

type exception struct {
	Reason string
	Count  int
}

type runData struct {
	Run        runRow
	Exceptions []exception
	Failures   []store.FailedDelivery
	// Unmade are the letters that could not be made (template errors).
	Unmade []domain.Job
}

// RunPage shows one run: counts, why it is paused, exceptions by reason,
// letters that could not be made, failed deliveries with the mail server's
// answer, and rerun and resume forms for operators.
func (c *Console) RunPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		run, err := c.o.Store.Run(r.Context(), r.PathValue("id"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		rows, running, err := c.runRows(r.Context(), []domain.Run{*run})
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d := runData{Run: rows[0]}
		ex := d.Run.Counts.SkippedBy
		if !run.Unfinished() {
			ex = nil
			_ = json.Unmarshal([]byte(run.Exceptions), &ex) // a malformed report shows as empty
		}
		for k, n := range ex {
			d.Exceptions = append(d.Exceptions, exception{k, n})
		}
		sort.Slice(d.Exceptions, func(i, j int) bool { return d.Exceptions[i].Reason < d.Exceptions[j].Reason })
		if d.Failures, err = c.o.Store.FailedDeliveries(r.Context(), run.ID, 200); err != nil {
			c.fail(w, r, err)
			return
		}
		if d.Unmade, err = c.o.Store.FailedJobs(r.Context(), run.ID, 200); err != nil {
			c.fail(w, r, err)
			return
		}
		v := view{Title: "Run " + run.Period, Nav: "dashboard", Data: d}
		if running {
			v.Refresh = runningFor
		}
		c.render(w, r, http.StatusOK, "run", v)
	})
}

// Rerun reruns a run: all of its period, its failed statements, or one donor (operators).
func (c *Console) Rerun() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		run, err := c.o.Store.Run(r.Context(), r.PathValue("id"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		reason, err := formReason(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		req := runs.Request{Period: run.Period, RerunOf: run.ID, Reason: reason, Action: "run.rerun",
			Scope: r.PostFormValue("scope"), Force: r.PostFormValue("force") == "yes", DryRun: r.PostFormValue("dry_run") == "yes"}
		switch req.Scope {
		case domain.RunScopePeriod, domain.RunScopeFailed:
		case domain.RunScopeDonor:
			req.Donor = r.PostFormValue("donor_id")
		default:
			c.fail(w, r, domain.Errorf(domain.EINVALID, "Choose what to rerun."))
			return
		}
		c.start(w, r, req, "rerun-started")
	})
}

// Resend sends a statement again, as it is (operators).
func (c *Console) Resend() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := c.o.Store.Statement(r.Context(), r.PathValue("id"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		reason, err := formReason(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.start(w, r, runs.Request{Scope: domain.RunScopeStatement, StatementID: st.ID, RerunOf: st.RunID, Reason: reason,
			Action: "statement.resend", Force: true}, "resent")
	})
}

// Resume resumes a paused run once its relay is fixed (operators).
func (c *Console) Resume() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reason, err := formReason(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		run, err := c.o.Runs.Resume(r.Context(), r.PathValue("id"), actor(r.Context()), reason)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		redirect(w, r, "/console/runs/"+run.ID+"?done=resumed")
	})
}

// Bounces lists the addresses whose mail server refused them for good,
// with a form to clear one (operators).
func (c *Console) Bounces() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bs, err := c.o.Runs.Bounces(r.Context(), 500)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusOK, "bounces", view{Title: "Bounced addresses", Nav: "bounces", Data: bs})
	})
}

// ClearBounce lets letters go to a bounced address again (operators); it is audited.
func (c *Console) ClearBounce() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reason, err := formReason(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if err := c.o.Runs.ClearBounce(r.Context(), r.PostFormValue("email"), actor(r.Context()), reason); err != nil {
			c.fail(w, r, err)
			return
		}
		redirect(w, r, "/console/bounces?done=bounce-cleared")
	})
}
