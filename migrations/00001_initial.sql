-- The schema is written once for both SQLite and PostgreSQL: identifiers are
-- text ids made by impactd (UUIDv7 with a prefix), times are unix seconds in
-- BIGINT columns, flags are INTEGER 0/1 and JSON documents are TEXT. See
-- docs/decisions.md for why.

-- +goose Up
CREATE TABLE donors (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    address     TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'active',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX donors_email ON donors (email);

-- A donor may be several Stripe customers (merged records) ...
CREATE TABLE donor_customers (
    stripe_customer_id TEXT PRIMARY KEY,
    donor_id           TEXT NOT NULL REFERENCES donors (id),
    created_at         BIGINT NOT NULL
);
CREATE INDEX donor_customers_donor ON donor_customers (donor_id);

-- ... and several email addresses (guest checkouts are known only by email).
CREATE TABLE donor_emails (
    email      TEXT PRIMARY KEY,
    donor_id   TEXT NOT NULL REFERENCES donors (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX donor_emails_donor ON donor_emails (donor_id);

CREATE TABLE donations (
    id               TEXT PRIMARY KEY,
    donor_id         TEXT NOT NULL REFERENCES donors (id),
    stripe_charge_id TEXT NOT NULL UNIQUE,
    amount           BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    amount_refunded  BIGINT NOT NULL DEFAULT 0,
    status           TEXT NOT NULL,
    recurring        INTEGER NOT NULL DEFAULT 0,
    designation      TEXT NOT NULL DEFAULT '',
    created          BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX donations_donor_created ON donations (donor_id, created);
CREATE INDEX donations_created ON donations (created);

CREATE TABLE refunds (
    id          TEXT PRIMARY KEY,
    donation_id TEXT NOT NULL REFERENCES donations (id),
    amount      BIGINT NOT NULL,
    currency    TEXT NOT NULL,
    created     BIGINT NOT NULL
);
CREATE INDEX refunds_donation ON refunds (donation_id);
CREATE INDEX refunds_created ON refunds (created);

-- Every verified Stripe event, once. The payload is stored with card details
-- removed (see internal/ingest.redact).
CREATE TABLE stripe_events (
    id           TEXT PRIMARY KEY,
    type         TEXT NOT NULL,
    api_version  TEXT NOT NULL DEFAULT '',
    created      BIGINT NOT NULL,
    livemode     INTEGER NOT NULL DEFAULT 0,
    payload      TEXT NOT NULL,
    received_at  BIGINT NOT NULL
);
CREATE INDEX stripe_events_created ON stripe_events (created);

CREATE TABLE impact_updates (
    id           TEXT PRIMARY KEY,
    period       TEXT NOT NULL,
    programme    TEXT NOT NULL DEFAULT '',
    version      INTEGER NOT NULL,
    status       TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    narrative    TEXT NOT NULL DEFAULT '',
    source       TEXT NOT NULL DEFAULT '',
    as_of        TEXT NOT NULL DEFAULT '',
    demo_data    INTEGER NOT NULL DEFAULT 0,
    approved_by  TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    published_at BIGINT NOT NULL DEFAULT 0,
    UNIQUE (period, programme, version)
);

CREATE TABLE impact_metrics (
    update_id        TEXT NOT NULL REFERENCES impact_updates (id),
    ord              INTEGER NOT NULL,
    metric_key       TEXT NOT NULL,
    label            TEXT NOT NULL,
    period_value     BIGINT,
    cumulative_value BIGINT,
    cumulative_since TEXT NOT NULL DEFAULT '',
    unit             TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (update_id, metric_key)
);

CREATE TABLE runs (
    id           TEXT PRIMARY KEY,
    period       TEXT NOT NULL,
    triggered_by TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    dry_run      INTEGER NOT NULL DEFAULT 0,
    eligible     INTEGER NOT NULL DEFAULT 0,
    rendered     INTEGER NOT NULL DEFAULT 0,
    sent         INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    skipped      INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    exceptions   TEXT NOT NULL DEFAULT '{}',
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX runs_period ON runs (period, started_at);

CREATE TABLE statements (
    id           TEXT PRIMARY KEY,
    run_id       TEXT NOT NULL REFERENCES runs (id),
    donor_id     TEXT NOT NULL REFERENCES donors (id),
    period       TEXT NOT NULL,
    snapshot     TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (run_id, donor_id)
);
CREATE INDEX statements_donor_period ON statements (donor_id, period, created_at);
CREATE INDEX statements_hash ON statements (content_hash);

CREATE TABLE deliveries (
    id           TEXT PRIMARY KEY,
    statement_id TEXT NOT NULL REFERENCES statements (id),
    attempt      INTEGER NOT NULL,
    status       TEXT NOT NULL,
    message_id   TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (statement_id, attempt)
);
CREATE INDEX deliveries_status ON deliveries (status);

-- +goose Down
DROP TABLE deliveries;
DROP TABLE statements;
DROP TABLE runs;
DROP TABLE impact_metrics;
DROP TABLE impact_updates;
DROP TABLE stripe_events;
DROP TABLE refunds;
DROP TABLE donations;
DROP TABLE donor_emails;
DROP TABLE donor_customers;
DROP TABLE donors;
