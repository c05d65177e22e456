// Package runs is the one service that starts statement runs. The command
// line, the API, the staff console and the schedule all translate what they
// were asked into a Request and call Start; none of them decides anything
// about a run. The package owns:
//
//   - requests: scopes (the whole period, the failed, the unsent, one donor,
//     one stored statement), reasons and who asked, validated here;
//   - series: every run makes one series of letters (domain.Series), the
//     impact letter unless asked otherwise;
//   - admission: at most one unfinished run that sends per series and
//     period, enforced
//     by the database (a unique index), so that two starts at once — a
//     fundraiser in the console while the schedule fires — give one run;
//     the second caller is shown the first (InProgressError);
//   - eligibility and corrections: who gets a letter, and whether it is a
//     first letter, a correction or nothing new (Exclusion, Policy), decided
//     in one place and asked by the workers for each job;
//   - resuming a paused run, and clearing bounced addresses.
//
// Working the jobs is internal/runner's; composing the emails is
// internal/compose's.
package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"impactd/internal/domain"
	"impactd/internal/period"
	"impactd/internal/store"
	"impactd/internal/wording"
)

// Worker works a run's jobs in this process until the run is no longer
// running (finished or paused) or ctx ends; *runner.Runner is the real one.
type Worker interface {
	Work(ctx context.Context, runID string) error
}

// Service starts runs and reports on them.
type Service struct {
	Store     *store.Store
	Templates *wording.Templates // checked before every run, so a broken template stops it before it starts
	Clock     domain.Clock
	Log       *slog.Logger
	Location  *time.Location // the organisation's time zone: period bounds, dates in messages
	// IncludeMonthly also considers every active monthly supporter, gift in
	// the period or not (IMPACTD_RUN_INCLUDE_MONTHLY).
	IncludeMonthly bool
	// PeriodKinds is the period kind of each series' runs (IMPACTD_PERIOD
	// for the impact letter; the tax year or calendar year for the annual
	// statement): a series' runs are refused any other kind. A series
	// missing here takes any kind.
	PeriodKinds map[domain.Series]period.Kind
	// Worker works runs for Run and Finish; nil: this service only starts them.
	Worker Worker
}

// Request asks for a run. Adapters fill it from what they were given and
// leave every decision to Start.
type Request struct {
	// Series is the kind of letter, as a person or program named it:
	// "impact" (or "") or "annual"; see domain.ParseSeries.
	Series string
	// Period is the period to run, e.g. "2026-Q3"; a statement's own period
	// is used when StatementID is set.
	Period string
	// Scope is domain.RunScope*; "" is the whole period.
	Scope string
	// Donor names the donor of a RunScopeDonor run as a person typed it: a
	// donor id, an email address, or (part of) a name; see FindDonor.
	Donor string
	// StatementID is the stored statement a RunScopeStatement run sends
	// again, as it is.
	StatementID string
	Reason      string // why; required, recorded with the run
	Actor       string // who: a person, a token's name, "schedule"
	Trigger     string // "cli", "api", "console", "schedule", "demo", …
	DryRun      bool   // render every letter, send nothing
	Force       bool   // send even letters identical to one delivered
	TickAt      int64  // the schedule tick (unix seconds) that asked for the run
	// Action is the audit action recorded; "" is "run.start".
	Action string
	// RerunOf is the run this one reruns, for the audit trail.
	RerunOf string
}

// Start validates a request, admits the run and records it with one job
// per donor it considers and an audit entry of who asked and why, all in
// one transaction. It does not work the jobs: every impactd serve does,
// and so does the command that waits for the run (Finish).
//
// When another run of the period that sends is unfinished, nothing is
// recorded and the error is an *InProgressError carrying that run: the
// command line works it, the API answers 409 with its id, the console shows
// it. A rerun of part of a period (failed, unsent, one donor, one statement)
// is refused the same way while the period's run is unfinished, rather than
// queued behind it: it starts once that run is finished.
func (s *Service) Start(ctx context.Context, req Request) (*domain.Run, error) {
	var run *domain.Run
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		run, err = s.start(ctx, tx, req, "")
		return err
	})
	if err != nil {
		return nil, s.inProgress(ctx, err, req)
	}
	s.log().Info("run started", "run_id", run.ID, "series", run.Series, "period", run.Period, "scope", run.Scope, "dry_run", run.DryRun, "trigger", run.Trigger)
	return run, nil
}

