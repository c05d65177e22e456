-- Donor search: each donor's name and email addresses folded for matching
-- (accents, case and script differences removed; see internal/searchkey),
-- written by the store whenever they change and emptied when a donor is
-- erased or merged. Migration 13 (Go, internal/store/search.go) fills it
-- for the donors already stored and builds each dialect's trigram index.

-- +goose Up
ALTER TABLE donors ADD COLUMN search_key TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE donors DROP COLUMN search_key;
