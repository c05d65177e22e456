// Package runner produces and sends the statements of a period as durable
// jobs. Starting a run writes the run and one job per donor in a single
// transaction; any impactd process then claims jobs through the database
// (FOR UPDATE SKIP LOCKED on PostgreSQL, one IMMEDIATE transaction at a time
// on SQLite) and carries each through its steps — build the snapshot,
// render, store the snapshot together with the send attempt, send, record
// the outcome — committing what each changes, so that a process killed at
// any moment leaves work another process (or itself, restarted) finishes
// without loss.
//
// The one window in which a letter can go out twice is between recording a
// send attempt and recording its outcome: a crash there leaves the attempt
// "sending", and whoever takes the job over cannot know whether the relay
// took the message. It sends again with the same Message-ID (so mail
// clients can fold the two), marks the old attempt interrupted and counts it
// in the run's Interrupted figure, which is thus an upper bound of the
// duplicates a run produced.
//
// A statement that was delivered and has not changed is never sent again
// unless the run is forced; one that changed goes out as a correction, with
// the difference of the snapshots recorded on the statement.
package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sethvargo/go-retry"
	"golang.org/x/time/rate"

	"impactd/internal/domain"
	"impactd/internal/links"
	"impactd/internal/mail"
	"impactd/internal/metrics"
	"impactd/internal/money"
	"impactd/internal/period"
	"impactd/internal/statement"
	"impactd/internal/store"
	"impactd/internal/supporter"
	"impactd/internal/wording"
)

// Skip reasons, the keys of a run's exceptions report.
const (
	SkipNoEmail      = store.SkipNoEmail
	SkipUnsubscribed = store.SkipUnsubscribed
	SkipErased       = store.SkipErased
	SkipBounced      = store.SkipBounced
	SkipZeroNet      = store.SkipZeroNet
	SkipUnchanged    = store.SkipUnchanged
	SkipAlreadySent  = store.SkipAlreadySent
)

// Renderer turns a snapshot into a PDF; *letter.Renderer is the real one.
type Renderer interface {
	Render(w io.Writer, s *domain.Snapshot, contentHash string) error
}

// Sender is who the letters come from.
type Sender struct{ From, FromName, ReplyTo string }

// Options tune how jobs are worked. Zero values take the defaults shown.
type Options struct {
	Workers        int           // jobs worked at once by this process; 4
	SendRate       float64       // messages per second from this process; 0: unlimited
	MaxAttempts    int           // send attempts before a statement fails; 6
	RetryBackoff   time.Duration // first retry delay, doubling, ±20% jitter; 1m
	RetryMax       time.Duration // longest retry delay; 1h
	Lease          time.Duration // how long a claimed job is a worker's; 2m
	Poll           time.Duration // how often an idle worker looks for jobs; 1s
	IncludeMonthly bool          // also write to active monthly supporters without a gift in the period
	StaffEmail     string        // where run summaries go; "": none
}

// Runner starts runs and works their jobs.
type Runner struct {
	Store     *store.Store
	Builder   *statement.Builder
	Renderer  Renderer
	Mailer    mail.Sender
	Templates *wording.Templates
	Sender    Sender
	BaseURL   string
	Links     *links.Signer // nil: no supporter links (unsubscribe, statement page)
	// StatementLinkTTL is how long the statement link in an email works.
	StatementLinkTTL time.Duration
	Clock            domain.Clock
	Log              *slog.Logger
	Metrics          *metrics.Metrics
	Options          Options
	PDFDir           string // when set, every rendered PDF is also written here
	// WorkerID names this process in job leases; a random one by default.
	WorkerID string

	// sh is created on first use and shared by copies of the Runner (the
	// demo copies it to set PDFDir).
	sh *shared
}

// shared is a Runner's mutable state.
type shared struct {
	limiter *rate.Limiter
	mu      sync.Mutex
	runs    map[string]*runState
}

// initMu guards the lazy set-up of every Runner.
var initMu sync.Mutex

// runState is what this process caches about a run it works on.
type runState struct {
	run *domain.Run
	sc  *statement.Context
}

// Request asks for one run.
type Request struct {
	Period      period.Period
	Trigger     string // "cli", "api", "schedule", "demo", …
	Actor       string // who: a person, a token's name, "schedule"
	Reason      string
	DryRun      bool   // render everything, send nothing
	Scope       string // domain.RunScope*; "" is RunScopePeriod
	DonorID     string // RunScopeDonor
	StatementID string // RunScopeStatement: resend this statement as it is
	Force       bool   // send even statements identical to one delivered
	TickAt      int64  // the schedule tick that asked for the run
}

