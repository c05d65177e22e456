package store

import (
	"context"
	"fmt"

	"impactd/internal/domain"
)

const runCols = `id, period, triggered_by, reason, status, dry_run, eligible, rendered, sent, failed, skipped, error, exceptions, started_at, finished_at,
	scope, donor_id, statement_id, forced, actor, tick_at, interrupted, retrying, flags, summary_sent`

// CreateRun inserts a run; it sets ID when empty.
func (q Q) CreateRun(ctx context.Context, r *domain.Run) error {
	if r.ID == "" {
		r.ID = NewID("run")
	}
	if r.Scope == "" {
		r.Scope = domain.RunScopePeriod
	}
	if r.Exceptions == "" {
		r.Exceptions = "{}"
	}
	if r.Flags == "" {
		r.Flags = "{}"
	}
	_, err := q.exec(ctx, `INSERT INTO runs (`+runCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Period, r.Trigger, r.Reason, r.Status, r.DryRun, r.Eligible, r.Rendered, r.Sent, r.Failed, r.Skipped, r.Error, r.Exceptions, r.StartedAt, r.FinishedAt,
		r.Scope, r.DonorID, r.StatementID, r.Force, r.Actor, r.TickAt, r.Interrupted, r.Retrying, r.Flags, r.SummarySent)
	if err != nil {
		return fmt.Errorf("create run: %w", err)
	}
	return nil
}

// UpdateRun saves a run's status and counts.
func (q Q) UpdateRun(ctx context.Context, r *domain.Run) error {
	_, err := q.exec(ctx, `UPDATE runs SET status = ?, eligible = ?, rendered = ?, sent = ?, failed = ?, skipped = ?, error = ?, exceptions = ?, finished_at = ?,
		interrupted = ?, retrying = ?, flags = ? WHERE id = ?`,
		r.Status, r.Eligible, r.Rendered, r.Sent, r.Failed, r.Skipped, r.Error, r.Exceptions, r.FinishedAt, r.Interrupted, r.Retrying, r.Flags, r.ID)
	if err != nil {
		return fmt.Errorf("update run: %w", err)
	}
	return nil
}

