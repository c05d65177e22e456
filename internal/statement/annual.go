package statement

import (
	"context"
	"time"

	"impactd/internal/domain"
	"impactd/internal/period"
)

// newAnnualContext loads what a run of annual giving statements shares.
// (Issue 12 replaces this file with the annual statement.)
func (b *Builder) newAnnualContext(_ context.Context, p period.Period) (*Context, error) {
	return nil, domain.Errorf(domain.EINVALID, "the annual statement for %s cannot be made yet", p)
}

// buildAnnual returns the snapshot of a donor's annual giving statement.
func (b *Builder) buildAnnual(_ context.Context, sc *Context, _ *domain.Donor, _ time.Time) (*domain.Snapshot, error) {
	return nil, domain.Errorf(domain.EINVALID, "the annual statement for %s cannot be made yet", sc.Period)
}
