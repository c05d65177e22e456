// Command runbench measures a statement run end to end — plan, snapshot,
// render, send over SMTP to a local sink, record — on SQLite or PostgreSQL,
// and prints wall time, statements per second and peak RSS.
//
//	go run ./cmd/runbench --donors 100000                      # SQLite in a temp dir
//	go run ./cmd/runbench --donors 100000 --postgres URL       # a fresh schema on URL
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"impactd/internal/app"
	"impactd/internal/config"
	"impactd/internal/domain"
	"impactd/internal/impact"
	"impactd/internal/period"
	"impactd/internal/profile"
	"impactd/internal/runner"
	"impactd/internal/smtpsink"
	"impactd/internal/store"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "runbench:", err)
		os.Exit(1)
	}
}

func run() error {
	donors := flag.Int("donors", 10000, "donors with a gift in the period")
	pg := flag.String("postgres", "", "PostgreSQL URL (a private schema is created and dropped); default SQLite")
	workers := flag.Int("workers", 4, "IMPACTD_WORKERS")
	unicodeShare := flag.Int("unicode-percent", 30, "percent of donors whose name needs the embedded Unicode font (Łukasz, Nguyễn, Дмитрий); the rest print in Windows-1252")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	namesUnicodePercent = *unicodeShare
	app.TuneGC(os.Getenv) // as impactd itself does
	ctx := context.Background()

	dbURL := ""
	if *pg != "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		schema := "bench_" + hex.EncodeToString(b[:])
		admin, err := store.Open(ctx, *pg)
		if err != nil {
			return err
		}
		if _, err := admin.DB().Exec(`CREATE SCHEMA ` + schema); err != nil {
			return err
		}
		defer func() { _, _ = admin.DB().Exec(`DROP SCHEMA ` + schema + ` CASCADE`); admin.Close() }()
		u, err := url.Parse(*pg)
		if err != nil {
			return err
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		dbURL = u.String()
	} else {
		dir, err := os.MkdirTemp("", "runbench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dbURL = "sqlite:" + filepath.Join(dir, "bench.db")
	}
	sink, err := smtpsink.Start()
	if err != nil {
		return err
	}
	defer sink.Close()
	env := map[string]string{"IMPACTD_DATABASE_URL": dbURL, "IMPACTD_SMTP_URL": sink.URL(), "IMPACTD_WORKERS": fmt.Sprint(*workers),
		"IMPACTD_SCHEDULE": "off", "IMPACTD_SECRET_KEY": strings.Repeat("k", 32)}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), domain.SystemClock{})
	if err != nil {
		return err
	}
	defer a.Close()
	t0 := time.Now()
	if err := seed(ctx, a.Store, *donors); err != nil {
		return err
	}
	fmt.Printf("seeded %d donors in %s\n", *donors, time.Since(t0).Round(time.Millisecond))
	// Peak RSS from here on: writing 5 to clear_refs resets VmHWM (Linux).
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)

	stopProfile, err := profile.CPU(*cpuprofile)
	if err != nil {
		return err
	}
	defer stopProfile()
	start := time.Now()
	r, err := a.Runner.Run(ctx, runner.Request{Period: period.MustParse("2026-Q3"), Trigger: "bench", Reason: "benchmark"})
	if err != nil {
		return err
	}
	wall := time.Since(start)
	fmt.Printf("database   %s\ndonors     %d\nsent       %d (sink received %d), failed %d\nwall       %s\nrate       %.0f statements/s\npeak RSS   %s\n",
		a.Store.Dialect(), *donors, r.Sent, sink.Count(), r.Failed, wall.Round(time.Millisecond), float64(r.Sent)/wall.Seconds(), peakRSS())
	return nil
}

func seed(ctx context.Context, s *store.Store, n int) error {
	for lo := 0; lo < n; lo += 5000 {
		err := s.InTx(ctx, func(tx *store.Tx) error {
			for i := lo; i < min(lo+5000, n); i++ {
				d := &domain.Donor{Name: benchName(i), Email: fmt.Sprintf("donor-%d@example.org", i),
					Address: "1 High Street\nLondon", Status: domain.DonorActive, CreatedAt: 1, UpdatedAt: 1}
				if err := tx.CreateDonor(ctx, d); err != nil {
					return err
				}
				for k := range 1 + i%3 {
					g := &domain.Donation{DonorID: d.ID, ChargeID: fmt.Sprintf("ch_%d_%d", i, k), Amount: 1000 + int64(i%5000), Currency: "gbp",
						Status: domain.DonationSucceeded, Created: time.Date(2026, time.Month(7+k), 1+i%28, 12, 0, 0, 0, time.UTC).Unix(), UpdatedAt: 1}
					if _, err := tx.InsertDonation(ctx, g); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	one := int64(41)
	u, _, err := impact.Import(ctx, s, &domain.ImpactUpdate{Period: "2026-Q3", Title: "Impact", Narrative: "Together.", Source: "Benchmark",
		AsOf: "2026-10-01", Metrics: []domain.Metric{{Key: "safe", Label: "Children brought to safety", Period: &one}}}, time.Now())
	if err != nil {
		return err
	}
	return impact.Publish(ctx, s, u.ID, "bench", time.Now())
}

func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	return "unknown"
}

// namesUnicodePercent is the share of names that need the Unicode font.
var namesUnicodePercent = 30

var (
	latinNames   = []string{"Olivia Smith", "James O'Brien", "Zoë Müller", "François Dubois", "Siobhán Kelly", "José Núñez", "Amelia Patel"}
	unicodeNames = []string{"Łukasz Wiśniewski", "Ngọc Ánh Nguyễn", "Дмитрий Соколов", "Σωκράτης Παπαδόπουλος", "Małgorzata Kowalczyk"}
)

// benchName gives donor i a name: namesUnicodePercent of them need the
// embedded Unicode font, the others print in Windows-1252 (the letter's
// fast path).
func benchName(i int) string {
	if i%100 < namesUnicodePercent {
		return unicodeNames[i%len(unicodeNames)]
	}
	return latinNames[i%len(latinNames)]
}