func (r *Runner) init() {
	initMu.Lock()
	defer initMu.Unlock()
	if r.sh != nil {
		return
	}
	func() {
		o := &r.Options
		if o.Workers <= 0 {
			o.Workers = 4
		}
		if o.MaxAttempts <= 0 {
			o.MaxAttempts = 6
		}
		if o.RetryBackoff <= 0 {
			o.RetryBackoff = time.Minute
		}
		if o.RetryMax <= 0 {
			o.RetryMax = time.Hour
		}
		if o.Lease <= 0 {
			o.Lease = 2 * time.Minute
		}
		if o.Poll <= 0 {
			o.Poll = time.Second
		}
		r.sh = &shared{limiter: rate.NewLimiter(rate.Inf, 1), runs: map[string]*runState{}}
		if o.SendRate > 0 {
			r.sh.limiter = rate.NewLimiter(rate.Limit(o.SendRate), max(1, int(o.SendRate)))
		}
		if r.WorkerID == "" {
			host, _ := os.Hostname()
			r.WorkerID = strings.TrimPrefix(store.NewID("wrk"), "wrk_") + "@" + host
		}
		if r.Log == nil {
			r.Log = slog.New(slog.DiscardHandler)
		}
	}()
}

// Run starts a run and works its jobs in this process until it is
// finished, then returns it. Other processes may share the work.
func (r *Runner) Run(ctx context.Context, req Request) (*domain.Run, error) {
	run, err := r.Start(ctx, req)
	if err != nil {
		return nil, err
	}
	return r.Finish(ctx, run.ID, nil)
}

// Finish works the jobs of a run that was started earlier — by this
// process before it crashed, by another, or by the scheduler — until the
// run is finished, then returns it. progress, when set, is called about
// once a second with the live counts.
func (r *Runner) Finish(ctx context.Context, runID string, progress func(*domain.Run, store.RunCounts)) (*domain.Run, error) {
	r.init()
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
					if run, c, err := r.Status(ctx, runID); err == nil {
						progress(run, c)
					}
				}
			}
		}()
	}
	err := r.Work(ctx, runID)
	close(done)
	run, serr := r.Store.Run(context.WithoutCancel(ctx), runID)
	if serr != nil {
		return nil, fmt.Errorf("run %s: %w", runID, serr)
	}
	if err != nil {
		return run, fmt.Errorf("run %s: %w", runID, err)
	}
	if progress != nil {
		_, c, _ := r.Status(ctx, runID)
		progress(run, c)
	}
	return run, nil
}

// Start validates a request and records the run with its jobs, atomically,
// together with an audit entry of who asked and why. It does not work the
// jobs: Work (in this or any process) does.
func (r *Runner) Start(ctx context.Context, req Request) (*domain.Run, error) {
	var run *domain.Run
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		run, err = r.start(ctx, tx, &req)
		return err
	})
	if err != nil {
		return nil, err
	}
	r.Log.Info("run started", "run_id", run.ID, "period", run.Period, "scope", run.Scope, "dry_run", req.DryRun, "trigger", req.Trigger)
	return run, nil
}

// StartTick starts the run of a schedule tick unless one was already
// started for it (by this or another replica); it reports whether it did.
func (r *Runner) StartTick(ctx context.Context, req Request) (*domain.Run, bool, error) {
	var run *domain.Run
	started := false
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		id := store.NewID("run")
		ok, err := tx.RecordTick(ctx, req.TickAt, req.Period.String(), id, r.Clock.Now().Unix())
		if err != nil || !ok {
			return err
		}
		run, err = r.start(ctx, tx, &req, id)
		started = err == nil
		return err
	})
	if err != nil {
		return nil, false, err
	}
	if started {
		r.Log.Info("run started", "run_id", run.ID, "period", run.Period, "trigger", req.Trigger, "tick_at", req.TickAt)
	}
	return run, started, nil
}

