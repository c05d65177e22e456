package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"impactd/internal/domain"
)

// Job states. A pending job with attempts > 0 is waiting to retry a send.
const (
	JobPending  = "pending"
	JobRunning  = "running"
	JobSent     = "sent"
	JobRendered = "rendered" // dry run: rendered, not sent
	JobSkipped  = "skipped"
	JobFailed   = "failed"
)

// Reasons a donor gets no letter, the keys of a run's exceptions report.
// The first five are decided when the run is planned, the rest by the job.
const (
	SkipErased       = "erased"
	SkipMerged       = "merged"
	SkipUnsubscribed = "unsubscribed"
	SkipNoEmail      = "no_email"
	SkipBounced      = "bounced"
	SkipZeroNet      = "zero_net"
	SkipUnchanged    = "already_sent_unchanged"
	SkipAlreadySent  = "already_sent"
)

// Job is one donor's share of a run: build the snapshot, render, send,
// record. Each step is committed, so any process can take it over.
type Job struct {
	ID            string `db:"id" json:"id"`
	RunID         string `db:"run_id" json:"run_id"`
	DonorID       string `db:"donor_id" json:"donor_id"`
	Status        string `db:"status" json:"status"`
	SkipReason    string `db:"skip_reason" json:"skip_reason,omitempty"`
	Attempts      int    `db:"attempts" json:"attempts"`
	RunAfterMS    int64  `db:"run_after_ms" json:"run_after_ms,omitempty"`
	LockedBy      string `db:"locked_by" json:"-"`
	LockedUntilMS int64  `db:"locked_until_ms" json:"-"`
	StatementID   string `db:"statement_id" json:"statement_id,omitempty"`
	Rendered      int    `db:"rendered" json:"rendered"`
	Interrupted   int    `db:"interrupted" json:"interrupted"`
	NoAddress     int    `db:"no_address" json:"no_address"`
	MixedCurrency int    `db:"mixed_currency" json:"mixed_currency"`
	LastError     string `db:"last_error" json:"last_error,omitempty"`
	CreatedAt     int64  `db:"created_at" json:"created_at"`
	UpdatedAt     int64  `db:"updated_at" json:"updated_at"`
}

