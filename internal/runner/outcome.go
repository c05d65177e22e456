package runner

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"text/template"
	"time"

	"github.com/sethvargo/go-retry"

	"impactd/internal/domain"
	"impactd/internal/mail"
	"impactd/internal/store"
)

// recordSend stores a send's outcome and moves the job on, by whose fault
// a failure was (mail.Classify):
//
//   - sent;
//   - the recipient's mailbox refused for good: the job fails and the
//     address is marked bounced — the only case that bounces;
//   - this message refused for good: the job fails, nobody is bounced;
//   - the relay refuses us (MAIL FROM, AUTH, TLS, …): the job goes back to
//     the queue as if not tried and the run pauses with the reason;
//   - the relay cannot be reached: the job goes back to the queue as if
//     not tried, due when the gate lets the next try through; counted
//     (the outage's first failure, or a probe's) it adds to the run's
//     unreachable streak, which pauses the run after RelayDownAfter;
//   - temporary: back in the queue after a back-off, failed once the
//     attempts are used up.
//
// Refusals feed the run's circuit breaker, in the database (relay.go).
//
// The outcome is retried until it is recorded: a database restart or a
// busy SQLite here must not leave the attempt open, or the job would be
// taken for cut off and the letter sent twice. Only a process told to stop
// gives up, after ShutdownGrace (persistUntil): the attempt then stays
// open, and whoever takes the job over sends it again under the same
// Message-ID and counts it interrupted — the documented duplicate.
//
// It is committed without waiting for the WAL flush on PostgreSQL
// (InTxRelaxed), which halves the flushes per letter. A commit that
// returned is lost only if PostgreSQL or its machine crashes before the WAL
// reaches disk (a kill -9 of impactd loses nothing); the attempt is then
// found "sending" and treated as every send cut off by a crash: sent again
// under the same Message-ID and counted in the run's interrupted figure,
// which stays an upper bound of the duplicates. That window is short: the
// WAL is written in order, so the synchronous commit of this worker's next
// batch of attempts — which comes before its next send — makes these
// outcomes durable too, as does any synchronous commit of any other worker;
// at most one batch of outcomes per worker (claimBatch) is ever at risk, as
// many as the open attempts a crash already leaves behind.
func (r *Runner) recordSend(ctx context.Context, jb *job, sendErr error, counted bool) {
	now := r.Clock.Now()
	fault := mail.Classify(sendErr)
	detail := ""
	if sendErr != nil {
		detail = sendErr.Error()
	}
	runID := jb.RunID
	base, first := *jb.Job, sendOutcome{delivery: domain.DeliverySent}
	switch fault {
	case mail.FaultNone:
		base.Status, base.LastError = domain.JobSent, ""
	case mail.FaultRecipient:
		first.delivery, first.bounce = domain.DeliveryPermFailed, true
		base.Status, base.Failure, base.LastError = domain.JobFailed, domain.FailBounced, detail
	case mail.FaultMessage:
		first.delivery = domain.DeliveryPermFailed
		base.Status, base.Failure, base.LastError = domain.JobFailed, domain.FailRefused, detail
	case mail.FaultRelay:
		first.delivery, first.pause = domain.DeliveryTempFailed, "the mail relay refused to send: "+detail
		base.Status, base.LastError, base.RunAfterMS = domain.JobPending, detail, now.UnixMilli()
	case mail.FaultUnreachable:
		first.delivery = domain.DeliveryTempFailed
		base.Status, base.LastError = domain.JobPending, detail
		base.RunAfterMS = max(now.UnixMilli(), r.sh.relay.gate.retryAt().UnixMilli())
	default: // temporary
		first.delivery = domain.DeliveryTempFailed
		base.Attempts++
		base.Status, base.LastError = domain.JobPending, detail
		if base.Attempts >= r.Options.MaxAttempts {
			base.Status, base.Failure, base.LastError = domain.JobFailed, domain.FailGaveUp, fmt.Sprintf("gave up after %d attempts: %s", base.Attempts, detail)
		} else {
			base.RunAfterMS = now.Add(r.backoff(base.Attempts)).UnixMilli()
		}
	}
	refused := fault == mail.FaultRecipient || fault == mail.FaultMessage

	// What the transaction decides, set afresh on every try of it.
	var j domain.Job
	var o sendOutcome
	paused := false
	err := r.persist(ctx, jb, func() error {
		j, o, paused = base, first, false
		err := r.Store.InTxRelaxed(ctx, func(tx *store.Tx) error {
			if _, err := tx.UpdateDeliveryStatus(ctx, jb.dl.ID, domain.DeliverySending, o.delivery, detail, now.Unix()); err != nil {
				return err
			}
			switch {
			case refused || fault == mail.FaultUnreachable:
				// The breaker's row lock first: a replica whose failure
				// paused the run meanwhile has committed by the time it is
				// ours, and the run is read paused below.
				b, err := tx.LockBreaker(ctx, runID, now.Unix())
				if err != nil {
					return err
				}
				run, err := tx.Run(ctx, runID)
				if err != nil {
					return err
				}
				if run.Status == domain.RunPaused {
					// A send that was in flight when the run paused (here or in
					// another process) is held with the rest: whatever failed it
					// was probably what paused the run, so nobody is bounced.
					o.bounce, o.held = false, true
					j.Status, j.Failure, j.LastError, j.RunAfterMS = domain.JobPending, "", detail, now.UnixMilli()
					j.Attempts = jb.Attempts
					break
				}
				if !refused && !counted {
					break // an outage already counted, seen by a send that was under way
				}
				v, err := r.countFailure(ctx, tx, b, j.ID, jb.donor.Email, fault, detail, now)
				if err != nil {
					return err
				}
				o.counted = true
				if v.pause != "" {
					// The relay refuses everyone, or cannot be reached: take
					// back what the streak did, this job's failure included.
					o.pause, o.undo, o.bounce = v.pause, v.undo, false
					if j.Status == domain.JobFailed {
						j.Status, j.Failure, j.Attempts, j.RunAfterMS = domain.JobPending, "", jb.Attempts, now.UnixMilli()
					}
				}
			case (fault == mail.FaultNone || fault == mail.FaultTemporary) && r.sh.relay.mayStreak(runID):
				// Through to the relay: its streaks end (a 4xx ends only
				// the unreachable one). Only when they may be running, so a
				// good run pays no statement for this.
				if err := tx.EndStreaks(ctx, runID, fault == mail.FaultNone); err != nil {
					return err
				}
				o.ended = fault == mail.FaultNone
			}
			if o.bounce {
				if err := tx.AddBounce(ctx, domain.Bounce{Email: jb.donor.Email, Detail: detail, RunID: runID, CreatedAt: now.Unix()}); err != nil {
					return err
				}
			}
			var err error
			if j.Status == domain.JobPending {
				err = tx.RetryJob(ctx, &j, r.WorkerID, now.Unix())
			} else {
				err = tx.EndJob(ctx, &j, r.WorkerID, now.Unix())
			}
			if err != nil {
				return err
			}
			if o.pause != "" {
				if paused, err = r.pause(ctx, tx, runID, o.pause, o.undo, now); err != nil {
					return err
				}
			}
			return nil
		})
		if domain.ErrorCode(err) == domain.ECONFLICT {
			// The job passed to another worker while the database was away:
			// record at least what the relay said, so that its new owner
			// does not take the attempt for cut off and send it again.
			return r.Store.InTxRelaxed(ctx, func(tx *store.Tx) error {
				_, err := tx.UpdateDeliveryStatus(ctx, jb.dl.ID, domain.DeliverySending, o.delivery, detail, now.Unix())
				return err
			})
		}
		return err
	})
	if err != nil {
		r.unrecorded(jb, "send outcome", err)
		return
	}
	*jb.Job = j
	switch {
	case o.counted && o.pause == "":
		r.sh.relay.setStreak(runID, true)
	case o.ended || o.pause != "":
		r.sh.relay.setStreak(runID, false)
	}
	if o.pause != "" || o.held {
		r.sh.relay.markPaused(runID)
	}
	if r.Metrics != nil {
		if sendErr == nil {
			r.Metrics.StatementsSent.Inc()
		} else {
			r.Metrics.StatementsFailed.Inc()
		}
	}
	switch {
	case sendErr == nil:
		jb.log.Debug("statement sent")
	case j.Status == domain.JobPending && o.pause != "":
		jb.log.Warn("send failed; the run pauses", "fault", fault.String(), "err", sendErr)
	case j.Status == domain.JobPending && fault == mail.FaultUnreachable:
		jb.log.Warn("the mail relay cannot be reached; the letter waits for it", "counted", counted, "retry_in_ms", j.RunAfterMS-now.UnixMilli(), "err", sendErr)
	case j.Status == domain.JobPending:
		jb.log.Warn("send failed; will retry", "fault", fault.String(), "attempt", j.Attempts, "retry_in_ms", j.RunAfterMS-now.UnixMilli(), "err", sendErr)
	default:
		jb.log.Error("send failed", "fault", fault.String(), "err", sendErr)
	}
	if paused {
		nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		r.notifyPaused(nctx, runID)
	}
}

