package store

import (
	"context"
	"fmt"

	"impactd/internal/domain"
)

// The postal side of a run: its letters for the post (deliveries with
// channel 'post') and its one print batch.

const batchCols = `b.id, b.run_id, b.created_at, b.posted_at, b.posted_by,
	(SELECT COUNT(*) FROM deliveries d WHERE d.batch_id = b.id) AS letters,
	(SELECT COUNT(*) FROM deliveries d WHERE d.batch_id = b.id AND d.status = 'posted') AS posted`

// EnsureBatch makes the run's print batch, or returns the one made
// already, and puts in it every postal letter of the run not yet in a
// batch; all in one transaction. print_batches.run_id is unique, so of two
// processes that finish the same run at once the second's insert does
// nothing (on PostgreSQL it waits for the first to commit) and both return
// the same batch with the same letters. A run with no postal letter has no
// batch: ENOTFOUND.
func (s *Store) EnsureBatch(ctx context.Context, runID string, now int64) (*domain.PrintBatch, error) {
	var b *domain.PrintBatch
	err := s.InTx(ctx, func(tx *Tx) error {
		var n int
		if err := tx.get(ctx, &n, `SELECT COUNT(*) FROM deliveries d JOIN statements s ON s.id = d.statement_id
			WHERE s.run_id = ? AND d.channel = ? AND d.status IN (?, ?)`, runID, domain.ChannelPost, domain.DeliveryInBatch, domain.DeliveryPosted); err != nil {
			return err
		}
		if n == 0 {
			return domain.Errorf(domain.ENOTFOUND, "run %s has no letters for the post", runID)
		}
		if _, err := tx.exec(ctx, `INSERT INTO print_batches (id, run_id, created_at) VALUES (?, ?, ?) ON CONFLICT (run_id) DO NOTHING`,
			NewID("pb"), runID, now); err != nil {
			return err
		}
		var id string
		if err := tx.get(ctx, &id, `SELECT id FROM print_batches WHERE run_id = ?`, runID); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE deliveries SET batch_id = ? WHERE batch_id = '' AND channel = ? AND status = ?
			AND statement_id IN (SELECT id FROM statements WHERE run_id = ?)`, id, domain.ChannelPost, domain.DeliveryInBatch, runID); err != nil {
			return err
		}
		var err error
		b, err = tx.Batch(ctx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ensure print batch: %w", err)
	}
	return b, nil
}

// Batch returns a print batch with its counts.
func (q Q) Batch(ctx context.Context, id string) (*domain.PrintBatch, error) {
	var b domain.PrintBatch
	if err := q.get(ctx, &b, `SELECT `+batchCols+` FROM print_batches b WHERE b.id = ?`, id); err != nil {
		return nil, fmt.Errorf("print batch: %w", notFound(err, "print batch"))
	}
	return &b, nil
}

// BatchForRun returns a run's print batch; ENOTFOUND when it has none yet.
func (q Q) BatchForRun(ctx context.Context, runID string) (*domain.PrintBatch, error) {
	var b domain.PrintBatch
	if err := q.get(ctx, &b, `SELECT `+batchCols+` FROM print_batches b WHERE b.run_id = ?`, runID); err != nil {
		return nil, fmt.Errorf("print batch of run: %w", notFound(err, "print batch"))
	}
	return &b, nil
}

// PostalCounts counts a run's postal letters: waiting for the post (in a
// batch or not yet) and posted.
func (q Q) PostalCounts(ctx context.Context, runID string) (inBatch, posted int, err error) {
	var c struct {
		InBatch int `db:"in_batch"`
		Posted  int `db:"posted"`
	}
	if err := q.get(ctx, &c, `SELECT COALESCE(SUM(CASE WHEN d.status = ? THEN 1 ELSE 0 END), 0) AS in_batch,
			COALESCE(SUM(CASE WHEN d.status = ? THEN 1 ELSE 0 END), 0) AS posted
		FROM deliveries d JOIN statements s ON s.id = d.statement_id WHERE s.run_id = ? AND d.channel = ?`,
		domain.DeliveryInBatch, domain.DeliveryPosted, runID, domain.ChannelPost); err != nil {
		return 0, 0, fmt.Errorf("postal counts: %w", err)
	}
	return c.InBatch, c.Posted, nil
}

// BatchLetter is one letter of a print batch: its statement and where it goes.
type BatchLetter struct {
	StatementID string `db:"statement_id"`
	Snapshot    string `db:"snapshot"`
	ContentHash string `db:"content_hash"`
	Country     string `db:"country"`
	Postcode    string `db:"postcode"`
}

// BatchLetters returns a batch's letters in the order they are printed:
// by country, postcode, then statement id.
func (q Q) BatchLetters(ctx context.Context, batchID string) ([]BatchLetter, error) {
	var ls []BatchLetter
	if err := q.selectAll(ctx, &ls, `SELECT s.id AS statement_id, s.snapshot, s.content_hash, d.country, d.postcode
		FROM deliveries d JOIN statements s ON s.id = d.statement_id
		WHERE d.batch_id = ? AND d.channel = ? ORDER BY d.country, d.postcode, s.id`, batchID, domain.ChannelPost); err != nil {
		return nil, fmt.Errorf("batch letters: %w", err)
	}
	return ls, nil
}

// MarkBatchPosted records that a batch went to the post: who and when, and
// each of its letters posted. It reports how many letters it marked; a
// batch posted already is a conflict.
func (q Q) MarkBatchPosted(ctx context.Context, batchID, by string, now int64) (int, error) {
	res, err := q.exec(ctx, `UPDATE print_batches SET posted_at = ?, posted_by = ? WHERE id = ? AND posted_at = 0`, now, by, batchID)
	if err != nil {
		return 0, fmt.Errorf("mark batch posted: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, fmt.Errorf("mark batch posted: %w", err)
	} else if n == 0 {
		if _, err := q.Batch(ctx, batchID); err != nil {
			return 0, fmt.Errorf("mark batch posted: %w", err)
		}
		return 0, domain.Errorf(domain.ECONFLICT, "print batch %s was marked posted already", batchID)
	}
	res, err = q.exec(ctx, `UPDATE deliveries SET status = ?, updated_at = ? WHERE batch_id = ? AND status = ?`,
		domain.DeliveryPosted, now, batchID, domain.DeliveryInBatch)
	if err != nil {
		return 0, fmt.Errorf("mark batch posted: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("mark batch posted: %w", err)
	}
	return int(n), nil
}

// SetDonorChannel records how a donor wants their letters: domain.ChannelEmail
// or domain.ChannelPost.
func (q Q) SetDonorChannel(ctx context.Context, donorID, channel string, now int64) error {
	if channel != domain.ChannelEmail && channel != domain.ChannelPost {
		return domain.Errorf(domain.EINVALID, "unknown delivery channel %q: email or post", channel)
	}
	res, err := q.exec(ctx, `UPDATE donors SET channel = ?, updated_at = ? WHERE id = ?`, channel, now, donorID)
	if err != nil {
		return fmt.Errorf("set donor channel: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("set donor channel: %w", err)
	} else if n == 0 {
		return domain.Errorf(domain.ENOTFOUND, "donor %s not found", donorID)
	}
	return nil
}
