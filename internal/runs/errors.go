package runs

import (
	"fmt"
	"time"

	"impactd/internal/domain"
)

// InProgressError is Start's answer when the period already has an
// unfinished run that sends: nothing was started. It is a conflict
// (domain.ECONFLICT) whose message says which run, since when and how far
// it has got.
type InProgressError struct {
	Run    *domain.Run
	Counts domain.RunCounts
	// Same reports whether the refused request asked for what the
	// unfinished run does (same scope, donor, statement and force): then
	// working the unfinished run is doing what was asked, and the command
	// line does so.
	Same bool
	loc  *time.Location
}

// Error says which run holds the period.
func (e *InProgressError) Error() string { return e.Unwrap().Error() }

// Unwrap gives the coded error, for domain.ErrorCode and ErrorMessage.
func (e *InProgressError) Unwrap() error { return domain.Errorf(domain.ECONFLICT, "%s", e.Describe()) }

// Describe is the sentence shown to the person: "run run_… for 2026-Q2 is
// in progress, started 1 July 2026 09:00, 52 of 105 sent", with the pause
// reason when it is paused, and why the request cannot start when it asked
// for something else.
func (e *InProgressError) Describe() string {
	loc := e.loc
	if loc == nil {
		loc = time.UTC
	}
	started := time.Unix(e.Run.StartedAt, 0).In(loc).Format("2 January 2006 15:04")
	id := e.Run.ID
	if e.Run.Series.OrDefault() != domain.SeriesImpact {
		id += " (" + e.Run.Series.Label() + "s)"
	}
	s := fmt.Sprintf("run %s for %s is in progress, started %s, %d of %d sent", id, e.Run.Period, started, e.Counts.Sent, e.Counts.Eligible)
	if e.Run.Status == domain.RunPaused {
		s = fmt.Sprintf("run %s for %s is paused (%s), started %s, %d of %d sent: resume it once that is fixed",
			id, e.Run.Period, e.Run.PauseReason, started, e.Counts.Sent, e.Counts.Eligible)
	}
	if !e.Same {
		s += "; a rerun of the period starts only once that run has finished"
	}
	return s
}

// NeedsForceError refuses to send a delivered statement again without force.
type NeedsForceError struct {
	StatementID string
	DeliveredOn string // "2 January 2006"
}

// Error says what happened; adapters add how to force (a flag, a field).
func (e *NeedsForceError) Error() string { return e.Unwrap().Error() }

// Unwrap gives the coded error.
func (e *NeedsForceError) Unwrap() error {
	return domain.Errorf(domain.ECONFLICT, "statement %s was delivered on %s: sending it again needs force", e.StatementID, e.DeliveredOn)
}

// NoImpactUpdateError refuses a run of a period that has no published
// impact update: a letter without the period's figures is not sent.
// Adapters offer the way to one (the console links its impact updates).
type NoImpactUpdateError struct {
	Period string
}

// Error says what is missing and what to do.
func (e *NoImpactUpdateError) Error() string { return e.Unwrap().Error() }

// Unwrap gives the coded error.
func (e *NoImpactUpdateError) Unwrap() error {
	return domain.Errorf(domain.EINVALID, "no published impact update for %s: publish one before running statements", e.Period)
}
