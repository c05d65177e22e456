package console

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"impactd/internal/domain"
	"impactd/internal/period"
	"impactd/internal/runner"
)

// Run scopes: what a run or rerun covers.
const (
	ScopePeriod    = "period"    // every eligible donor of the period
	ScopeFailed    = "failed"    // only statements whose email failed
	ScopeDonor     = "donor"     // one donor
	ScopeStatement = "statement" // resend one statement as it is
)

// RunRequest asks for a run or a rerun.
type RunRequest struct {
	Period      string
	Scope       string // Scope*; "" is ScopePeriod
	DonorID     string // ScopeDonor
	StatementID string // ScopeStatement
	RerunOf     string // the run this reruns, if any
	Reason      string // required; recorded with the run
	Actor       string // "staff:EMAIL"
	DryRun      bool
	Force       bool // send even statements identical to one already delivered
}

// Progress is how far a run has got.
type Progress struct {
	Done, Total int
}

// Runs starts statement runs and reports their progress. The console calls
// nothing else to produce or send letters.
type Runs interface {
	// Start begins a run in the background. It returns the run when its
	// record exists already, or nil when it will appear shortly.
	Start(ctx context.Context, req RunRequest) (*domain.Run, error)
	// Progress reports how far a run has got.
	Progress(ctx context.Context, run *domain.Run) (Progress, error)
}

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

// RunnerRuns starts runs with today's synchronous runner.Runner, each in a
// goroutine. It covers whole periods (ScopePeriod and, because the runner
// sends again exactly what was not delivered unchanged, ScopeFailed); runs
// of one donor or one statement need the durable runner and are refused as
// unavailable until it is wired in.
type RunnerRuns struct {
	Runner *runner.Runner
	Log    *slog.Logger
	// Base is the context the background runs live in (the server's);
	// cancelling it stops them.
	Base context.Context
	wg   sync.WaitGroup
}

// Start runs the period in the background and returns nil: the synchronous
// runner creates its run record itself.
func (rr *RunnerRuns) Start(ctx context.Context, req RunRequest) (*domain.Run, error) {
	switch req.Scope {
	case "", ScopePeriod, ScopeFailed:
	default:
		return nil, domain.Errorf(domain.EUNAVAILABLE, "Rerunning one donor or one statement needs the durable runner, which this impactd does not have yet.")
	}
	p, err := period.Parse(req.Period)
	if err != nil {
		return nil, domain.Errorf(domain.EINVALID, "%v", err)
	}
	reason := req.Reason
	if req.Actor != "" {
		reason = req.Actor + ": " + reason
	}
	base := rr.Base
	if base == nil {
		base = context.Background()
	}
	rr.wg.Add(1)
	go func() {
		defer rr.wg.Done()
		if _, err := rr.Runner.Run(base, runner.Request{Period: p, Trigger: "console", Reason: reason, DryRun: req.DryRun}); err != nil {
			rr.Log.Error("console run failed", "period", p.String(), "err", err)
		}
	}()
	return nil, nil
}

// Progress reads the counts of the run record, which today's runner writes
// when the run ends.
func (rr *RunnerRuns) Progress(_ context.Context, run *domain.Run) (Progress, error) {
	return Progress{Done: run.Rendered + run.Failed + run.Skipped, Total: run.Eligible + run.Skipped}, nil
}

// Wait waits for the runs started so far to end.
func (rr *RunnerRuns) Wait() { rr.wg.Wait() }
