-- Impact updates as versioned records: a correction of a published update
-- is a new version that names the version it supersedes and says why, and
-- who drafted each version is kept beside who approved it. Each figure can be
-- marked as demonstration data on its own, so that a letter labels exactly
-- the invented values and not the organisation's real, published ones.
-- Published versions are never updated: the store only changes rows whose
-- status is 'draft' (see internal/store/impact.go).

-- +goose Up
ALTER TABLE impact_updates ADD COLUMN correction_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE impact_updates ADD COLUMN supersedes TEXT NOT NULL DEFAULT '';
ALTER TABLE impact_updates ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE impact_metrics ADD COLUMN period_demo INTEGER NOT NULL DEFAULT 0;
ALTER TABLE impact_metrics ADD COLUMN cumulative_demo INTEGER NOT NULL DEFAULT 0;
CREATE INDEX impact_updates_period ON impact_updates (period, programme, status, version);

-- +goose Down
DROP INDEX impact_updates_period;
ALTER TABLE impact_metrics DROP COLUMN cumulative_demo;
ALTER TABLE impact_metrics DROP COLUMN period_demo;
ALTER TABLE impact_updates DROP COLUMN created_by;
ALTER TABLE impact_updates DROP COLUMN supersedes;
ALTER TABLE impact_updates DROP COLUMN correction_reason;
