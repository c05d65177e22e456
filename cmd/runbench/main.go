// Command runbench measures a statement run end to end — plan, snapshot,
// render, send over SMTP to a local sink, record — on SQLite or PostgreSQL,
// and prints wall time, statements per second and peak RSS.
//
//	go run ./cmd/runbench --donors 100000                      # SQLite in a temp dir
//	go run ./cmd/runbench --donors 100000 --postgres URL       # a fresh schema on URL
//
// The run is worked by a process of its own (runbench starts itself again
// as impactd's worker), so that the peak RSS it reports is impactd's alone;
// the seeding and the SMTP sink, which keeps only counters, stay in the
// first process, whose peak is reported apart. --in-process works the run
// beside them in one process, as runbench did before: a fresh process starts
// with a cold heap (its page faults cost a few percent of a short run), so
// rates compared back to back with older commits are measured that way.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"impactd/internal/app"
	"impactd/internal/config"
	"impactd/internal/domain"
	"impactd/internal/impact"
	"impactd/internal/profile"
	"impactd/internal/runs"
	"impactd/internal/smtpsink"
	"impactd/internal/store"
)

// childEnv, when set, makes runbench the worker process: its value is the
// JSON of childArgs.
const childEnv = "RUNBENCH_CHILD"

type childArgs struct {
	DatabaseURL, SMTPURL, CPUProfile string
	Workers                          int
}

type childResult struct {
	Sent, Failed int
	WallMS       int64
	PeakRSSKB    int64
}

func main() {
	if raw := os.Getenv(childEnv); raw != "" {
		if err := child(raw); err != nil {
			fmt.Fprintln(os.Stderr, "runbench worker:", err)
			os.Exit(1)
		}
		return
	}
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
	inProcess := flag.Bool("in-process", false, "work the run in this process, beside the seeding and the sink (as runbench did before it had a worker process): "+
		"for rates measured back to back against older commits; the peak RSS then includes the sink's counters")
	flag.Parse()
	namesUnicodePercent = *unicodeShare
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
	sink, err := smtpsink.StartWith(smtpsink.Options{CountOnly: true})
	if err != nil {
		return err
	}
	defer sink.Close()
	t0 := time.Now()
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return err
	}
	if err := seed(ctx, st, *donors); err != nil {
		st.Close()
		return err
	}
	st.Close()
	fmt.Printf("seeded %d donors in %s\n", *donors, time.Since(t0).Round(time.Millisecond))
	// The sink's peak from here on: writing 5 to clear_refs resets VmHWM (Linux).
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)

	ca := childArgs{DatabaseURL: dbURL, SMTPURL: sink.URL(), Workers: *workers, CPUProfile: *cpuprofile}
	var r childResult
	if *inProcess {
		app.TuneGC(os.Getenv)
		if r, err = work(ca); err != nil {
			return err
		}
	} else {
		args, _ := json.Marshal(ca)
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), childEnv+"="+string(args))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("worker process: %w", err)
		}
		if err := json.Unmarshal(out, &r); err != nil {
			return fmt.Errorf("worker process said %q: %w", out, err)
		}
	}
	wall := time.Duration(r.WallMS) * time.Millisecond
	fmt.Printf("database   %s\ndonors     %d\nsent       %d (sink received %d), failed %d\nwall       %s\nrate       %.0f statements/s\n",
		strings.SplitN(dbURL, ":", 2)[0], *donors, r.Sent, sink.Count(), r.Failed, wall.Round(time.Millisecond), float64(r.Sent)/wall.Seconds())
	if *inProcess {
		fmt.Printf("peak RSS   %s (impactd and the sink's counters, one process, from the run's start)\n", kb(r.PeakRSSKB))
	} else {
		fmt.Printf("peak RSS   %s impactd (the worker process, from the run's start); %s runbench with the sink (counters only)\n",
			kb(r.PeakRSSKB), peakRSS())
	}
	return nil
}

// child is the worker process: it works the run and prints its result.
func child(raw string) error {
	var c childArgs
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return err
	}
	app.TuneGC(os.Getenv) // as impactd itself does
	r, err := work(c)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// work assembles impactd as `impactd run` assembles it and runs the period once.
func work(c childArgs) (childResult, error) {
	ctx := context.Background()
	env := map[string]string{"IMPACTD_DATABASE_URL": c.DatabaseURL, "IMPACTD_SMTP_URL": c.SMTPURL, "IMPACTD_WORKERS": fmt.Sprint(c.Workers),
		"IMPACTD_SCHEDULE": "off", "IMPACTD_SECRET_KEY": strings.Repeat("k", 32)}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		return childResult{}, err
	}
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), domain.SystemClock{})
	if err != nil {
		return childResult{}, err
	}
	defer a.Close()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	stopProfile, err := profile.CPU(c.CPUProfile)
	if err != nil {
		return childResult{}, err
	}
	defer stopProfile()
	start := time.Now()
	r, err := a.Runs.Run(ctx, runs.Request{Period: "2026-Q3", Trigger: "bench", Reason: "benchmark"})
	if err != nil {
		return childResult{}, err
	}
	wall := time.Since(start)
	return childResult{Sent: r.Sent, Failed: r.Failed, WallMS: wall.Milliseconds(), PeakRSSKB: peakKB()}, nil
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

// peakKB is this process's peak RSS in kB since it was last reset (VmHWM).
func peakKB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var n int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &n)
			return n
		}
	}
	return 0
}

func peakRSS() string { return kb(peakKB()) }

func kb(n int64) string {
	if n == 0 {
		return "unknown"
	}
	return fmt.Sprintf("%d MB", (n+512)/1024)
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
