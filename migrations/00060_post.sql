-- Letters by post (issue 13, point 3).
--
-- A donor chooses how their letters come: by email (the default) or by
-- post (donors.channel). A postal delivery is a row of deliveries with
-- channel 'post': 'in_batch' once the statement is made, 'posted' once staff
-- mark its print batch posted. Its country and postcode (from the donor's
-- address when the letter was made) order the print batch, as a mailing
-- house wants it; erasure blanks them.
--
-- One print batch per run: the unique run_id is what makes two processes
-- finishing the same run make one batch (store.EnsureBatch).
--
-- The one-letter index now counts a postal letter as delivered too, so a
-- second run cannot post or email the same letter again.

-- +goose Up
ALTER TABLE donors ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';
ALTER TABLE deliveries ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';
ALTER TABLE deliveries ADD COLUMN batch_id TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN postcode TEXT NOT NULL DEFAULT '';
CREATE INDEX deliveries_batch ON deliveries (batch_id);
CREATE TABLE print_batches (
    id         TEXT PRIMARY KEY,
    run_id     TEXT NOT NULL UNIQUE REFERENCES runs (id),
    created_at BIGINT NOT NULL,
    posted_at  BIGINT NOT NULL DEFAULT 0,
    posted_by  TEXT NOT NULL DEFAULT ''
);
DROP INDEX deliveries_one_letter;
CREATE UNIQUE INDEX deliveries_one_letter ON deliveries (donor_id, series, period, letter_key, force_key)
    WHERE status IN ('queued', 'sent', 'in_batch', 'posted');

-- +goose Down
DROP INDEX deliveries_one_letter;
CREATE UNIQUE INDEX deliveries_one_letter ON deliveries (donor_id, series, period, letter_key, force_key)
    WHERE status IN ('queued', 'sent');
DROP TABLE print_batches;
DROP INDEX deliveries_batch;
ALTER TABLE deliveries DROP COLUMN postcode;
ALTER TABLE deliveries DROP COLUMN country;
ALTER TABLE deliveries DROP COLUMN batch_id;
ALTER TABLE deliveries DROP COLUMN channel;
ALTER TABLE donors DROP COLUMN channel;
