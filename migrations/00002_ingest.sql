-- Stripe ingestion, complete: payment intents and checkout sessions as hints,
-- subscriptions, disputes, settled amounts, Gift Aid, donor merges and
-- erasure, API tokens, resumable sync and the audit log.

-- +goose Up
ALTER TABLE donations ADD COLUMN payment_intent_id TEXT NOT NULL DEFAULT '';
ALTER TABLE donations ADD COLUMN invoice_id TEXT NOT NULL DEFAULT '';
ALTER TABLE donations ADD COLUMN subscription_id TEXT NOT NULL DEFAULT '';
ALTER TABLE donations ADD COLUMN amount_disputed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE donations ADD COLUMN settled_amount BIGINT NOT NULL DEFAULT 0;
ALTER TABLE donations ADD COLUMN settled_currency TEXT NOT NULL DEFAULT '';
CREATE INDEX donations_payment_intent ON donations (payment_intent_id);

-- kind is 'refund' or 'dispute' (a lost dispute reverses the gift); a
-- synthetic refund stands for an increase of amount_refunded whose refund
-- objects we have not seen (yet).
ALTER TABLE refunds ADD COLUMN kind TEXT NOT NULL DEFAULT 'refund';
ALTER TABLE refunds ADD COLUMN synthetic INTEGER NOT NULL DEFAULT 0;

ALTER TABLE donors ADD COLUMN gift_aid_from TEXT NOT NULL DEFAULT '';
ALTER TABLE donors ADD COLUMN merged_into TEXT NOT NULL DEFAULT '';
ALTER TABLE donor_customers ADD COLUMN event_created BIGINT NOT NULL DEFAULT 0;
ALTER TABLE donor_customers ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;

-- What a checkout session or payment intent says about the gift its charge
-- will be, kept until (and after) the charge arrives, in whatever order.
CREATE TABLE payment_hints (
    payment_intent_id TEXT PRIMARY KEY,
    customer_id       TEXT NOT NULL DEFAULT '',
    email             TEXT NOT NULL DEFAULT '',
    name              TEXT NOT NULL DEFAULT '',
    address           TEXT NOT NULL DEFAULT '',
    subscription_id   TEXT NOT NULL DEFAULT '',
    designation       TEXT NOT NULL DEFAULT '',
    is_donation       INTEGER NOT NULL DEFAULT 1,
    updated_at        BIGINT NOT NULL
);

CREATE TABLE subscriptions (
    id          TEXT PRIMARY KEY,
    donor_id    TEXT NOT NULL REFERENCES donors (id),
    customer_id TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'active',
    started     BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX subscriptions_donor ON subscriptions (donor_id);

CREATE TABLE disputes (
    id            TEXT PRIMARY KEY,
    charge_id     TEXT NOT NULL,
    amount        BIGINT NOT NULL,
    currency      TEXT NOT NULL,
    status        TEXT NOT NULL,
    created       BIGINT NOT NULL,
    event_created BIGINT NOT NULL
);
CREATE INDEX disputes_charge ON disputes (charge_id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    hash         TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL DEFAULT 0,
    revoked_at   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE sync_state (
    resource   TEXT PRIMARY KEY,
    cursor     TEXT NOT NULL DEFAULT '',
    since      BIGINT NOT NULL DEFAULT 0,
    done       INTEGER NOT NULL DEFAULT 0,
    objects    BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

CREATE TABLE audit_log (
    id         TEXT PRIMARY KEY,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_log_created ON audit_log (created_at);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE sync_state;
DROP TABLE api_tokens;
DROP TABLE disputes;
DROP TABLE subscriptions;
DROP TABLE payment_hints;
ALTER TABLE donor_customers DROP COLUMN deleted;
ALTER TABLE donor_customers DROP COLUMN event_created;
ALTER TABLE donors DROP COLUMN merged_into;
ALTER TABLE donors DROP COLUMN gift_aid_from;
ALTER TABLE refunds DROP COLUMN synthetic;
ALTER TABLE refunds DROP COLUMN kind;
DROP INDEX donations_payment_intent;
ALTER TABLE donations DROP COLUMN settled_currency;
ALTER TABLE donations DROP COLUMN settled_amount;
ALTER TABLE donations DROP COLUMN amount_disputed;
ALTER TABLE donations DROP COLUMN subscription_id;
ALTER TABLE donations DROP COLUMN invoice_id;
ALTER TABLE donations DROP COLUMN payment_intent_id;
