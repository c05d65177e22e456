// Package runner works the jobs of statement runs: the claim loop and the
// steps of each job. Runs are started by internal/runs (the one service
// every adapter calls); any impactd process then claims their jobs through
// the database (FOR UPDATE SKIP LOCKED on PostgreSQL, one IMMEDIATE
// transaction at a time on SQLite) and carries each through its steps —
// ask the policy for the donor's letter, render it, compose its email,
// store the statement together with the send attempt, send, record the
// outcome — committing what each changes, so that a process killed at any
// moment leaves work another process (or itself, restarted) finishes
// without loss.
//
// The one window in which a letter can go out twice is between recording a
// send attempt and recording its outcome: a crash there leaves the attempt
// "sending", and whoever takes the job over cannot know whether the relay
// took the message. It sends again with the same Message-ID (so mail
// clients can fold the two), marks the old attempt interrupted and counts it
// in the run's Interrupted figure, which is thus an upper bound of the
// duplicates a run produced. Everything else is refused by the database:
// a second open or delivered attempt of the same letter (donor, period,
// content) cannot be recorded, whichever run tries.
//
// A worker holds a liveness lock for as long as it lives (liveness.go), so
// that a crashed worker's jobs are taken over in seconds; database faults
// are waited out (outcome.go); mail failures pause the run when they are
// the relay's fault (relay.go); finished runs are closed and summarised
// (finish.go).
package runner

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"impactd/internal/compose"
	"impactd/internal/domain"
	"impactd/internal/mail"
	"impactd/internal/metrics"
	"impactd/internal/runs"
	"impactd/internal/statement"
	"impactd/internal/store"
)

// Renderer turns a snapshot into a PDF; *letter.Renderer is the real one.
type Renderer interface {
	Render(w io.Writer, s *domain.Snapshot, contentHash string) error
}

// Options tune how jobs are worked. Zero values take the defaults shown.
type Options struct {
	Workers      int           // jobs worked at once by this process; 4
	SendRate     float64       // messages per second from this process; 0: unlimited
	MaxAttempts  int           // send attempts before a statement fails; 6
	RetryBackoff time.Duration // first retry delay, doubling, ±20% jitter; 1m
	RetryMax     time.Duration // longest retry delay; 1h
	Lease        time.Duration // how long a claimed job is a worker's; 2m
	Poll         time.Duration // how often an idle worker looks for jobs; 1s
	// TakeoverGrace is how long a worker must look dead (its liveness lock
	// free) before its jobs are taken over; 10s. It rides out a database
	// restart, which drops every session's lock at once until the live
	// workers take theirs again.
	TakeoverGrace time.Duration
	// BreakerFailures pauses a run after this many permanent refusals in
	// a row, to different recipients, across every replica; 10. Negative
	// disables it.
	BreakerFailures int
	// RelayDownAfter pauses a run after this many failed tries in a row to
	// reach the relay (refused, DNS, timeout), across every replica; 3.
	RelayDownAfter int
	// RelayProbe is how long a process waits before it tries an
	// unreachable relay again, doubling after each failed try (at most
	// 30 s); 1s.
	RelayProbe time.Duration
	// ShutdownGrace is how long a process told to stop keeps trying to
	// record what it must (a send's outcome) while the database is away,
	// before it gives up and leaves the attempt open; 10s.
	ShutdownGrace time.Duration
	StaffEmail    string // where run summaries go; "": none
}

// Runner works the jobs of runs.
type Runner struct {
	Store    *store.Store
	Policy   *runs.Policy       // who gets which letter
	Builder  *statement.Builder // the per-period context of snapshots
	Renderer Renderer
	Mailer   mail.Sender
	Compose  *compose.Composer
	Clock    domain.Clock
	Log      *slog.Logger
	Metrics  *metrics.Metrics
	Options  Options
	PDFDir   string // when set, every rendered PDF is also written here
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
	live    liveness
	relay   relayState
	// unrecorded counts outcomes given up on (impactd_send_outcomes_unrecorded_total).
	unrecorded atomic.Int64
}

// initMu guards the lazy set-up of every Runner.
var initMu sync.Mutex

// runState is what this process caches about a run it works on: the fields
// of a run that never change, and the period's snapshot context.
type runState struct {
	run *domain.Run
	sc  *statement.Context
}

