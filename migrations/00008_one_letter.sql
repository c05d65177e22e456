-- One letter per supporter per period, whoever starts runs (issue 14).
--
-- Admission: at most one unfinished (running or paused) run that sends, per
-- period. The unique index is the admission key; a second start of the
-- period fails to insert and is shown the unfinished run instead. Dry runs
-- send nothing and are not admitted through it. To admit per (series,
-- period) later, add the column to this index and to store.AdmissionKey.
--
-- One delivered letter: every send attempt carries its letter's donor,
-- period, letter key (the content hash without the issue date) and force
-- key ('' unless a person forced a resend: then the forcing run's id), and a
-- partial unique index lets at most one attempt per letter be open
-- ('queued', being sent) or sent. The insert of the second run's attempt
-- fails in the transaction that records it, before anything is sent.

-- +goose Up
ALTER TABLE runs ADD COLUMN pause_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN paused_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN pauses INTEGER NOT NULL DEFAULT 0;
-- Before this migration two runs of a period could be unfinished at once.
-- The newest stays; the older ones end as failed, with their open jobs, so
-- that `impactd run --only-failed` picks those donors up.
UPDATE runs SET status = 'failed', finished_at = started_at,
    error = 'stopped when impactd moved to one unfinished run per period: a newer run of the period was unfinished'
WHERE status = 'running' AND dry_run = 0 AND EXISTS (
    SELECT 1 FROM runs r2 WHERE r2.period = runs.period AND r2.status = 'running' AND r2.dry_run = 0
        AND (r2.started_at > runs.started_at OR (r2.started_at = runs.started_at AND r2.id > runs.id)));
UPDATE run_jobs SET status = 'failed', locked_by = '', locked_until_ms = 0,
    last_error = 'its run was stopped when impactd moved to one unfinished run per period'
WHERE status IN ('pending', 'running') AND run_id IN (SELECT id FROM runs WHERE status = 'failed');
CREATE UNIQUE INDEX runs_admission ON runs (period) WHERE status IN ('running', 'paused') AND dry_run = 0;

ALTER TABLE run_jobs ADD COLUMN failure TEXT NOT NULL DEFAULT '';

ALTER TABLE deliveries ADD COLUMN donor_id TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN period TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN letter_key TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN force_key TEXT NOT NULL DEFAULT '';
-- Attempts made before this migration keep their history but are each a
-- letter of their own (force_key is their id): earlier forced resends are
-- legitimate duplicates, and the check of unchanged letters
-- (already_sent_unchanged) still reads them.
UPDATE deliveries SET
    donor_id = COALESCE((SELECT s.donor_id FROM statements s WHERE s.id = deliveries.statement_id), ''),
    period = COALESCE((SELECT s.period FROM statements s WHERE s.id = deliveries.statement_id), ''),
    letter_key = COALESCE((SELECT s.content_hash FROM statements s WHERE s.id = deliveries.statement_id), ''),
    force_key = 'before-00008:' || id;
CREATE UNIQUE INDEX deliveries_one_letter ON deliveries (donor_id, period, letter_key, force_key)
    WHERE status IN ('queued', 'sent');

-- Which run marked an address bounced, so that a run whose relay refused
-- every recipient can take back the bounces it recorded.
ALTER TABLE bounces ADD COLUMN run_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE bounces DROP COLUMN run_id;
DROP INDEX deliveries_one_letter;
ALTER TABLE deliveries DROP COLUMN force_key;
ALTER TABLE deliveries DROP COLUMN letter_key;
ALTER TABLE deliveries DROP COLUMN period;
ALTER TABLE deliveries DROP COLUMN donor_id;
ALTER TABLE run_jobs DROP COLUMN failure;
DROP INDEX runs_admission;
ALTER TABLE runs DROP COLUMN pauses;
ALTER TABLE runs DROP COLUMN paused_at;
ALTER TABLE runs DROP COLUMN pause_reason;
