package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"impactd/internal/domain"
	"impactd/internal/period"
	"impactd/internal/runs"
	"impactd/internal/store"
	"impactd/internal/webui"
)

// The run pages: the dashboard (next scheduled run, start a run, recent
// runs), one run (counts, exceptions, failures, rerun and resume), resending
// a statement, and the bounced addresses. Every start goes through
// runs.Service.Start; the console only translates the form.

// runningFor is the seconds between refreshes of a page that shows an
// unfinished run.
const runningFor = 5

// ScheduledRun is the next run a series' schedule will start.
type ScheduledRun struct {
	Series domain.Series
	At     time.Time
	Period string
}

// Schedule tells when the next scheduled runs are.
type Schedule interface {
	// Next returns the next scheduled run after now of each series whose
	// schedule is on, in domain.AllSeries order; none when no schedule is
	// configured.
	Next(now time.Time) []ScheduledRun
}

// NoSchedule is the schedule of an impactd that runs only when asked.
type NoSchedule struct{}

// Next reports that nothing is scheduled.
func (NoSchedule) Next(time.Time) []ScheduledRun { return nil }

// seriesLabel names a series on the staff pages.
func seriesLabel(s domain.Series) string {
	if s.OrDefault() == domain.SeriesAnnual {
		return "Annual statement"
	}
	return "Impact letter"
}

// runTitle is a run page's title: "Run 2026-Q3", and the annual
// statement's "Run 2025/26 (annual statements)".
func runTitle(run *domain.Run) string {
	if run.Series.OrDefault() == domain.SeriesAnnual {
		return "Run " + run.Period + " (annual statements)"
	}
	return "Run " + run.Period
}

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
	Next []ScheduledRun
	Runs []runRow
	// Series are the choices of the start form, each with the period it
	// would most likely run: the last complete one of its kind.
	Series []seriesChoice
}

type seriesChoice struct {
	Series     domain.Series
	Label      string
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
		d := dashboardData{Next: c.o.Schedule.Next(now), Runs: rows}
		for _, s := range domain.AllSeries {
			kind := c.o.PeriodKind
			if s == domain.SeriesAnnual {
				kind = c.o.AnnualPeriodKind
			}
			d.Series = append(d.Series, seriesChoice{Series: s, Label: seriesLabel(s),
				LastPeriod: period.LastComplete(now, kind, c.o.Location).String()})
		}
		v := view{Title: "Dashboard", Nav: "dashboard", Data: d}
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
		series := r.PostFormValue("series")
		p := strings.TrimSpace(r.PostFormValue("period"))
		if p == "" {
			// The form offers each series' last complete period; the
			// field left empty takes the chosen series'.
			p = r.PostFormValue("period_" + series)
		}
		c.start(w, r, runs.Request{Series: series, Period: p, Reason: reason, DryRun: r.PostFormValue("dry_run") == "yes"}, "run-started", nil)
	})
}

