package console

import (
	"context"
	"time"

	"impactd/internal/domain"
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
