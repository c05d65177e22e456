-- The staff console: staff accounts with hashed passwords and their
-- sign-in sessions. A session row is keyed by the SHA-256 of the cookie's
-- value, so a copy of the database cannot be used to sign in.

-- +goose Up
CREATE TABLE staff (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    disabled_at   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE staff_sessions (
    id         TEXT PRIMARY KEY,
    staff_id   TEXT NOT NULL REFERENCES staff (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);
CREATE INDEX staff_sessions_expires ON staff_sessions (expires_at);

CREATE INDEX runs_started ON runs (started_at);

-- +goose Down
DROP INDEX runs_started;
DROP TABLE staff_sessions;
DROP TABLE staff;