// sendOutcome is what recording a send changes besides the job.
type sendOutcome struct {
	delivery string         // the attempt's new status
	bounce   bool           // mark the address bounced
	pause    string         // pause the run for this reason
	undo     []streakMember // refusals the circuit breaker takes back
	held     bool           // the run was found paused: the job waits with the rest
	counted  bool           // added to the run's breaker
	ended    bool           // ended the run's streaks
}

// fail records an error that is neither the mail server's answer nor the
// database being away nor a letter that cannot be made (a snapshot that
// does not decode, say): it is retried like a temporary failure.
func (r *Runner) fail(ctx context.Context, jb *job, cause error) {
	now := r.Clock.Now()
	j := *jb.Job
	j.Attempts++
	j.LastError = cause.Error()
	final := j.Attempts >= r.Options.MaxAttempts
	if final {
		j.Status, j.Failure = domain.JobFailed, domain.FailGaveUp
	} else {
		j.RunAfterMS = now.Add(r.backoff(j.Attempts)).UnixMilli()
	}
	r.persistUntil(ctx, jb, now.Add(r.Options.Lease), func() error {
		if final {
			return r.Store.EndJob(ctx, &j, r.WorkerID, now.Unix())
		}
		return r.Store.RetryJob(ctx, &j, r.WorkerID, now.Unix())
	})
}

