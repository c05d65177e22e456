-- Durable statement runs: one job row per donor of a run, claimed by any
-- impactd process through the database, with each step committed; the
-- schedule's ticks, recorded so that a tick is fired once across replicas
-- and a missed one is caught up after downtime; and addresses a mail server
-- refused permanently. Times in *_ms columns are unix milliseconds (retry
-- back-off and leases need finer steps than seconds); the rest are seconds.

-- +goose Up
ALTER TABLE runs ADD COLUMN scope TEXT NOT NULL DEFAULT 'period';
ALTER TABLE runs ADD COLUMN donor_id TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN statement_id TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN forced INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN actor TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN tick_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN retrying INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN flags TEXT NOT NULL DEFAULT '{}';
ALTER TABLE runs ADD COLUMN summary_sent INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_status ON runs (status);

-- One job per donor considered by a run. status: pending (ready at
-- run_after_ms; attempts > 0 means it is waiting to retry a send), running
-- (claimed by locked_by until locked_until_ms), and the terminal sent,
-- rendered (dry run), skipped (skip_reason says why) and failed.
CREATE TABLE run_jobs (
    id              TEXT PRIMARY KEY,
    run_id          TEXT NOT NULL REFERENCES runs (id),
    donor_id        TEXT NOT NULL,
    status          TEXT NOT NULL,
    skip_reason     TEXT NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    run_after_ms    BIGINT NOT NULL DEFAULT 0,
    locked_by       TEXT NOT NULL DEFAULT '',
    locked_until_ms BIGINT NOT NULL DEFAULT 0,
    statement_id    TEXT NOT NULL DEFAULT '',
    rendered        INTEGER NOT NULL DEFAULT 0,
    interrupted     INTEGER NOT NULL DEFAULT 0,
    no_address      INTEGER NOT NULL DEFAULT 0,
    mixed_currency  INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (run_id, donor_id)
);
CREATE INDEX run_jobs_claim ON run_jobs (status, run_after_ms, id);
CREATE INDEX run_jobs_run_status ON run_jobs (run_id, status, run_after_ms, id);
CREATE INDEX run_jobs_donor ON run_jobs (donor_id);

-- What a corrected statement replaces, and how its snapshot differs.
ALTER TABLE statements ADD COLUMN replaces TEXT NOT NULL DEFAULT '';
ALTER TABLE statements ADD COLUMN diff TEXT NOT NULL DEFAULT '';

-- One row per schedule tick that created a run: the primary key makes the
-- tick fire once however many replicas see it.
CREATE TABLE schedule_ticks (
    tick_at    BIGINT PRIMARY KEY,
    period     TEXT NOT NULL,
    run_id     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

-- Addresses a mail server refused for good (5xx on the mailbox): no letter
-- is sent to them again until the donor's address changes.
CREATE TABLE bounces (
    email      TEXT PRIMARY KEY,
    detail     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE bounces;
DROP TABLE schedule_ticks;
ALTER TABLE statements DROP COLUMN diff;
ALTER TABLE statements DROP COLUMN replaces;
DROP TABLE run_jobs;
DROP INDEX runs_status;
ALTER TABLE runs DROP COLUMN summary_sent;
ALTER TABLE runs DROP COLUMN flags;
ALTER TABLE runs DROP COLUMN retrying;
ALTER TABLE runs DROP COLUMN interrupted;
ALTER TABLE runs DROP COLUMN tick_at;
ALTER TABLE runs DROP COLUMN actor;
ALTER TABLE runs DROP COLUMN forced;
ALTER TABLE runs DROP COLUMN statement_id;
ALTER TABLE runs DROP COLUMN donor_id;
ALTER TABLE runs DROP COLUMN scope;
