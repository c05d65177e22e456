// Package storetest opens real, migrated, private databases for tests: a
// SQLite file in a temporary directory always, and a PostgreSQL schema of its
// own when IMPACTD_TEST_POSTGRES_URL is set (.ci/run sets it).
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"impactd/internal/store"
)

// PostgresEnv names the variable that points the tests at a PostgreSQL server.
const PostgresEnv = "IMPACTD_TEST_POSTGRES_URL"

// Each runs fn as a subtest once per database: "sqlite" and, when
// IMPACTD_TEST_POSTGRES_URL is set, "postgres".
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv(PostgresEnv) == "" {
			t.Skip("PostgreSQL not available: set " + PostgresEnv + " to run against it")
		}
		fn(t, Postgres(t))
	})
}

// SQLite opens a fresh migrated SQLite database in a temporary directory.
func SQLite(tb testing.TB) *store.Store {
	tb.Helper()
	return open(tb, "sqlite:"+filepath.Join(tb.TempDir(), "impactd.db"))
}

// SQLiteURL returns a database URL for a fresh SQLite file, unmigrated.
func SQLiteURL(tb testing.TB) string {
	return "sqlite:" + filepath.Join(tb.TempDir(), "impactd.db")
}

// PostgresURL creates a private schema on the server named by
// IMPACTD_TEST_POSTGRES_URL and returns a URL whose search_path selects it.
// The schema is dropped when the test ends. It fails the test when the
// variable is unset: callers decide whether to skip.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		tb.Fatal(PostgresEnv + " is not set")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := store.Open(context.Background(), base)
	if err != nil {
		tb.Fatalf("PostgreSQL at %s: %v", PostgresEnv, err)
	}
	if _, err := admin.DB().Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_, _ = admin.DB().Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Postgres opens a migrated store in a private schema.
func Postgres(tb testing.TB) *store.Store {
	tb.Helper()
	return open(tb, PostgresURL(tb))
}

func open(tb testing.TB, u string) *store.Store {
	tb.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, u)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return s
}

// EachURL is Each for code that opens the database itself: fn gets a URL of
// a fresh, unmigrated database.
func EachURL(t *testing.T, fn func(t *testing.T, databaseURL string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLiteURL(t)) })
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv(PostgresEnv) == "" {
			t.Skip("PostgreSQL not available: set " + PostgresEnv + " to run against it")
		}
		fn(t, PostgresURL(t))
	})
}