func (r *Runner) start(ctx context.Context, tx *store.Tx, req *Request, id ...string) (*domain.Run, error) {
	r.init()
	op := "start run"
	if req.Scope == "" {
		req.Scope = domain.RunScopePeriod
	}
	if strings.TrimSpace(req.Reason) == "" {
		return nil, domain.Errorf(domain.EINVALID, "a reason is required: say why this run is started (it is recorded)")
	}
	now := r.Clock.Now()
	switch req.Scope {
	case domain.RunScopePeriod, domain.RunScopeFailed, domain.RunScopeUnsent:
	case domain.RunScopeDonor:
		if _, err := tx.Donor(ctx, req.DonorID); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	case domain.RunScopeStatement:
		st, err := tx.Statement(ctx, req.StatementID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		p, err := period.Parse(st.Period)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		req.Period, req.DonorID = p, st.DonorID
		if sent, err := sentAt(ctx, tx.Q, st.ID); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		} else if sent != 0 && !req.Force {
			return nil, domain.Errorf(domain.ECONFLICT, "statement %s was delivered on %s: add force to send it again",
				st.ID, time.Unix(sent, 0).In(r.Builder.Location).Format("2 January 2006"))
		}
	default:
		return nil, domain.Errorf(domain.EINVALID, "unknown run scope %q", req.Scope)
	}
	if err := r.Templates.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if _, err := tx.PublishedImpactUpdate(ctx, req.Period.String()); err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return nil, domain.Errorf(domain.EINVALID, "no published impact update for %s: publish one before running statements", req.Period)
		}
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	run := &domain.Run{Period: req.Period.String(), Trigger: req.Trigger, Reason: req.Reason, Status: domain.RunRunning,
		DryRun: b2i(req.DryRun), StartedAt: now.Unix(), Scope: req.Scope, DonorID: req.DonorID, StatementID: req.StatementID,
		Force: b2i(req.Force), Actor: req.Actor, TickAt: req.TickAt}
	if len(id) > 0 {
		run.ID = id[0]
	}
	if err := tx.CreateRun(ctx, run); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	from, to := req.Period.Bounds(r.Builder.Location)
	n, err := tx.PlanJobs(ctx, run, store.Plan{From: from.Unix(), To: to.Unix(), IncludeMonthly: r.Options.IncludeMonthly}, now.Unix())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	detail, _ := json.Marshal(map[string]any{"period": run.Period, "scope": run.Scope, "donor_id": run.DonorID, "statement_id": run.StatementID,
		"dry_run": req.DryRun, "force": req.Force, "trigger": req.Trigger, "jobs": n})
	actor := req.Actor
	if actor == "" {
		actor = req.Trigger
	}
	if err := tx.Audit(ctx, &store.AuditEntry{Actor: actor, Action: "run.start", Subject: run.ID, Reason: req.Reason,
		Detail: string(detail), CreatedAt: now.Unix()}); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return run, nil
}

// Status returns a run with its live counts.
func (r *Runner) Status(ctx context.Context, runID string) (*domain.Run, store.RunCounts, error) {
	run, err := r.Store.Run(ctx, runID)
	if err != nil {
		return nil, store.RunCounts{}, err
	}
	c, err := r.Store.CountRun(ctx, runID)
	if err != nil {
		return nil, store.RunCounts{}, err
	}
	return run, c, nil
}

// Work claims and works jobs — of one run when runID is set, of any run
// otherwise — until ctx is cancelled or, for one run, the run is finished.
// Cancelling ctx stops claiming; jobs already claimed are worked to the end
// of their current attempt, so a graceful shutdown never leaves a send
// half-recorded.
func (r *Runner) Work(ctx context.Context, runID string) error {
	r.init()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	for w := 0; w < r.Options.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.worker(ctx, runID, stop)
		}()
	}
	// The sweeper finishes runs whose last job ended in a process that died
	// before it could close the run, and sends pending summaries.
	var err error
	every := r.Options.Poll
	if runID != "" {
		every = min(every, 100*time.Millisecond) // notice the run's end quickly
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if serr := r.sweep(ctx); serr != nil && ctx.Err() == nil {
			r.Log.Warn("sweep failed", "err", serr)
		}
		if runID != "" {
			run, rerr := r.Store.Run(ctx, runID)
			if rerr != nil && ctx.Err() == nil {
				err = rerr
				break
			}
			if rerr == nil && run.Status != domain.RunRunning {
				break
			}
		}
		select {
		case <-ctx.Done():
		case <-t.C:
			continue
		}
		break
	}
	halt()
	wg.Wait()
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// claimBatch is how many jobs a worker claims at once.
const claimBatch = 4

