package runner

import (
	"context"
	"fmt"
	"io"

	"impactd/internal/domain"
)

// StatementPDF renders a stored statement's PDF into w: the PDF is a pure
// function of the snapshot, so the bytes are those the donor received.
func (r *Runner) StatementPDF(ctx context.Context, statementID string, w io.Writer) (*domain.Statement, error) {
	st, err := r.Store.Statement(ctx, statementID)
	if err != nil {
		return nil, err
	}
	snap, err := domain.DecodeSnapshot([]byte(st.Snapshot))
	if err != nil {
		return nil, fmt.Errorf("render statement %s: %w", st.ID, err)
	}
	if err := r.Renderer.Render(w, snap, st.ContentHash); err != nil {
		return nil, fmt.Errorf("render statement %s: %w", st.ID, err)
	}
	return st, nil
}
