package store

import (
	"context"
	"fmt"

	"impactd/internal/domain"
)

// AddBounce records that a recipient's mail server refused an address for
// good, during a run (runID, "" when not).
func (q Q) AddBounce(ctx context.Context, b domain.Bounce) error {
	_, err := q.exec(ctx, `INSERT INTO bounces (email, detail, run_id, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (email) DO UPDATE SET detail = excluded.detail, run_id = excluded.run_id`,
		b.Email, b.Detail, b.RunID, b.CreatedAt)
	if err != nil {
		return fmt.Errorf("add bounce: %w", err)
	}
	return nil
}

// IsBounced reports whether an address was refused for good.
func (q Q) IsBounced(ctx context.Context, email string) (bool, error) {
	var n int
	if err := q.get(ctx, &n, `SELECT COUNT(*) FROM bounces WHERE email = ?`, email); err != nil {
		return false, fmt.Errorf("is bounced: %w", err)
	}
	return n > 0, nil
}

// Bounces lists bounced addresses, newest first, at most limit.
func (q Q) Bounces(ctx context.Context, limit int) ([]domain.Bounce, error) {
	var bs []domain.Bounce
	if err := q.selectAll(ctx, &bs, `SELECT email, detail, run_id, created_at FROM bounces ORDER BY created_at DESC, email LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("bounces: %w", err)
	}
	if bs == nil {
		bs = []domain.Bounce{}
	}
	return bs, nil
}

// ClearBounce forgets that an address bounced and reports whether it had.
// Only the bounces of runID are cleared when runID is set.
func (q Q) ClearBounce(ctx context.Context, email, runID string) (bool, error) {
	query, args := `DELETE FROM bounces WHERE email = ?`, []any{email}
	if runID != "" {
		query, args = query+` AND run_id = ?`, append(args, runID)
	}
	res, err := q.exec(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("clear bounce: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("clear bounce: %w", err)
	}
	return n > 0, nil
}