// StartTick starts the run of a schedule tick unless the tick was already
// recorded (by this or another replica); it reports whether it started one.
// A tick that finds the period's run unfinished is recorded all the same,
// naming that run, and starts nothing: the schedule does not fire twice.
func (s *Service) StartTick(ctx context.Context, req Request) (*domain.Run, bool, error) {
	var run *domain.Run
	started := false
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		series, err := domain.ParseSeries(req.Series)
		if err != nil {
			return err
		}
		id := store.NewID("run")
		ok, err := tx.RecordTick(ctx, series, req.TickAt, req.Period, id, s.Clock.Now().Unix())
		if err != nil || !ok {
			return err
		}
		run, err = s.start(ctx, tx, req, id)
		var busy *InProgressError
		if errors.As(err, &busy) {
			// Keep the tick, pointing at the run that holds the period.
			if _, err := tx.RecordTickRun(ctx, series, req.TickAt, busy.Run.ID); err != nil {
				return err
			}
			run = busy.Run
			return nil
		}
		started = err == nil
		return err
	})
	if err != nil {
		return nil, false, err
	}
	if started {
		s.log().Info("run started", "run_id", run.ID, "series", run.Series, "period", run.Period, "trigger", req.Trigger, "tick_at", req.TickAt)
	} else if run != nil {
		s.log().Warn("schedule tick found the period's run unfinished; nothing started", "run_id", run.ID, "tick_at", req.TickAt)
	}
	return run, started, nil
}

