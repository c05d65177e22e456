package runner

import (
	"context"
	"fmt"
	"sync"
	"time"

	"impactd/internal/mail"
	"impactd/internal/store"
)

// A run pauses when its mail relay is at fault, not a recipient: at once
// when the relay refuses us outright (mail.FaultRelay), and through the
// circuit breaker when sends to different recipients fail one after the
// other — permanently, or because the relay cannot be reached. A relay
// that answers every RCPT TO with 550 looks like a mailbox refusal each
// time; after BreakerFailures of them in a row the breaker takes back the
// bounces and failures it recorded and pauses the run, so that nobody is
// suppressed for the relay's mistake. A success, or a failure of another
// kind, ends the streak. A paused run keeps its jobs; none is claimed until
// a person resumes it (impactd run --resume, or the console's button).

// relayState is this process's circuit breaker, per run.
type relayState struct {
	mu   sync.Mutex
	runs map[string]*breaker
}

// breaker counts one run's streak of relay-like failures.
type breaker struct {
	streak []streak
	seen   map[string]bool // recipients in the streak
}

// streak is one failure of a breaker's streak.
type streak struct {
	jobID, email string
}

// trip is a breaker's decision to pause a run.
type trip struct {
	reason string
	others []streak // the streak's earlier failures, to take back
}

// observe adds a send's fault to the run's streak and says whether the
// breaker trips; limit < 0 disables it.
func (s *relayState) observe(runID string, f mail.Fault, email, jobID string, limit int, detail string) *trip {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runs == nil {
		s.runs = map[string]*breaker{}
	}
	b := s.runs[runID]
	if b == nil {
		b = &breaker{seen: map[string]bool{}}
		s.runs[runID] = b
	}
	switch f {
	case mail.FaultRecipient, mail.FaultMessage, mail.FaultUnreachable:
	case mail.FaultTemporary:
		return nil // a greylisting or busy recipient says nothing about the relay
	default:
		b.streak, b.seen = nil, map[string]bool{}
		return nil
	}
	if limit < 0 || b.seen[email] {
		return nil
	}
	b.seen[email] = true
	b.streak = append(b.streak, streak{jobID: jobID, email: email})
	if len(b.streak) < limit {
		return nil
	}
	t := &trip{reason: fmt.Sprintf("%d sends in a row failed, each to a different recipient; the last: %s", len(b.streak), detail),
		others: b.streak[:len(b.streak)-1]}
	b.streak, b.seen = nil, map[string]bool{}
	return t
}

// reset ends a run's streak.
func (s *relayState) reset(runID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.runs, runID)
}

// forget drops a finished run.
func (s *relayState) forget(runID string) { s.reset(runID) }

// pause pauses a run in tx, with an audit entry, and takes back the
// failures in undo: the bounces this run recorded for them are cleared and
// their jobs go back to the queue. It reports whether this call paused it.
func (r *Runner) pause(ctx context.Context, tx *store.Tx, runID, reason string, undo []streak, now time.Time) (bool, error) {
	paused, err := tx.PauseRun(ctx, runID, reason, now.Unix())
	if err != nil {
		return false, err
	}
	var ids []string
	for _, s := range undo {
		if _, err := tx.ClearBounce(ctx, s.email, runID); err != nil {
			return false, err
		}
		ids = append(ids, s.jobID)
	}
	if err := tx.ReopenJobs(ctx, ids, "taken back: the run paused because the relay refused every recipient", now.Unix()); err != nil {
		return false, err
	}
	if !paused {
		return false, nil
	}
	return true, tx.Audit(ctx, &store.AuditEntry{Actor: "impactd", Action: "run.pause", Subject: runID, Reason: reason,
		Detail: fmt.Sprintf(`{"worker":%q,"taken_back":%d}`, r.WorkerID, len(ids)), CreatedAt: now.Unix()})
}

// notifyPaused tells the staff that a run paused (best effort: the relay
// may refuse this mail too; the console and the CLI show the reason).
func (r *Runner) notifyPaused(ctx context.Context, runID string) {
	run, err := r.Store.Run(ctx, runID)
	if err != nil {
		return
	}
	r.Log.Warn("run paused: fix the mail relay, then resume it", "run_id", runID, "reason", run.PauseReason)
	if r.Options.StaffEmail == "" {
		return
	}
	c, err := r.Store.CountRun(ctx, runID)
	if err != nil {
		return
	}
	if err := r.Mailer.Send(ctx, r.Compose.Paused(run, c, r.Options.StaffEmail, r.Clock.Now())); err != nil {
		r.Log.Warn("paused run's notice not sent", "run_id", runID, "err", err)
	}
}
