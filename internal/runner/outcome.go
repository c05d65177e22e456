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
//   - temporary: back in the queue after a back-off, failed once the
//     attempts are used up.
//
// Failures that look like the relay's doing feed the run's circuit
// breaker, which pauses the run after too many in a row (relay.go).
//
// The outcome is retried until it is recorded: a database restart or a
// busy SQLite here must not leave the attempt open, or the job would be
// taken for cut off and the letter sent twice. It is committed without
// waiting for the WAL flush on PostgreSQL (InTxRelaxed), which halves the
// flushes per letter. A commit that returned is lost only if PostgreSQL or
// its machine crashes before the WAL reaches disk (a kill -9 of impactd
// loses nothing); the attempt is then found "sending" and treated as every
// send cut off by a crash: sent again under the same Message-ID and counted
// in the run's interrupted figure, which stays an upper bound of the
// duplicates. That window is short: the WAL is written in order, so the
// synchronous commit of this worker's next batch of attempts — which comes
// before its next send — makes these outcomes durable too, as does any
// synchronous commit of any other worker; at most one batch of outcomes per
// worker (claimBatch) is ever at risk, as many as the open attempts a crash
// already leaves behind.
func (r *Runner) recordSend(ctx context.Context, jb *job, sendErr error) {
	now := r.Clock.Now()
	fault := mail.Classify(sendErr)
	detail := ""
	if sendErr != nil {
		detail = sendErr.Error()
	}
	j, runID := *jb.Job, jb.RunID
	o := sendOutcome{delivery: domain.DeliverySent}
	switch fault {
	case mail.FaultNone:
		j.Status, j.LastError = domain.JobSent, ""
	case mail.FaultRecipient:
		o.delivery, o.bounce = domain.DeliveryPermFailed, true
		j.Status, j.Failure, j.LastError = domain.JobFailed, domain.FailBounced, detail
	case mail.FaultMessage:
		o.delivery = domain.DeliveryPermFailed
		j.Status, j.Failure, j.LastError = domain.JobFailed, domain.FailRefused, detail
	case mail.FaultRelay:
		o.delivery, o.pause = domain.DeliveryTempFailed, "the mail relay refused to send: "+detail
		j.Status, j.LastError, j.RunAfterMS = domain.JobPending, detail, now.UnixMilli()
	default: // temporary, unreachable
		o.delivery = domain.DeliveryTempFailed
		j.Attempts++
		j.Status, j.LastError = domain.JobPending, detail
		if j.Attempts >= r.Options.MaxAttempts {
			j.Status, j.Failure, j.LastError = domain.JobFailed, domain.FailGaveUp, fmt.Sprintf("gave up after %d attempts: %s", j.Attempts, detail)
		} else {
			j.RunAfterMS = now.Add(r.backoff(j.Attempts)).UnixMilli()
		}
	}
	if o.pause == "" {
		if trip := r.sh.relay.observe(runID, fault, jb.donor.Email, j.ID, r.Options.BreakerFailures, detail); trip != nil {
			// The relay refuses everyone: take back what the streak did,
			// this job's failure included, and pause.
			o.pause, o.undo, o.bounce = trip.reason, trip.others, false
			if j.Status == domain.JobFailed {
				j.Status, j.Failure, j.Attempts, j.RunAfterMS = domain.JobPending, "", 0, now.UnixMilli()
			}
		}
	} else {
		r.sh.relay.reset(runID)
	}

	paused := false
	err := r.persist(ctx, jb, func() error {
		paused = false
		err := r.Store.InTxRelaxed(ctx, func(tx *store.Tx) error {
			if _, err := tx.UpdateDeliveryStatus(ctx, jb.dl.ID, domain.DeliverySending, o.delivery, detail, now.Unix()); err != nil {
				return err
			}
			if fault == mail.FaultRecipient || fault == mail.FaultMessage || fault == mail.FaultUnreachable {
				// A send that was in flight when the run paused (here or in
				// another process) is held with the rest: whatever failed it
				// was probably what paused the run, so nobody is bounced.
				if run, err := tx.Run(ctx, runID); err != nil {
					return err
				} else if run.Status == domain.RunPaused && o.pause == "" {
					o.bounce = false
					j.Status, j.Failure, j.LastError, j.RunAfterMS = domain.JobPending, "", detail, now.UnixMilli()
					j.Attempts = jb.Attempts
				}
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
		jb.log.Error("send outcome not recorded; the job will be taken for cut off", "err", err)
		return
	}
	*jb.Job = j
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
	case j.Status == domain.JobPending:
		jb.log.Warn("send failed; will retry", "fault", fault.String(), "attempt", j.Attempts, "retry_in_ms", j.RunAfterMS-now.UnixMilli(), "err", sendErr)
	default:
		jb.log.Error("send failed", "fault", fault.String(), "err", sendErr)
	}
	if paused {
		r.notifyPaused(context.WithoutCancel(ctx), runID)
	}
}

// sendOutcome is what recording a send changes besides the job.
type sendOutcome struct {
	delivery string   // the attempt's new status
	bounce   bool     // mark the address bounced
	pause    string   // pause the run for this reason
	undo     []streak // failures the circuit breaker takes back
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

// persist runs fn until it succeeds or fails for a reason other than the
// database being unavailable, backing off in between; it is for what must
// be recorded whatever it takes (a send's outcome).
func (r *Runner) persist(ctx context.Context, jb *job, fn func() error) error {
	return r.persistUntil(ctx, jb, time.Time{}, fn)
}

// persistUntil is persist that gives up at deadline (zero: never), for
// what the lease's expiry would recover anyway.
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
		case !store.IsTransient(err):
			jb.log.Error("job outcome not recorded", "err", err)
			return err
		case !deadline.IsZero() && time.Now().Add(delay).After(deadline):
			jb.log.Error("job outcome not recorded; its lease will expire and it will be taken over", "err", err)
			return err
		}
		jb.log.Warn("database unavailable; retrying to record the job", "retry_in_ms", delay.Milliseconds(), "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
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