// start records a run in tx; id, when set, is its id.
func (s *Service) start(ctx context.Context, tx *store.Tx, req Request, id string) (*domain.Run, error) {
	const op = "start run"
	if strings.TrimSpace(req.Reason) == "" {
		return nil, domain.Errorf(domain.EINVALID, "a reason is required: say why this run is started (it is recorded)")
	}
	if req.Scope == "" {
		req.Scope = domain.RunScopePeriod
	}
	series, err := domain.ParseSeries(strings.TrimSpace(req.Series))
	if err != nil {
		return nil, err
	}
	run := &domain.Run{ID: id, Series: series, Trigger: req.Trigger, Reason: strings.TrimSpace(req.Reason), Status: domain.RunRunning,
		DryRun: req.DryRun, StartedAt: s.Clock.Now().Unix(), Scope: req.Scope, Force: req.Force, Actor: req.Actor, TickAt: req.TickAt}
	switch req.Scope {
	case domain.RunScopePeriod, domain.RunScopeFailed, domain.RunScopeUnsent, domain.RunScopeDonor:
		p, err := s.ParseSeriesPeriod(series, req.Period)
		if err != nil {
			return nil, err
		}
		run.Period = p.String()
		if req.Scope == domain.RunScopeDonor {
			d, err := findDonor(ctx, tx.Q, req.Donor)
			if err != nil {
				return nil, err
			}
			run.DonorID = d.ID
		}
	case domain.RunScopeStatement:
		st, err := tx.Statement(ctx, req.StatementID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if err := s.resendable(ctx, tx.Q, st, req.Force); err != nil {
			return nil, err
		}
		if req.Series != "" && st.Series.OrDefault() != series {
			return nil, domain.Errorf(domain.EINVALID, "statement %s is an %s, not an %s: leave the series out to send it again",
				st.ID, st.Series.OrDefault().Label(), series.Label())
		}
		run.Series, run.Period, run.DonorID, run.StatementID = st.Series.OrDefault(), st.Period, st.DonorID, st.ID
	default:
		return nil, domain.Errorf(domain.EINVALID, "unknown run scope %q: want period, failed, unsent, donor or statement", req.Scope)
	}
	if s.Templates != nil {
		if err := s.Templates.Check(); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	// The impact letter sets the period beside the organisation's published
	// figures; the annual statement is a record of gifts and needs none.
	if run.Series == domain.SeriesImpact {
		if _, err := tx.PublishedImpactUpdate(ctx, run.Period); err != nil {
			if domain.ErrorCode(err) == domain.ENOTFOUND {
				return nil, &NoImpactUpdateError{Period: run.Period}
			}
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	admitted, err := tx.AdmitRun(ctx, run)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if !admitted {
		holder, err := tx.UnfinishedRun(ctx, store.AdmissionKeyOf(run))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return nil, &InProgressError{Run: holder, Same: sameWork(holder, run)}
	}
	p := period.MustParse(run.Period)
	from, to := p.Bounds(s.location())
	n, err := tx.PlanJobs(ctx, run, store.Plan{From: from.Unix(), To: to.Unix(), IncludeMonthly: s.IncludeMonthly}, run.StartedAt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	detail, _ := json.Marshal(map[string]any{"series": string(run.Series), "period": run.Period, "scope": run.Scope, "donor_id": run.DonorID, "statement_id": run.StatementID,
		"dry_run": run.DryRun, "force": run.Force, "trigger": run.Trigger, "jobs": n, "rerun_of": req.RerunOf})
	actor, action := firstNonEmpty(req.Actor, req.Trigger), firstNonEmpty(req.Action, "run.start")
	if err := tx.Audit(ctx, &store.AuditEntry{Actor: actor, Action: action, Subject: run.ID, Reason: run.Reason,
		Detail: string(detail), CreatedAt: run.StartedAt}); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return run, nil
}

// inProgress fills an InProgressError with the unfinished run's live
// counts (read after the refused transaction, so they are current).
func (s *Service) inProgress(ctx context.Context, err error, req Request) error {
	var busy *InProgressError
	if !errors.As(err, &busy) {
		return err
	}
	if c, cerr := s.Store.CountRun(ctx, busy.Run.ID); cerr == nil {
		busy.Counts = c
	}
	busy.loc = s.location()
	return busy
}

// sameWork reports whether the refused run would do what the unfinished one
// does, so that working the unfinished one is what was asked.
func sameWork(holder, asked *domain.Run) bool {
	return holder.Scope == asked.Scope && holder.Force == asked.Force && holder.DonorID == asked.DonorID &&
		holder.StatementID == asked.StatementID
}

// ParsePeriod parses a period as every adapter is given it.
func ParsePeriod(s string) (period.Period, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return period.Period{}, domain.Errorf(domain.EINVALID, "a period is required, e.g. 2026-Q3 (a quarter), 2026-07, 2026 or 2026/27")
	}
	p, err := period.Parse(s)
	if err != nil {
		return period.Period{}, domain.Errorf(domain.EINVALID, "%v: want e.g. 2026-Q3 (a quarter), 2026-07, 2026 or 2026/27", err)
	}
	return p, nil
}

// ParseSeriesPeriod parses the period of a series' run and checks its kind
// against the series' (PeriodKinds): an annual statement is for a tax year
// or a calendar year, never a quarter.
func (s *Service) ParseSeriesPeriod(series domain.Series, text string) (period.Period, error) {
	p, err := ParsePeriod(text)
	if err != nil {
		return p, err
	}
	want, ok := s.PeriodKinds[series.OrDefault()]
	if !ok || want == p.Kind {
		return p, nil
	}
	return period.Period{}, domain.Errorf(domain.EINVALID, "period %s is a %s, but the %s series runs by %s: want e.g. %s",
		p, kindWords[p.Kind], series.OrDefault(), kindWords[want], period.LastComplete(s.Clock.Now(), want, s.location()))
}

// kindWords names period kinds in messages.
var kindWords = map[period.Kind]string{period.Quarter: "quarter", period.Month: "month", period.Year: "calendar year", period.TaxYear: "UK tax year"}

// resendable says whether a stored statement may be sent again as it is.
func (s *Service) resendable(ctx context.Context, q store.Q, st *domain.Statement, force bool) error {
	snap, err := domain.DecodeSnapshot([]byte(st.Snapshot))
	if err != nil {
		return fmt.Errorf("start run: %w", err)
	}
	if reason := SkipStored(snap); reason != "" {
		return domain.Errorf(domain.EINVALID, "statement %s is not sent again: %s", st.ID, skipSentences[reason])
	}
	at, err := q.SentAt(ctx, st.ID)
	if err != nil {
		return fmt.Errorf("start run: %w", err)
	}
	if at != 0 && !force {
		return &NeedsForceError{StatementID: st.ID, DeliveredOn: time.Unix(at, 0).In(s.location()).Format("2 January 2006")}
	}
	return nil
}

// Resume sets a paused run running again, recorded in the audit log, and
// returns it; its jobs are then worked by every impactd serve and by the
// caller's Finish. A run that is running already (its command was killed)
// is returned as it is; a finished one cannot be resumed.
func (s *Service) Resume(ctx context.Context, runID, actor, reason string) (*domain.Run, error) {
	var run *domain.Run
	resumed := false
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if run, err = tx.Run(ctx, runID); err != nil {
			return err
		}
		switch run.Status {
		case domain.RunRunning:
			return nil
		case domain.RunPaused:
		default:
			return domain.Errorf(domain.ECONFLICT, "run %s has finished (%s): start a new one to send again", run.ID, run.Status)
		}
		if resumed, err = tx.ResumeRun(ctx, run.ID); err != nil || !resumed {
			return err
		}
		run.Status = domain.RunRunning
		return tx.Audit(ctx, &store.AuditEntry{Actor: firstNonEmpty(actor, "unknown"), Action: "run.resume", Subject: run.ID,
			Reason: firstNonEmpty(strings.TrimSpace(reason), "resumed"), Detail: fmt.Sprintf(`{"paused_for":%q}`, run.PauseReason),
			CreatedAt: s.Clock.Now().Unix()})
	})
	if err != nil {
		return nil, fmt.Errorf("resume run %s: %w", runID, err)
	}
	if resumed {
		s.log().Info("run resumed", "run_id", run.ID)
	}
	return run, nil
}

// Status returns a run with its live counts.
func (s *Service) Status(ctx context.Context, runID string) (*domain.Run, domain.RunCounts, error) {
	run, err := s.Store.Run(ctx, runID)
	if err != nil {
		return nil, domain.RunCounts{}, err
	}
	c, err := s.Store.CountRun(ctx, runID)
	if err != nil {
		return nil, domain.RunCounts{}, err
	}
	return run, c, nil
}

// Run starts a run and works it in this process until it is no longer
// running, then returns it (finished, or paused with the reason).
func (s *Service) Run(ctx context.Context, req Request) (*domain.Run, error) {
	run, err := s.Start(ctx, req)
	if err != nil {
		return nil, err
	}
	return s.Finish(ctx, run.ID, nil)
}

// Finish works the jobs of a run that was started earlier — by this
// process before it crashed, by another, or by the scheduler — until the
// run is finished or paused, then returns it. Other processes may share the
// work. progress, when set, is called about once a second with the live
// counts, and once more at the end. A database that cannot be reached is
// waited for, not given up on.
func (s *Service) Finish(ctx context.Context, runID string, progress func(*domain.Run, domain.RunCounts)) (*domain.Run, error) {
	if s.Worker == nil {
		return nil, errors.New("finish run: no worker in this process")
	}
	done := make(chan struct{})
	if progress != nil {
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					if run, c, err := s.Status(ctx, runID); err == nil {
						progress(run, c)
					}
				}
			}
		}()
	}
	err := s.Worker.Work(ctx, runID)
	close(done)
	var run *domain.Run
	var c domain.RunCounts
	werr := waitOut(context.WithoutCancel(ctx), s.log(), func() error {
		var err error
		run, c, err = s.Status(context.WithoutCancel(ctx), runID)
		return err
	})
	if werr != nil {
		return nil, fmt.Errorf("run %s: %w", runID, werr)
	}
	if err != nil {
		return run, fmt.Errorf("run %s: %w", runID, err)
	}
	if progress != nil {
		progress(run, c)
	}
	return run, nil
}

// waitOut calls fn until it returns nil or an error that waiting does not
// cure, backing off while the database is unreachable.
func waitOut(ctx context.Context, log *slog.Logger, fn func() error) error {
	delay := 100 * time.Millisecond
	for {
		err := fn()
		if err == nil || !store.IsTransient(err) {
			return err
		}
		log.Warn("database unavailable; waiting", "retry_in_ms", delay.Milliseconds(), "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

func (s *Service) location() *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
