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
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"impactd/internal/app"
	"impactd/internal/domain"
	"impactd/internal/period"
	"impactd/internal/runs"
	"impactd/internal/schedule"
)

func runCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var o struct {
		series, period, reason, donor, statement, resume, samples, actor string
		dryRun, onlyFailed, onlyUnsent, force, quiet                     bool
	}
	cmd := &cobra.Command{
		Use:   "run --period 2026-Q3 --reason \"…\"",
		Short: "Produce and send the statements of a period now, or rerun part of one",
		Long: "run starts a statement run and works its jobs until it is finished, showing progress.\n" +
			"The run is durable: if this command is stopped or killed, the same command again (or\n" +
			"`impactd run --resume RUN_ID`, or any `impactd serve`) finishes it, and nothing is lost or\n" +
			"sent twice (see README). While a period's run is unfinished, starting it again works that\n" +
			"run instead of starting a second one. A statement that was delivered and has not changed\n" +
			"is not sent again unless --force; one that changed goes out as a correction. A run whose\n" +
			"mail relay refuses to send pauses; --resume RUN_ID goes on once the relay is fixed.\n" +
			"Who started the run and why is recorded.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if o.resume == "" {
				if o.statement == "" && strings.TrimSpace(o.period) == "" {
					return errors.New("--period is required, e.g. --period 2026-Q3 (or 2026-07, 2026, 2026/27)")
				}
				if _, err := domain.ParseSeries(o.series); err != nil {
					return fmt.Errorf("--series: %s", domain.ErrorMessage(err))
				}
				if o.statement == "" {
					if _, err := runs.ParsePeriod(o.period); err != nil {
						return fmt.Errorf("--period: %s", domain.ErrorMessage(err))
					}
				}
				if strings.TrimSpace(o.reason) == "" {
					return errors.New("--reason is required: say why this run is started (it is recorded)")
				}
				if o.onlyFailed && o.onlyUnsent {
					return errors.New("--only-failed and --only-unsent cannot be used together")
				}
			}
			term := &terminal{w: stderr}
			a, err := open(ctx, getenv, term)
			if err != nil {
				return err
			}
			defer a.Close()
			actor := firstOf(o.actor, getenv("USER"))
			var run *domain.Run
			if o.resume != "" {
				if run, _, err = a.Runs.Status(ctx, o.resume); err != nil {
					return err
				}
				if run.Unfinished() { // a finished run is only reported
					if run, err = a.Runs.Resume(ctx, o.resume, actor, o.reason); err != nil {
						return err
					}
					term.say("run %s for %s: working it\n", runName(run), run.Period)
				}
			} else {
				req := runs.Request{Series: o.series, Period: o.period, Trigger: "cli", Actor: actor, Reason: o.reason, DryRun: o.dryRun, Force: o.force}
				switch {
				case o.statement != "":
					req.Scope, req.StatementID = domain.RunScopeStatement, o.statement
				case o.donor != "":
					req.Scope, req.Donor = domain.RunScopeDonor, o.donor
				case o.onlyFailed:
					req.Scope = domain.RunScopeFailed
				case o.onlyUnsent:
					req.Scope = domain.RunScopeUnsent
				}
				run, err = a.Runs.Start(ctx, req)
				var busy *runs.InProgressError
				var force *runs.NeedsForceError
				var many *runs.AmbiguousDonorError
				switch {
				case errors.As(err, &many):
					for _, d := range many.Donors {
						term.say("  %s  %s  %s\n", d.ID, firstOf(d.Name, "(no name)"), d.Email)
					}
					return fmt.Errorf("%s: --donor with one of the ids above", domain.ErrorMessage(err))
				case errors.As(err, &busy) && busy.Same && busy.Run.Status == domain.RunRunning:
					// The same request again — after a kill, or by a second
					// person — finishes the run that is in progress.
					term.say("%s; working it\n", busy.Describe())
					run = busy.Run
				case errors.As(err, &busy):
					return errors.New(busy.Describe())
				case errors.As(err, &force):
					return fmt.Errorf("%s: add --force to send it again", domain.ErrorMessage(err))
				case err != nil:
					return err
				default:
					term.say("run %s started for %s (if stopped, the same command or `impactd run --resume %s` finishes it)\n", runName(run), run.Period, run.ID)
				}
			}
			bar := &progress{t: term, start: time.Now(), quiet: o.quiet}
			run, err = a.Runs.Finish(ctx, run.ID, bar.update)
			term.done()
			if err != nil {
				return err
			}
			if run.Status == domain.RunPaused {
				return fmt.Errorf("run %s for %s paused: %s\nnobody was marked bounced; fix the mail relay, then: impactd run --resume %s",
					run.ID, run.Period, run.PauseReason, run.ID)
			}
			fmt.Fprintf(stdout, "run %s %s: %d eligible, %d rendered, %d sent, %d failed, %d skipped %s\n",
				runName(run), run.Status, run.Eligible, run.Rendered, run.Sent, run.Failed, run.Skipped, run.Exceptions)
			if run.Flags != "{}" {
				worth := "sent, but worth a look"
				if run.DryRun {
					worth = "rendered, worth a look"
				}
				fmt.Fprintf(stdout, "%s: %s\n", worth, run.Flags)
			}
			if c, err := a.Store.CountRun(ctx, run.ID); err == nil {
				if e, ok := runs.WhyEmpty(run, c); ok {
					lead, next := "nothing was sent", cliNextStep[e.Cause]
					if run.DryRun {
						lead = "no letter was made to look at"
						if e.Cause == domain.SkipUnchanged {
							next = "; add --force to make them anyway (a dry run still sends nothing)"
						}
					}
					fmt.Fprintf(stdout, "%s: %s%s\n", lead, e.Sentence, next)
				}
			}
			if run.Interrupted > 0 {
				fmt.Fprintf(stdout, "%d sends were interrupted by a crash and sent again (possible duplicates)\n", run.Interrupted)
			}
			if run.Pauses > 0 {
				fmt.Fprintf(stdout, "paused %d time(s) on the way; last because: %s\n", run.Pauses, run.PauseReason)
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
	f.StringVar(&o.series, "series", "impact", "which letters: impact (the impact letter) or annual (the annual giving statement, for a tax year or calendar year)")
	f.StringVar(&o.period, "period", "", "period, e.g. 2026-Q3, 2026-07, 2026 or 2026/27 (required, but with --statement or --resume)")
	f.StringVar(&o.reason, "reason", "", "why this run is started, for the audit trail (required, but with --resume)")
	f.BoolVar(&o.dryRun, "dry-run", false, "render every letter but send nothing")
	f.StringVar(&o.donor, "donor", "", "only this donor: their donor id, email address or name (found as the console's donor search finds people)")
	f.BoolVar(&o.onlyFailed, "only-failed", false, "only donors whose letter for the period failed and was not delivered since")
	f.BoolVar(&o.onlyUnsent, "only-unsent", false, "only donors with no delivered letter for the period (no corrections)")
	f.BoolVar(&o.force, "force", false, "send even statements identical to one already delivered (never a letter whose net is zero or less)")
	f.StringVar(&o.statement, "statement", "", "resend this stored statement as it is (needs --force if it was delivered)")
	f.StringVar(&o.resume, "resume", "", "finish a run that was started earlier (by a killed command, say), or resume a paused one")
	f.StringVar(&o.samples, "samples", "", "write up to three of the run's PDFs to this directory (useful with --dry-run)")
	f.StringVar(&o.actor, "actor", "", "who is starting the run, for the audit trail (default: $USER)")
	f.BoolVar(&o.quiet, "quiet", false, "no progress bar")
	return cmd
}