func (r *Runner) worker(ctx context.Context, runID string, stop <-chan struct{}) {
	// ended lists the runs of the jobs worked since the queue last looked
	// empty. A run is closed by whichever worker sees no open job left, but
	// asking after every job cost PostgreSQL a walk over the index entries
	// of every job already done (dead until vacuumed) — a fifth of its time
	// late in a 40,000-donor run. So a worker asks only once a claim comes
	// back short: the queue is draining and one of its runs may be done.
	var ended []string
	var cursor store.ClaimCursor // where this worker's claims of due jobs go on from
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		now := r.Clock.Now()
		// A few jobs per claim: one claim transaction (and, on PostgreSQL,
		// one WAL flush) per job was a fifth of a run's commits. The lease
		// of the later jobs runs while the earlier ones are worked, which a
		// lease of minutes absorbs; a job whose lease lapsed is refused at
		// its next step rather than done twice.
		jobs, err := r.Store.ClaimJobs(ctx, r.WorkerID, runID, now.UnixMilli(), now.Add(r.Options.Lease).UnixMilli(), claimBatch, &cursor)
		if err != nil {
			if ctx.Err() == nil {
				r.Log.Warn("claim failed", "err", err)
			}
			jobs = nil
		}
		// Claimed jobs are worked to the end of their attempt even when
		// shutdown begins: their context is not cancelled with ctx.
		r.work(context.WithoutCancel(ctx), jobs)
		for i := range jobs {
			if !slices.Contains(ended, jobs[i].RunID) {
				ended = append(ended, jobs[i].RunID)
			}
		}
		if len(jobs) < claimBatch {
			for _, id := range ended {
				r.maybeFinish(context.WithoutCancel(ctx), id)
			}
			ended = ended[:0]
		}
		if len(jobs) == 0 {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-time.After(r.Options.Poll):
			}
		}
	}
}

