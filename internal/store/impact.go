package store

import (
	"context"
	"fmt"

	"impactd/internal/domain"
)

const updateCols = `id, period, programme, version, status, title, narrative, source, as_of, demo_data, approved_by, created_at, published_at`

// metricRow is a metric as stored; absent values are NULL.
type metricRow struct {
	Key             string `db:"metric_key"`
	Label           string `db:"label"`
	Period          *int64 `db:"period_value"`
	Cumulative      *int64 `db:"cumulative_value"`
	CumulativeSince string `db:"cumulative_since"`
	Unit            string `db:"unit"`
}

// CreateImpactUpdate stores a new draft version of the update for its period
// and programme, numbered one above the latest. It sets ID, Version and Status.
func (q Q) CreateImpactUpdate(ctx context.Context, u *domain.ImpactUpdate) error {
	var latest int
	if err := q.get(ctx, &latest, `SELECT COALESCE(MAX(version), 0) FROM impact_updates WHERE period = ? AND programme = ?`,
		u.Period, u.Programme); err != nil {
		return fmt.Errorf("create impact update: %w", err)
	}
	u.ID = NewID("upd")
	u.Version = latest + 1
	u.Status = domain.UpdateDraft
	_, err := q.exec(ctx, `INSERT INTO impact_updates (`+updateCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Period, u.Programme, u.Version, u.Status, u.Title, u.Narrative, u.Source, u.AsOf, u.DemoData, u.ApprovedBy, u.CreatedAt, u.PublishedAt)
	if err != nil {
		return fmt.Errorf("create impact update: %w", err)
	}
	for i, m := range u.Metrics {
		_, err := q.exec(ctx, `INSERT INTO impact_metrics (update_id, ord, metric_key, label, period_value, cumulative_value, cumulative_since, unit)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, u.ID, i, m.Key, m.Label, m.Period, m.Cumulative, m.CumulativeSince, m.Unit)
		if err != nil {
			return fmt.Errorf("create impact update: metric %q: %w", m.Key, err)
		}
	}
	return nil
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
	err := q.selectAll(ctx, &rows, `SELECT metric_key, label, period_value, cumulative_value, cumulative_since, unit
		FROM impact_metrics WHERE update_id = ? ORDER BY ord`, u.ID)
	if err != nil {
		return nil, fmt.Errorf("impact metrics: %w", err)
	}
	u.Metrics = make([]domain.Metric, len(rows))
	for i, r := range rows {
		u.Metrics[i] = domain.Metric(r)
	}
	return u, nil
}

// PublishImpactUpdate marks a draft as published. Publishing twice is a
// conflict: a published update never changes.
func (q Q) PublishImpactUpdate(ctx context.Context, id, approvedBy string, now int64) error {
	res, err := q.exec(ctx, `UPDATE impact_updates SET status = ?, approved_by = ?, published_at = ? WHERE id = ? AND status = ?`,
		domain.UpdatePublished, approvedBy, now, id, domain.UpdateDraft)
	if err != nil {
		return fmt.Errorf("publish impact update: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := q.ImpactUpdate(ctx, id); err != nil {
			return fmt.Errorf("publish impact update: %w", err)
		}
		return domain.Errorf(domain.ECONFLICT, "impact update %s is already published", id)
	}
	return nil
}