// bouncesCommand lists and clears the addresses that bounced.
func bouncesCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bounces",
		Short: "List or clear the addresses a recipient's mail server refused for good (no letter goes to them)",
	}
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List bounced addresses, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := open(cmd.Context(), getenv, stderr)
			if err != nil {
				return err
			}
			defer a.Close()
			bs, err := a.Runs.Bounces(cmd.Context(), limit)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EMAIL\tSINCE\tRUN\tANSWER")
			for _, b := range bs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", b.Email, time.Unix(b.CreatedAt, 0).In(a.Config.Location).Format("2006-01-02 15:04"),
					firstOf(b.RunID, "—"), b.Detail)
			}
			return tw.Flush()
		},
	}
	list.Flags().IntVar(&limit, "limit", 1000, "most addresses to list")
	var reason, actor string
	clear := &cobra.Command{
		Use:   "clear EMAIL --reason \"…\"",
		Short: "Let letters go to a bounced address again (recorded in the audit log)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return errors.New("--reason is required: say why letters may go to this address again (it is recorded)")
			}
			a, err := open(cmd.Context(), getenv, stderr)
			if err != nil {
				return err
			}
			defer a.Close()
			if err := a.Runs.ClearBounce(cmd.Context(), args[0], firstOf(actor, getenv("USER")), reason); err != nil {
				return err
			}
			fmt.Fprintln(stdout, "cleared: the next run writes to that address again")
			return nil
		},
	}
	clear.Flags().StringVar(&reason, "reason", "", "why the address may be written to again (required)")
	clear.Flags().StringVar(&actor, "actor", "", "who is clearing it, for the audit trail (default: $USER)")
	cmd.AddCommand(list, clear)
	return cmd
}

// cliNextStep is what to do about a run that sent nothing, by its cause.
var cliNextStep = map[string]string{
	domain.SkipUnchanged: "; add --force to send again anyway",
	domain.SkipBounced:   "; once the mailbox works, `impactd bounces clear EMAIL` and run again",
	runs.EmptyFailed:     "; fix what failed, then run again with --only-failed",
}