// release puts a job back in the queue as it was, due in a second: nothing
// was sent, and the reason (the database away, shutdown) is not the donor's.
func (r *Runner) release(ctx context.Context, jb *job, cause error) {
	now := r.Clock.Now()
	j := *jb.Job
	j.RunAfterMS = now.Add(time.Second).UnixMilli()
	jb.log.Warn("job put back; it will be tried again", "err", cause)
	r.persistUntil(ctx, jb, now.Add(r.Options.Lease), func() error {
		return r.Store.RetryJob(ctx, &j, r.WorkerID, now.Unix())
	})
}

// putBack ends a recorded send attempt that was never handed to the relay
// — its run paused, the relay stayed unreachable, the process is stopping
// — and puts the job back in the queue as it was. Should the database be
// away until the lease or the shutdown grace runs out, the attempt stays
// open: whoever takes the job over counts it interrupted, though nothing
// was sent, and sends it.
func (r *Runner) putBack(ctx context.Context, jb *job, why string) {
	now := r.Clock.Now()
	j := *jb.Job
	j.LastError = "not sent: " + why
	j.RunAfterMS = max(now.Add(time.Second).UnixMilli(), r.sh.relay.gate.retryAt().UnixMilli())
	err := r.persistUntil(ctx, jb, now.Add(r.Options.Lease), func() error {
		return r.Store.InTxRelaxed(ctx, func(tx *store.Tx) error {
			if _, err := tx.UpdateDeliveryStatus(ctx, jb.dl.ID, domain.DeliverySending, domain.DeliveryTempFailed, j.LastError, now.Unix()); err != nil {
				return err
			}
			return tx.RetryJob(ctx, &j, r.WorkerID, now.Unix())
		})
	})
	if err != nil {
		r.unrecorded(jb, "unsent attempt", err)
		return
	}
	jb.log.Info("letter not sent; back in the queue", "why", why)
}

