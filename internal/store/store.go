// Package store is impactd's only SQL: hand-written queries through sqlx that
// run unchanged on SQLite (the embedded default) and PostgreSQL (production).
// Where the two dialects truly differ the difference is one small named
// function (forUpdate, inTexts, inSubquery) and is exercised by the
// conformance tests on both.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"impactd/internal/domain"
	"impactd/migrations"
)

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Store is the database. Its query methods are those of Q; InTx runs several
// of them in one transaction.
type Store struct {
	Q
	db *sqlx.DB
	// writer serialises this process's transactions on SQLite, which allows
	// one writer at a time anyway: queueing on a mutex is fair and instant,
	// where SQLite's busy handler sleeps and retries, which made webhook
	// latency spiky under load. Other processes still meet busy_timeout.
	writer *sync.Mutex
	// path is the SQLite database file; "" on PostgreSQL.
	path string
}

// Options tune how the database is opened. The zero value is the default.
type Options struct {
	// BusyTimeout is how long a SQLite statement waits for another
	// process's write lock before failing with SQLITE_BUSY (which callers
	// treat as transient: see IsTransient); 0 means 10s.
	BusyTimeout time.Duration
}

// DefaultBusyTimeout is SQLite's wait for a lock when Options leave it unset.
const DefaultBusyTimeout = 10 * time.Second

// Q holds the queries. It runs them against the database or a transaction.
type Q struct {
	e       sqlx.ExtContext
	dialect string
	tx      *sqlx.Tx   // set inside InTx
	stmts   *stmtCache // SQLite only; nil for PostgreSQL, whose driver caches itself
}

// stmtCache keeps one prepared statement per query text. Parsing SQL was a
// fifth of the CPU of a webhook on SQLite (modernc's parser is pure Go);
// preparing once removes it.
type stmtCache struct {
	db *sqlx.DB
	m  sync.Map // query → *sqlx.Stmt
}

func (c *stmtCache) get(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if s, ok := c.m.Load(query); ok {
		return s.(*sqlx.Stmt), nil
	}
	s, err := c.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.m.LoadOrStore(query, s); loaded {
		s.Close()
		return prev.(*sqlx.Stmt), nil
	}
	return s, nil
}

// Tx is a transaction; it has the same query methods as Store.
type Tx struct{ Q }

// Open connects to the database named by an IMPACTD_DATABASE_URL value:
// "sqlite:PATH" (or "sqlite://PATH") or "postgres://…". It does not migrate.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	return OpenWith(ctx, rawURL, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, rawURL string, o Options) (*Store, error) {
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = DefaultBusyTimeout
	}
	dialect, dsn, path, err := parseURL(rawURL, o)
	if err != nil {
		return nil, err
	}
	driver := "sqlite"
	bind := "sqlite3" // sqlx knows modernc's driver by the name of mattn's
	if dialect == Postgres {
		driver, bind = "pgx", "pgx"
	}
	sqldb, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if dialect == SQLite {
		// One writer at a time is SQLite's nature; BEGIN IMMEDIATE (_txlock)
		// makes writers queue on busy_timeout instead of failing on upgrade.
		sqldb.SetMaxOpenConns(4)
		sqldb.SetMaxIdleConns(4)
	} else {
		// Idle connections are kept (database/sql keeps only 2 by
		// default): reopening one costs a TCP and auth round trip and
		// loses pgx's per-connection statement cache.
		sqldb.SetMaxOpenConns(20)
		sqldb.SetMaxIdleConns(20)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
	}
	db := sqlx.NewDb(sqldb, bind)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database: connect to %s: %w", dialect, err)
	}
	st := &Store{Q: Q{e: db, dialect: dialect}, db: db, path: path}
	if dialect == SQLite {
		st.writer = &sync.Mutex{}
		st.stmts = &stmtCache{db: db}
	}
	return st, nil
}

func parseURL(raw string, o Options) (dialect, dsn, path string, err error) {
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			return "", "", "", fmt.Errorf("IMPACTD_DATABASE_URL: %w", err)
		}
		return Postgres, raw, "", nil
	case strings.HasPrefix(raw, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		if path == "" {
			return "", "", "", errors.New("IMPACTD_DATABASE_URL: sqlite: needs a file path, e.g. sqlite:impactd.db")
		}
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", o.BusyTimeout.Milliseconds()))
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
		return SQLite, "file:" + path + "?" + q.Encode(), path, nil
	}
	return "", "", "", fmt.Errorf("IMPACTD_DATABASE_URL %q: want sqlite:PATH or postgres://…", redactURL(raw))
}

