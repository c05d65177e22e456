package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/impact"
	"impactd/internal/smtpsink"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

// childEnv makes the test binary run impactd itself: the kill test starts
// copies of it as the program under test and SIGKILLs them.
const childEnv = "IMPACTD_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childEnv); args != "" {
		var a []string
		if err := json.Unmarshal([]byte(args), &a); err != nil {
			panic(err)
		}
		if err := run(context.Background(), a, os.Getenv, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "impactd:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// seedRun makes n donors with a gift in 2026-Q3 and publishes its impact update.
func seedRun(t *testing.T, dbURL string, n int) {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(tx *store.Tx) error {
		for i := range n {
			d := &domain.Donor{Name: fmt.Sprintf("Donor %d", i), Email: fmt.Sprintf("donor-%d@example.org", i), Status: domain.DonorActive, CreatedAt: 1, UpdatedAt: 1}
			if err := tx.CreateDonor(ctx, d); err != nil {
				return err
			}
			g := &domain.Donation{DonorID: d.ID, ChargeID: fmt.Sprintf("ch_%d", i), Amount: 1000 + int64(i), Currency: "gbp",
				Status: domain.DonationSucceeded, Created: time.Date(2026, 8, 1+i%28, 12, 0, 0, 0, time.UTC).Unix(), UpdatedAt: 1}
			_, err := tx.InsertDonation(ctx, g)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	one := int64(41)
	u, _, err := impact.Import(ctx, s, &domain.ImpactUpdate{Period: "2026-Q3", Title: "Impact", Narrative: "Together.", Source: "Test", AsOf: "2026-10-01",
		Metrics: []domain.Metric{{Key: "safe", Label: "Children brought to safety", Period: &one}}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := impact.Publish(ctx, s, u.ID, "tester", time.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestKillNineAndRestart starts `impactd run` on 1,000 donors, SIGKILLs it
// at random moments and starts the same command again — what a person
// would type — until the run finishes; then checks that the same command
// worked the one run each time, that every donor got their letter and that
// no one got two, except for sends the run itself counts as interrupted
// (the documented window). The lease is ten minutes: the killed process's
// jobs must be taken over through its liveness lock, within seconds.
// IMPACTD_TEST_KILL_DONORS changes the size (250 under -race, to keep CI
// short); -short skips it.
func TestKillNineAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 test not run under -short (testing.Short)")
	}
	donors := 1000
	if raceEnabled {
		donors = 250 // the same kills and checks, in CI's time budget
	}
	if s := os.Getenv("IMPACTD_TEST_KILL_DONORS"); s != "" {
		fmt.Sscan(s, &donors)
	}
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		sink, err := smtpsink.Start()
		if err != nil {
			t.Fatal(err)
		}
		defer sink.Close()
		seedRun(t, dbURL, donors)
		env := append(os.Environ(), "IMPACTD_DATABASE_URL="+dbURL, "IMPACTD_SMTP_URL="+sink.URL(), "IMPACTD_JOB_LEASE=10m", "IMPACTD_TAKEOVER_GRACE=1s",
			"IMPACTD_WORKERS=4", "IMPACTD_LOG_LEVEL=error", "IMPACTD_SCHEDULE=off", "IMPACTD_RETRY_BACKOFF=10ms")
		ctx := context.Background()
		s, err := store.Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		runID := func() string {
			runs, _ := s.ListRuns(ctx, 1)
			if len(runs) == 1 {
				return runs[0].ID
			}
			return ""
		}
		start := func() *exec.Cmd {
			a, _ := json.Marshal([]string{"run", "--period", "2026-Q3", "--reason", "kill test", "--quiet"})
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(env, childEnv+"="+string(a))
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			return cmd
		}
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
		deadline := time.Now().Add(4 * time.Minute)
		kills := 0
		for {
			cmd := start()
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			var wait <-chan time.Time
			if kills < 8 {
				wait = time.After(time.Duration(150+rng.IntN(600)) * time.Millisecond) // a 1,000-donor run takes ~2 s
			}
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("impactd run exited: %v", err)
				}
			case <-wait:
				_ = cmd.Process.Kill() // SIGKILL
				<-exited
				kills++
				continue
			case <-time.After(time.Until(deadline)):
				_ = cmd.Process.Kill()
				t.Fatal("run did not finish in time")
			}
			break
		}
		all, err := s.ListRuns(ctx, 10)
		if err != nil || len(all) != 1 {
			t.Fatalf("after %d kills the same command made %d runs (%v), want 1", kills, len(all), err)
		}
		run, err := s.Run(ctx, runID())
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != domain.RunSucceeded || run.Sent != donors {
			t.Fatalf("after %d kills: %+v", kills, run)
		}
		dups := 0
		got := sink.ByRecipient()
		for i := range donors {
			n := got[fmt.Sprintf("donor-%d@example.org", i)]
			if n == 0 {
				t.Errorf("donor %d got no letter", i)
			}
			dups += max(n-1, 0)
		}
		if dups > run.Interrupted {
			t.Errorf("%d duplicate letters, but the run counts only %d interrupted sends", dups, run.Interrupted)
		}
		for id, n := range sink.ByMessageID() {
			if n > 1 && !strings.Contains(id, "@") {
				t.Errorf("message %q arrived %d times", id, n)
			}
		}
		t.Logf("%d donors, %d kills, %d messages, %d duplicates, %d interrupted sends counted", donors, kills, sink.Count(), dups, run.Interrupted)
	})
}
