package demo_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"impactd/internal/app"
	"impactd/internal/config"
	"impactd/internal/demo"
	"impactd/internal/domain"
)

// TestDemoMakesBothSeries: on 2 December 2026 the demo's history covers the
// whole UK tax year 2025/26 (from 6 April 2025, before the five quarters
// ending with 2026-Q3 begin), it sends the impact letters of 2026-Q3, and its
// summary says what became of the annual statements of 2025/26.
func TestDemoMakesBothSeries(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"IMPACTD_DATABASE_URL": "sqlite:" + filepath.Join(dir, "impactd.db"), "IMPACTD_SMTP_URL": "file://" + filepath.Join(dir, "outbox"),
		"IMPACTD_STRIPE_WEBHOOK_SECRET": demo.WebhookSecret, "IMPACTD_SECRET_KEY": demo.SecretKey, "IMPACTD_SCHEDULE": "off",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	london, _ := time.LoadLocation("Europe/London")
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, london)
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), domain.FixedClock(now))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var out bytes.Buffer
	sum, err := demo.Run(context.Background(), a, demo.Options{Donors: 40, Out: &out, PDFDir: filepath.Join(dir, "statements"), Outbox: filepath.Join(dir, "outbox")})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Period.String() != "2026-Q3" || sum.AnnualPeriod.String() != "2025/26" {
		t.Fatalf("periods %s and %s", sum.Period, sum.AnnualPeriod)
	}
	if sum.Run == nil || sum.Run.Series != domain.SeriesImpact || sum.Run.Sent == 0 {
		t.Fatalf("impact run: %+v", sum.Run)
	}
	// The first quarter of the tax year, before 2025-Q3, has gifts.
	early, err := a.Store.TotalsBetween(context.Background(), time.Date(2025, 4, 6, 0, 0, 0, 0, london).Unix(), time.Date(2025, 7, 1, 0, 0, 0, 0, london).Unix())
	if err != nil || len(early) == 0 {
		t.Fatalf("no gifts between 6 April and 1 July 2025: %v %v", early, err)
	}
	s := out.String()
	if !strings.Contains(s, "impact letters for 2026-Q3") || !strings.Contains(s, "annual statements for 2025/26") || !strings.Contains(s, "emails (.eml)") {
		t.Fatalf("summary:\n%s", s)
	}
	if sum.Annual == nil || sum.Annual.Series != domain.SeriesAnnual || sum.Annual.Period != "2025/26" || sum.Annual.Sent == 0 || !strings.Contains(s, "statements sent") {
		t.Fatalf("annual run: %+v (%v)\n%s", sum.Annual, sum.AnnualErr, s)
	}
}
