package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
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

// SearchCountLimit is how far a search counts: past it, Total is
// SearchCountLimit and More is set ("more than 1,000"). Counting every
// match of three letters among a million donors would cost more than the
// search itself, and nobody reads past the first page of such a list.
const SearchCountLimit = 1000

// DonorSearch is one page of a donor search.
type DonorSearch struct {
	Donors []domain.Donor
	Total  int  // how many match; a lower bound when More is set
	More   bool // more than SearchCountLimit match
}

// searchRow is a matching donor's id and key, for ordering the matches:
// narrow, because up to SearchCountLimit+1 of them are read.
type searchRow struct {
	ID  string `db:"id"`
	Key string `db:"search_key"`
}

// SearchDonors finds live (not merged) donors by part of a name or an email
// address, accent-, case- and script-insensitively, in any word order
// ("anh nguyen" finds "Nguyễn Ngọc Ánh"), or by their exact id. It returns
// at most limit of them — those with every term at the start of a word
// first, then in the order of their folded names — and how many match, up
// to SearchCountLimit.
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
	var rows []searchRow
	if len(long) == 0 {
		// Only short terms: the key must start with them, which the
		// bytewise index answers in order.
		prefix := strings.Join(short, " ")
		where := q.bytewise("search_key") + ` >= ? AND ` + q.bytewise("search_key") + ` < ?`
		args := []any{prefix, prefix + "\U0010FFFF"}
		if err := q.get(ctx, &res.Total, `SELECT COUNT(*) FROM (SELECT 1 FROM donors WHERE `+where+` LIMIT ?) x`,
			append(args, SearchCountLimit+1)...); err != nil {
			return nil, fmt.Errorf("search donors: %w", err)
		}
		if err := q.selectAll(ctx, &rows, `SELECT id, search_key FROM donors WHERE `+where+`
			ORDER BY `+q.bytewise("search_key")+`, id LIMIT ?`, append(args, limit)...); err != nil {
			return nil, fmt.Errorf("search donors: %w", err)
		}
	} else {
		// The long terms, or pieces of them, through the trigram index;
		// the short ones and the whole of each cut term among its matches;
		// at most one more than is counted, ordered here.
		var index []string
		verify := short
		for _, t := range long {
			pieces := indexPieces(t)
			index = append(index, pieces...)
			if len(pieces) != 1 || pieces[0] != t {
				verify = append(verify, t)
			}
		}
		query, args := q.searchMatch(index)
		for _, t := range verify {
			query += ` AND ` + q.contains("d.search_key")
			args = append(args, t)
		}
		if err := q.selectAll(ctx, &rows, query+` LIMIT ?`, append(args, SearchCountLimit+1)...); err != nil {
			return nil, fmt.Errorf("search donors: %w", err)
		}
		res.Total = len(rows)
	}
	if res.Total > SearchCountLimit {
		res.Total, res.More = SearchCountLimit, true
	}
	slices.SortFunc(rows, func(a, b searchRow) int {
		if c := cmp.Compare(wordStarts(b.Key, terms), wordStarts(a.Key, terms)); c != 0 {
			return c
		}
		return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(a.ID, b.ID))
	})
	rows = rows[:min(limit, len(rows))]
	if len(rows) == 0 {
		return res, nil
	}
	ids := make([]any, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var ds []domain.Donor
	if err := q.selectAll(ctx, &ds, `SELECT `+donorCols+` FROM donors WHERE id IN (?`+strings.Repeat(`, ?`, len(ids)-1)+`)`, ids...); err != nil {
		return nil, fmt.Errorf("search donors: %w", err)
	}
	byID := make(map[string]domain.Donor, len(ds))
	for _, d := range ds {
		byID[d.ID] = d
	}
	for _, r := range rows {
		if d, ok := byID[r.ID]; ok {
			res.Donors = append(res.Donors, d)
		}
	}
	return res, nil
}

// wordStarts counts the terms that begin a word of the key: "smi" is
// likelier Smith than Asmir.
func wordStarts(key string, terms []string) int {
	n := 0
	for _, t := range terms {
		if strings.HasPrefix(key, t) || strings.Contains(key, " "+t) {
			n++
		}
	}
	return n
}

// searchMatch is the query for the live donors (as d) whose keys contain
// every term, through the trigram index: on SQLite an FTS5 phrase per term
// (a phrase of trigrams is a substring, and the index alone answers it), on
// PostgreSQL LIKE, which the GIN index serves. Merged and erased donors
// have empty keys, so neither index holds them.
func (q Q) searchMatch(terms []string) (string, []any) {
	const cols = `d.id, d.search_key`
	if q.dialect == Postgres {
		var args []any
		for _, t := range terms {
			args = append(args, "%"+t+"%")
		}
		return `SELECT ` + cols + ` FROM donors d WHERE ` +
			strings.TrimSuffix(strings.Repeat(`d.search_key LIKE ? AND `, len(terms)), ` AND `), args
	}
	phrases := make([]string, len(terms))
	for i, t := range terms {
		phrases[i] = `"` + t + `"` // folded terms hold no quotes
	}
	return `SELECT ` + cols + ` FROM donor_search s JOIN donors d ON d.rowid = s.rowid WHERE donor_search MATCH ?`,
		[]any{strings.Join(phrases, " ")}
}

// indexPieces is what of a term the trigram index is asked for. Both
// indexes look up every trigram of a pattern, and the trigrams of a whole
// email address are in most rows ("exa", "mpl", ".or"): among a million
// donors such a lookup took 30 ms on SQLite and 30–120 ms on PostgreSQL,
// against 3 ms for two short pieces of the address's local part. So an
// address is looked up by its local part, and a long term by its first and
// last six letters; the caller then checks the whole term in the rows found.
func indexPieces(t string) []string {
	if local, _, ok := strings.Cut(t, "@"); ok && len([]rune(local)) >= searchkey.MinTermLen {
		t = local
	}
	r := []rune(t)
	if len(r) <= 8 {
		return []string{t}
	}
	return []string{string(r[:6]), string(r[len(r)-6:])}
}

// contains is the condition that a column holds a string, which no index
// serves (a LIKE with no three letters in a row would make PostgreSQL read
// the whole trigram index).
func (q Q) contains(col string) string {
	if q.dialect == Postgres {
		return `strpos(` + col + `, ?) > 0`
	}
	return `instr(` + col + `, ?) > 0`
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
// tokenizer over donors.search_key (the text is not stored twice), with
// positions (detail full) so that a phrase — a substring — is answered from
// the index without reading the rows; filled once and kept in step by
// triggers, so that every statement that changes donors — also a DELETE —
// updates it.
var sqliteSearchIndex = []string{
	`CREATE VIRTUAL TABLE donor_search USING fts5(search_key, content='donors', content_rowid='rowid', tokenize='trigram')`,
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
