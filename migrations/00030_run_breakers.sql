-- A run's circuit breaker, kept in the database so that every replica
-- working the run adds to the same streaks (issue 14, runsfix).
--
-- refusals counts the permanent refusals in a row, each to a different
-- recipient, that look like a relay refusing everyone; refused_jobs lists
-- their jobs (ids, space-separated: no address is kept here) so that the
-- replica whose refusal trips the breaker can take back the bounces and
-- failures of all of them. unreachable counts the failed attempts in a row
-- to open a session with the relay (refused, DNS, TLS, timeout). A send that
-- gets through ends the streaks; the row goes when the run finishes.

-- +goose Up
CREATE TABLE run_breakers (
    run_id       TEXT PRIMARY KEY,
    refusals     INTEGER NOT NULL DEFAULT 0,
    refused_jobs TEXT NOT NULL DEFAULT '',
    unreachable  INTEGER NOT NULL DEFAULT 0,
    updated_at   BIGINT NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE run_breakers;
