package runner

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"impactd/internal/domain"
	"impactd/internal/mail"
	"impactd/internal/store"
)

// A run pauses when its mail relay is at fault, not a recipient, so that
// nobody is bounced, failed or spends a send attempt for the relay's
// mistake. A paused run keeps its jobs; none is claimed until a person
// resumes it (impactd run --resume, the console's button or the API).
//
//   - The relay refuses us outright (mail.FaultRelay: a 5xx to the
//     greeting, EHLO, AUTH or MAIL FROM, a TLS certificate or protocol
//     failure, no STARTTLS when it is required): the run pauses at once,
//     since every retry would get the same answer.
//   - The relay cannot be reached (mail.FaultUnreachable: connection
//     refused, DNS, a reset or a timeout before the session is set up):
//     the job goes back to the queue as it was, its attempts untouched, and
//     this process holds its sends (the gate below): one send at a time
//     tries the relay again after a back-off of RelayProbe, doubling. A
//     blip costs a second. RelayDownAfter failed tries in a row, counted
//     in the database across every replica, pause the run.
//   - Permanent refusals of BreakerFailures different recipients in a row
//     (a relay that answers every RCPT TO with 550 looks like a mailbox
//     refusal each time): the run pauses and the replica whose refusal
//     tripped the breaker takes back the bounces and failures of the whole
//     streak, whichever replica recorded them.
//
// The streaks live in run_breakers, one row per run, written only by
// failures (which are rare and already write a transaction) and by the
// first send that gets through after one. A success ends the streaks only
// when this process knows they may be running: it added to them itself,
// or its Work loop saw them in the database (RunsWithStreaks, read with the
// paused runs at every tick of the loop: 100 ms for impactd run, Poll — 1 s
// — for serve). So the letters of a good run cost no statement more, and a
// success in another replica can go unseen for at most a tick: the streak
// then goes on across it, which errs towards pausing, never towards
// bouncing anyone.

// relayState is what this process knows of the relay and of the runs'
// breakers.
type relayState struct {
	gate   gate
	mu     sync.Mutex
	streak map[string]bool // runs whose breaker may be counting: a success ends the streaks
	// paused are the runs known to be paused, with when this process
	// learnt it: their jobs claimed before then go back unsent. A job
	// claimed after it was claimed from a running run (claims skip paused
	// ones): the run was resumed in the meantime.
	paused map[string]time.Time
}

// mayStreak reports whether a run's breaker may be counting failures.
func (s *relayState) mayStreak(runID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streak[runID]
}

// setStreak records whether a run's breaker may be counting failures.
func (s *relayState) setStreak(runID string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.streak == nil {
		s.streak = map[string]bool{}
	}
	if on {
		s.streak[runID] = true
	} else {
		delete(s.streak, runID)
	}
}

// pausedSince reports whether a run is known to have paused after a job
// of it was claimed at claimed.
func (s *relayState) pausedSince(runID string, claimed time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.paused[runID]
	return ok && !at.Before(claimed)
}

// markPaused records that a run paused, and wakes the sends held at the
// gate so that those of the run go back to the queue.
func (s *relayState) markPaused(runID string) {
	s.mu.Lock()
	if s.paused == nil {
		s.paused = map[string]time.Time{}
	}
	if _, ok := s.paused[runID]; !ok {
		s.paused[runID] = time.Now()
	}
	s.mu.Unlock()
	s.gate.wakeAll()
}

// seen takes what the Work loop read: the runs paused now and the runs
// whose breaker counts. A streak is only ever added here, never ended: it
// ends when this process's own success has ended it in the database.
func (s *relayState) seen(paused, streaks []string) {
	s.mu.Lock()
	woke := false
	next := map[string]time.Time{}
	for _, id := range paused {
		at, ok := s.paused[id]
		if !ok {
			at, woke = time.Now(), true
		}
		next[id] = at
	}
	s.paused = next
	if s.streak == nil {
		s.streak = map[string]bool{}
	}
	for _, id := range streaks {
		s.streak[id] = true
	}
	s.mu.Unlock()
	if woke {
		s.gate.wakeAll()
	}
}

// forget drops a finished run.
func (s *relayState) forget(runID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.streak, runID)
	delete(s.paused, runID)
}

// refreshRelay reads the paused runs and the runs whose breaker counts,
// for the sends of this process (relayState.seen). A database that cannot
// be read leaves what was known.
func (r *Runner) refreshRelay(ctx context.Context) {
	paused, err := r.Store.RunsByStatus(ctx, domain.RunPaused)
	if err != nil {
		return
	}
	streaks, err := r.Store.RunsWithStreaks(ctx)
	if err != nil {
		return
	}
	ids := make([]string, len(paused))
	for i := range paused {
		ids[i] = paused[i].ID
	}
	r.sh.relay.seen(ids, streaks)
}

// gate holds this process's sends while the relay cannot be reached: once
// a send fails to connect, the others wait, and after a back-off one of
// them (the probe) tries; its success opens the gate for all, its failure
// doubles the back-off. Sends already under way when the relay went down
// fail too, but only the first failure of an outage and each probe's are
// counted: the run pauses after RelayDownAfter tries in a row, not after
// as many workers happened to be sending at that instant.
type gate struct {
	mu       sync.Mutex
	down     bool      // the last try to reach the relay failed
	failures int       // counted failures in a row
	until    time.Time // no probe before this
	probing  bool      // a probe is out
	epoch    uint64    // bumped when the relay is seen to go down or come back
	wake     chan struct{}
}

// ticket is a send's way through the gate.
type ticket struct {
	epoch uint64
	probe bool
}

// wakeAll wakes the sends waiting at the gate.
func (g *gate) wakeAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.wakeLocked()
}