// FinishRun saves the final status and counts of a run that is still
// running, and reports whether this call was the one that finished it: when
// several workers see the last job end, exactly one gets true.
func (q Q) FinishRun(ctx context.Context, r *domain.Run) (bool, error) {
	res, err := q.exec(ctx, `UPDATE runs SET status = ?, eligible = ?, rendered = ?, sent = ?, failed = ?, skipped = ?, error = ?, exceptions = ?, finished_at = ?,
		interrupted = ?, retrying = ?, flags = ? WHERE id = ? AND status = ?`,
		r.Status, r.Eligible, r.Rendered, r.Sent, r.Failed, r.Skipped, r.Error, r.Exceptions, r.FinishedAt, r.Interrupted, r.Retrying, r.Flags, r.ID, domain.RunRunning)
	if err != nil {
		return false, fmt.Errorf("finish run: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("finish run: %w", err)
	}
	return n == 1, nil
}

// RunsByStatus returns the runs in a status, oldest first.
func (q Q) RunsByStatus(ctx context.Context, status string) ([]domain.Run, error) {
	var rs []domain.Run
	if err := q.selectAll(ctx, &rs, `SELECT `+runCols+` FROM runs WHERE status = ? ORDER BY started_at, id`, status); err != nil {
		return nil, fmt.Errorf("runs by status: %w", err)
	}
	return rs, nil
}

// RunsToSummarise returns finished runs whose summary email has not been claimed.
func (q Q) RunsToSummarise(ctx context.Context) ([]domain.Run, error) {
	var rs []domain.Run
	if err := q.selectAll(ctx, &rs, `SELECT `+runCols+` FROM runs WHERE status <> ? AND summary_sent = 0 ORDER BY started_at, id`, domain.RunRunning); err != nil {
		return nil, fmt.Errorf("runs to summarise: %w", err)
	}
	return rs, nil
}

// ClaimSummary marks a run's summary email as taken and reports whether this
// caller got it: the summary goes out at most once across replicas.
func (q Q) ClaimSummary(ctx context.Context, runID string) (bool, error) {
	res, err := q.exec(ctx, `UPDATE runs SET summary_sent = 1 WHERE id = ? AND summary_sent = 0`, runID)
	if err != nil {
		return false, fmt.Errorf("claim summary: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim summary: %w", err)
	}
	return n == 1, nil
}

// ListRuns returns the newest runs first.
func (q Q) ListRuns(ctx context.Context, limit int) ([]domain.Run, error) {
	var rs []domain.Run
	if err := q.selectAll(ctx, &rs, `SELECT `+runCols+` FROM runs ORDER BY started_at DESC, id DESC LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return rs, nil
}

// Run returns one run.
func (q Q) Run(ctx context.Context, id string) (*domain.Run, error) {
	var r domain.Run
	if err := q.get(ctx, &r, `SELECT `+runCols+` FROM runs WHERE id = ?`, id); err != nil {
		return nil, fmt.Errorf("run: %w", notFound(err, "run"))
	}
	return &r, nil
}

const statementCols = `id, run_id, donor_id, period, snapshot, content_hash, created_at, replaces, diff`

// InsertStatement stores a statement; it sets ID when empty.
func (q Q) InsertStatement(ctx context.Context, s *domain.Statement) error {
	if s.ID == "" {
		s.ID = NewID("stmt")
	}
	_, err := q.exec(ctx, `INSERT INTO statements (`+statementCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.RunID, s.DonorID, s.Period, s.Snapshot, s.ContentHash, s.CreatedAt, s.Replaces, s.Diff)
	if err != nil {
		return fmt.Errorf("insert statement: %w", err)
	}
	return nil
}

// Statement returns one statement.
func (q Q) Statement(ctx context.Context, id string) (*domain.Statement, error) {
	var s domain.Statement
	if err := q.get(ctx, &s, `SELECT `+statementCols+` FROM statements WHERE id = ?`, id); err != nil {
		return nil, fmt.Errorf("statement: %w", notFound(err, "statement"))
	}
	return &s, nil
}

// SentStatement is the newest statement of a donor for a period that was
// delivered, with the time it was sent.
type SentStatement struct {
	domain.Statement
	SentAt int64 `db:"sent_at"`
}

// LastSentStatement returns the newest delivered statement of a donor for a period.
func (q Q) LastSentStatement(ctx context.Context, donorID, period string) (*SentStatement, error) {
	var s SentStatement
	// Led by the donor's statements (index statements_donor_period): a
	// join led by deliveries.status would read every sent delivery of every
	// donor, once per job, and a run would take time quadratic in its size.
	err := q.get(ctx, &s, `SELECT id, run_id, donor_id, period, snapshot, content_hash, created_at, replaces, diff, sent_at FROM (
			SELECT s.id, s.run_id, s.donor_id, s.period, s.snapshot, s.content_hash, s.created_at, s.replaces, s.diff,
				(SELECT MAX(d.updated_at) FROM deliveries d WHERE d.statement_id = s.id AND d.status = ?) AS sent_at
			FROM statements s WHERE s.donor_id = ? AND s.period = ?) x
		WHERE sent_at IS NOT NULL ORDER BY sent_at DESC, created_at DESC LIMIT 1`, domain.DeliverySent, donorID, period)
	if err != nil {
		return nil, fmt.Errorf("last sent statement: %w", notFound(err, "sent statement"))
	}
	return &s, nil
}

// StatementsForRun returns a run's statements in id order.
func (q Q) StatementsForRun(ctx context.Context, runID string) ([]domain.Statement, error) {
	var ss []domain.Statement
	if err := q.selectAll(ctx, &ss, `SELECT `+statementCols+` FROM statements WHERE run_id = ? ORDER BY id`, runID); err != nil {
		return nil, fmt.Errorf("statements for run: %w", err)
	}
	return ss, nil
}

const deliveryCols = `id, statement_id, attempt, status, message_id, detail, created_at, updated_at`

// InsertDelivery records an email attempt; it sets ID when empty.
func (q Q) InsertDelivery(ctx context.Context, d *domain.Delivery) error {
	if d.ID == "" {
		d.ID = NewID("dlv")
	}
	_, err := q.exec(ctx, `INSERT INTO deliveries (`+deliveryCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.StatementID, d.Attempt, d.Status, d.MessageID, d.Detail, d.CreatedAt, d.UpdatedAt)
	if err != nil {
		return fmt.Errorf("insert delivery: %w", err)
	}
	return nil
}

// UpdateDelivery saves a delivery's status and detail.
func (q Q) UpdateDelivery(ctx context.Context, d *domain.Delivery) error {
	_, err := q.exec(ctx, `UPDATE deliveries SET status = ?, detail = ?, updated_at = ? WHERE id = ?`,
		d.Status, d.Detail, d.UpdatedAt, d.ID)
	if err != nil {
		return fmt.Errorf("update delivery: %w", err)
	}
	return nil
}

// UpdateDeliveryStatus moves a delivery from one status to another and
// reports whether it was in the from status.
func (q Q) UpdateDeliveryStatus(ctx context.Context, id, from, to, detail string, now int64) (bool, error) {
	res, err := q.exec(ctx, `UPDATE deliveries SET status = ?, detail = ?, updated_at = ? WHERE id = ? AND status = ?`, to, detail, now, id, from)
	if err != nil {
		return false, fmt.Errorf("update delivery: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("update delivery: %w", err)
	}
	return n == 1, nil
}

// DeliveriesForStatement returns a statement's email attempts, first first.
func (q Q) DeliveriesForStatement(ctx context.Context, statementID string) ([]domain.Delivery, error) {
	var ds []domain.Delivery
	if err := q.selectAll(ctx, &ds, `SELECT `+deliveryCols+` FROM deliveries WHERE statement_id = ? ORDER BY attempt`, statementID); err != nil {
		return nil, fmt.Errorf("deliveries: %w", err)
	}
	return ds, nil
}
