package store_test

import (
	"testing"

	"impactd/internal/store"
)

func TestDatabaseLabelHasNoCredentials(t *testing.T) {
	for in, want := range map[string]string{
		"sqlite:impactd.db":         "sqlite:impactd.db",
		"sqlite:///data/impactd.db": "sqlite:/data/impactd.db",
		"postgres://impactd:s3cret@db.internal:5432/impactd?sslmode=require&password=other": "postgres://db.internal:5432/impactd",
		"postgresql://db/impactd": "postgresql://db/impactd",
		"mysql://x":               "(invalid database URL)",
	} {
		if got := store.DatabaseLabel(in); got != want {
			t.Errorf("DatabaseLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