func (g *gate) wakeLocked() {
	if g.wake != nil {
		close(g.wake)
	}
	g.wake = make(chan struct{})
}

// enter waits for a send's turn: at once while the relay is up, else as
// the next probe. It gives up — returning why — when giveUp says so (the
// run paused, the process is stopping) or after maxWait.
func (g *gate) enter(maxWait time.Duration, giveUp func() string) (ticket, string) {
	deadline := time.Now().Add(maxWait)
	for {
		g.mu.Lock()
		if g.wake == nil {
			g.wake = make(chan struct{})
		}
		if !g.down {
			t := ticket{epoch: g.epoch}
			g.mu.Unlock()
			return t, ""
		}
		now := time.Now()
		if !g.probing && !now.Before(g.until) {
			g.probing = true
			t := ticket{epoch: g.epoch, probe: true}
			g.mu.Unlock()
			return t, ""
		}
		wake, until, probing := g.wake, g.until, g.probing
		g.mu.Unlock()
		if why := giveUp(); why != "" {
			return ticket{}, why
		}
		if now.After(deadline) {
			return ticket{}, "the mail relay could not be reached; waited " + maxWait.String()
		}
		wait := 100 * time.Millisecond // how often giveUp is asked
		if !probing {
			wait = min(wait, max(until.Sub(now), time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// leave records what a send through the gate found, and reports whether
// it counts as a failed try to reach the relay: a failure to connect that
// is the outage's first, or a probe's.
func (g *gate) leave(t ticket, f mail.Fault, backoff func(failures int) time.Duration) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t.probe {
		g.probing = false
	}
	if f != mail.FaultUnreachable {
		if g.down || g.failures > 0 {
			g.down, g.failures = false, 0
			g.epoch++
			g.wakeLocked()
		}
		return false
	}
	if t.epoch != g.epoch && !t.probe {
		return false // this send began before the outage was seen
	}
	g.down = true
	g.failures++
	g.until = time.Now().Add(backoff(g.failures))
	g.epoch++
	g.wakeLocked()
	return true
}

// abandon gives back a ticket whose send was not made.
func (g *gate) abandon(t ticket) {
	if !t.probe {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.probing = false
	g.wakeLocked()
}

// retryAt is when a send that could not reach the relay should be tried
// again: when the gate lets the next probe through.
func (g *gate) retryAt() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.until
}

// probeBackoff is the wait before the relay is tried again after the
// given number of failed tries in a row: RelayProbe, doubling, at most 30 s.
func (r *Runner) probeBackoff(failures int) time.Duration {
	d := r.Options.RelayProbe
	for i := 1; i < failures && d < 30*time.Second; i++ {
		d *= 2
	}
	return min(d, 30*time.Second)
}

// streakMember is one refusal of a breaker's streak.
type streakMember struct {
	jobID, email string
}

// breakerVerdict is what the database's breaker says about one failure.
type breakerVerdict struct {
	pause string         // pause the run for this reason ("" no)
	undo  []streakMember // the streak's earlier refusals, to take back
}

// countFailure adds a send's failure to its run's breaker b, locked in tx,
// and says whether the run must pause. A refusal (recipient or message) adds to the
// refusals unless its address is already in the streak, and ends the
// unreachable streak; a counted failure to reach the relay adds to that
// streak only.
func (r *Runner) countFailure(ctx context.Context, tx *store.Tx, b *store.Breaker, jobID, email string, f mail.Fault, detail string, now time.Time) (breakerVerdict, error) {
	var v breakerVerdict
	switch f {
	case mail.FaultUnreachable:
		b.Unreachable++
		if b.Unreachable >= r.Options.RelayDownAfter {
			v.pause = fmt.Sprintf("the mail relay could not be reached (%d tries in a row): %s", b.Unreachable, detail)
			b.Unreachable = 0
		}
	default:
		b.Unreachable = 0
		if r.Options.BreakerFailures < 0 || slices.Contains(b.RefusedJobs, jobID) {
			break
		}
		emails, err := tx.JobEmails(ctx, b.RefusedJobs)
		if err != nil {
			return v, err
		}
		for _, id := range b.RefusedJobs {
			if emails[id] == email {
				return v, tx.SaveBreaker(ctx, b, now.Unix()) // the same recipient again says nothing new
			}
		}
		b.RefusedJobs = append(b.RefusedJobs, jobID)
		b.Refusals = len(b.RefusedJobs)
		if b.Refusals >= r.Options.BreakerFailures {
			v.pause = fmt.Sprintf("%d sends in a row failed, each to a different recipient; the last: %s", b.Refusals, detail)
			for _, id := range b.RefusedJobs[:len(b.RefusedJobs)-1] {
				v.undo = append(v.undo, streakMember{jobID: id, email: emails[id]})
			}
			b.Refusals, b.RefusedJobs = 0, nil
		}
	}
	return v, tx.SaveBreaker(ctx, b, now.Unix())
}

// pause pauses a run in tx, with an audit entry, ends its streaks and
// takes back the refusals in undo: the bounces this run recorded for them
// are cleared and their jobs go back to the queue. It reports whether this
// call paused it.
func (r *Runner) pause(ctx context.Context, tx *store.Tx, runID, reason string, undo []streakMember, now time.Time) (bool, error) {
	paused, err := tx.PauseRun(ctx, runID, reason, now.Unix())
	if err != nil {
		return false, err
	}
	if err := tx.EndStreaks(ctx, runID, true); err != nil {
		return false, err
	}
	var ids []string
	for _, s := range undo {
		if s.email != "" {
			if _, err := tx.ClearBounce(ctx, s.email, runID); err != nil {
				return false, err
			}
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
