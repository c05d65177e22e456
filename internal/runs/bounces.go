package runs

import (
	"context"
	"fmt"
	"strings"

	"impactd/internal/domain"
	"impactd/internal/ingest"
	"impactd/internal/store"
)

// Bounces lists the addresses that a recipient's mail server refused for
// good, newest first: no letter goes to them.
func (s *Service) Bounces(ctx context.Context, limit int) ([]domain.Bounce, error) {
	return s.Store.Bounces(ctx, limit)
}

// ClearBounce lets letters go to an address again — the donor fixed their
// mailbox, or the refusal was the relay's fault — recorded with who and why
// in the audit log. The email address itself is not written to the log:
// the entry names the donors who have it.
func (s *Service) ClearBounce(ctx context.Context, email, actor, reason string) error {
	email = ingest.NormaliseEmail(email)
	if email == "" {
		return domain.Errorf(domain.EINVALID, "give the bounced email address")
	}
	if strings.TrimSpace(reason) == "" {
		return domain.Errorf(domain.EINVALID, "a reason is required: say why letters may go to this address again (it is recorded)")
	}
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		cleared, err := tx.ClearBounce(ctx, email, "")
		if err != nil {
			return fmt.Errorf("clear bounce: %w", err)
		}
		if !cleared {
			return domain.Errorf(domain.ENOTFOUND, "that address is not marked bounced")
		}
		ds, err := tx.DonorsByEmail(ctx, email)
		if err != nil {
			return fmt.Errorf("clear bounce: %w", err)
		}
		ids := make([]string, len(ds))
		for i, d := range ds {
			ids[i] = d.ID
		}
		return tx.Audit(ctx, &store.AuditEntry{Actor: firstNonEmpty(actor, "unknown"), Action: "bounce.clear",
			Subject: strings.Join(ids, ","), Reason: strings.TrimSpace(reason), CreatedAt: s.Clock.Now().Unix()})
	})
}