// work carries a claimed batch of jobs as far as they go now: each is
// prepared (snapshot built, PDF rendered), then the statements and send
// attempts of all of them are recorded in one transaction, then each is sent
// and its outcome recorded. On a PostgreSQL server whose WAL flush is slow
// the flushes were most of a run's time, so the batch shares one durable
// commit instead of two per letter (with the statement stored in it too,
// a 10,000-donor run went from ~470 to ~573 letters/s; docs/decisions.md). Nothing is
// sent before its attempt is durable, so a crash can still only leave an
// open attempt behind, which a restart counts as interrupted and sends
// again under the same Message-ID (if the crash came before its turn to
// send, that count is an overestimate, never an underestimate).
func (r *Runner) work(ctx context.Context, jobs []store.Job) {
	var ready []*job
	for i := range jobs {
		jb := &job{Job: &jobs[i], log: r.Log.With("run_id", jobs[i].RunID, "donor_id", jobs[i].DonorID)}
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
	if err := r.recordAttempts(ctx, ready); err != nil {
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
		if err := r.deliver(ctx, jb); err != nil {
			r.failed(ctx, jb, err)
		}
	}
}

// failed handles a job whose step returned an error: a lost lease leaves the
// job to the worker that has it; anything else counts as a failed attempt.
func (r *Runner) failed(ctx context.Context, jb *job, err error) {
	if domain.ErrorCode(err) == domain.ECONFLICT {
		jb.log.Warn("job lease lost; another worker has it", "err", err)
		return
	}
	jb.log.Error("job failed", "err", err)
	r.fail(ctx, jb.Job, err, jb.log)
}

// job is a claimed job on its way through work.
type job struct {
	*store.Job
	log   *slog.Logger
	donor *domain.Donor
	st    *domain.Statement
	// stored is set once st is in the database: a job taken over after a
	// crash finds its statement stored; a new one is stored with its attempt.
	stored bool
	snap   *domain.Snapshot
	pdf    bytes.Buffer
	dl     *domain.Delivery
	// at is when the send attempt was recorded.
	at time.Time
}

func (r *Runner) state(ctx context.Context, runID string) (*runState, error) {
	r.sh.mu.Lock()
	s := r.sh.runs[runID]
	r.sh.mu.Unlock()
	if s != nil {
		return s, nil
	}
	run, err := r.Store.Run(ctx, runID)
	if err != nil {
		return nil, err
	}
	p, err := period.Parse(run.Period)
	if err != nil {
		return nil, err
	}
	sc, err := r.Builder.NewContext(ctx, p)
	if err != nil {
		return nil, err
	}
	s = &runState{run: run, sc: sc}
	r.sh.mu.Lock()
	r.sh.runs[runID] = s
	r.sh.mu.Unlock()
	return s, nil
}

// prepare does a job's first steps: the snapshot is built, or read back
// when a worker that crashed stored it (step 1), and the PDF is rendered
// (step 2). A new snapshot is stored only with the send attempt
// (recordAttempts): one transaction and one update of the job fewer per
// letter than storing it here. ok is false when the job has ended here: the
// donor is left out, or the run is a dry run.
func (r *Runner) prepare(ctx context.Context, jb *job) (ok bool, err error) {
	j := jb.Job
	rs, err := r.state(ctx, j.RunID)
	if err != nil {
		return false, err
	}
	run := rs.run
	donor, bounced, err := r.Store.JobDonor(ctx, j.DonorID)
	if err != nil {
		return false, err
	}
	jb.donor = donor
	// The donor may have unsubscribed, been erased or bounced since the run was planned.
	if reason := exclusion(donor, bounced); reason != "" {
		return false, r.end(ctx, j, store.JobSkipped, reason, "")
	}

	// Step 1: the snapshot.
	var st *domain.Statement
	if j.StatementID == "" {
		var skip string
		st, skip, err = r.build(ctx, rs, j, donor)
		if err != nil {
			return false, err
		}
		if skip != "" {
			return false, r.end(ctx, j, store.JobSkipped, skip, "")
		}
		st.ID = store.NewID("stmt")
	} else if st, err = r.Store.Statement(ctx, j.StatementID); err != nil {
		return false, err
	} else {
		jb.stored = true
	}
	jb.st = st
	jb.log = jb.log.With("statement_id", st.ID)
	if jb.snap, err = domain.DecodeSnapshot([]byte(st.Snapshot)); err != nil {
		return false, err
	}

	// Step 2: render. The PDF is a pure function of the snapshot, so it is
	// made again rather than kept, and making it before the snapshot is
	// stored changes nothing that is recorded; a letter that cannot be
	// rendered leaves nothing behind.
	if err := r.Renderer.Render(&jb.pdf, jb.snap, st.ContentHash); err != nil {
		return false, fmt.Errorf("render: %w", err)
	}
	if r.Metrics != nil {
		r.Metrics.StatementsRendered.Inc()
	}
	if r.PDFDir != "" {
		if err := writeFile(filepath.Join(r.PDFDir, strings.ReplaceAll(run.Period, "/", "-"), j.DonorID+".pdf"), jb.pdf.Bytes()); err != nil {
			return false, err
		}
	}
	if run.DryRun == 1 {
		now := r.Clock.Now()
		return false, r.Store.InTx(ctx, func(tx *store.Tx) error {
			if !jb.stored {
				if err := tx.InsertStatement(ctx, st); err != nil {
					return err
				}
			}
			rec := *j
			rec.StatementID, rec.Rendered = st.ID, 1
			if err := tx.MarkJobRendered(ctx, &rec, r.WorkerID, now.Add(r.Options.Lease).UnixMilli(), now.Unix()); err != nil {
				return err
			}
			rec.Status, rec.SkipReason, rec.LastError = store.JobRendered, "", ""
			return tx.EndJob(ctx, &rec, r.WorkerID, now.Unix())
		})
	}
	return true, nil
}

// recordAttempts is step 3 for a batch of prepared jobs, in one durable
// transaction: each job's new statement is stored and its send attempt
// recorded before its message is handed to the relay.
func (r *Runner) recordAttempts(ctx context.Context, jobs []*job) error {
	now := r.Clock.Now()
	var interrupted []*job
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		interrupted = interrupted[:0]
		for _, jb := range jobs {
			j, st := jb.Job, jb.st
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
					interrupted = append(interrupted, jb)
				case domain.ErrorCode(err) != domain.ENOTFOUND:
					return err
				}
			}
			if msgID == "" {
				msgID = fmt.Sprintf("%s.%d@%s", st.ID, attempt, r.mailHost())
			}
			rec := *j
			rec.StatementID, rec.Rendered, rec.Interrupted = st.ID, 1, interrupts
			if err := tx.MarkJobRendered(ctx, &rec, r.WorkerID, now.Add(r.Options.Lease).UnixMilli(), now.Unix()); err != nil {
				return err
			}
			jb.dl = &domain.Delivery{StatementID: st.ID, Attempt: attempt, Status: domain.DeliverySending, MessageID: msgID,
				CreatedAt: now.Unix(), UpdatedAt: now.Unix()}
			if err := tx.InsertDelivery(ctx, jb.dl); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Only once committed do the jobs take their statements and new counts.
	for _, jb := range jobs {
		jb.StatementID, jb.stored, jb.Rendered, jb.at = jb.st.ID, true, 1, now
	}
	for _, jb := range interrupted {
		jb.Interrupted++
		jb.log.Warn("send was interrupted by a crash; sending again with the same Message-ID", "attempt", jb.dl.Attempt)
	}
	return nil
}