const jobCols = `id, run_id, donor_id, status, skip_reason, attempts, run_after_ms, locked_by, locked_until_ms, statement_id,
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

// PlanJobs inserts one job for every donor the run considers, in one
// statement: the donors never pass through memory, so planning a run of a
// million donors costs what the database needs and nothing more. Donors who
// get no letter for a reason known now (erased, merged, unsubscribed, no
// email, a bounced address) are inserted as skipped, so that the exceptions
// report counts them. It returns the number of jobs.
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
			WHERE r.period = ? AND r.dry_run = 0 AND j.status = ? AND NOT EXISTS (
				SELECT 1 FROM statements s JOIN deliveries dl ON dl.statement_id = s.id
				WHERE s.donor_id = j.donor_id AND s.period = r.period AND dl.status = ?)`
		args = []any{run.Period, JobFailed, domain.DeliverySent}
	case domain.RunScopeDonor, domain.RunScopeStatement:
		who, args = `SELECT id FROM donors WHERE id = ?`, []any{run.DonorID}
	default:
		return 0, domain.Errorf(domain.EINVALID, "unknown run scope %q", run.Scope)
	}
	query := `INSERT INTO run_jobs (id, run_id, donor_id, status, skip_reason, statement_id, no_address, created_at, updated_at)
		SELECT CAST(? AS TEXT) || '.' || x.id, CAST(? AS TEXT), x.id,
			CASE WHEN x.reason = '' THEN ? ELSE ? END, x.reason, CAST(? AS TEXT), x.no_address, ?, ?
		FROM (SELECT d.id,
				CASE WHEN d.status = ? THEN ?
				     WHEN d.status = ? OR d.merged_into <> '' THEN ?
				     WHEN d.status = ? THEN ?
				     WHEN d.email = '' THEN ?
				     WHEN EXISTS (SELECT 1 FROM bounces b WHERE b.email = d.email) THEN ?
				     ELSE '' END AS reason,
				CASE WHEN d.address = '' THEN 1 ELSE 0 END AS no_address
			FROM donors d WHERE d.id IN (` + who + `)) x`
	all := []any{run.ID, run.ID, JobPending, JobSkipped, run.StatementID, now, now,
		domain.DonorErased, SkipErased, domain.DonorMerged, SkipMerged, domain.DonorUnsubscribed, SkipUnsubscribed, SkipNoEmail, SkipBounced}
	all = append(all, args...)
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
func (s *Store) ClaimJobs(ctx context.Context, worker, runID string, nowMS, leaseUntilMS int64, limit int, cur *ClaimCursor) ([]Job, error) {
	var jobs []Job
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
// leases them to worker until leaseUntilMS. runID limits the claim to one
// run; "" takes jobs of any run. cur, when not nil, is the worker's cursor,
// moved past the due jobs claimed.
func (q Q) claimJobs(ctx context.Context, worker, runID string, nowMS, leaseUntilMS int64, limit int, cur *ClaimCursor) ([]Job, error) {
	filter, args := "", []any{}
	if runID != "" {
		filter, args = " AND run_id = ?", []any{runID}
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
	claims := []claim{{JobPending, "run_after_ms <= ?", nil}, {JobRunning, "locked_until_ms < ?", nil}}
	if after {
		claims = append([]claim{{JobPending, "run_after_ms <= ? AND (run_after_ms, id) > (?, ?)", []any{cur.RunAfterMS, cur.ID}}}, claims...)
	}
	var jobs []Job
	for _, c := range claims {
		if len(jobs) >= limit {
			break
		}
		var got []Job
		a := []any{JobRunning, worker, leaseUntilMS, nowMS / 1000, c.status, nowMS}
		a = append(a, c.args...)
		a = append(a, args...)
		a = append(a, limit-len(jobs))
		err := q.selectAll(ctx, &got, `UPDATE run_jobs SET status = ?, locked_by = ?, locked_until_ms = ?, updated_at = ?
			WHERE id IN (SELECT id FROM run_jobs WHERE status = ? AND `+c.cond+filter+` ORDER BY run_after_ms, id LIMIT ?`+q.skipLocked()+`)
			RETURNING `+jobCols, a...)
		if err != nil {
			return nil, fmt.Errorf("claim jobs: %w", err)
		}
		if cur != nil && c.status == JobPending {
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
	slices.SortFunc(jobs, func(a, b Job) int { return strings.Compare(a.ID, b.ID) })
	return jobs, nil
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
// never sent by two. It touches no indexed
// column, so on PostgreSQL the update can stay on its page (HOT) instead of
// adding an entry to every index of run_jobs.
func (q Q) MarkJobRendered(ctx context.Context, j *Job, worker string, leaseUntilMS, now int64) error {
	return q.leased(ctx, "mark job rendered", `UPDATE run_jobs SET statement_id = ?, no_address = ?, mixed_currency = ?, rendered = 1, interrupted = ?,
			locked_until_ms = ?, updated_at = ?
		WHERE id = ? AND locked_by = ?`, j.StatementID, j.NoAddress, j.MixedCurrency, j.Interrupted, leaseUntilMS, now, j.ID, worker)
}

// EndJob moves a job to a terminal status.
func (q Q) EndJob(ctx context.Context, j *Job, worker string, now int64) error {
	return q.leased(ctx, "end job", `UPDATE run_jobs SET status = ?, skip_reason = ?, last_error = ?, attempts = ?, locked_by = '', locked_until_ms = 0, updated_at = ?
		WHERE id = ? AND locked_by = ?`, j.Status, j.SkipReason, j.LastError, j.Attempts, now, j.ID, worker)
}

// RetryJob puts a job back in the queue, due at runAfterMS.
func (q Q) RetryJob(ctx context.Context, j *Job, worker string, now int64) error {
	return q.leased(ctx, "retry job", `UPDATE run_jobs SET status = ?, attempts = ?, run_after_ms = ?, last_error = ?, locked_by = '', locked_until_ms = 0, updated_at = ?
		WHERE id = ? AND locked_by = ?`, JobPending, j.Attempts, j.RunAfterMS, j.LastError, now, j.ID, worker)
}

// Job returns one job.
func (q Q) Job(ctx context.Context, id string) (*Job, error) {
	var j Job
	if err := q.get(ctx, &j, `SELECT `+jobCols+` FROM run_jobs WHERE id = ?`, id); err != nil {
		return nil, fmt.Errorf("job: %w", notFound(err, "job"))
	}
	return &j, nil
}

// RunCounts are a run's live counts, from its jobs.
type RunCounts struct {
	Jobs        int            `json:"jobs"`
	Eligible    int            `json:"eligible"` // jobs not skipped at planning or since
	Queued      int            `json:"queued"`   // pending, never tried
	Running     int            `json:"running"`
	Retrying    int            `json:"retrying"` // pending after a temporary failure
	Rendered    int            `json:"rendered"`
	Sent        int            `json:"sent"`
	DryRendered int            `json:"dry_rendered"`
	Failed      int            `json:"failed"`
	Skipped     int            `json:"skipped"`
	Interrupted int            `json:"interrupted"`
	SkippedBy   map[string]int `json:"skipped_by"`
	Flagged     map[string]int `json:"flagged"`
}

// Open is the number of jobs not yet in a terminal status.
func (c RunCounts) Open() int { return c.Queued + c.Running + c.Retrying }

// CountRun adds up a run's jobs.
func (q Q) CountRun(ctx context.Context, runID string) (RunCounts, error) {
	var rows []struct {
		Status      string `db:"status"`
		Reason      string `db:"skip_reason"`
		Retry       int    `db:"retry"`
		N           int    `db:"n"`
		Rendered    int    `db:"rendered"`
		Interrupted int    `db:"interrupted"`
		NoAddress   int    `db:"no_address"`
		Mixed       int    `db:"mixed"`
	}
	err := q.selectAll(ctx, &rows, `SELECT status, skip_reason, CASE WHEN attempts > 0 THEN 1 ELSE 0 END AS retry, COUNT(*) AS n,
			COALESCE(SUM(rendered), 0) AS rendered, COALESCE(SUM(interrupted), 0) AS interrupted,
			COALESCE(SUM(CASE WHEN status <> 'skipped' THEN no_address ELSE 0 END), 0) AS no_address,
			COALESCE(SUM(mixed_currency), 0) AS mixed
		FROM run_jobs WHERE run_id = ? GROUP BY status, skip_reason, CASE WHEN attempts > 0 THEN 1 ELSE 0 END`, runID)
	if err != nil {
		return RunCounts{}, fmt.Errorf("count run: %w", err)
	}
	c := RunCounts{SkippedBy: map[string]int{}, Flagged: map[string]int{}}
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
		case JobPending:
			if r.Retry == 1 {
				c.Retrying += r.N
			} else {
				c.Queued += r.N
			}
		case JobRunning:
			c.Running += r.N
		case JobSent:
			c.Sent += r.N
		case JobRendered:
			c.DryRendered += r.N
		case JobFailed:
			c.Failed += r.N
		case JobSkipped:
			c.Skipped += r.N
			c.SkippedBy[r.Reason] += r.N
		}
	}
	c.Eligible = c.Jobs - c.Skipped
	return c, nil
}

// JobView is a job as the API lists it: with its statement's hash and what
// it corrects, and the status of its newest delivery.
type JobView struct {
	Job
	ContentHash    string `db:"content_hash" json:"content_hash,omitempty"`
	Replaces       string `db:"replaces" json:"replaces,omitempty"`
	Diff           string `db:"diff" json:"diff,omitempty"`
	DeliveryStatus string `db:"delivery_status" json:"delivery_status,omitempty"`
	DeliveryDetail string `db:"delivery_detail" json:"delivery_detail,omitempty"`
}

// RunJobs returns a page of a run's jobs in id order, after the given id.
func (q Q) RunJobs(ctx context.Context, runID, after string, limit int) ([]JobView, error) {
	var vs []JobView
	err := q.selectAll(ctx, &vs, `SELECT j.id, j.run_id, j.donor_id, j.status, j.skip_reason, j.attempts, j.run_after_ms, j.locked_by, j.locked_until_ms,
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

// QueueDepth counts the jobs of every run by status, for the metrics.
func (q Q) QueueDepth(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	if err := q.selectAll(ctx, &rows, `SELECT status, COUNT(*) AS n FROM run_jobs WHERE status IN (?, ?) GROUP BY status`, JobPending, JobRunning); err != nil {
		return nil, fmt.Errorf("queue depth: %w", err)
	}
	out := map[string]int{JobPending: 0, JobRunning: 0}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}

// OpenDelivery returns a statement's attempt that was handed to the relay
// and never got an outcome recorded, if there is one.
func (q Q) OpenDelivery(ctx context.Context, statementID string) (*domain.Delivery, error) {
	var d domain.Delivery
	err := q.get(ctx, &d, `SELECT `+deliveryCols+` FROM deliveries WHERE statement_id = ? AND status = ? ORDER BY attempt DESC LIMIT 1`,
		statementID, domain.DeliverySending)
	if err != nil {
		return nil, fmt.Errorf("open delivery: %w", notFound(err, "open delivery"))
	}
	return &d, nil
}

// NextAttempt returns the number of a statement's next delivery attempt.
func (q Q) NextAttempt(ctx context.Context, statementID string) (int, error) {
	var n int
	if err := q.get(ctx, &n, `SELECT COALESCE(MAX(attempt), 0) + 1 FROM deliveries WHERE statement_id = ?`, statementID); err != nil {
		return 0, fmt.Errorf("next attempt: %w", err)
	}
	return n, nil
}

// RecordTick records that the schedule fired at tickAt (unix seconds) for
// a period, and reports whether this call recorded it: the first of any
// number of replicas gets true and creates the run, in the same transaction.
func (q Q) RecordTick(ctx context.Context, tickAt int64, period, runID string, now int64) (bool, error) {
	res, err := q.exec(ctx, `INSERT INTO schedule_ticks (tick_at, period, run_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (tick_at) DO NOTHING`,
		tickAt, period, runID, now)
	if err != nil {
		return false, fmt.Errorf("record tick: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record tick: %w", err)
	}
	return n == 1, nil
}

// LastTick returns the newest recorded schedule tick, or 0.
func (q Q) LastTick(ctx context.Context) (int64, error) {
	var t int64
	if err := q.get(ctx, &t, `SELECT COALESCE(MAX(tick_at), 0) FROM schedule_ticks`); err != nil {
		return 0, fmt.Errorf("last tick: %w", err)
	}
	return t, nil
}

// AddBounce records that a mail server refused an address for good.
func (q Q) AddBounce(ctx context.Context, email, detail string, now int64) error {
	_, err := q.exec(ctx, `INSERT INTO bounces (email, detail, created_at) VALUES (?, ?, ?) ON CONFLICT (email) DO UPDATE SET detail = excluded.detail`,
		email, detail, now)
	if err != nil {
		return fmt.Errorf("add bounce: %w", err)
	}
	return nil
}

// JobDonor returns the donor of a job and whether their address was refused
// for good, in one query: a run asks both for every donor.
func (q Q) JobDonor(ctx context.Context, id string) (*domain.Donor, bool, error) {
	var d struct {
		domain.Donor
		Bounced int `db:"bounced"`
	}
	err := q.get(ctx, &d, `SELECT d.id, d.name, d.email, d.address, d.status, d.gift_aid_from, d.merged_into, d.created_at, d.updated_at,
			CASE WHEN EXISTS (SELECT 1 FROM bounces b WHERE b.email = d.email) THEN 1 ELSE 0 END AS bounced
		FROM donors d WHERE d.id = ?`, id)
	if err != nil {
		return nil, false, fmt.Errorf("job donor: %w", notFound(err, "donor"))
	}
	return &d.Donor, d.Bounced == 1, nil
}

// IsBounced reports whether an address was refused for good.
func (q Q) IsBounced(ctx context.Context, email string) (bool, error) {
	var n int
	if err := q.get(ctx, &n, `SELECT COUNT(*) FROM bounces WHERE email = ?`, email); err != nil {
		return false, fmt.Errorf("is bounced: %w", err)
	}
	return n > 0, nil
}

// HasOpenJobs reports whether a run has a job not yet in a terminal status.
func (q Q) HasOpenJobs(ctx context.Context, runID string) (bool, error) {
	var ids []string
	if err := q.selectAll(ctx, &ids, `SELECT id FROM run_jobs WHERE run_id = ? AND status IN (?, ?) LIMIT 1`, runID, JobPending, JobRunning); err != nil {
		return false, fmt.Errorf("open jobs: %w", err)
	}
	return len(ids) > 0, nil
}
