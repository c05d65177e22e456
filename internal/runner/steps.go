package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"impactd/internal/domain"
	"impactd/internal/mail"
	"impactd/internal/runs"
	"impactd/internal/store"
)

// job is a claimed job on its way through work.
type job struct {
	*domain.Job
	log   *slog.Logger
	run   *domain.Run
	donor *domain.Donor
	st    *domain.Statement
	// stored is set once st is in the database: a job taken over after a
	// crash finds its statement stored; a new one is stored with its attempt.
	stored  bool
	snap    *domain.Snapshot
	key     string // the letter's domain.LetterKey
	pdf     bytes.Buffer
	msg     *mail.Message
	dl      *domain.Delivery
	stop    *stopper  // the Work call's: set when the process is told to stop
	claimed time.Time // when the job was claimed, by this process's clock
}

// work carries a claimed batch of jobs as far as they go now: each is
// prepared (letter decided, PDF rendered, email composed), then the
// statements and send attempts of all of them are recorded in one
// transaction, then each is sent and its outcome recorded. On a PostgreSQL
// server whose WAL flush is slow the flushes were most of a run's time, so
// the batch shares one durable commit instead of two per letter (with the
// statement stored in it too, a 10,000-donor run went from ~470 to ~573
// letters/s; docs/decisions.md). Nothing is sent before its attempt is
// durable, so a crash can still only leave an open attempt behind, which a
// restart counts as interrupted and sends again under the same Message-ID
// (if the crash came before its turn to send, that count is an
// overestimate, never an underestimate).
//
// Once the process is told to stop, attempts recorded but not yet handed
// to the relay are put back unsent rather than sent: an outcome that could
// not be recorded before the process ends is the one way a letter goes
// twice, and there is no need to risk it for a letter not yet sent.
func (r *Runner) work(ctx context.Context, jobs []domain.Job, stop *stopper, claimed time.Time) {
	var ready []*job
	for i := range jobs {
		jb := &job{Job: &jobs[i], log: r.Log.With("run_id", jobs[i].RunID, "donor_id", jobs[i].DonorID), stop: stop, claimed: claimed}
		ok, err := r.prepare(ctx, jb)
		if err != nil {
			r.failed(ctx, jb, err)
			continue
		}
		if ok {
			ready = append(ready, jb)
		}
	}
	if len(ready) == 0 {
		return
	}
	// In donor order: two runs' batches that insert attempts of the same
	// letters then lock them in the same order, and cannot deadlock.
	slices.SortFunc(ready, func(a, b *job) int { return strings.Compare(a.DonorID, b.DonorID) })
	err := r.recordAttempts(ctx, ready)
	switch {
	case err == nil:
	case store.IsTransient(err):
		// Nothing was sent: put the jobs back as they were.
		for _, jb := range ready {
			r.release(ctx, jb, err)
		}
		return
	default:
		// One job's lease or data spoiled the batch: record them one by one,
		// so that only that job fails.
		var alone []*job
		for _, jb := range ready {
			if err := r.recordAttempts(ctx, []*job{jb}); err != nil {
				r.failed(ctx, jb, err)
				continue
			}
			alone = append(alone, jb)
		}
		ready = alone
	}
	for _, jb := range ready {
		switch {
		case jb.dl == nil:
			// ended in recordAttempts: another run holds the letter
		case stop.stopping():
			r.putBack(ctx, jb, "impactd was stopping")
		case r.sh.relay.pausedSince(jb.RunID, jb.claimed):
			r.putBack(ctx, jb, "the run paused")
		default:
			r.deliver(ctx, jb)
		}
	}
}

// renderError is a letter or email that could not be made from this
// donor's data. Retrying would fail the same way, so the job fails at once.
type renderError struct {
	err error
}

func (e *renderError) Error() string { return e.err.Error() }
func (e *renderError) Unwrap() error { return e.err }