// redactURL hides a password in a database URL, for error messages and logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// DatabaseLabel names a database URL for logs and messages without its
// credentials: the user, the password and every query parameter (where a
// password can also hide) are left out.
func DatabaseLabel(raw string) string {
	dialect, _, _, err := parseURL(raw, Options{})
	if err != nil {
		return "(invalid database URL)"
	}
	if dialect == SQLite {
		path, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//"), "?")
		return "sqlite:" + path
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "postgres"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// Dialect is SQLite or Postgres.
func (s *Store) Dialect() string { return s.dialect }

// DB is the underlying handle, for tests and tools that need raw access.
func (s *Store) DB() *sqlx.DB { return s.db }

// Close closes the prepared statements and the connection pool.
func (s *Store) Close() error {
	if s.stmts != nil {
		s.stmts.m.Range(func(_, v any) bool { v.(*sqlx.Stmt).Close(); return true })
	}
	return s.db.Close()
}

// Ping checks that the database answers; /readyz uses it.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// Migrate applies every pending migration. On PostgreSQL an advisory lock
// keeps replicas that start together from migrating twice.
func (s *Store) Migrate(ctx context.Context) error {
	p, err := s.migrations()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// MigrateTo applies the pending migrations up to and including version:
// a database as an older impactd left it, for tests of a migration.
func (s *Store) MigrateTo(ctx context.Context, version int64) error {
	p, err := s.migrations()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		return fmt.Errorf("migrate to %d: %w", version, err)
	}
	return nil
}

func (s *Store) migrations() (*goose.Provider, error) {
	dialect := goose.DialectSQLite3
	opts := []goose.ProviderOption{goose.WithGoMigrations(cleanTextMigration(s.dialect))}
	if s.dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	opts = append(opts, goose.WithGoMigrations(searchMigration(s.dialect)))
	return goose.NewProvider(dialect, s.db.DB, migrations.FS, opts...)
}

// InTx runs fn in a transaction, committing when it returns nil.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	if s.writer != nil {
		s.writer.Lock()
		defer s.writer.Unlock()
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&Tx{Q: Q{e: tx, dialect: s.dialect, tx: tx, stmts: s.stmts}}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// InTxRelaxed is InTx for work that can safely be redone: on PostgreSQL
// its commit does not wait for the WAL to reach disk (synchronous_commit
// off). If the server crashes in the next fraction of a second the
// transaction may be lost — never half-applied — and since every later
// synchronous commit flushes the WAL before it, nothing that depends on it
// can survive without it. Job claims and stored snapshots use it; the
// record of a send attempt, which must precede the send, does not. This cut
// a statement's WAL flushes from four to two.
func (s *Store) InTxRelaxed(ctx context.Context, fn func(tx *Tx) error) error {
	return s.InTx(ctx, func(tx *Tx) error {
		if s.dialect == Postgres {
			if _, err := tx.e.ExecContext(ctx, `SET LOCAL synchronous_commit TO OFF`); err != nil {
				return fmt.Errorf("relax commit: %w", err)
			}
		}
		return fn(tx)
	})
}

// NewID returns a new, time-ordered id with a short type prefix ("don_…").
func NewID(prefix string) string {
	return prefix + "_" + strings.ReplaceAll(uuid.Must(uuid.NewV7()).String(), "-", "")
}

// inTexts is "col IN list", the list being one argument made by textsArg:
// one query text for any length of list, so that it is prepared (and on
// PostgreSQL planned) once, where "IN (?, ?, …)" makes a new text for every
// length. PostgreSQL takes an array, SQLite a JSON array.
func (q Q) inTexts(col string) string {
	if q.dialect == Postgres {
		return col + ` = ANY(?::text[])`
	}
	return col + ` IN (SELECT value FROM json_each(?))`
}

// textsArg is the argument of an inTexts.
func (q Q) textsArg(vals []string) (any, error) {
	if q.dialect == Postgres {
		return vals, nil
	}
	b, err := json.Marshal(vals)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// inSubquery is "col IN (sub)" for a subquery that returns few rows. On
// PostgreSQL it is "col = ANY(ARRAY(sub))": the subquery runs first, then
// col is looked up by index, where a semi-join let the planner scan the
// whole table of col when its statistics said it was small.
func (q Q) inSubquery(col, sub string) string {
	if q.dialect == Postgres {
		return col + ` = ANY(ARRAY(` + sub + `))`
	}
	return col + ` IN (` + sub + `)`
}

// forUpdate is the row-locking suffix: PostgreSQL locks the selected rows for
// the transaction; SQLite has no row locks and needs none, because its
// transactions start IMMEDIATE and so never run two writers at once.
func (q Q) forUpdate() string {
	if q.dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// stmt returns the cached prepared statement for a query, bound to the
// transaction when there is one; nil when there is no cache.
func (q Q) stmt(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if q.stmts == nil {
		return nil, nil
	}
	s, err := q.stmts.get(ctx, query)
	if err != nil {
		return nil, err
	}
	if q.tx != nil {
		return q.tx.StmtxContext(ctx, s), nil
	}
	return s, nil
}

func (q Q) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	query = q.e.Rebind(query)
	s, err := q.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if s != nil {
		return s.ExecContext(ctx, args...)
	}
	return q.e.ExecContext(ctx, query, args...)
}

func (q Q) get(ctx context.Context, dest any, query string, args ...any) error {
	query = q.e.Rebind(query)
	s, err := q.stmt(ctx, query)
	if err != nil {
		return err
	}
	if s != nil {
		return s.GetContext(ctx, dest, args...)
	}
	return sqlx.GetContext(ctx, q.e, dest, query, args...)
}

func (q Q) selectAll(ctx context.Context, dest any, query string, args ...any) error {
	query = q.e.Rebind(query)
	s, err := q.stmt(ctx, query)
	if err != nil {
		return err
	}
	if s != nil {
		return s.SelectContext(ctx, dest, args...)
	}
	return sqlx.SelectContext(ctx, q.e, dest, query, args...)
}

// notFound turns sql.ErrNoRows into a coded domain error.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Errorf(domain.ENOTFOUND, "%s not found", what)
	}
	return err
}
