package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"impactd/internal/app"
	"impactd/internal/domain"
	"impactd/internal/ingest"
	"impactd/internal/period"
	"impactd/internal/runner"
	"impactd/internal/schedule"
	"impactd/internal/store"
)

func runCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var o struct {
		period, reason, donor, statement, resume, samples, actor string
		dryRun, onlyFailed, onlyUnsent, force, quiet             bool
	}
	cmd := &cobra.Command{
		Use:   "run --period 2026-Q3 --reason \"…\"",
		Short: "Produce and send the statements of a period now, or rerun part of one",
		Long: "run starts a statement run and works its jobs until it is finished, showing progress.\n" +
			"The run is durable: if this command is stopped or killed, `impactd run --resume RUN_ID`\n" +
			"(or any `impactd serve`) finishes it, and nothing is lost or sent twice (see README).\n" +
			"A statement that was delivered and has not changed is not sent again unless --force;\n" +
			"one that changed goes out as a correction. Who started the run and why is recorded.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var req runner.Request
			if o.resume == "" {
				if o.statement == "" {
					p, err := period.Parse(o.period)
					if err != nil {
						return fmt.Errorf("--period: %w", err)
					}
					req.Period = p
				}
				if strings.TrimSpace(o.reason) == "" {
					return errors.New("--reason is required: say why this run is started (it is recorded)")
				}
				if o.onlyFailed && o.onlyUnsent {
					return errors.New("--only-failed and --only-unsent cannot be used together")
				}
			}
			a, err := open(ctx, getenv, stderr)
			if err != nil {
				return err
			}
			defer a.Close()
			runID := o.resume
			if runID == "" {
				req.Trigger, req.Reason, req.DryRun, req.Force = "cli", o.reason, o.dryRun, o.force
				req.Actor = o.actor
				if req.Actor == "" {
					req.Actor = getenv("USER")
				}
				switch {
				case o.statement != "":
					req.Scope, req.StatementID = domain.RunScopeStatement, o.statement
				case o.donor != "":
					id, err := donorID(ctx, a, o.donor)
					if err != nil {
						return err
					}
					req.Scope, req.DonorID = domain.RunScopeDonor, id
				case o.onlyFailed:
					req.Scope = domain.RunScopeFailed
				case o.onlyUnsent:
					req.Scope = domain.RunScopeUnsent
				}
				run, err := a.Runner.Start(ctx, req)
				if err != nil {
					return err
				}
				runID = run.ID
				fmt.Fprintf(stderr, "run %s started for %s (resume with: impactd run --resume %s)\n", run.ID, run.Period, run.ID)
			}
			bar := &progress{w: stderr, start: time.Now(), quiet: o.quiet}
			run, err := a.Runner.Finish(ctx, runID, bar.update)
			bar.done()
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "run %s %s: %d eligible, %d rendered, %d sent, %d failed, %d skipped %s\n",
				run.ID, run.Status, run.Eligible, run.Rendered, run.Sent, run.Failed, run.Skipped, run.Exceptions)
			if run.Flags != "{}" {
				fmt.Fprintf(stdout, "sent, but worth a look: %s\n", run.Flags)
			}
			if run.Interrupted > 0 {
				fmt.Fprintf(stdout, "%d sends were interrupted by a crash and sent again (possible duplicates)\n", run.Interrupted)
			}
			if o.samples != "" {
				if err := writeSamples(ctx, a, run.ID, o.samples, stdout); err != nil {
					return err
				}
			}
			if run.Status == domain.RunFailed {
				return fmt.Errorf("run %s failed: %s", run.ID, run.Error)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.period, "period", "", "period, e.g. 2026-Q3, 2026-07, 2026 or 2026/27")
	f.StringVar(&o.reason, "reason", "", "why this run is started, for the audit trail (required)")
	f.BoolVar(&o.dryRun, "dry-run", false, "render every letter but send nothing")
	f.StringVar(&o.donor, "donor", "", "only this donor (email address or donor id)")
	f.BoolVar(&o.onlyFailed, "only-failed", false, "only donors whose letter for the period failed and was not delivered since")
	f.BoolVar(&o.onlyUnsent, "only-unsent", false, "only donors with no delivered letter for the period (no corrections)")
	f.BoolVar(&o.force, "force", false, "send even statements identical to one already delivered")
	f.StringVar(&o.statement, "statement", "", "resend this stored statement as it is (needs --force if it was delivered)")
	f.StringVar(&o.resume, "resume", "", "finish a run that was started earlier (by a killed command, say)")
	f.StringVar(&o.samples, "samples", "", "write up to three of the run's PDFs to this directory (useful with --dry-run)")
	f.StringVar(&o.actor, "actor", "", "who is starting the run, for the audit trail (default: $USER)")
	f.BoolVar(&o.quiet, "quiet", false, "no progress bar")
	return cmd
}

