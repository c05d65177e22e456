package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"impactd/internal/domain"
)

const jobCols = `id, run_id, donor_id, status, skip_reason, failure, attempts, run_after_ms, locked_by, locked_until_ms, statement_id,
	rendered, interrupted, no_address, mixed_currency, last_error, created_at, updated_at`

// Plan says which donors a new run considers.
type Plan struct {
	From, To       int64 // the period, [From, To) in unix seconds
	IncludeMonthly bool  // also every active monthly supporter, gift in the period or not
}

// skipLocked is the claim suffix: PostgreSQL skips rows another transaction
// has locked, so replicas claiming at once each get different jobs without
// waiting; SQLite's IMMEDIATE transactions already run one claimer at a time.
func (q Q) skipLocked() string {
	if q.dialect == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// PlanJobs inserts one pending job for every donor the run considers, in
// one statement: the donors never pass through memory, so planning a run of
// a million donors costs what the database needs and nothing more. Which of
// them get a letter is not decided here but by each job when it is worked
// (internal/runs decides it, in one place), so that a donor who unsubscribes
// or is erased after planning is left out all the same. It returns the
// number of jobs.
func (q Q) PlanJobs(ctx context.Context, run *domain.Run, p Plan, now int64) (int, error) {
	var who string
	var args []any
	activity := `SELECT donor_id FROM donations WHERE created >= ? AND created < ?
		UNION SELECT dn.donor_id FROM refunds r JOIN donations dn ON dn.id = r.donation_id WHERE r.created >= ? AND r.created < ?`
	switch run.Scope {
	case domain.RunScopePeriod, domain.RunScopeUnsent:
		who, args = activity, []any{p.From, p.To, p.From, p.To}
		if p.IncludeMonthly {
			who += ` UNION SELECT donor_id FROM subscriptions WHERE status = 'active' AND started < ?`
			args = append(args, p.To)
		}
	case domain.RunScopeFailed:
		// Donors whose letter for the period failed in an earlier run and
		// has not been delivered since.
		who = `SELECT j.donor_id FROM run_jobs j JOIN runs r ON r.id = j.run_id
			WHERE r.series = ? AND r.period = ? AND r.dry_run = 0 AND j.status = ? AND NOT EXISTS (
				SELECT 1 FROM statements s JOIN deliveries dl ON dl.statement_id = s.id
				WHERE s.donor_id = j.donor_id AND s.series = r.series AND s.period = r.period AND dl.status = ?)`
		args = []any{run.Series.OrDefault(), run.Period, domain.JobFailed, domain.DeliverySent}
	case domain.RunScopeDonor, domain.RunScopeStatement:
		who, args = `SELECT id FROM donors WHERE id = ?`, []any{run.DonorID}
	default:
		return 0, domain.Errorf(domain.EINVALID, "unknown run scope %q", run.Scope)
	}
	query := `INSERT INTO run_jobs (id, run_id, donor_id, status, statement_id, created_at, updated_at)
		SELECT CAST(? AS TEXT) || '.' || d.id, CAST(? AS TEXT), d.id, CAST(? AS TEXT), CAST(? AS TEXT), ?, ?
		FROM donors d WHERE d.id IN (` + who + `)`
	all := append([]any{run.ID, run.ID, domain.JobPending, run.StatementID, now, now}, args...)
	res, err := q.exec(ctx, query, all...)
	if err != nil {
		return 0, fmt.Errorf("plan jobs: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("plan jobs: %w", err)
	}
	return int(n), nil
}

// ClaimJobs takes up to limit jobs, in a transaction of its own; see claimJobs.
func (s *Store) ClaimJobs(ctx context.Context, worker, runID string, nowMS, leaseUntilMS int64, limit int, cur *ClaimCursor) ([]domain.Job, error) {
	var jobs []domain.Job
	var was ClaimCursor
	if cur != nil {
		was = *cur
	}
	err := s.InTxRelaxed(ctx, func(tx *Tx) error {
		var err error
		jobs, err = tx.claimJobs(ctx, worker, runID, nowMS, leaseUntilMS, limit, cur)
		return err
	})
	if err != nil && cur != nil {
		*cur = was // nothing was claimed
	}
	return jobs, err
}

// ClaimCursor is where a worker's last claim of due jobs ended, in claim
// order (run_after_ms, id); the zero value is the start of the queue.
//
// Claimed jobs leave behind index entries of their pending row versions,
// dead but kept until VACUUM, and a claim from the start of the queue walks
// all of them: on PostgreSQL, the claims late in a 100,000-donor run read
// hundreds of index pages each, though autovacuum comes at most once a
// minute. A claim starts after the cursor instead. A job that becomes due
// behind it (a retry with a short back-off, a claim rolled back) is still
// found: when the claim after the cursor comes back short, or the cursor
// is older than claimRescan, the claim starts from the beginning again.
type ClaimCursor struct {
	RunAfterMS int64
	ID         string
	// SinceMS is when the claim from the start of the queue that began this
	// cursor was made.
	SinceMS int64
}

// claimRescan is how often a worker's claims start from the beginning of
// the queue even when jobs after its cursor remain: the most a retry due
// behind the cursor waits beyond its time.
const claimRescan = 10_000 // ms

// claimJobs takes up to limit jobs that are ready — pending and due, or
// running under a lease that has expired because its worker died — and
// leases them to worker until leaseUntilMS. Jobs of a paused run are left
// alone. runID limits the claim to one run; "" takes jobs of any run. cur,
// when not nil, is the worker's cursor, moved past the due jobs claimed.
func (q Q) claimJobs(ctx context.Context, worker, runID string, nowMS, leaseUntilMS int64, limit int, cur *ClaimCursor) ([]domain.Job, error) {
	// The paused runs are few (usually none): the subquery is read once per
	// claim, through runs_status, and each candidate is a lookup in it.
	filter, args := ` AND run_id NOT IN (SELECT id FROM runs WHERE status = ?)`, []any{domain.RunPaused}
	if runID != "" {
		filter, args = filter+" AND run_id = ?", append(args, runID)
	}
	after := cur != nil && cur.ID != "" && nowMS-cur.SinceMS < claimRescan
	type claim struct {
		status, cond string
		args         []any
	}
	// Simple index-friendly claims instead of one OR: due pending jobs by
	// (status, run_after_ms, id) — after the cursor, then from the start if
	// that was not enough — and expired leases by the same index. Each is
	// one UPDATE … RETURNING, so a claim is one statement, not a select,
	// an update and a select to read the jobs back.
	claims := []claim{{domain.JobPending, "run_after_ms <= ?", nil}, {domain.JobRunning, "locked_until_ms < ?", nil}}
	if after {
		claims = append([]claim{{domain.JobPending, "run_after_ms <= ? AND (run_after_ms, id) > (?, ?)", []any{cur.RunAfterMS, cur.ID}}}, claims...)
	}
	var jobs []domain.Job
	for _, c := range claims {
		if len(jobs) >= limit {
			break
		}
		var got []domain.Job
		a := []any{domain.JobRunning, worker, leaseUntilMS, nowMS / 1000, c.status, nowMS}
		a = append(a, c.args...)
		a = append(a, args...)
		a = append(a, limit-len(jobs))
		err := q.selectAll(ctx, &got, `UPDATE run_jobs SET status = ?, locked_by = ?, locked_until_ms = ?, updated_at = ?
			WHERE id IN (SELECT id FROM run_jobs WHERE status = ? AND `+c.cond+filter+` ORDER BY run_after_ms, id LIMIT ?`+q.skipLocked()+`)
			RETURNING `+jobCols, a...)
		if err != nil {
			return nil, fmt.Errorf("claim jobs: %w", err)
		}
		if cur != nil && c.status == domain.JobPending {
			if c.args == nil { // from the start: the cursor begins again
				*cur = ClaimCursor{SinceMS: nowMS}
			}
			for _, j := range got {
				if j.RunAfterMS > cur.RunAfterMS || (j.RunAfterMS == cur.RunAfterMS && j.ID > cur.ID) {
					cur.RunAfterMS, cur.ID = j.RunAfterMS, j.ID
				}
			}
		}
		jobs = append(jobs, got...)
	}
	slices.SortFunc(jobs, func(a, b domain.Job) int { return strings.Compare(a.ID, b.ID) })
	return jobs, nil
}

// LeaseHolders returns the workers that hold an unexpired lease on a job,
// so that their liveness can be checked (Liveness.Alive).
func (q Q) LeaseHolders(ctx context.Context, nowMS int64) ([]string, error) {
	var ws []string
	if err := q.selectAll(ctx, &ws, `SELECT DISTINCT locked_by FROM run_jobs WHERE status = ? AND locked_until_ms >= ?`,
		domain.JobRunning, nowMS); err != nil {
		return nil, fmt.Errorf("lease holders: %w", err)
	}
	return ws, nil
}

// ExpireLeases ends the leases of a worker found dead, so that the next
// claim of any worker takes its jobs over at once instead of after the
// lease; it returns how many jobs it freed.
func (q Q) ExpireLeases(ctx context.Context, worker string) (int, error) {
	res, err := q.exec(ctx, `UPDATE run_jobs SET locked_until_ms = 0 WHERE status = ? AND locked_by = ?`, domain.JobRunning, worker)
	if err != nil {
		return 0, fmt.Errorf("expire leases: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("expire leases: %w", err)
	}
	return int(n), nil
}

// errLeaseLost is returned when a job's lease passed to another worker.
func errLeaseLost(id string) error {
	return domain.Errorf(domain.ECONFLICT, "job %s is no longer leased to this worker", id)
}

func (q Q) leased(ctx context.Context, op, query string, args ...any) error {
	res, err := q.exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if n != 1 {
		return fmt.Errorf("%s: %w", op, errLeaseLost(fmt.Sprint(args[len(args)-2])))
	}
	return nil
}

// MarkJobRendered records, in one update, what a job has done before its
// send: its statement is stored (statement_id and the flags taken from its
// snapshot), its PDF rendered and, when interrupted is set, an earlier send
// of it cut off; and it extends the job's lease to leaseUntilMS, failing
// with a conflict when the worker no longer holds it. Workers call it in the
// transaction that records a send attempt, so a job whose lease ran out is
// never sent by two. It touches no indexed column, so on PostgreSQL the
// update can stay on its page (HOT) instead of adding an entry to every
// index of run_jobs.
func (q Q) MarkJobRendered(ctx context.Context, j *domain.Job, worker string, leaseUntilMS, now int64) error {
	return q.leased(ctx, "mark job rendered", `UPDATE run_jobs SET statement_id = ?, no_address = ?, mixed_currency = ?, rendered = 1, interrupted = ?,
			locked_until_ms = ?, updated_at = ?
		WHERE id = ? AND locked_by = ?`, j.StatementID, b2i(j.NoAddress), b2i(j.MixedCurrency), j.Interrupted, leaseUntilMS, now, j.ID, worker)
}

// EndJob moves a job to a terminal status.
func (q Q) EndJob(ctx context.Context, j *domain.Job, worker string, now int64) error {
	return q.leased(ctx, "end job", `UPDATE run_jobs SET status = ?, skip_reason = ?, failure = ?, last_error = ?, attempts = ?, locked_by = '', locked_until_ms = 0, updated_at = ?
		WHERE id = ? AND locked_by = ?`, j.Status, j.SkipReason, j.Failure, j.LastError, j.Attempts, now, j.ID, worker)
}

// RetryJob puts a job back in the queue, due at j.RunAfterMS, with
// j.Attempts (unchanged when the failure was not the donor's).
func (q Q) RetryJob(ctx context.Context, j *domain.Job, worker string, now int64) error {
	return q.leased(ctx, "retry job", `UPDATE run_jobs SET status = ?, attempts = ?, run_after_ms = ?, last_error = ?, locked_by = '', locked_until_ms = 0, updated_at = ?
		WHERE id = ? AND locked_by = ?`, domain.JobPending, j.Attempts, j.RunAfterMS, j.LastError, now, j.ID, worker)
}

// ReopenJobs puts failed jobs back in the queue as if never tried, with a
// note of why: a run whose relay refused every recipient takes back what
// those refusals did.
func (q Q) ReopenJobs(ctx context.Context, ids []string, note string, now int64) error {
	for _, id := range ids {
		if _, err := q.exec(ctx, `UPDATE run_jobs SET status = ?, failure = '', attempts = 0, run_after_ms = 0, last_error = ?, updated_at = ?
			WHERE id = ? AND status = ?`, domain.JobPending, note, now, id, domain.JobFailed); err != nil {
			return fmt.Errorf("reopen jobs: %w", err)
		}
	}
	return nil
}

// Job returns one job.
func (q Q) Job(ctx context.Context, id string) (*domain.Job, error) {
	var j domain.Job
	if err := q.get(ctx, &j, `SELECT `+jobCols+` FROM run_jobs WHERE id = ?`, id); err != nil {
		return nil, fmt.Errorf("job: %w", notFound(err, "job"))
	}
	return &j, nil
}

// CountRun adds up a run's jobs.
func (q Q) CountRun(ctx context.Context, runID string) (domain.RunCounts, error) {
	var rows []struct {
		Status      string `db:"status"`
		Reason      string `db:"skip_reason"`
		Failure     string `db:"failure"`
		Retry       int    `db:"retry"`
		N           int    `db:"n"`
		Rendered    int    `db:"rendered"`
		Interrupted int    `db:"interrupted"`
		NoAddress   int    `db:"no_address"`
		Mixed       int    `db:"mixed"`
	}
	err := q.selectAll(ctx, &rows, `SELECT status, skip_reason, failure, CASE WHEN attempts > 0 THEN 1 ELSE 0 END AS retry, COUNT(*) AS n,
			COALESCE(SUM(rendered), 0) AS rendered, COALESCE(SUM(interrupted), 0) AS interrupted,
			COALESCE(SUM(CASE WHEN status <> 'skipped' THEN no_address ELSE 0 END), 0) AS no_address,
			COALESCE(SUM(CASE WHEN status <> 'skipped' THEN mixed_currency ELSE 0 END), 0) AS mixed
		FROM run_jobs WHERE run_id = ? GROUP BY status, skip_reason, failure, CASE WHEN attempts > 0 THEN 1 ELSE 0 END`, runID)
	if err != nil {
		return domain.RunCounts{}, fmt.Errorf("count run: %w", err)
	}
	c := domain.RunCounts{SkippedBy: map[string]int{}, FailedBy: map[string]int{}, Flagged: map[string]int{}}
	for _, r := range rows {
		c.Jobs += r.N
		c.Rendered += r.Rendered
		c.Interrupted += r.Interrupted
		if r.NoAddress > 0 {
			c.Flagged["no_postal_address"] += r.NoAddress
		}
		if r.Mixed > 0 {
			c.Flagged["mixed_currencies"] += r.Mixed
		}
		switch r.Status {
		case domain.JobPending:
			if r.Retry == 1 {
				c.Retrying += r.N
			} else {
				c.Queued += r.N
			}
		case domain.JobRunning:
			c.Running += r.N
		case domain.JobSent:
			c.Sent += r.N
		case domain.JobRendered:
			c.DryRendered += r.N
		case domain.JobFailed:
			c.Failed += r.N
			c.FailedBy[r.Failure] += r.N
		case domain.JobSkipped:
			c.Skipped += r.N
			c.SkippedBy[r.Reason] += r.N
		}
	}
	c.Eligible = c.Jobs - c.Skipped
	return c, nil
}

// RunJobs returns a page of a run's jobs in id order, after the given id.
func (q Q) RunJobs(ctx context.Context, runID, after string, limit int) ([]domain.JobView, error) {
	var vs []domain.JobView
	err := q.selectAll(ctx, &vs, `SELECT j.id, j.run_id, j.donor_id, j.status, j.skip_reason, j.failure, j.attempts, j.run_after_ms, j.locked_by, j.locked_until_ms,
			j.statement_id, j.rendered, j.interrupted, j.no_address, j.mixed_currency, j.last_error, j.created_at, j.updated_at,
			COALESCE(s.content_hash, '') AS content_hash, COALESCE(s.replaces, '') AS replaces, COALESCE(s.diff, '') AS diff,
			COALESCE((SELECT dl.status FROM deliveries dl WHERE dl.statement_id = j.statement_id ORDER BY dl.attempt DESC LIMIT 1), '') AS delivery_status,
			COALESCE((SELECT dl.detail FROM deliveries dl WHERE dl.statement_id = j.statement_id ORDER BY dl.attempt DESC LIMIT 1), '') AS delivery_detail
		FROM run_jobs j LEFT JOIN statements s ON s.id = j.statement_id
		WHERE j.run_id = ? AND j.id > ? ORDER BY j.id LIMIT ?`, runID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("run jobs: %w", err)
	}
	return vs, nil
}

// FailedJobs returns up to limit of a run's failed jobs that have no
// delivery to show for it (the letter could not be made), in id order:
// the run report lists them with their error.
func (q Q) FailedJobs(ctx context.Context, runID string, limit int) ([]domain.Job, error) {
	var js []domain.Job
	if err := q.selectAll(ctx, &js, `SELECT `+jobCols+` FROM run_jobs WHERE run_id = ? AND status = ? AND failure = ? ORDER BY id LIMIT ?`,
		runID, domain.JobFailed, domain.FailRender, limit); err != nil {
		return nil, fmt.Errorf("failed jobs: %w", err)
	}
	return js, nil
}

// QueueDepth counts the jobs of every run by status, for the metrics.
func (q Q) QueueDepth(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	if err := q.selectAll(ctx, &rows, `SELECT status, COUNT(*) AS n FROM run_jobs WHERE status IN (?, ?) GROUP BY status`,
		domain.JobPending, domain.JobRunning); err != nil {
		return nil, fmt.Errorf("queue depth: %w", err)
	}
	out := map[string]int{domain.JobPending: 0, domain.JobRunning: 0}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}

// HasOpenJobs reports whether a run has a job not yet in a terminal status.
func (q Q) HasOpenJobs(ctx context.Context, runID string) (bool, error) {
	var ids []string
	if err := q.selectAll(ctx, &ids, `SELECT id FROM run_jobs WHERE run_id = ? AND status IN (?, ?) LIMIT 1`,
		runID, domain.JobPending, domain.JobRunning); err != nil {
		return false, fmt.Errorf("open jobs: %w", err)
	}
	return len(ids) > 0, nil
}

// RecordTick records that a series' schedule fired at tickAt (unix
// seconds) for a period, and reports whether this call recorded it: the
// first of any number of replicas gets true and creates the run, in the same
// transaction. The key is (series, tick_at): two series whose schedules
// fire at the same instant each get their tick.
func (q Q) RecordTick(ctx context.Context, series domain.Series, tickAt int64, period, runID string, now int64) (bool, error) {
	res, err := q.exec(ctx, `INSERT INTO schedule_ticks (series, tick_at, period, run_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (series, tick_at) DO NOTHING`,
		series.OrDefault(), tickAt, period, runID, now)
	if err != nil {
		return false, fmt.Errorf("record tick: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record tick: %w", err)
	}
	return n == 1, nil
}

// LastTick returns the newest recorded tick of a series' schedule, or 0.
func (q Q) LastTick(ctx context.Context, series domain.Series) (int64, error) {
	var t int64
	if err := q.get(ctx, &t, `SELECT COALESCE(MAX(tick_at), 0) FROM schedule_ticks WHERE series = ?`, series.OrDefault()); err != nil {
		return 0, fmt.Errorf("last tick: %w", err)
	}
	return t, nil
}

// JobDonor returns the donor of a job and whether their address was refused
// for good, in one query: a run asks both for every donor.
func (q Q) JobDonor(ctx context.Context, id string) (*domain.Donor, bool, error) {
	var d struct {
		domain.Donor
		Bounced int `db:"bounced"`
	}
	err := q.get(ctx, &d, `SELECT d.id, d.name, d.email, d.address, d.status, d.gift_aid_from, d.merged_into, d.letters, d.marketing_consent, d.created_at, d.updated_at,
			CASE WHEN EXISTS (SELECT 1 FROM bounces b WHERE b.email = d.email) THEN 1 ELSE 0 END AS bounced
		FROM donors d WHERE d.id = ?`, id)
	if err != nil {
		return nil, false, fmt.Errorf("job donor: %w", notFound(err, "donor"))
	}
	return &d.Donor, d.Bounced == 1, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// RecordTickRun names the run a recorded tick belongs to.
func (q Q) RecordTickRun(ctx context.Context, series domain.Series, tickAt int64, runID string) (bool, error) {
	res, err := q.exec(ctx, `UPDATE schedule_ticks SET run_id = ? WHERE series = ? AND tick_at = ?`, runID, series.OrDefault(), tickAt)
	if err != nil {
		return false, fmt.Errorf("record tick run: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record tick run: %w", err)
	}
	return n == 1, nil
}