// start hands a request to the runs service and shows the run: the new
// one, or the unfinished run of the period that kept it from starting.
// Any other refusal goes to failed when set, else to the error page.
func (c *Console) start(w http.ResponseWriter, r *http.Request, req runs.Request, done string, failed func(error)) {
	req.Trigger, req.Actor = "console", actor(r.Context())
	run, err := c.o.Runs.Start(r.Context(), req)
	var busy *runs.InProgressError
	if errors.As(err, &busy) {
		redirect(w, r, "/console/runs/"+busy.Run.ID+"?done=in-progress")
		return
	}
	if err != nil && failed != nil {
		failed(err)
		return
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	redirect(w, r, "/console/runs/"+run.ID+"?done="+done)
}

type runData struct {
	Run       runRow
	DonorName string // the donor of a one-donor run, by name
	// Empty says why the run, finished, sent (a dry run: made) nothing.
	Empty      *emptyRun
	Exceptions []exception
	Failures   []store.FailedDelivery
	// Unmade are the letters that could not be made (template errors).
	Unmade []domain.Job
	// Samples are a few of the run's letters, to look at.
	Samples []sampleLetter
	Form    rerunForm
}

// runPage gathers what the run page shows.
func (c *Console) runPage(ctx context.Context, run *domain.Run, form rerunForm) (runData, bool, error) {
	rows, running, err := c.runRows(ctx, []domain.Run{*run})
	if err != nil {
		return runData{}, false, err
	}
	d := runData{Run: rows[0], Form: form}
	ex := d.Run.Counts.SkippedBy
	if !run.Unfinished() {
		ex = nil
		_ = json.Unmarshal([]byte(run.Exceptions), &ex) // a malformed report shows as empty
	}
	d.Exceptions = exceptions(run, ex)
	d.Empty = whyEmpty(run, d.Run.Counts)
	if d.DonorName, err = c.runDonorName(ctx, run); err != nil {
		return runData{}, false, err
	}
	if d.Failures, err = c.o.Store.FailedDeliveries(ctx, run.ID, 200); err != nil {
		return runData{}, false, err
	}
	if d.Unmade, err = c.o.Store.FailedJobs(ctx, run.ID, 200); err != nil {
		return runData{}, false, err
	}
	if d.Samples, err = c.samples(ctx, run.ID); err != nil {
		return runData{}, false, err
	}
	return d, running, nil
}

// RunPage shows one run: counts, why it is paused or sent nothing and what
// to do next, exceptions by reason, a few of its letters, letters that could
// not be made, failed deliveries with the mail server's answer, and rerun
// and resume forms for operators.
func (c *Console) RunPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		run, err := c.o.Store.Run(r.Context(), r.PathValue("id"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d, running, err := c.runPage(r.Context(), run, defaultForm(run, r.URL.Query()))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		v := view{Title: runTitle(run), Nav: "dashboard", Data: d}
		if running {
			v.Refresh = runningFor
		}
		c.render(w, r, http.StatusOK, "run", v)
	})
}

// Rerun reruns a run: all of its period, its failed statements, or one
// donor, found by name, email address or id (operators). When the donor
// typed matches several people, or the rerun cannot start, the run page
// comes back with the form as it was filled in and says why; several
// matches are listed to pick from.
func (c *Console) Rerun() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		run, err := c.o.Store.Run(r.Context(), r.PathValue("id"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		form := formFrom(r)
		reason, err := formReason(r)
		if err != nil {
			c.rerunAgain(w, r, run, form, err)
			return
		}
		req := runs.Request{Series: string(run.Series.OrDefault()), Period: run.Period, RerunOf: run.ID, Reason: reason, Action: "run.rerun",
			Scope: form.Scope, Force: form.Force, DryRun: form.DryRun}
		switch req.Scope {
		case domain.RunScopePeriod, domain.RunScopeFailed:
		case domain.RunScopeDonor:
			req.Donor = form.Donor
		default:
			c.rerunAgain(w, r, run, form, domain.Errorf(domain.EINVALID, "Choose what to rerun."))
			return
		}
		c.start(w, r, req, "rerun-started", func(err error) { c.rerunAgain(w, r, run, form, err) })
	})
}

// rerunAgain shows the run page again with the rerun form as it was posted
// and why it did not start: with the donors to pick from when the one typed
// matches several. Internal errors get the error page.
func (c *Console) rerunAgain(w http.ResponseWriter, r *http.Request, run *domain.Run, form rerunForm, cause error) {
	status := webui.Status(cause)
	if status == http.StatusInternalServerError {
		c.fail(w, r, cause)
		return
	}
	msg := domain.ErrorMessage(cause)
	var many *runs.AmbiguousDonorError
	if errors.As(cause, &many) {
		form.Query, form.Candidates, form.More = form.Donor, many.Donors, many.Total-len(many.Donors)
		n := fmt.Sprint(many.Total)
		if many.More {
			n = "More than " + n
		}
		msg = n + " donors match “" + form.Donor + "”: pick one below."
		if many.SharedEmail {
			msg = "Several donors have the address “" + form.Donor + "”: pick one below (or merge them, if they are one person)."
		}
	}
	d, _, err := c.runPage(r.Context(), run, form)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, status, "run", view{Title: runTitle(run), Nav: "dashboard", Error: msg, Data: d})
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
			Action: "statement.resend", Force: true}, "resent", nil)
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