// unrecorded reports what could not be recorded. The attempt stays open
// and the job leased to this worker: once this process is gone its jobs
// are taken over, the attempt is marked interrupted and counted in the
// run's interrupted figure, and the letter is sent again under the same
// Message-ID — so a letter the relay had taken may arrive twice, which is
// the one duplicate impactd allows.
func (r *Runner) unrecorded(jb *job, what string, err error) {
	r.sh.unrecorded.Add(1)
	if jb.stop.stopping() {
		jb.log.Error(what+" not recorded before shutdown; the attempt stays open, and whoever takes the job over sends it again under the same Message-ID and counts it interrupted",
			"err", err, "grace_ms", r.Options.ShutdownGrace.Milliseconds())
		return
	}
	jb.log.Error(what+" not recorded; the job will be taken for cut off", "err", err)
}

// persist runs fn until it succeeds or fails for a reason other than the
// database being unavailable, backing off in between; it is for what must
// be recorded whatever it takes (a send's outcome). Only a process told to
// stop gives up: ShutdownGrace after it was told, the jobs' context ends
// (Work), and with it a statement that hangs.
func (r *Runner) persist(ctx context.Context, jb *job, fn func() error) error {
	return r.persistUntil(ctx, jb, time.Time{}, fn)
}

// persistUntil is persist that also gives up at deadline (zero: never),
// for what the lease's expiry would recover anyway.
func (r *Runner) persistUntil(ctx context.Context, jb *job, deadline time.Time, fn func() error) error {
	delay := 100 * time.Millisecond
	for {
		err := fn()
		switch {
		case err == nil:
			return nil
		case domain.ErrorCode(err) == domain.ECONFLICT:
			jb.log.Warn("job lease lost; another worker has it", "err", err)
			return err
		case ctx.Err() != nil:
			return err // stopping, and the grace is over
		case !store.IsTransient(err):
			jb.log.Error("job outcome not recorded", "err", err)
			return err
		case !deadline.IsZero() && time.Now().Add(delay).After(deadline):
			jb.log.Error("job outcome not recorded; its lease will expire and it will be taken over", "err", err)
			return err
		}
		jb.log.Warn("database unavailable; retrying to record the job", "retry_in_ms", delay.Milliseconds(), "err", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// stopper tells a Work call's jobs that the process is stopping.
type stopper struct {
	ch <-chan struct{} // closed when the Work call's context ends
}

// stopping reports whether the process is stopping; a job that no Work
// call stops (nil) never is.
func (s *stopper) stopping() bool {
	if s == nil {
		return false
	}
	select {
	case <-s.ch:
		return true
	default:
		return false
	}
}

// backoff is the delay before retry n (1-based): exponential from
// RetryBackoff, capped at RetryMax, with ±20% jitter so that a relay that
// was down is not hit by every retry in the same second.
func (r *Runner) backoff(n int) time.Duration {
	b := retry.WithJitterPercent(20, retry.WithCappedDuration(r.Options.RetryMax, retry.NewExponential(r.Options.RetryBackoff)))
	var d time.Duration
	for range n {
		d, _ = b.Next()
	}
	return d
}

// isTemplateError reports whether err is a template failing on the data
// it was given (text/template and html/template both return ExecError).
func isTemplateError(err error) bool {
	var e template.ExecError
	var pe *template.ExecError
	return errors.As(err, &e) || errors.As(err, &pe)
}

// templateAt finds "NAME:LINE" in a template error: text/template keeps
// the location only in the error's text ("template: letter.tmpl:12:5: …").
var templateAt = regexp.MustCompile(`template: ([^:\s]+):(\d+):`)

// describeRenderError is the run report's line for a letter that could not
// be made: the template file and line when a template failed, and the donor.
func describeRenderError(err error, donorID string) string {
	if m := templateAt.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Sprintf("template %s line %s failed for donor %s: %v", m[1], m[2], donorID, err)
	}
	return fmt.Sprintf("letter for donor %s could not be made: %v", donorID, err)
}