// prepare does a job's first steps: the letter is decided and its snapshot
// built, or read back when a worker that crashed stored it (step 1); the
// PDF is rendered and the email composed (step 2), so that nothing that
// can fail on the donor's data is left for after the send attempt is
// recorded. A new snapshot is stored only with the send attempt
// (recordAttempts): one transaction and one update of the job fewer per
// letter than storing it here. ok is false when the job has ended here: the
// donor is left out, or the run is a dry run.
func (r *Runner) prepare(ctx context.Context, jb *job) (ok bool, err error) {
	j := jb.Job
	rs, err := r.state(ctx, j.RunID)
	if err != nil {
		if domain.ErrorCode(err) == domain.EINVALID {
			// The run's letters cannot be made at all (the series cannot
			// make the period's statements): retrying fails the same way.
			return false, &renderError{err}
		}
		return false, err
	}
	jb.run = rs.run
	donor, bounced, err := r.Store.JobDonor(ctx, j.DonorID)
	if err != nil {
		return false, err
	}
	jb.donor = donor
	if reason := r.Policy.Exclusion(rs.run, donor, bounced); reason != "" {
		return false, r.end(ctx, j, domain.JobSkipped, reason, "", "")
	}

	// Step 1: the letter.
	if j.StatementID == "" {
		l, err := r.Policy.Letter(ctx, rs.run, rs.sc, donor)
		if err != nil {
			if isTemplateError(err) || domain.ErrorCode(err) == domain.EINVALID {
				return false, &renderError{err}
			}
			return false, err
		}
		if l.Skip != "" {
			return false, r.end(ctx, j, domain.JobSkipped, l.Skip, "", "")
		}
		jb.st, jb.snap, jb.key = l.Statement, l.Snapshot, l.Key
		jb.st.ID = store.NewID("stmt")
	} else {
		if jb.st, err = r.Store.Statement(ctx, j.StatementID); err != nil {
			return false, err
		}
		jb.stored = true
		if jb.snap, err = domain.DecodeSnapshot([]byte(jb.st.Snapshot)); err != nil {
			return false, err
		}
		if skip := runs.SkipStored(jb.snap); skip != "" {
			return false, r.end(ctx, j, domain.JobSkipped, skip, "", "")
		}
		if jb.key, err = domain.LetterKey(jb.snap); err != nil {
			return false, err
		}
	}
	jb.log = jb.log.With("statement_id", jb.st.ID)
	j.MixedCurrency = len(jb.snap.Totals) > 1
	j.NoAddress = len(jb.snap.Donor.Address) == 0

	// Step 2: render and compose. The PDF is a pure function of the
	// snapshot, so it is made again rather than kept, and making it before
	// the snapshot is stored changes nothing that is recorded; a letter
	// that cannot be made leaves nothing behind.
	if err := r.Renderer.Render(&jb.pdf, jb.snap, jb.st.ContentHash); err != nil {
		return false, &renderError{fmt.Errorf("render letter: %w", err)}
	}
	if r.Metrics != nil {
		r.Metrics.StatementsRendered.Inc()
	}
	if r.PDFDir != "" {
		if err := writeFile(filepath.Join(r.PDFDir, strings.ReplaceAll(rs.run.Period, "/", "-"), j.DonorID+".pdf"), jb.pdf.Bytes()); err != nil {
			return false, err
		}
	}
	if jb.msg, err = r.Compose.Statement(jb.snap, donor, jb.st.ID, jb.pdf.Bytes(), jb.snap.Corrects, r.Clock.Now()); err != nil {
		return false, &renderError{err}
	}
	if rs.run.DryRun {
		return false, r.recordDryRun(ctx, jb)
	}
	return true, nil
}

// recordDryRun stores a dry run's statement and ends its job rendered.
func (r *Runner) recordDryRun(ctx context.Context, jb *job) error {
	now := r.Clock.Now()
	return r.Store.InTx(ctx, func(tx *store.Tx) error {
		if !jb.stored {
			if err := tx.InsertStatement(ctx, jb.st); err != nil {
				return err
			}
		}
		rec := *jb.Job
		rec.StatementID, rec.Rendered = jb.st.ID, true
		if err := tx.MarkJobRendered(ctx, &rec, r.WorkerID, now.Add(r.Options.Lease).UnixMilli(), now.Unix()); err != nil {
			return err
		}
		rec.Status, rec.SkipReason, rec.LastError = domain.JobRendered, "", ""
		return tx.EndJob(ctx, &rec, r.WorkerID, now.Unix())
	})
}

