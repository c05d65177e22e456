package period_test

import (
	"errors"
	"testing"
	"time"

	"impactd/internal/period"
)

func london(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParseRoundTrip(t *testing.T) {
	tests := []struct {
		in, want string
		kind     period.Kind
	}{
		{"2026-Q3", "2026-Q3", period.Quarter},
		{"2026-q1", "2026-Q1", period.Quarter},
		{" 2026-07 ", "2026-07", period.Month},
		{"2026", "2026", period.Year},
		{"2026/27", "2026/27", period.TaxYear},
		{"2099/00", "2099/00", period.TaxYear},
	}
	for _, tt := range tests {
		p, err := period.Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if p.String() != tt.want || p.Kind != tt.kind {
			t.Errorf("Parse(%q) = %v (%s), want %s (%s)", tt.in, p, p.Kind, tt.want, tt.kind)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{"", "26-Q3", "2026-Q5", "2026-Q0", "2026-13", "2026-00", "2026/28", "2026Q3", "abcd", "2026-+1", "+202-Q1", "2026-Q3x", "0000"} {
		if _, err := period.Parse(in); !errors.Is(err, period.ErrInvalid) {
			t.Errorf("Parse(%q): got %v, want ErrInvalid", in, err)
		}
	}
}

func TestBoundsInLondon(t *testing.T) {
	loc := london(t)
	tests := []struct {
		p          string
		start, end string
	}{
		{"2026-Q3", "2026-07-01T00:00:00+01:00", "2026-10-01T00:00:00+01:00"},
		{"2026-Q4", "2026-10-01T00:00:00+01:00", "2027-01-01T00:00:00Z"},
		{"2026-02", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"},
		{"2026/27", "2026-04-06T00:00:00+01:00", "2027-04-06T00:00:00+01:00"},
		{"2026", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		s, e := period.MustParse(tt.p).Bounds(loc)
		if got := s.Format(time.RFC3339); got != tt.start {
			t.Errorf("%s start = %s, want %s", tt.p, got, tt.start)
		}
		if got := e.Format(time.RFC3339); got != tt.end {
			t.Errorf("%s end = %s, want %s", tt.p, got, tt.end)
		}
	}
}

func TestContainingAndLastComplete(t *testing.T) {
	loc := london(t)
	// 23:30 UTC on 30 September is 00:30 on 1 October in London (BST).
	late := time.Date(2026, 9, 30, 23, 30, 0, 0, time.UTC)
	if got := period.Containing(late, period.Quarter, loc).String(); got != "2026-Q4" {
		t.Errorf("Containing = %s, want 2026-Q4", got)
	}
	tests := []struct {
		now  time.Time
		kind period.Kind
		want string
	}{
		{time.Date(2026, 11, 26, 12, 0, 0, 0, loc), period.Quarter, "2026-Q3"},
		{time.Date(2026, 1, 1, 9, 0, 0, 0, loc), period.Quarter, "2025-Q4"},
		{time.Date(2026, 1, 15, 9, 0, 0, 0, loc), period.Month, "2025-12"},
		{time.Date(2026, 4, 5, 9, 0, 0, 0, loc), period.TaxYear, "2024/25"},
		{time.Date(2026, 4, 6, 9, 0, 0, 0, loc), period.TaxYear, "2025/26"},
		{time.Date(2026, 3, 1, 9, 0, 0, 0, loc), period.Year, "2025"},
	}
	for _, tt := range tests {
		if got := period.LastComplete(tt.now, tt.kind, loc).String(); got != tt.want {
			t.Errorf("LastComplete(%s, %s) = %s, want %s", tt.now, tt.kind, got, tt.want)
		}
	}
}

func TestLabel(t *testing.T) {
	if got := period.MustParse("2026-Q3").Label(); got != "July to September 2026" {
		t.Errorf("label = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"2026-Q3", "2026-07", "2026", "2026/27", "x", "9999/00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := period.Parse(s)
		if err != nil {
			return
		}
		again, err := period.Parse(p.String())
		if err != nil || again != p {
			t.Fatalf("round trip of %q: %v -> %v (%v)", s, p, again, err)
		}
		start, end := p.Bounds(time.UTC)
		if !start.Before(end) {
			t.Fatalf("%v: empty bounds", p)
		}
	})
}
