package store

import (
	"context"
	"path/filepath"
	"testing"

	"impactd/internal/domain"
)

// TestSearchMigrationFillsKeys: migration 13 gives the donors stored
// before it their keys and indexes them.
func TestSearchMigrationFillsKeys(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	d := &domain.Donor{Name: "Wojciech Wiśniewski"}
	if err := s.CreateDonor(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkEmail(ctx, "ww@example.org", d.ID, 1); err != nil {
		t.Fatal(err)
	}
	m := searchMigration(s.dialect)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// As before migration 13: no index and no keys.
	if err := m.DownFnContext(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE donors SET search_key = ''`); err != nil {
		t.Fatal(err)
	}
	if err := m.UpFnContext(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"wisniew", "ww@exa", "wo"} {
		res, err := s.SearchDonors(ctx, q, 50)
		if err != nil || res.Total != 1 || res.Donors[0].ID != d.ID {
			t.Errorf("%q after the migration: %+v %v", q, res, err)
		}
	}
}
