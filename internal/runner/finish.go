package runner

import (
	"context"
	"encoding/json"
	"fmt"

	"impactd/internal/domain"
)

// maybeFinish closes the run when it has no open job left. Any worker may
// call it; FinishRun lets exactly one of them close the run.
func (r *Runner) maybeFinish(ctx context.Context, runID string) {
	open, err := r.Store.HasOpenJobs(ctx, runID)
	if err != nil || open {
		return
	}
	if err := r.finishRun(ctx, runID); err != nil {
		r.Log.Error("run not finished", "run_id", runID, "err", err)
	}
}

func (r *Runner) finishRun(ctx context.Context, runID string) error {
	run, err := r.Store.Run(ctx, runID)
	if err != nil || run.Status != domain.RunRunning {
		return err
	}
	c, err := r.Store.CountRun(ctx, runID)
	if err != nil || c.Open() > 0 {
		return err
	}
	ex, _ := json.Marshal(c.SkippedBy)
	fl, _ := json.Marshal(c.Flagged)
	run.Eligible, run.Rendered, run.Sent, run.Failed, run.Skipped = c.Eligible, c.Rendered, c.Sent, c.Failed, c.Skipped
	run.Interrupted, run.Retrying, run.Exceptions, run.Flags = c.Interrupted, 0, string(ex), string(fl)
	run.FinishedAt = r.Clock.Now().Unix()
	run.Status, run.Error = domain.RunSucceeded, ""
	if c.Failed > 0 {
		run.Status, run.Error = domain.RunFailed, fmt.Sprintf("%d statements failed", c.Failed)
		if n := c.FailedBy[domain.FailRender]; n > 0 {
			run.Error += fmt.Sprintf(" (%d could not be made from the templates: see the run's failed letters)", n)
		}
	}
	if c.Postal > 0 && !run.DryRun {
		// Before the run is closed, so that a crash in between leaves the
		// run to the sweep, which makes the batch then; any number of
		// finishers make one (EnsureBatch).
		b, err := r.Store.EnsureBatch(ctx, runID, run.FinishedAt)
		if err != nil {
			return err
		}
		r.Log.Info("print batch made", "run_id", runID, "batch_id", b.ID, "letters", b.Letters)
	}
	won, err := r.Store.FinishRun(ctx, run)
	if err != nil || !won {
		return err
	}
	r.forget(runID)
	if err := r.Store.DropBreaker(ctx, runID); err != nil {
		r.Log.Warn("finished run's breaker not dropped", "run_id", runID, "err", err)
	}
	if r.Metrics != nil {
		r.Metrics.RunDuration.Observe(float64(run.FinishedAt - run.StartedAt))
	}
	r.Log.Info("run finished", "run_id", run.ID, "status", run.Status, "eligible", run.Eligible, "rendered", run.Rendered,
		"sent", run.Sent, "failed", run.Failed, "skipped", run.Skipped, "interrupted", run.Interrupted)
	return r.summarise(ctx, run)
}

// sweep finishes runs left open by a process that died after their last
// job, and sends summaries that were not sent.
func (r *Runner) sweep(ctx context.Context) error {
	runs, err := r.Store.RunsByStatus(ctx, domain.RunRunning)
	if err != nil {
		return err
	}
	for _, run := range runs {
		open, err := r.Store.HasOpenJobs(ctx, run.ID)
		if err != nil {
			return err
		}
		if !open {
			if err := r.finishRun(ctx, run.ID); err != nil {
				return err
			}
		}
	}
	if r.Options.StaffEmail == "" {
		return nil
	}
	done, err := r.Store.RunsToSummarise(ctx)
	if err != nil {
		return err
	}
	for i := range done {
		if err := r.summarise(ctx, &done[i]); err != nil {
			return err
		}
	}
	return nil
}

// summarise emails the run's summary to the staff address, at most once
// across replicas. A crash between claiming and sending loses that summary;
// the run itself, with the same figures, stays readable through the API.
func (r *Runner) summarise(ctx context.Context, run *domain.Run) error {
	if r.Options.StaffEmail == "" {
		return nil
	}
	ok, err := r.Store.ClaimSummary(ctx, run.ID)
	if err != nil || !ok {
		return err
	}
	failures, err := r.Store.FailedJobs(ctx, run.ID, 10)
	if err != nil {
		return fmt.Errorf("run summary: %w", err)
	}
	if err := r.Mailer.Send(ctx, r.Compose.Summary(run, failures, r.Options.StaffEmail, r.Clock.Now())); err != nil {
		return fmt.Errorf("run summary: %w", err)
	}
	return nil
}
