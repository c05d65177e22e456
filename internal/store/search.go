package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/pressly/goose/v3"

	"impactd/internal/domain"
	"impactd/internal/searchkey"
)

// Donor search matches donors.search_key, the folded name and email
// addresses (internal/searchkey), which the store keeps current whenever a
// donor's name or addresses change: CreateDonor, UpdateDonorContact,
// LinkEmail, MergeDonors and EraseDonor call refreshSearchKey (erasure and
// merging leave it empty). Both databases match the same stored strings, so
// they find the same donors; only the index differs, and it is the one named
// dialect difference here (searchMatch): an FTS5 trigram table over the
// column on SQLite (kept in step by triggers), a pg_trgm GIN index on
// PostgreSQL. A term of fewer than three characters cannot use a trigram
// index, so a query whose terms are all that short matches the start of the
// key through a bytewise B-tree index instead.

// refreshSearchKey recomputes a donor's search key from their name and
// email addresses.
func (q Q) refreshSearchKey(ctx context.Context, donorID string) error {
	var d struct {
		Name   string `db:"name"`
		Email  string `db:"email"`
		Status string `db:"status"`
		Merged string `db:"merged_into"`
	}
	if err := q.get(ctx, &d, `SELECT name, email, status, merged_into FROM donors WHERE id = ?`, donorID); err != nil {
		return fmt.Errorf("search key: %w", notFound(err, "donor"))
	}
	key := ""
	if d.Status != domain.DonorErased && d.Merged == "" {
		var emails []string
		if err := q.selectAll(ctx, &emails, `SELECT email FROM donor_emails WHERE donor_id = ? ORDER BY email`, donorID); err != nil {
			return fmt.Errorf("search key: %w", err)
		}
		key = searchkey.Key(d.Name, append([]string{d.Email}, emails...)...)
	}
	if _, err := q.exec(ctx, `UPDATE donors SET search_key = ? WHERE id = ? AND search_key <> ?`, key, donorID, key); err != nil {
		return fmt.Errorf("search key: %w", err)
	}
	return nil
}

// DonorSearch is one page of a donor search: at most the limit asked for,
// and how many donors match in all.
type DonorSearch struct {
	Donors []domain.Donor
	Total  int
}

