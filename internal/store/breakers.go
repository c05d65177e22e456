package store

import (
	"context"
	"fmt"
	"strings"
)

// Breaker is a run's circuit breaker as the database keeps it (table
// run_breakers): the streaks every replica working the run adds to.
type Breaker struct {
	RunID string `db:"run_id"`
	// Refusals is the number of permanent refusals in a row, each to a
	// different recipient.
	Refusals int `db:"refusals"`
	// RefusedJobs are the jobs of those refusals, oldest first.
	RefusedJobs []string `db:"-"`
	// Unreachable is the number of failed attempts in a row to open a
	// session with the relay.
	Unreachable int `db:"unreachable"`
}

// LockBreaker returns a run's breaker, creating it when the run has none,
// locked until the end of the transaction (on PostgreSQL the upsert takes
// the row lock; SQLite's writers are serial), so that two replicas'
// failures are counted one after the other. Only failures call it.
func (q Q) LockBreaker(ctx context.Context, runID string, now int64) (*Breaker, error) {
	var row struct {
		Breaker
		Jobs string `db:"refused_jobs"`
	}
	err := q.get(ctx, &row, `INSERT INTO run_breakers (run_id, updated_at) VALUES (?, ?)
		ON CONFLICT (run_id) DO UPDATE SET updated_at = excluded.updated_at
		RETURNING run_id, refusals, refused_jobs, unreachable`, runID, now)
	if err != nil {
		return nil, fmt.Errorf("lock breaker: %w", err)
	}
	b := row.Breaker
	b.RefusedJobs = strings.Fields(row.Jobs)
	return &b, nil
}

// SaveBreaker stores a breaker locked with LockBreaker.
func (q Q) SaveBreaker(ctx context.Context, b *Breaker, now int64) error {
	if _, err := q.exec(ctx, `UPDATE run_breakers SET refusals = ?, refused_jobs = ?, unreachable = ?, updated_at = ? WHERE run_id = ?`,
		b.Refusals, strings.Join(b.RefusedJobs, " "), b.Unreachable, now, b.RunID); err != nil {
		return fmt.Errorf("save breaker: %w", err)
	}
	return nil
}

// EndStreaks ends a run's streaks after a send that got through: both
// when it was delivered or refused for its recipient, only the unreachable
// one when all is set. It writes nothing when they are already ended.
func (q Q) EndStreaks(ctx context.Context, runID string, all bool) error {
	query := `UPDATE run_breakers SET refusals = 0, refused_jobs = '', unreachable = 0 WHERE run_id = ? AND (refusals <> 0 OR unreachable <> 0)`
	if !all {
		query = `UPDATE run_breakers SET unreachable = 0 WHERE run_id = ? AND unreachable <> 0`
	}
	if _, err := q.exec(ctx, query, runID); err != nil {
		return fmt.Errorf("end streaks: %w", err)
	}
	return nil
}

// RunsWithStreaks returns the runs whose breaker counts failures now.
func (q Q) RunsWithStreaks(ctx context.Context) ([]string, error) {
	var ids []string
	if err := q.selectAll(ctx, &ids, `SELECT run_id FROM run_breakers WHERE refusals <> 0 OR unreachable <> 0`); err != nil {
		return nil, fmt.Errorf("runs with streaks: %w", err)
	}
	return ids, nil
}

// DropBreaker forgets a finished run's breaker.
func (q Q) DropBreaker(ctx context.Context, runID string) error {
	if _, err := q.exec(ctx, `DELETE FROM run_breakers WHERE run_id = ?`, runID); err != nil {
		return fmt.Errorf("drop breaker: %w", err)
	}
	return nil
}

// JobEmails returns the address each of the given jobs writes to, by job
// id: the breaker asks whether a refusal's recipient is already in its
// streak, and whose bounces to take back.
func (q Q) JobEmails(ctx context.Context, jobIDs []string) (map[string]string, error) {
	out := map[string]string{}
	if len(jobIDs) == 0 {
		return out, nil
	}
	in, args := inList(jobIDs)
	var rows []struct {
		ID    string `db:"id"`
		Email string `db:"email"`
	}
	if err := q.selectAll(ctx, &rows, `SELECT j.id, d.email FROM run_jobs j JOIN donors d ON d.id = j.donor_id WHERE j.id IN `+in, args...); err != nil {
		return nil, fmt.Errorf("job emails: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = r.Email
	}
	return out, nil
}