// writeSamples renders a few of a run's statements (runs.Service.Samples
// picks them) into dir.
func writeSamples(ctx context.Context, a *app.App, runID, dir string, stdout io.Writer) error {
	samples, err := a.Runs.Samples(ctx, runID, 3)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("samples: %w", err)
	}
	for _, s := range samples {
		path := filepath.Join(dir, s.Statement.ID+".pdf")
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("samples: %w", err)
		}
		_, rerr := a.Runner.StatementPDF(ctx, s.Statement.ID, f)
		if err := errors.Join(rerr, f.Close()); err != nil {
			return fmt.Errorf("samples: %w", err)
		}
		why := ""
		if s.Why != "" {
			why = " (" + s.Why + ")"
		}
		fmt.Fprintf(stdout, "sample: %s%s\n", path, why)
	}
	return nil
}

// terminal is standard error shared by the progress bar and the log, so
// that they do not collide: the bar is redrawn in place with "\r", and a
// log line (or a message) first ends the bar's line, so it starts on a
// line of its own; the next update draws the bar again below it.
type terminal struct {
	mu    sync.Mutex
	w     io.Writer
	drawn bool // the bar is on the current line
}

// Write is the log's: whole lines, after the bar's line is ended.
func (t *terminal) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.endBar()
	return t.w.Write(p)
}

// say prints a message on a line of its own.
func (t *terminal) say(format string, a ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.endBar()
	fmt.Fprintf(t.w, format, a...)
}

// bar draws the progress line in place.
func (t *terminal) bar(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprint(t.w, "\r"+line)
	t.drawn = true
}

// done ends the bar's line.
func (t *terminal) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.endBar()
}

func (t *terminal) endBar() {
	if t.drawn {
		fmt.Fprintln(t.w)
		t.drawn = false
	}
}

// progress draws a one-line progress bar with rate and ETA from the run's
// live counts in the database — not from this process's own work, since
// other replicas may share the run.
type progress struct {
	t     *terminal
	start time.Time
	quiet bool
	base  int // jobs already done when this command began working the run
	began bool
}

func (p *progress) update(run *domain.Run, c domain.RunCounts) {
	if p.quiet || c.Eligible == 0 {
		return
	}
	done := c.Eligible - c.Open()
	if !p.began {
		p.base, p.began = done, true
	}
	frac := float64(done) / float64(c.Eligible)
	const width = 30
	fill := int(frac * width)
	elapsed := time.Since(p.start).Seconds()
	rate := float64(done-p.base) / max(elapsed, 0.001)
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(c.Open())/rate) * time.Second).Round(time.Second).String()
	}
	state := ""
	if run.Status == domain.RunPaused {
		state = "PAUSED "
	}
	p.t.bar(fmt.Sprintf("%s[%s%s] %d/%d %3.0f%%  %.1f/s  ETA %s  sent %d failed %d retrying %d skipped %d ",
		state, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, c.Eligible, frac*100, rate, eta, c.Sent, c.Failed, c.Retrying, c.Skipped))
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
	for _, s := range schedulers(a) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.Run(ctx)
		}()
	}
	return func() { cancel(); wg.Wait() }
}

// schedulers returns one scheduler per series whose schedule is on: the
// impact letter's (IMPACTD_SCHEDULE, IMPACTD_PERIOD) and the annual
// statement's (IMPACTD_ANNUAL_SCHEDULE, IMPACTD_ANNUAL_PERIOD). Each records
// its ticks under its series, so each fires once across replicas.
func schedulers(a *app.App) []*schedule.Scheduler {
	var out []*schedule.Scheduler
	add := func(series domain.Series, sc *schedule.Schedule, kind period.Kind) {
		if sc == nil {
			return
		}
		out = append(out, &schedule.Scheduler{
			Series: series, Schedule: sc, Kind: kind, Location: a.Config.Location, CatchUp: a.Config.ScheduleCatchUp,
			Clock: a.Clock, Log: a.Log, LastTick: a.Store.LastTick,
			Start: func(ctx context.Context, series domain.Series, at time.Time, p period.Period) (string, bool, error) {
				run, ok, err := a.Runs.StartTick(ctx, runs.Request{Series: string(series), Period: p.String(), Trigger: "schedule", Actor: "schedule",
					Reason: "scheduled " + series.Label() + " run (" + sc.Spec + ")", TickAt: at.Unix()})
				if err != nil || !ok {
					return "", ok, err
				}
				return run.ID, true, nil
			},
		})
	}
	add(domain.SeriesImpact, a.Config.Schedule, a.Config.PeriodKind)
	add(domain.SeriesAnnual, a.Config.AnnualSchedule, a.Config.AnnualPeriodKind)
	return out
}

// runName is a run's id as the command says it: with "(annual
// statements)" after it for the annual series, the impact letter's as it
// always was.
func runName(run *domain.Run) string {
	if run.Series.OrDefault() == domain.SeriesAnnual {
		return run.ID + " (annual statements)"
	}
	return run.ID
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
