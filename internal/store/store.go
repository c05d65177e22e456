// Package store is impactd's only SQL: hand-written queries through sqlx that
// run unchanged on SQLite (the embedded default) and PostgreSQL (production).
// Where the two dialects truly differ the difference is one small named
// function (forUpdate) and is exercised by the conformance tests on both.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
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
}

// Q holds the queries. It runs them against the database or a transaction.
type Q struct {
	e       sqlx.ExtContext
	dialect string
}

// Tx is a transaction; it has the same query methods as Store.
type Tx struct{ Q }

// Open connects to the database named by an IMPACTD_DATABASE_URL value:
// "sqlite:PATH" (or "sqlite://PATH") or "postgres://…". It does not migrate.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	dialect, dsn, err := parseURL(rawURL)
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
	} else {
		sqldb.SetMaxOpenConns(20)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
	}
	db := sqlx.NewDb(sqldb, bind)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database: connect to %s: %w", dialect, err)
	}
	return &Store{Q: Q{e: db, dialect: dialect}, db: db}, nil
}

func parseURL(raw string) (dialect, dsn string, err error) {
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			return "", "", fmt.Errorf("IMPACTD_DATABASE_URL: %w", err)
		}
		return Postgres, raw, nil
	case strings.HasPrefix(raw, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		if path == "" {
			return "", "", errors.New("IMPACTD_DATABASE_URL: sqlite: needs a file path, e.g. sqlite:impactd.db")
		}
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
		return SQLite, "file:" + path + "?" + q.Encode(), nil
	}
	return "", "", fmt.Errorf("IMPACTD_DATABASE_URL %q: want sqlite:PATH or postgres://…", redactURL(raw))
}

// redactURL hides a password in a database URL, for error messages and logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// Dialect is SQLite or Postgres.
func (s *Store) Dialect() string { return s.dialect }

// DB is the underlying handle, for tests and tools that need raw access.
func (s *Store) DB() *sqlx.DB { return s.db }

// Close closes the connection pool.
func (s *Store) Close() error { return s.db.Close() }

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
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if s.dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, s.db.DB, migrations.FS, opts...)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// InTx runs fn in a transaction, committing when it returns nil.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&Tx{Q: Q{e: tx, dialect: s.dialect}}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// NewID returns a new, time-ordered id with a short type prefix ("don_…").
func NewID(prefix string) string {
	return prefix + "_" + strings.ReplaceAll(uuid.Must(uuid.NewV7()).String(), "-", "")
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

func (q Q) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return q.e.ExecContext(ctx, q.e.Rebind(query), args...)
}

func (q Q) get(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.GetContext(ctx, q.e, dest, q.e.Rebind(query), args...)
}

func (q Q) selectAll(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.SelectContext(ctx, q.e, dest, q.e.Rebind(query), args...)
}

// notFound turns sql.ErrNoRows into a coded domain error.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Errorf(domain.ENOTFOUND, "%s not found", what)
	}
	return err
}