// deliver sends a job's message (step 4) and records the outcome with the
// job's new status (step 5).
func (r *Runner) deliver(ctx context.Context, jb *job) error {
	corrected := ""
	if jb.st.Replaces != "" {
		if at, err := sentAt(ctx, r.Store.Q, jb.st.Replaces); err != nil {
			return err
		} else if at != 0 {
			corrected = time.Unix(at, 0).In(r.Builder.Location).Format("2 January 2006")
		}
	}
	msg, err := r.message(jb.snap, jb.donor, jb.st.ID, jb.dl.MessageID, jb.pdf.Bytes(), corrected, jb.at)
	if err != nil {
		return err
	}
	if err := r.sh.limiter.Wait(ctx); err != nil {
		return err
	}
	sendErr := r.Mailer.Send(ctx, msg)
	return r.recordSend(ctx, jb.Job, jb.dl, jb.donor, sendErr, jb.log)
}

// recordSend stores a send's outcome and moves the job on: sent; back in
// the queue after a temporary failure; failed after a permanent one, or when
// the attempts are used up.
//
// The outcome is committed without waiting for the WAL flush on PostgreSQL
// (InTxRelaxed), which halves the flushes per letter. A commit that returned
// is lost only if PostgreSQL or its machine crashes before the WAL reaches
// disk (a kill -9 of impactd loses nothing); the attempt is then found
// "sending" and treated as every send cut off by a crash: sent again under
// the same Message-ID and counted in the run's interrupted figure, which
// stays an upper bound of the duplicates. That window is short: the WAL is
// written in order, so the synchronous commit of this worker's next batch of
// attempts — which comes before its next send — makes these outcomes
// durable too, as does any synchronous commit of any other worker; at most
// one batch of outcomes per worker (claimBatch) is ever at risk, as many as
// the open attempts a crash already leaves behind.
func (r *Runner) recordSend(ctx context.Context, j *store.Job, dl *domain.Delivery, donor *domain.Donor, sendErr error, log *slog.Logger) error {
	now := r.Clock.Now()
	status, detail := domain.DeliverySent, ""
	switch {
	case sendErr == nil:
	case mail.IsPermanent(sendErr):
		status, detail = domain.DeliveryPermFailed, sendErr.Error()
	default:
		status, detail = domain.DeliveryTempFailed, sendErr.Error()
	}
	err := r.Store.InTxRelaxed(ctx, func(tx *store.Tx) error {
		if _, err := tx.UpdateDeliveryStatus(ctx, dl.ID, domain.DeliverySending, status, detail, now.Unix()); err != nil {
			return err
		}
		switch status {
		case domain.DeliverySent:
			j.Status, j.LastError = store.JobSent, ""
			return tx.EndJob(ctx, j, r.WorkerID, now.Unix())
		case domain.DeliveryPermFailed:
			if mailboxRefused(sendErr) {
				if err := tx.AddBounce(ctx, donor.Email, detail, now.Unix()); err != nil {
					return err
				}
			}
			j.Status, j.LastError = store.JobFailed, detail
			return tx.EndJob(ctx, j, r.WorkerID, now.Unix())
		}
		j.Attempts++
		j.LastError = detail
		if j.Attempts >= r.Options.MaxAttempts {
			j.Status, j.LastError = store.JobFailed, fmt.Sprintf("gave up after %d attempts: %s", j.Attempts, detail)
			return tx.EndJob(ctx, j, r.WorkerID, now.Unix())
		}
		j.RunAfterMS = now.Add(r.backoff(j.Attempts)).UnixMilli()
		return tx.RetryJob(ctx, j, r.WorkerID, now.Unix())
	})
	if err != nil {
		return errors.Join(sendErr, err)
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
		log.Debug("statement sent")
	case j.Status == store.JobPending:
		log.Warn("send failed; will retry", "attempt", j.Attempts, "retry_in_ms", j.RunAfterMS-now.UnixMilli(), "err", sendErr)
	default:
		log.Error("send failed", "err", sendErr)
	}
	return nil
}

