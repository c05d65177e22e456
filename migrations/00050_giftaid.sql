-- Gift Aid claims (issue 13). A claim is a record: who made it, when, up to
-- which date, its totals and, in giftaid_claim_gifts, the donations it
-- claimed — by id and amount only, never a copy of a name or an address
-- (the schedule's rows are made again from the donor when a file is
-- written; once a donor is erased their rows can no longer be made). The
-- UNIQUE donation_id is the guarantee that a gift is claimed at most once,
-- however many claims run at the same time.
--
-- An adjustment is an over-claim found later: a refund or lost dispute of a
-- claimed gift. It is listed with the next claim; UNIQUE (donation_id,
-- net_after) records each fall of a gift's net amount once, whoever claims.
--
-- gift_aid_declarations keeps the declarations a donor withdrew: the window
-- [from_date, until_date) still covers the gifts made in it. The donor's
-- current declaration stays in donors.gift_aid_from. Dates only, no
-- personal data.

-- +goose Up
CREATE TABLE gift_aid_declarations (
    id         TEXT PRIMARY KEY,
    donor_id   TEXT NOT NULL REFERENCES donors (id),
    from_date  TEXT NOT NULL,
    until_date TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX gift_aid_declarations_donor ON gift_aid_declarations (donor_id);

CREATE TABLE giftaid_claims (
    id                TEXT PRIMARY KEY,
    to_date           TEXT NOT NULL,
    aggregate         INTEGER NOT NULL DEFAULT 0,
    gifts             INTEGER NOT NULL DEFAULT 0,
    total             BIGINT NOT NULL DEFAULT 0,
    adjustments       INTEGER NOT NULL DEFAULT 0,
    adjustment_total  BIGINT NOT NULL DEFAULT 0,
    earliest          BIGINT NOT NULL DEFAULT 0,
    actor             TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    submitted_at      BIGINT NOT NULL DEFAULT 0,
    submitted_by      TEXT NOT NULL DEFAULT '',
    hmrc_reference    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX giftaid_claims_created ON giftaid_claims (created_at);

CREATE TABLE giftaid_claim_gifts (
    claim_id    TEXT NOT NULL REFERENCES giftaid_claims (id),
    donation_id TEXT NOT NULL UNIQUE REFERENCES donations (id),
    amount      BIGINT NOT NULL,
    created     BIGINT NOT NULL
);
CREATE INDEX giftaid_claim_gifts_claim ON giftaid_claim_gifts (claim_id);

CREATE TABLE giftaid_adjustments (
    id                TEXT PRIMARY KEY,
    claim_id          TEXT NOT NULL REFERENCES giftaid_claims (id),
    original_claim_id TEXT NOT NULL REFERENCES giftaid_claims (id),
    donation_id       TEXT NOT NULL REFERENCES donations (id),
    amount            BIGINT NOT NULL,
    net_after         BIGINT NOT NULL,
    UNIQUE (donation_id, net_after)
);
CREATE INDEX giftaid_adjustments_claim ON giftaid_adjustments (claim_id);

-- +goose Down
DROP TABLE giftaid_adjustments;
DROP TABLE giftaid_claim_gifts;
DROP TABLE giftaid_claims;
DROP TABLE gift_aid_declarations;
