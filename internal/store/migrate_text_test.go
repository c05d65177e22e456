package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"impactd/migrations"
)

// TestCleanTextMigration: text a SQLite database kept before ingest cleaned
// it (a NUL, a bell, a 2,000-character address line) is cleaned by 00011.
func TestCleanTextMigration(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := goose.NewProvider(goose.DialectSQLite3, s.db.DB, migrations.FS, goose.WithGoMigrations(cleanTextMigration(SQLite)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 10); err != nil {
		t.Fatal(err)
	}
	long := ""
	for range 200 {
		long += "Long Road "
	}
	if _, err := s.db.Exec(`INSERT INTO donors (id, name, email, address, status, created_at, updated_at)
		VALUES ('dnr_old', 'Zoe'||char(776)||char(0)||' O''Brien'||char(7), 'old@example.org', '1 Main St'||char(10)||?, 'active', 1, 1)`, long); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := s.Donor(ctx, "dnr_old")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "Zoë O'Brien" || d.Address != "1 Main St\nLong Road Long Road Long Road Long Road Long Road Long Road Long Road Long Road…" {
		t.Fatalf("after 00011: %q %q", d.Name, d.Address)
	}
}