// fail records an error that is not a mail server's answer (a database or
// rendering error): it is retried like a temporary failure.
func (r *Runner) fail(ctx context.Context, j *store.Job, cause error, log *slog.Logger) {
	now := r.Clock.Now()
	j.Attempts++
	j.LastError = cause.Error()
	var err error
	if j.Attempts >= r.Options.MaxAttempts {
		j.Status = store.JobFailed
		err = r.Store.EndJob(ctx, j, r.WorkerID, now.Unix())
	} else {
		j.RunAfterMS = now.Add(r.backoff(j.Attempts)).UnixMilli()
		err = r.Store.RetryJob(ctx, j, r.WorkerID, now.Unix())
	}
	if err != nil {
		log.Error("job outcome not recorded; its lease will expire and it will be retried", "err", err)
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

func (r *Runner) end(ctx context.Context, j *store.Job, status, reason, lastError string) error {
	j.Status, j.SkipReason, j.LastError = status, reason, lastError
	return r.Store.EndJob(ctx, j, r.WorkerID, r.Clock.Now().Unix())
}

// exclusion says why a donor gets no letter now, or "". bounced is whether
// their address was refused for good.
func exclusion(d *domain.Donor, bounced bool) string {
	switch {
	case d.Status == domain.DonorErased:
		return SkipErased
	case d.Status == domain.DonorMerged || d.MergedInto != "":
		return store.SkipMerged
	case d.Status == domain.DonorUnsubscribed:
		return SkipUnsubscribed
	case d.Email == "":
		return SkipNoEmail
	case bounced:
		return SkipBounced
	}
	return ""
}

// build makes the donor's snapshot. It returns a skip reason instead when
// the letter would say nothing (zero net), or when the donor already has
// the identical letter (or any letter, for a run of the unsent only).
func (r *Runner) build(ctx context.Context, rs *runState, j *store.Job, d *domain.Donor) (*domain.Statement, string, error) {
	run, now := rs.run, r.Clock.Now()
	prev, err := r.Store.LastSentStatement(ctx, d.ID, run.Period)
	if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
		return nil, "", err
	}
	if prev != nil && run.Scope == domain.RunScopeUnsent && run.Force == 0 {
		return nil, SkipAlreadySent, nil
	}
	issued := now
	var old *domain.Snapshot
	if prev != nil {
		// Rebuild with the earlier letter's date: if nothing else differs,
		// the hash matches and the donor is not written to twice.
		if old, err = domain.DecodeSnapshot([]byte(prev.Snapshot)); err != nil {
			return nil, "", err
		}
		if t, err := time.ParseInLocation(time.DateOnly, old.IssuedOn, r.Builder.Location); err == nil {
			issued = t
		}
	}
	snap, err := r.Builder.Build(ctx, rs.sc, d, issued)
	if err != nil {
		return nil, "", err
	}
	if zeroNet(snap) && run.Force == 0 {
		return nil, SkipZeroNet, nil
	}
	enc, err := snap.Encode()
	if err != nil {
		return nil, "", err
	}
	hash := domain.ContentHash(enc)
	st := &domain.Statement{RunID: run.ID, DonorID: d.ID, Period: run.Period, CreatedAt: now.Unix()}
	if prev != nil {
		if prev.ContentHash == hash && run.Force == 0 {
			return nil, SkipUnchanged, nil
		}
		if prev.ContentHash != hash {
			if snap, err = r.Builder.Build(ctx, rs.sc, d, now); err != nil {
				return nil, "", err
			}
			if prev.SentAt != 0 {
				snap.Corrects = time.Unix(prev.SentAt, 0).In(r.Builder.Location).Format("2 January 2006")
			}
			if enc, err = snap.Encode(); err != nil {
				return nil, "", err
			}
			hash = domain.ContentHash(enc)
			st.Replaces = prev.ID
			st.Diff = Diff(old, snap)
		}
	}
	st.Snapshot, st.ContentHash = string(enc), hash
	j.MixedCurrency = b2i(len(snap.Totals) > 1)
	j.NoAddress = b2i(len(snap.Donor.Address) == 0)
	return st, "", nil
}

// zeroNet reports whether the donor had activity in the period and every
// currency's net total is zero (a gift refunded in full). A letter with no
// activity at all (a monthly supporter between gifts) is not zero net.
func zeroNet(s *domain.Snapshot) bool {
	if len(s.Totals) == 0 {
		return false
	}
	for _, t := range s.Totals {
		if t.Net != 0 {
			return false
		}
	}
	return true
}

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
	run, c, err := r.Status(ctx, runID)
	if err != nil || run.Status != domain.RunRunning || c.Open() > 0 {
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
	}
	won, err := r.Store.FinishRun(ctx, run)
	if err != nil || !won {
		return err
	}
	r.sh.mu.Lock()
	delete(r.sh.runs, runID)
	r.sh.mu.Unlock()
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
	var b strings.Builder
	dry := ""
	if run.DryRun == 1 {
		dry = " (dry run: nothing was sent)"
	}
	fmt.Fprintf(&b, "Statement run %s for %s: %s%s.\n\n", run.ID, run.Period, run.Status, dry)
	fmt.Fprintf(&b, "Started by %s (%s): %s\n", firstNonEmpty(run.Actor, run.Trigger), run.Trigger, run.Reason)
	fmt.Fprintf(&b, "Duration: %s\n\n", time.Duration(run.FinishedAt-run.StartedAt)*time.Second)
	fmt.Fprintf(&b, "Eligible:  %d\nRendered:  %d\nSent:      %d\nFailed:    %d\nSkipped:   %d\n", run.Eligible, run.Rendered, run.Sent, run.Failed, run.Skipped)
	if run.Interrupted > 0 {
		fmt.Fprintf(&b, "Interrupted sends (possible duplicates): %d\n", run.Interrupted)
	}
	fmt.Fprintf(&b, "\nLeft out, by reason: %s\nSent, but worth a look: %s\n", run.Exceptions, run.Flags)
	fmt.Fprintf(&b, "\nDetails: %s/api/v1/runs/%s\n", r.BaseURL, run.ID)
	msg := &mail.Message{From: r.Sender.From, FromName: r.Sender.FromName, To: r.Options.StaffEmail,
		Subject: fmt.Sprintf("impactd run %s %s: %d sent, %d failed", run.Period, run.Status, run.Sent, run.Failed),
		Text:    b.String(), MessageID: fmt.Sprintf("%s.summary@%s", run.ID, r.mailHost()), Date: r.Clock.Now()}
	if err := r.Mailer.Send(ctx, msg); err != nil {
		return fmt.Errorf("run summary: %w", err)
	}
	return nil
}