// SearchDonors finds live (not merged) donors by part of a name or an email
// address, accent-, case- and script-insensitively, in any word order
// ("anh nguyen" finds "Nguyễn Ngọc Ánh"), or by their exact id; at most limit,
// in the order of their folded names, with the number of all matches.
func (q Q) SearchDonors(ctx context.Context, text string, limit int) (*DonorSearch, error) {
	res := &DonorSearch{Donors: []domain.Donor{}}
	text = strings.TrimSpace(text)
	if text == "" {
		return res, nil
	}
	if strings.HasPrefix(text, "dnr_") && !strings.ContainsAny(text, " \t") {
		d, err := q.Donor(ctx, text)
		switch {
		case err == nil && d.MergedInto == "":
			res.Donors, res.Total = []domain.Donor{*d}, 1
			return res, nil
		case err != nil && domain.ErrorCode(err) != domain.ENOTFOUND:
			return nil, fmt.Errorf("search donors: %w", err)
		}
	}
	terms := searchkey.Terms(text)
	if len(terms) == 0 {
		return res, nil
	}
	var long, short []string
	for _, t := range terms {
		if len([]rune(t)) >= searchkey.MinTermLen {
			long = append(long, t)
		} else {
			short = append(short, t)
		}
	}
	var where string
	var args []any
	if len(long) > 0 {
		// Every long term through the index; short ones among its matches.
		where = q.searchMatch(len(long))
		for _, t := range long {
			args = append(args, "%"+t+"%")
		}
		for _, t := range short {
			where += ` AND search_key LIKE ?`
			args = append(args, "%"+t+"%")
		}
	} else {
		// Only short terms: the key must start with them.
		prefix := strings.Join(short, " ")
		where = q.bytewise("search_key") + ` >= ? AND ` + q.bytewise("search_key") + ` < ?`
		args = append(args, prefix, prefix+"\U0010FFFF")
	}
	where = `merged_into = '' AND search_key <> '' AND ` + where
	if err := q.get(ctx, &res.Total, `SELECT COUNT(*) FROM donors WHERE `+where, args...); err != nil {
		return nil, fmt.Errorf("search donors: %w", err)
	}
	if res.Total == 0 {
		return res, nil
	}
	err := q.selectAll(ctx, &res.Donors, `SELECT `+donorCols+` FROM donors WHERE `+where+`
		ORDER BY `+q.bytewise("search_key")+`, id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("search donors: %w", err)
	}
	return res, nil
}

// searchMatch is the condition that n search_key LIKE patterns match
// through the trigram index: on SQLite the FTS5 table's LIKE (the column of
// donors itself would be scanned), on PostgreSQL the column's, which the
// GIN index serves.
func (q Q) searchMatch(n int) string {
	likes := strings.TrimSuffix(strings.Repeat(`search_key LIKE ? AND `, n), ` AND `)
	if q.dialect == Postgres {
		return likes
	}
	return `rowid IN (SELECT rowid FROM donor_search WHERE ` + likes + `)`
}

// bytewise orders a text column by its bytes (code points): PostgreSQL's
// "C" collation, which its prefix index is built with; SQLite's default.
func (q Q) bytewise(col string) string {
	if q.dialect == Postgres {
		return col + ` COLLATE "C"`
	}
	return col
}

// searchMigration is migration 13: the search index of each dialect and
// the search keys of the donors already stored (migration 12 added the
// column). It is Go because the keys are folded in Go and the indexes differ.
func searchMigration(dialect string) *goose.Migration {
	return goose.NewGoMigration(13, &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		if err := backfillSearchKeys(ctx, tx, dialect); err != nil {
			return fmt.Errorf("migration 13: %w", err)
		}
		stmts := sqliteSearchIndex
		if dialect == Postgres {
			var err error
			if stmts, err = postgresSearchIndex(ctx, tx); err != nil {
				return fmt.Errorf("migration 13: %w", err)
			}
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("migration 13: %s: %w", strings.Fields(s)[2], err)
			}
		}
		return nil
	}}, &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		drop := []string{`DROP TRIGGER IF EXISTS donors_search_insert`, `DROP TRIGGER IF EXISTS donors_search_update`,
			`DROP TRIGGER IF EXISTS donors_search_delete`, `DROP TABLE IF EXISTS donor_search`, `DROP INDEX IF EXISTS donors_search_prefix`}
		if dialect == Postgres {
			drop = []string{`DROP INDEX IF EXISTS donors_search_trgm`, `DROP INDEX IF EXISTS donors_search_prefix`}
		}
		for _, s := range drop {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("migration 13 down: %w", err)
			}
		}
		return nil
	}})
}

// sqliteSearchIndex: an external-content FTS5 table with the trigram
// tokenizer over donors.search_key (the text is not stored twice;
// detail='none' keeps only which rows hold a trigram, enough for LIKE, whose
// matches FTS5 then checks against the column), filled once and kept in
// step by triggers, so that every statement that changes donors — also a
// DELETE — updates it.
var sqliteSearchIndex = []string{
	`CREATE VIRTUAL TABLE donor_search USING fts5(search_key, content='donors', content_rowid='rowid', tokenize='trigram', detail='none')`,
	`INSERT INTO donor_search (donor_search) VALUES ('rebuild')`,
	`CREATE TRIGGER donors_search_insert AFTER INSERT ON donors BEGIN
		INSERT INTO donor_search (rowid, search_key) VALUES (new.rowid, new.search_key);
	END`,
	`CREATE TRIGGER donors_search_delete AFTER DELETE ON donors BEGIN
		INSERT INTO donor_search (donor_search, rowid, search_key) VALUES ('delete', old.rowid, old.search_key);
	END`,
	`CREATE TRIGGER donors_search_update AFTER UPDATE OF search_key ON donors BEGIN
		INSERT INTO donor_search (donor_search, rowid, search_key) VALUES ('delete', old.rowid, old.search_key);
		INSERT INTO donor_search (rowid, search_key) VALUES (new.rowid, new.search_key);
	END`,
	`CREATE INDEX donors_search_prefix ON donors (search_key)`,
}

// postgresSearchIndex makes sure pg_trgm is installed and returns the
// statements that index search_key with it. An extension belongs to the
// whole database and its operator classes to one schema, so a new one goes
// to "public" (where it outlives any schema impactd's tests make and drop)
// and the index names the schema of wherever it is.
func postgresSearchIndex(ctx context.Context, tx *sql.Tx) ([]string, error) {
	// Replicas and test schemas migrate one at a time (goose's session
	// lock); this lock also covers any other program creating pg_trgm.
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7470711)`); err != nil {
		return nil, err
	}
	var schema string
	err := tx.QueryRowContext(ctx, `SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
		WHERE e.extname = 'pg_trgm'`).Scan(&schema)
	if err == sql.ErrNoRows {
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE((SELECT nspname FROM pg_namespace WHERE nspname = 'public'), current_schema())`).Scan(&schema); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA `+quoteIdent(schema)); err != nil {
			return nil, fmt.Errorf("donor search needs the pg_trgm extension (PostgreSQL contrib); "+
				"if impactd's database user may not create it, run CREATE EXTENSION pg_trgm SCHEMA public as the database owner: %w", err)
		}
	} else if err != nil {
		return nil, err
	}
	return []string{
		`CREATE INDEX donors_search_trgm ON donors USING gin (search_key ` + quoteIdent(schema) + `.gin_trgm_ops)`,
		`CREATE INDEX donors_search_prefix ON donors (search_key COLLATE "C")`,
	}, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// backfillSearchKeys computes the key of every donor already stored.
func backfillSearchKeys(ctx context.Context, tx *sql.Tx, dialect string) error {
	rows, err := tx.QueryContext(ctx, `SELECT d.id, d.name, d.email, d.status, d.merged_into, COALESCE(e.email, '')
		FROM donors d LEFT JOIN donor_emails e ON e.donor_id = d.id ORDER BY d.id, e.email`)
	if err != nil {
		return err
	}
	type donor struct {
		id, key string
	}
	var ds []donor
	var cur struct{ id, name, email, status, merged string }
	var emails []string
	flush := func() {
		if cur.id == "" {
			return
		}
		key := ""
		if cur.status != domain.DonorErased && cur.merged == "" {
			key = searchkey.Key(cur.name, append([]string{cur.email}, emails...)...)
		}
		if key != "" {
			ds = append(ds, donor{cur.id, key})
		}
	}
	for rows.Next() {
		var id, name, email, status, merged, other string
		if err := rows.Scan(&id, &name, &email, &status, &merged, &other); err != nil {
			rows.Close()
			return err
		}
		if id != cur.id {
			flush()
			cur.id, cur.name, cur.email, cur.status, cur.merged, emails = id, name, email, status, merged, emails[:0]
		}
		if other != "" {
			emails = append(emails, other)
		}
	}
	flush()
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	update := `UPDATE donors SET search_key = ? WHERE id = ?`
	if dialect == Postgres {
		update = `UPDATE donors SET search_key = $1 WHERE id = $2`
	}
	stmt, err := tx.PrepareContext(ctx, update)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, d := range ds {
		if _, err := stmt.ExecContext(ctx, d.key, d.id); err != nil {
			return err
		}
	}
	return nil
}