// donorID resolves --donor: a donor id, or an email address that names exactly one donor.
func donorID(ctx context.Context, a *app.App, s string) (string, error) {
	if strings.HasPrefix(s, "don_") {
		return s, nil
	}
	ds, err := a.Store.DonorsByEmail(ctx, ingest.NormaliseEmail(s))
	if err != nil {
		return "", err
	}
	switch len(ds) {
	case 0:
		return "", domain.Errorf(domain.ENOTFOUND, "no donor has that email address")
	case 1:
		return ds[0].ID, nil
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return "", domain.Errorf(domain.ECONFLICT, "several donors have that email address (%s): give a donor id", strings.Join(ids, ", "))
}

// writeSamples renders the first statements of a run into dir.
func writeSamples(ctx context.Context, a *app.App, runID, dir string, stdout io.Writer) error {
	jobs, err := a.Store.RunJobs(ctx, runID, "", 50)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("samples: %w", err)
	}
	n := 0
	for _, j := range jobs {
		if j.StatementID == "" || n == 3 {
			continue
		}
		path := filepath.Join(dir, j.StatementID+".pdf")
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("samples: %w", err)
		}
		_, rerr := a.Runner.StatementPDF(ctx, j.StatementID, f)
		if err := errors.Join(rerr, f.Close()); err != nil {
			return fmt.Errorf("samples: %w", err)
		}
		fmt.Fprintf(stdout, "sample: %s\n", path)
		n++
	}
	return nil
}

// progress draws a one-line progress bar with rate and ETA from the run's
// live counts in the database — not from this process's own work, since
// other replicas may share the run.
type progress struct {
	w     io.Writer
	start time.Time
	quiet bool
	drawn bool
}

func (p *progress) update(run *domain.Run, c store.RunCounts) {
	if p.quiet || c.Eligible == 0 {
		return
	}
	done := c.Eligible - c.Open()
	frac := float64(done) / float64(c.Eligible)
	const width = 30
	fill := int(frac * width)
	elapsed := time.Since(p.start).Seconds()
	rate := float64(done) / max(elapsed, 0.001)
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(c.Open())/rate) * time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d %3.0f%%  %.1f/s  ETA %s  sent %d failed %d retrying %d skipped %d ",
		strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, c.Eligible, frac*100, rate, eta, c.Sent, c.Failed, c.Retrying, c.Skipped)
	p.drawn = true
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

// startBackground starts what `serve` runs besides HTTP: the job workers
// (every replica shares every run's jobs through the database) and the
// schedule (every replica fires it; the database lets one tick start one
// run). The returned function stops both and waits.
func startBackground(ctx context.Context, a *app.App) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.Runner.Work(ctx, ""); err != nil && !errors.Is(err, context.Canceled) {
			a.Log.Error("job workers stopped", "err", err)
		}
	}()
	if a.Config.Schedule != nil {
		s := &schedule.Scheduler{
			Schedule: a.Config.Schedule, Kind: a.Config.PeriodKind, Location: a.Config.Location, CatchUp: a.Config.ScheduleCatchUp,
			Clock: a.Clock, Log: a.Log, LastTick: a.Store.LastTick,
			Start: func(ctx context.Context, at time.Time, p period.Period) (string, bool, error) {
				run, ok, err := a.Runner.StartTick(ctx, runner.Request{Period: p, Trigger: "schedule", Actor: "schedule",
					Reason: "scheduled run (" + a.Config.Schedule.Spec + ")", TickAt: at.Unix()})
				if err != nil || !ok {
					return "", ok, err
				}
				return run.ID, true, nil
			},
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.Run(ctx)
		}()
	}
	return func() { cancel(); wg.Wait() }
}