// message builds the email of a statement.
func (r *Runner) message(snap *domain.Snapshot, d *domain.Donor, statementID, messageID string, pdf []byte, corrected string, now time.Time) (*mail.Message, error) {
	var nets []string
	for _, t := range snap.Totals {
		nets = append(nets, money.New(t.Net, t.Currency).String())
	}
	data := wording.EmailData{
		LetterData: wording.LetterData{
			Donor: wording.NameParts{Name: d.Name, FirstName: wording.FirstName(d.Name)}, Org: snap.Org,
			Period: snap.Period, PeriodLabel: snap.PeriodLabel, NetText: strings.Join(nets, " and "),
			GiftCount: len(snap.Gifts), Impact: snap.Impact,
		},
		Corrected: corrected != "", CorrectedFrom: corrected,
	}
	headers := map[string]string{}
	if r.Links != nil {
		data.UnsubscribeURL = r.BaseURL + "/unsubscribe/" + r.Links.Token("unsubscribe", d.ID)
		headers["List-Unsubscribe"] = "<" + data.UnsubscribeURL + ">"
		headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
		ttl := r.StatementLinkTTL
		if ttl <= 0 {
			ttl = 90 * 24 * time.Hour
		}
		data.StatementURL = supporter.StatementURL(r.BaseURL, r.Links, statementID, now.Add(ttl))
	}
	e, err := r.Templates.Email(data)
	if err != nil {
		return nil, err
	}
	slug := strings.ReplaceAll(snap.Period, "/", "-")
	return &mail.Message{
		From: r.Sender.From, FromName: r.Sender.FromName, ReplyTo: r.Sender.ReplyTo,
		To: d.Email, ToName: d.Name, Subject: e.Subject, Text: e.Text, HTML: e.HTML,
		Attachments: []mail.Attachment{{Name: "impact-statement-" + slug + ".pdf", ContentType: "application/pdf", Data: pdf}},
		MessageID:   messageID, Headers: headers, Date: now,
	}, nil
}

// StatementPDF renders a stored statement's PDF into w.
func (r *Runner) StatementPDF(ctx context.Context, statementID string, w io.Writer) (*domain.Statement, error) {
	st, err := r.Store.Statement(ctx, statementID)
	if err != nil {
		return nil, err
	}
	snap, err := domain.DecodeSnapshot([]byte(st.Snapshot))
	if err != nil {
		return nil, err
	}
	if err := r.Renderer.Render(w, snap, st.ContentHash); err != nil {
		return nil, fmt.Errorf("render statement %s: %w", st.ID, err)
	}
	return st, nil
}

func (r *Runner) mailHost() string {
	if u, err := url.Parse(r.BaseURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "impactd.invalid"
}

// sentAt returns when a statement was delivered, or 0.
func sentAt(ctx context.Context, q store.Q, statementID string) (int64, error) {
	ds, err := q.DeliveriesForStatement(ctx, statementID)
	if err != nil {
		return 0, err
	}
	var at int64
	for _, d := range ds {
		if d.Status == domain.DeliverySent {
			at = d.UpdatedAt
		}
	}
	return at, nil
}

// mailboxRefused reports whether a permanent failure is about the address
// itself (550 mailbox unavailable, 551 user not local, 553 mailbox name not
// allowed) rather than about this message: only those mark it bounced.
func mailboxRefused(err error) bool {
	s := err.Error()
	for _, code := range []string{"550", "551", "553"} {
		if strings.Contains(s, code+" ") || strings.Contains(s, code+"-") {
			return true
		}
	}
	return false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
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
