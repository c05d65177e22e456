package store

import (
	"context"
	"fmt"
	"strings"

	"impactd/internal/domain"
)

const updateCols = `id, period, programme, version, status, title, narrative, source, as_of, demo_data, approved_by, created_at, published_at, correction_reason, supersedes, created_by`

// metricRow is a metric as stored; absent values are NULL.
type metricRow struct {
	Key             string `db:"metric_key"`
	Label           string `db:"label"`
	Period          *int64 `db:"period_value"`
	Cumulative      *int64 `db:"cumulative_value"`
	CumulativeSince string `db:"cumulative_since"`
	Unit            string `db:"unit"`
	PeriodDemo      int    `db:"period_demo"`
	CumulativeDemo  int    `db:"cumulative_demo"`
}

// CreateImpactUpdate stores a new draft version of the update for its period
// and programme, numbered one above the latest. It sets ID, Version, Status
// and Supersedes. Once a version of the update has been published, a new
// version is a correction: it must carry a CorrectionReason, and it records
// the published version it supersedes. Call it in a transaction (Store.InTx)
// when two writers may race: the unique (period, programme, version) key
// makes the loser fail rather than share a number.
func (q Q) CreateImpactUpdate(ctx context.Context, u *domain.ImpactUpdate) error {
	var latest int
	if err := q.get(ctx, &latest, `SELECT COALESCE(MAX(version), 0) FROM impact_updates WHERE period = ? AND programme = ?`,
		u.Period, u.Programme); err != nil {
		return fmt.Errorf("create impact update: %w", err)
	}
	var published []string
	if err := q.selectAll(ctx, &published, `SELECT id FROM impact_updates WHERE period = ? AND programme = ? AND status = ?
		ORDER BY version DESC`, u.Period, u.Programme, domain.UpdatePublished); err != nil {
		return fmt.Errorf("create impact update: %w", err)
	}
	u.Supersedes = ""
	if len(published) > 0 {
		if strings.TrimSpace(u.CorrectionReason) == "" {
			return domain.Errorf(domain.EINVALID, "the update for %s is already published: a new version is a correction and needs a reason (correction_reason)", u.Period)
		}
		u.Supersedes = published[0]
	}
	u.ID = NewID("upd")
	u.Version = latest + 1
	u.Status = domain.UpdateDraft
	u.ApprovedBy, u.PublishedAt = "", 0
	_, err := q.exec(ctx, `INSERT INTO impact_updates (`+updateCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Period, u.Programme, u.Version, u.Status, u.Title, u.Narrative, u.Source, u.AsOf, flag(u.DemoData), u.ApprovedBy,
		u.CreatedAt, u.PublishedAt, u.CorrectionReason, u.Supersedes, u.CreatedBy)
	if err != nil {
		return fmt.Errorf("create impact update: %w", err)
	}
	for i, m := range u.Metrics {
		_, err := q.exec(ctx, `INSERT INTO impact_metrics (update_id, ord, metric_key, label, period_value, cumulative_value, cumulative_since, unit, period_demo, cumulative_demo)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, u.ID, i, m.Key, m.Label, m.Period, m.Cumulative, m.CumulativeSince, m.Unit, flag(m.PeriodDemo), flag(m.CumulativeDemo))
		if err != nil {
			return fmt.Errorf("create impact update: metric %q: %w", m.Key, err)
		}
	}
	return nil
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ImpactUpdates returns every version of the updates for a period (all
// periods when period is ""), newest period and version first, with metrics.
func (q Q) ImpactUpdates(ctx context.Context, period string) ([]domain.ImpactUpdate, error) {
	var us []domain.ImpactUpdate
	err := q.selectAll(ctx, &us, `SELECT `+updateCols+` FROM impact_updates WHERE (? = '' OR period = ?)
		ORDER BY period DESC, programme, version DESC`, period, period)
	if err != nil {
		return nil, fmt.Errorf("impact updates: %w", err)
	}
	for i := range us {
		if _, err := q.withMetrics(ctx, &us[i]); err != nil {
			return nil, fmt.Errorf("impact updates: %w", err)
		}
	}
	if us == nil {
		us = []domain.ImpactUpdate{}
	}
	return us, nil
}

// ImpactUpdate returns one update with its metrics.
func (q Q) ImpactUpdate(ctx context.Context, id string) (*domain.ImpactUpdate, error) {
	var u domain.ImpactUpdate
	if err := q.get(ctx, &u, `SELECT `+updateCols+` FROM impact_updates WHERE id = ?`, id); err != nil {
		return nil, fmt.Errorf("impact update: %w", notFound(err, "impact update"))
	}
	return q.withMetrics(ctx, &u)
}

// LatestImpactUpdate returns the newest version, draft or published, of the
// update for a period and programme.
func (q Q) LatestImpactUpdate(ctx context.Context, period, programme string) (*domain.ImpactUpdate, error) {
	var u domain.ImpactUpdate
	err := q.get(ctx, &u, `SELECT `+updateCols+` FROM impact_updates WHERE period = ? AND programme = ?
		ORDER BY version DESC LIMIT 1`, period, programme)
	if err != nil {
		return nil, fmt.Errorf("latest impact update: %w", notFound(err, "impact update for "+period))
	}
	return q.withMetrics(ctx, &u)
}

// PublishedImpactUpdate returns the newest published version of the
// organisation-wide update for a period.
func (q Q) PublishedImpactUpdate(ctx context.Context, period string) (*domain.ImpactUpdate, error) {
	var u domain.ImpactUpdate
	err := q.get(ctx, &u, `SELECT `+updateCols+` FROM impact_updates WHERE period = ? AND programme = '' AND status = ?
		ORDER BY version DESC LIMIT 1`, period, domain.UpdatePublished)
	if err != nil {
		return nil, fmt.Errorf("published impact update: %w", notFound(err, "published impact update for "+period))
	}
	return q.withMetrics(ctx, &u)
}

func (q Q) withMetrics(ctx context.Context, u *domain.ImpactUpdate) (*domain.ImpactUpdate, error) {
	var rows []metricRow
	err := q.selectAll(ctx, &rows, `SELECT metric_key, label, period_value, cumulative_value, cumulative_since, unit, period_demo, cumulative_demo
		FROM impact_metrics WHERE update_id = ? ORDER BY ord`, u.ID)
	if err != nil {
		return nil, fmt.Errorf("impact metrics: %w", err)
	}
	u.Metrics = make([]domain.Metric, len(rows))
	for i, r := range rows {
		u.Metrics[i] = domain.Metric{
			Key: r.Key, Label: r.Label, Period: r.Period, Cumulative: r.Cumulative, CumulativeSince: r.CumulativeSince,
			Unit: r.Unit, PeriodDemo: r.PeriodDemo == 1, CumulativeDemo: r.CumulativeDemo == 1,
		}
	}
	return u, nil
}

// PublishImpactUpdate marks a draft as published, recording who approved it.
// Publishing twice is a conflict: a published update never changes, and no
// statement in the store writes to a published row.
func (q Q) PublishImpactUpdate(ctx context.Context, id, approvedBy string, now int64) error {
	if strings.TrimSpace(approvedBy) == "" {
		return domain.Errorf(domain.EINVALID, "publishing needs the name of who approved the update")
	}
	res, err := q.exec(ctx, `UPDATE impact_updates SET status = ?, approved_by = ?, published_at = ? WHERE id = ? AND status = ?`,
		domain.UpdatePublished, approvedBy, now, id, domain.UpdateDraft)
	if err != nil {
		return fmt.Errorf("publish impact update: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := q.ImpactUpdate(ctx, id); domain.ErrorCode(err) == domain.ENOTFOUND {
			return domain.Errorf(domain.ENOTFOUND, "no impact update has the id %s", id)
		} else if err != nil {
			return fmt.Errorf("publish impact update: %w", err)
		}
		return domain.Errorf(domain.ECONFLICT, "impact update %s is already published", id)
	}
	return nil
}
