-- Stripe events (and backfilled objects) that broke a rule of the ledger:
-- an amount outside 0…10^12 minor units, a currency that is not ISO 4217,
-- refunds and disputes beyond the charge, an id or object that does not
-- parse. The event itself stays in stripe_events; it changed nothing, was
-- answered 200 so that Stripe stops retrying, and is listed here for staff
-- (console → Exceptions, and impactd_stripe_rejections_total). The reason
-- holds ids, amounts and codes only, never a name or an address.

-- +goose Up
CREATE TABLE stripe_rejections (
    id          TEXT PRIMARY KEY, -- the event id; "sync:TYPE:OBJECT" for the backfill
    event_type  TEXT NOT NULL,
    object_id   TEXT NOT NULL DEFAULT '',
    rule        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created     BIGINT NOT NULL,  -- the event's time at Stripe
    received_at BIGINT NOT NULL
);
CREATE INDEX stripe_rejections_received ON stripe_rejections (received_at);

-- +goose Down
DROP TABLE stripe_rejections;
