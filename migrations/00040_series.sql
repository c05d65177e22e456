-- Statement series (issue 12): the quarterly impact letter and the annual
-- giving statement, each with its own period, schedule and preferences.
--
-- Every run, statement and send attempt names its series; the rows made
-- before there were series were all impact letters, and the column's
-- default says so. Admission (one unfinished run that sends) and the
-- one-letter rule now hold per series AND period: an impact run of 2025/26
-- (IMPACTD_PERIOD=taxyear) and the annual statement of 2025/26 are two
-- different letters. The schedule's ticks are keyed per series, so that each
-- series' tick fires once across replicas and one series' tick never takes
-- another's.
--
-- A donor's letters preference replaces the unsubscribed status: 'all'
-- (impact letters and the annual statement), 'annual' (the annual statement
-- only) or 'none'. A donor who unsubscribed before there were series clicked
-- stop on the only letter they got: they become 'none' (docs/decisions.md).
-- marketing_consent is what the Stripe customer's metadata said
-- (IMPACTD_MARKETING_CONSENT_METADATA): 'yes', 'no', or '' when not recorded.

-- +goose Up
ALTER TABLE runs ADD COLUMN series TEXT NOT NULL DEFAULT 'impact';
ALTER TABLE statements ADD COLUMN series TEXT NOT NULL DEFAULT 'impact';
ALTER TABLE deliveries ADD COLUMN series TEXT NOT NULL DEFAULT 'impact';

DROP INDEX runs_admission;
CREATE UNIQUE INDEX runs_admission ON runs (series, period) WHERE status IN ('running', 'paused') AND dry_run = 0;
DROP INDEX deliveries_one_letter;
CREATE UNIQUE INDEX deliveries_one_letter ON deliveries (donor_id, series, period, letter_key, force_key)
    WHERE status IN ('queued', 'sent');
DROP INDEX statements_donor_period;
CREATE INDEX statements_donor_period ON statements (donor_id, series, period, created_at);

CREATE TABLE schedule_ticks_series (
    series     TEXT NOT NULL,
    tick_at    BIGINT NOT NULL,
    period     TEXT NOT NULL,
    run_id     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (series, tick_at)
);
INSERT INTO schedule_ticks_series (series, tick_at, period, run_id, created_at)
    SELECT 'impact', tick_at, period, run_id, created_at FROM schedule_ticks;
DROP TABLE schedule_ticks;
ALTER TABLE schedule_ticks_series RENAME TO schedule_ticks;

ALTER TABLE donors ADD COLUMN letters TEXT NOT NULL DEFAULT 'all';
ALTER TABLE donors ADD COLUMN marketing_consent TEXT NOT NULL DEFAULT '';
UPDATE donors SET letters = 'none', status = 'active' WHERE status = 'unsubscribed';

-- +goose Down
UPDATE donors SET status = 'unsubscribed' WHERE letters <> 'all' AND status = 'active';
ALTER TABLE donors DROP COLUMN marketing_consent;
ALTER TABLE donors DROP COLUMN letters;

CREATE TABLE schedule_ticks_old (
    tick_at    BIGINT PRIMARY KEY,
    period     TEXT NOT NULL,
    run_id     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
INSERT INTO schedule_ticks_old (tick_at, period, run_id, created_at)
    SELECT tick_at, period, run_id, created_at FROM schedule_ticks WHERE series = 'impact';
DROP TABLE schedule_ticks;
ALTER TABLE schedule_ticks_old RENAME TO schedule_ticks;

DROP INDEX statements_donor_period;
CREATE INDEX statements_donor_period ON statements (donor_id, period, created_at);
DROP INDEX deliveries_one_letter;
CREATE UNIQUE INDEX deliveries_one_letter ON deliveries (donor_id, period, letter_key, force_key)
    WHERE status IN ('queued', 'sent');
DROP INDEX runs_admission;
CREATE UNIQUE INDEX runs_admission ON runs (period) WHERE status IN ('running', 'paused') AND dry_run = 0;
ALTER TABLE deliveries DROP COLUMN series;
ALTER TABLE statements DROP COLUMN series;
ALTER TABLE runs DROP COLUMN series;
