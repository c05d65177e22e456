package post

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"impactd/internal/domain"
	"impactd/internal/store"
)

// Service is the print batches' use cases: make a run's batch, print it,
// mark it posted. The console and the demo call it; the runner makes the
// batch itself when a run finishes (store.EnsureBatch, the same record).
type Service struct {
	Store    *store.Store
	Renderer Renderer
	Clock    domain.Clock
}

// Make makes a run's print batch now, or returns it when it exists: for a
// run whose batch was not made when it finished (a run from before there
// were batches). The run must have no letter left to work, so that the
// batch is complete: ECONFLICT otherwise.
func (s *Service) Make(ctx context.Context, runID string) (*domain.PrintBatch, error) {
	open, err := s.Store.HasOpenJobs(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("make print batch: %w", err)
	}
	if open {
		return nil, domain.Errorf(domain.ECONFLICT, "run %s still has letters to work: its print batch is made when they are done", runID)
	}
	return s.Store.EnsureBatch(ctx, runID, s.Clock.Now().Unix())
}

// Print makes a batch's PDF and manifest from its letters' snapshots.
func (s *Service) Print(ctx context.Context, batchID string) (*domain.PrintBatch, *Printed, error) {
	b, err := s.Store.Batch(ctx, batchID)
	if err != nil {
		return nil, nil, err
	}
	rows, err := s.Store.BatchLetters(ctx, batchID)
	if err != nil {
		return nil, nil, err
	}
	letters := make([]Letter, 0, len(rows))
	for _, r := range rows {
		snap, err := domain.DecodeSnapshot([]byte(r.Snapshot))
		if err != nil {
			return nil, nil, fmt.Errorf("print batch %s: statement %s: %w", batchID, r.StatementID, err)
		}
		letters = append(letters, Letter{StatementID: r.StatementID, Snapshot: snap, ContentHash: r.ContentHash,
			Country: r.Country, Postcode: r.Postcode})
	}
	p, err := Assemble(s.Renderer, letters, time.Unix(b.CreatedAt, 0))
	if err != nil {
		return nil, nil, fmt.Errorf("print batch %s: %w", batchID, err)
	}
	return b, p, nil
}

// MarkPosted records that a batch went to the post, with the audit entry
// (actor and reason filled by the caller) in the same transaction, and
// sets its letters posted. It returns how many it set.
func (s *Service) MarkPosted(ctx context.Context, batchID string, e *store.AuditEntry) (int, error) {
	var n int
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		b, err := tx.Batch(ctx, batchID)
		if err != nil {
			return err
		}
		if n, err = tx.MarkBatchPosted(ctx, batchID, e.Actor, s.Clock.Now().Unix()); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"run_id": b.RunID, "letters": n})
		e.Action, e.Subject, e.Detail = "batch.posted", batchID, string(detail)
		if e.CreatedAt == 0 {
			e.CreatedAt = s.Clock.Now().Unix()
		}
		return tx.Audit(ctx, e)
	})
	if err != nil {
		return 0, fmt.Errorf("mark batch posted: %w", err)
	}
	return n, nil
}
