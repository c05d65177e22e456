package store

import (
	"context"
	"fmt"

	"impactd/internal/domain"
)

const runCols = `id, series, period, triggered_by, reason, status, dry_run, eligible, rendered, sent, failed, skipped, error, exceptions, started_at, finished_at,
	scope, donor_id, statement_id, forced, actor, tick_at, interrupted, retrying, flags, summary_sent, pause_reason, paused_at, pauses`

// AdmissionKey is what admission keeps to one unfinished run: the series
// and the period, through the unique index runs_admission (migrations/00040),
// which covers runs that send (not dry runs) while running or paused.
type AdmissionKey struct {
	Series domain.Series
	Period string
}

// AdmissionKeyOf returns the key a run is admitted under.
func AdmissionKeyOf(r *domain.Run) AdmissionKey {
	return AdmissionKey{Series: r.Series.OrDefault(), Period: r.Period}
}

// AdmitRun inserts a run unless the database refuses it because another
// unfinished run holds its admission key; it reports whether the run was
// inserted, and sets ID when empty. The refusal comes from the unique index
// in the same statement, so two processes starting the period at the same
// instant cannot both get true; on PostgreSQL the second waits for the
// first's transaction and then sees its row.
func (q Q) AdmitRun(ctx context.Context, r *domain.Run) (bool, error) {
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
	r.Series = r.Series.OrDefault()
	res, err := q.exec(ctx, `INSERT INTO runs (`+runCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		r.ID, r.Series, r.Period, r.Trigger, r.Reason, r.Status, b2i(r.DryRun), r.Eligible, r.Rendered, r.Sent, r.Failed, r.Skipped, r.Error, r.Exceptions, r.StartedAt, r.FinishedAt,
		r.Scope, r.DonorID, r.StatementID, b2i(r.Force), r.Actor, r.TickAt, r.Interrupted, r.Retrying, r.Flags, b2i(r.SummarySent),
		r.PauseReason, r.PausedAt, r.Pauses)
	if err != nil {
		return false, fmt.Errorf("admit run: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("admit run: %w", err)
	}
	return n == 1, nil
}

// UnfinishedRun returns the unfinished run that holds an admission key.
func (q Q) UnfinishedRun(ctx context.Context, key AdmissionKey) (*domain.Run, error) {
	var r domain.Run
	err := q.get(ctx, &r, `SELECT `+runCols+` FROM runs WHERE series = ? AND period = ? AND status IN (?, ?) AND dry_run = 0 ORDER BY started_at LIMIT 1`,
		key.Series.OrDefault(), key.Period, domain.RunRunning, domain.RunPaused)
	if err != nil {
		return nil, fmt.Errorf("unfinished run: %w", notFound(err, "unfinished run"))
	}
	return &r, nil
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

// PauseRun pauses a running run with a reason and reports whether this
// call paused it (of several workers that see the relay refuse, one does).
func (q Q) PauseRun(ctx context.Context, runID, reason string, now int64) (bool, error) {
	res, err := q.exec(ctx, `UPDATE runs SET status = ?, pause_reason = ?, paused_at = ?, pauses = pauses + 1 WHERE id = ? AND status = ?`,
		domain.RunPaused, reason, now, runID, domain.RunRunning)
	if err != nil {
		return false, fmt.Errorf("pause run: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("pause run: %w", err)
	}
	return n == 1, nil
}

// ResumeRun sets a paused run running again and reports whether it was paused.
func (q Q) ResumeRun(ctx context.Context, runID string) (bool, error) {
	res, err := q.exec(ctx, `UPDATE runs SET status = ? WHERE id = ? AND status = ?`, domain.RunRunning, runID, domain.RunPaused)
	if err != nil {
		return false, fmt.Errorf("resume run: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("resume run: %w", err)
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
	if err := q.selectAll(ctx, &rs, `SELECT `+runCols+` FROM runs WHERE status NOT IN (?, ?) AND summary_sent = 0 ORDER BY started_at, id`,
		domain.RunRunning, domain.RunPaused); err != nil {
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

const statementCols = `id, run_id, donor_id, series, period, snapshot, content_hash, created_at, replaces, diff`

// DeleteStatement removes a statement that was stored with a send attempt
// the database refused (another run holds the letter); nothing refers to it.
func (q Q) DeleteStatement(ctx context.Context, id string) error {
	if _, err := q.exec(ctx, `DELETE FROM statements WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete statement: %w", err)
	}
	return nil
}

// InsertStatement stores a statement; it sets ID when empty.
func (q Q) InsertStatement(ctx context.Context, s *domain.Statement) error {
	if s.ID == "" {
		s.ID = NewID("stmt")
	}
	s.Series = s.Series.OrDefault()
	_, err := q.exec(ctx, `INSERT INTO statements (`+statementCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.RunID, s.DonorID, s.Series, s.Period, s.Snapshot, s.ContentHash, s.CreatedAt, s.Replaces, s.Diff)
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

// LastSentStatement returns the newest delivered statement of a donor for
// a series and period.
func (q Q) LastSentStatement(ctx context.Context, donorID string, series domain.Series, period string) (*SentStatement, error) {
	var s SentStatement
	// Led by the donor's statements (index statements_donor_period): a
	// join led by deliveries.status would read every sent delivery of every
	// donor, once per job, and a run would take time quadratic in its size.
	err := q.get(ctx, &s, `SELECT id, run_id, donor_id, series, period, snapshot, content_hash, created_at, replaces, diff, sent_at FROM (
			SELECT s.id, s.run_id, s.donor_id, s.series, s.period, s.snapshot, s.content_hash, s.created_at, s.replaces, s.diff,
				(SELECT MAX(d.updated_at) FROM deliveries d WHERE d.statement_id = s.id AND d.status IN (?, ?, ?)) AS sent_at
			FROM statements s WHERE s.donor_id = ? AND s.series = ? AND s.period = ?) x
		WHERE sent_at IS NOT NULL ORDER BY sent_at DESC, created_at DESC, id DESC LIMIT 1`,
		domain.DeliverySent, domain.DeliveryInBatch, domain.DeliveryPosted, donorID, series.OrDefault(), period)
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

const deliveryCols = `id, statement_id, attempt, status, message_id, detail, created_at, updated_at, donor_id, series, period, letter_key, force_key, channel, batch_id, country, postcode`

// InsertAttempt records an email attempt, open (DeliverySending), unless the
// database refuses it because the same letter — donor, series, period, letter key
// and force key — already has an attempt that is open or sent (the partial
// unique index deliveries_one_letter). It reports whether it was recorded,
// and sets ID when empty. Workers call it in the transaction that records
// the attempt, before the message is handed to the relay: of two runs that
// would send the same letter, the second is refused here and sends nothing.
func (q Q) InsertAttempt(ctx context.Context, d *domain.Delivery) (bool, error) {
	if d.ID == "" {
		d.ID = NewID("dlv")
	}
	d.Series = d.Series.OrDefault()
	if d.Channel == "" {
		d.Channel = domain.ChannelEmail
	}
	res, err := q.exec(ctx, `INSERT INTO deliveries (`+deliveryCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		d.ID, d.StatementID, d.Attempt, d.Status, d.MessageID, d.Detail, d.CreatedAt, d.UpdatedAt, d.DonorID, d.Series, d.Period, d.LetterKey, d.ForceKey,
		d.Channel, d.BatchID, d.Country, d.Postcode)
	if err != nil {
		return false, fmt.Errorf("insert attempt: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("insert attempt: %w", err)
	}
	return n == 1, nil
}

// LetterHolder returns the open or sent attempt that holds a letter (see
// InsertAttempt), for a worker whose attempt was refused.
func (q Q) LetterHolder(ctx context.Context, d *domain.Delivery) (*domain.Delivery, error) {
	var h domain.Delivery
	err := q.get(ctx, &h, `SELECT `+deliveryCols+` FROM deliveries WHERE donor_id = ? AND series = ? AND period = ? AND letter_key = ? AND force_key = ? AND status IN (?, ?, ?, ?)
		ORDER BY created_at LIMIT 1`, d.DonorID, d.Series.OrDefault(), d.Period, d.LetterKey, d.ForceKey, domain.DeliverySending, domain.DeliverySent,
		domain.DeliveryInBatch, domain.DeliveryPosted)
	if err != nil {
		return nil, fmt.Errorf("letter holder: %w", notFound(err, "attempt holding the letter"))
	}
	return &h, nil
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

// SentAt returns when a statement was last delivered, or 0.
func (q Q) SentAt(ctx context.Context, statementID string) (int64, error) {
	var at int64
	if err := q.get(ctx, &at, `SELECT COALESCE(MAX(updated_at), 0) FROM deliveries WHERE statement_id = ? AND status IN (?, ?, ?)`,
		statementID, domain.DeliverySent, domain.DeliveryInBatch, domain.DeliveryPosted); err != nil {
		return 0, fmt.Errorf("sent at: %w", err)
	}
	return at, nil
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