func (r *Runner) init() {
	initMu.Lock()
	defer initMu.Unlock()
	if r.sh != nil {
		return
	}
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
	if o.TakeoverGrace <= 0 {
		o.TakeoverGrace = 10 * time.Second
	}
	if o.BreakerFailures == 0 {
		o.BreakerFailures = 10
	}
	if o.RelayDownAfter <= 0 {
		o.RelayDownAfter = 3
	}
	if o.RelayProbe <= 0 {
		o.RelayProbe = time.Second
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 10 * time.Second
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
}

// Work claims and works jobs — of one run when runID is set, of any run
// otherwise — until ctx is cancelled or, for one run, the run is no longer
// running (finished, or paused until someone resumes it). Cancelling ctx
// stops claiming; a send already handed to the relay has its outcome
// recorded, and the claimed jobs not yet sent go back to the queue. A
// database that cannot be reached is waited for — when stopping, for
// ShutdownGrace at most: an outcome still unrecorded then leaves its
// attempt open, to be counted interrupted and sent again by whoever takes
// the job over.
func (r *Runner) Work(ctx context.Context, runID string) error {
	r.init()
	if err := r.holdLiveness(ctx); err != nil {
		return err
	}
	defer r.releaseLiveness()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	// Claimed jobs are worked to the end of their attempt even when
	// shutdown begins: their context is not cancelled with ctx, but
	// ShutdownGrace after it, so that a database that is away (or a
	// statement that hangs) cannot hold the shutdown for ever.
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	defer context.AfterFunc(ctx, func() { time.AfterFunc(r.Options.ShutdownGrace, cancelJobs) })()
	st := &stopper{ch: ctx.Done()}
	for w := 0; w < r.Options.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.worker(ctx, jobCtx, runID, stop, st)
		}()
	}
	// The sweeper keeps the liveness lock, takes over dead workers' jobs,
	// finishes runs whose last job ended in a process that died before it
	// could close the run, and sends pending summaries.
	every := r.Options.Poll
	if runID != "" {
		every = min(every, 100*time.Millisecond) // notice the run's end quickly
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var err error
	for {
		r.keepLiveness(ctx)
		r.refreshRelay(ctx)
		if serr := r.sweep(ctx); serr != nil && ctx.Err() == nil {
			r.Log.Warn("sweep failed", "err", serr)
		}
		if runID != "" {
			run, rerr := r.Store.Run(ctx, runID)
			switch {
			case rerr != nil && ctx.Err() == nil && !store.IsTransient(rerr):
				err = rerr
			case rerr == nil && run.Status != domain.RunRunning:
				if run.Status == domain.RunPaused {
					r.sh.relay.markPaused(runID) // sends held at the gate go back now
				}
			default:
				select {
				case <-ctx.Done():
				case <-t.C:
					continue
				}
			}
			break
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

// worker claims jobs until stop or ctx ends, and works them in jobCtx.
func (r *Runner) worker(ctx, jobCtx context.Context, runID string, stop <-chan struct{}, st *stopper) {
	// ended lists the runs of the jobs worked since the queue last looked
	// empty. A run is closed by whichever worker sees no open job left, but
	// asking after every job cost PostgreSQL a walk over the index entries
	// of every job already done (dead until vacuumed) — a fifth of its time
	// late in a 40,000-donor run. So a worker asks only once a claim comes
	// back short: the queue is draining and one of its runs may be done.
	var ended []string
	var cursor store.ClaimCursor // where this worker's claims of due jobs go on from
	idle := r.Options.Poll
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		var jobs []domain.Job
		var err error
		claimed := time.Now()
		if r.sh.live.held() {
			now := r.Clock.Now()
			// A few jobs per claim: one claim transaction (and, on
			// PostgreSQL, one WAL flush) per job was a fifth of a run's
			// commits. The lease of the later jobs runs while the earlier
			// ones are worked, which a lease of minutes absorbs; a job whose
			// lease lapsed is refused at its next step rather than done twice.
			jobs, err = r.Store.ClaimJobs(ctx, r.WorkerID, runID, now.UnixMilli(), now.Add(r.Options.Lease).UnixMilli(), claimBatch, &cursor)
		}
		switch {
		case err != nil && ctx.Err() == nil && store.IsTransient(err):
			// The database is restarting or busy: back off, then go on.
			idle = min(max(2*idle, 100*time.Millisecond), 2*time.Second)
			r.Log.Warn("claim failed; the database is unavailable, waiting", "retry_in_ms", idle.Milliseconds(), "err", err)
		case err != nil && ctx.Err() == nil:
			r.Log.Warn("claim failed", "err", err)
			idle = r.Options.Poll
		default:
			idle = r.Options.Poll
		}
		r.work(jobCtx, jobs, st, claimed)
		for i := range jobs {
			if !slices.Contains(ended, jobs[i].RunID) {
				ended = append(ended, jobs[i].RunID)
			}
		}
		if len(jobs) < claimBatch {
			for _, id := range ended {
				r.maybeFinish(jobCtx, id)
			}
			ended = ended[:0]
		}
		if len(jobs) == 0 {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-time.After(idle):
			}
		}
	}
}

// state returns what this process caches about a run.
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
	p, err := runs.ParsePeriod(run.Period)
	if err != nil {
		return nil, err
	}
	sc, err := r.Builder.NewSeriesContext(ctx, run.Series, p)
	if err != nil {
		return nil, err
	}
	s = &runState{run: run, sc: sc}
	r.sh.mu.Lock()
	r.sh.runs[runID] = s
	r.sh.mu.Unlock()
	return s, nil
}

// forget drops what this process cached about a run that ended.
func (r *Runner) forget(runID string) {
	r.sh.mu.Lock()
	delete(r.sh.runs, runID)
	r.sh.mu.Unlock()
	r.sh.relay.forget(runID)
}