// recordAttempts is step 3 for a batch of prepared jobs, in one durable
// transaction: each job's new statement is stored and its send attempt
// recorded before its message is handed to the relay. The database refuses
// an attempt when the same letter already has one open or sent (another
// run is sending it or sent it): that job ends as skipped, and its new
// statement is not kept.
func (r *Runner) recordAttempts(ctx context.Context, jobs []*job) error {
	now := r.Clock.Now()
	type outcome struct {
		jb          *job
		interrupted bool
		heldBy      *domain.Delivery // the attempt that holds the letter, when ours was refused
	}
	var outs []outcome
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		outs = outs[:0]
		for _, jb := range jobs {
			j, st := jb.Job, jb.st
			out := outcome{jb: jb}
			attempt, msgID, interrupts := 1, "", j.Interrupted
			if !jb.stored {
				// A new statement has no earlier attempt to number from or
				// to find cut off.
				if err := tx.InsertStatement(ctx, st); err != nil {
					return err
				}
			} else {
				var err error
				if attempt, err = tx.NextAttempt(ctx, st.ID); err != nil {
					return err
				}
				open, err := tx.OpenDelivery(ctx, st.ID)
				switch {
				case err == nil:
					// A crash cut this attempt off after it was handed to the
					// relay, or just before: send again under the same Message-ID.
					if _, err := tx.UpdateDeliveryStatus(ctx, open.ID, domain.DeliverySending, domain.DeliveryInterrupted,
						"the process stopped before the outcome was recorded; sent again", now.Unix()); err != nil {
						return err
					}
					msgID = open.MessageID
					interrupts++
					out.interrupted = true
				case domain.ErrorCode(err) != domain.ENOTFOUND:
					return err
				}
			}
			if msgID == "" {
				msgID = r.Compose.MessageID(st.ID, attempt)
			}
			dl := &domain.Delivery{StatementID: st.ID, Attempt: attempt, Status: domain.DeliverySending, MessageID: msgID,
				CreatedAt: now.Unix(), UpdatedAt: now.Unix(), DonorID: j.DonorID, Series: jb.run.Series.OrDefault(), Period: jb.run.Period, LetterKey: jb.key}
			if jb.run.Force {
				dl.ForceKey = jb.run.ID
			}
			ok, err := tx.InsertAttempt(ctx, dl)
			if err != nil {
				return err
			}
			rec := *j
			if !ok {
				if out.heldBy, err = tx.LetterHolder(ctx, dl); err != nil {
					return err
				}
				if !jb.stored {
					if err := tx.DeleteStatement(ctx, st.ID); err != nil {
						return err
					}
					rec.StatementID = ""
				}
				rec.Status, rec.SkipReason, rec.LastError = domain.JobSkipped, domain.SkipSentByOtherRun, ""
				if out.heldBy.StatementID == st.ID {
					// The letter is this job's own, delivered: a worker that
					// lost the job recorded it after all.
					rec.Status, rec.SkipReason = domain.JobSent, ""
				}
				if err := tx.EndJob(ctx, &rec, r.WorkerID, now.Unix()); err != nil {
					return err
				}
				outs = append(outs, out)
				continue
			}
			rec.StatementID, rec.Rendered, rec.Interrupted = st.ID, true, interrupts
			if err := tx.MarkJobRendered(ctx, &rec, r.WorkerID, now.Add(r.Options.Lease).UnixMilli(), now.Unix()); err != nil {
				return err
			}
			jb.dl = dl
			outs = append(outs, out)
		}
		return nil
	})
	if err != nil {
		for _, jb := range jobs {
			jb.dl = nil
		}
		return err
	}
	// Only once committed do the jobs take their statements and new counts.
	for _, o := range outs {
		jb := o.jb
		if o.heldBy != nil {
			jb.log.Info("letter already held by another run's attempt; not sent again", "held_by_statement", o.heldBy.StatementID)
			continue
		}
		jb.StatementID, jb.stored, jb.Rendered = jb.st.ID, true, true
		if o.interrupted {
			jb.Interrupted++
			jb.log.Warn("send was interrupted by a crash; sending again with the same Message-ID", "attempt", jb.dl.Attempt)
		}
		jb.msg.MessageID, jb.msg.Date = jb.dl.MessageID, now
	}
	return nil
}

// deliver sends a job's message (step 4) and records the outcome with the
// job's new status (step 5). While the relay cannot be reached, the send
// waits at the gate (relay.go) for its turn to try; it goes back to the
// queue unsent when its run pauses, the process stops, or it has waited
// half its lease (a job must not be sent after its lease could have
// passed to another worker).
func (r *Runner) deliver(ctx context.Context, jb *job) {
	g := &r.sh.relay.gate
	t, why := g.enter(r.Options.Lease/2, func() string {
		switch {
		case jb.stop.stopping():
			return "impactd was stopping"
		case r.sh.relay.pausedSince(jb.RunID, jb.claimed):
			return "the run paused"
		}
		return ""
	})
	if why != "" {
		r.putBack(ctx, jb, why)
		return
	}
	if err := r.sh.limiter.Wait(ctx); err != nil {
		g.abandon(t)
		r.putBack(ctx, jb, err.Error())
		return
	}
	sendErr := r.Mailer.Send(ctx, jb.msg)
	counted := g.leave(t, mail.Classify(sendErr), r.probeBackoff)
	r.recordSend(ctx, jb, sendErr, counted)
}

// failed handles a job whose step returned an error before anything was
// sent: a lost lease leaves the job to the worker that has it; a letter
// that cannot be made fails at once; the database being unavailable puts
// the job back untouched; anything else counts as a failed attempt.
func (r *Runner) failed(ctx context.Context, jb *job, err error) {
	var re *renderError
	switch {
	case domain.ErrorCode(err) == domain.ECONFLICT && !errors.As(err, &re):
		jb.log.Warn("job lease lost; another worker has it", "err", err)
	case errors.As(err, &re):
		detail := describeRenderError(re.err, jb.DonorID)
		jb.log.Error("letter could not be made; the job fails (fix the template, then rerun the failed)", "err", err)
		r.persist(ctx, jb, func() error {
			return r.end(ctx, jb.Job, domain.JobFailed, "", domain.FailRender, detail)
		})
	case store.IsTransient(err):
		r.release(ctx, jb, err)
	default:
		jb.log.Error("job failed", "err", err)
		r.fail(ctx, jb, err)
	}
}

func (r *Runner) end(ctx context.Context, j *domain.Job, status, reason, failure, lastError string) error {
	j.Status, j.SkipReason, j.Failure, j.LastError = status, reason, failure, lastError
	return r.Store.EndJob(ctx, j, r.WorkerID, r.Clock.Now().Unix())
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write pdf: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write pdf: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write pdf: %w", err)
	}
	return nil
}
