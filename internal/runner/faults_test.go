package runner_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"impactd/internal/domain"
	"impactd/internal/runs"
	"impactd/internal/smtpsink"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
	"impactd/templates"
)

var quarter = runs.Request{Period: "2026-Q3", Trigger: "test", Reason: "quarterly", Actor: "tester"}

// sinkFor starts an SMTP sink that remembers who got what.
func sinkFor(t *testing.T, o smtpsink.Options) *smtpsink.Sink {
	t.Helper()
	s, err := smtpsink.StartWith(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// oneEach checks that donors 0..n-1 got exactly one letter each.
func oneEach(t *testing.T, sink *smtpsink.Sink, n int) {
	t.Helper()
	got := sink.ByRecipient()
	for i := range n {
		if c := got[fmt.Sprintf("donor-%d@example.org", i)]; c != 1 {
			t.Errorf("donor %d got %d letters, want 1", i, c)
		}
	}
	if sink.Count() != n {
		t.Errorf("the relay took %d messages for %d donors", sink.Count(), n)
	}
}

// TestConcurrentRunsOneLetterEach: runs of one period started at once by
// 2 and by 4 processes (each its own database handle and workers) give
// every supporter exactly one letter — through admission (one run, worked
// by all), and, with admission switched off, through the database refusing
// a second send attempt of the same letter (each run its own).
func TestConcurrentRunsOneLetterEach(t *testing.T) {
	const donors = 40
	for _, admission := range []bool{true, false} {
		for _, n := range []int{2, 4} {
			t.Run(fmt.Sprintf("admission=%v/%d runs", admission, n), func(t *testing.T) {
				storetest.EachURL(t, func(t *testing.T, dbURL string) {
					ctx := context.Background()
					sink := sinkFor(t, smtpsink.Options{})
					var procs []bundle
					for range n {
						b := setupWith(t, dbURL, map[string]string{"IMPACTD_SMTP_URL": sink.URL(), "IMPACTD_WORKERS": "2"})
						b.app.Runner.Options.Poll = 10 * time.Millisecond
						procs = append(procs, b)
					}
					procs[0].seed(t, donors)
					procs[0].publish(t, "2026-Q3")
					if !admission {
						if _, err := procs[0].app.Store.DB().Exec(`DROP INDEX runs_admission`); err != nil {
							t.Fatal(err)
						}
					}
					var wg sync.WaitGroup
					ids := make([]string, n)
					begin := make(chan struct{})
					for i, b := range procs {
						wg.Add(1)
						go func() {
							defer wg.Done()
							<-begin
							run, err := b.app.Runs.Start(ctx, quarter)
							var busy *runs.InProgressError
							if errors.As(err, &busy) {
								run, err = busy.Run, nil
							}
							if err != nil {
								t.Error(err)
								return
							}
							ids[i] = run.ID
							if _, err := b.app.Runs.Finish(ctx, run.ID, nil); err != nil {
								t.Error(err)
							}
						}()
					}
					close(begin)
					wg.Wait()
					distinct := map[string]bool{}
					sent := 0
					for _, id := range ids {
						if distinct[id] {
							continue
						}
						distinct[id] = true
						run, err := procs[0].app.Store.Run(ctx, id)
						if err != nil || run.Status != domain.RunSucceeded {
							t.Fatalf("run %s: %+v %v", id, run, err)
						}
						sent += run.Sent
					}
					if admission && len(distinct) != 1 {
						t.Errorf("admission let %d runs start", len(distinct))
					}
					if !admission && len(distinct) != n {
						t.Fatalf("without admission %d runs started, want %d", len(distinct), n)
					}
					if sent != donors {
						t.Errorf("the runs count %d letters sent, want %d", sent, donors)
					}
					oneEach(t, sink, donors)
				})
			})
		}
	}
}

// TestRelayRefusesTheSender: a relay that answers MAIL FROM with 550 is the
// relay's fault: nobody is marked bounced, nothing fails, the run pauses
// with the reason; resumed once the relay is fixed, every supporter gets
// exactly one letter.
func TestRelayRefusesTheSender(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		refused := func(stage, _ string) *smtp.SMTPError {
			if stage == "MAIL FROM" {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "sender not allowed to relay"}
			}
			return nil
		}
		sink := sinkFor(t, smtpsink.Options{Refuse: refused})
		b := setupWith(t, dbURL, map[string]string{"IMPACTD_SMTP_URL": sink.URL(), "IMPACTD_STAFF_EMAIL": "staff@example.org"})
		b.app.Runner.Options.Poll = 10 * time.Millisecond
		b.seed(t, 12)
		b.publish(t, "2026-Q3")
		run, err := b.app.Runs.Run(ctx, quarter)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != domain.RunPaused || !strings.Contains(run.PauseReason, "MAIL FROM: 550 5.7.1") || run.Pauses != 1 {
			t.Fatalf("run: %+v", run)
		}
		c, err := b.app.Store.CountRun(ctx, run.ID)
		if err != nil || c.Failed != 0 || c.Sent != 0 || c.Open() != 12 {
			t.Fatalf("counts while paused: %+v %v", c, err)
		}
		if bs, err := b.app.Runs.Bounces(ctx, 100); err != nil || len(bs) != 0 {
			t.Fatalf("bounces: %+v %v", bs, err)
		}
		// Starting the period again says it is paused, and starts nothing.
		if _, err := b.app.Runs.Start(ctx, quarter); !strings.Contains(domain.ErrorMessage(err), "is paused (the mail relay refused to send") {
			t.Errorf("start while paused: %v", err)
		}
		sink.SetRefuse(nil)
		if _, err := b.app.Runs.Resume(ctx, run.ID, "ops", "relay fixed"); err != nil {
			t.Fatal(err)
		}
		run, err = b.app.Runs.Finish(ctx, run.ID, nil)
		if err != nil || run.Status != domain.RunSucceeded || run.Sent != 12 || run.Pauses != 1 {
			t.Fatalf("after resuming: %+v %v", run, err)
		}
		got := sink.ByRecipient()
		for i := range 12 {
			if n := got[fmt.Sprintf("donor-%d@example.org", i)]; n != 1 {
				t.Errorf("donor %d got %d letters", i, n)
			}
		}
		if got["staff@example.org"] != 1 { // the summary; the paused notice was refused with the rest
			t.Errorf("staff got %d emails", got["staff@example.org"])
		}
		audit, _ := b.app.Store.AuditLog(ctx, 5)
		actions := []string{}
		for _, e := range audit {
			actions = append(actions, e.Action)
		}
		if !strings.Contains(strings.Join(actions, " "), "run.resume run.pause run.start") {
			t.Errorf("audit: %v", actions)
		}
	})
}

// TestBreakerTakesBackBounces: a relay that refuses every recipient with a
// plain 550 looks like bounces one by one; after the breaker's limit the run
// pauses and the bounces it recorded are taken back, so that nobody is
// suppressed for the relay's fault. One real bad mailbox among good ones is
// bounced, and the run goes on.
func TestBreakerTakesBackBounces(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		everyone := func(stage, _ string) *smtp.SMTPError {
			if stage == "RCPT TO" {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.NoEnhancedCode, Message: "mailbox unavailable"}
			}
			return nil
		}
		sink := sinkFor(t, smtpsink.Options{Refuse: everyone})
		b := setupWith(t, dbURL, map[string]string{"IMPACTD_SMTP_URL": sink.URL(), "IMPACTD_BREAKER_FAILURES": "3"})
		b.app.Runner.Options.Poll = 10 * time.Millisecond
		b.seed(t, 20)
		b.publish(t, "2026-Q3")
		run, err := b.app.Runs.Run(ctx, quarter)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != domain.RunPaused || !strings.Contains(run.PauseReason, "sends in a row failed, each to a different recipient") {
			t.Fatalf("run: %+v", run)
		}
		if bs, _ := b.app.Runs.Bounces(ctx, 100); len(bs) != 0 {
			t.Fatalf("%d addresses left bounced: %+v", len(bs), bs)
		}
		if c, _ := b.app.Store.CountRun(ctx, run.ID); c.Failed != 0 {
			t.Fatalf("%d jobs left failed", c.Failed)
		}
		// The relay is fixed, but one mailbox really does not exist.
		sink.SetRefuse(func(stage, addr string) *smtp.SMTPError {
			if stage == "RCPT TO" && addr == "donor-7@example.org" {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
			}
			return nil
		})
		if _, err := b.app.Runs.Resume(ctx, run.ID, "ops", "relay fixed"); err != nil {
			t.Fatal(err)
		}
		run, err = b.app.Runs.Finish(ctx, run.ID, nil)
		if err != nil || run.Status != domain.RunFailed || run.Sent != 19 || run.Failed != 1 {
			t.Fatalf("after resuming: %+v %v", run, err)
		}
		bs, _ := b.app.Runs.Bounces(ctx, 100)
		if len(bs) != 1 || bs[0].Email != "donor-7@example.org" || !strings.Contains(bs[0].Detail, "5.1.1") {
			t.Fatalf("bounces: %+v", bs)
		}
	})
}

// TestLetterThatCannotBeMade: a template that fails on one donor's data
// fails that job at once — not retried, not counted as interrupted — and
// the run report names the template file, the line and the donor.
func TestLetterThatCannotBeMade(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		dir := t.TempDir()
		src, err := templates.FS.ReadFile("letter.tmpl")
		if err != nil {
			t.Fatal(err)
		}
		broken := strings.Replace(string(src), `{{define "greeting"}}`, `{{define "greeting"}}{{if eq .Donor.Name "Donor 2"}}{{index .Impact.Metrics 9}}{{end}}`, 1)
		if err := os.WriteFile(filepath.Join(dir, "letter.tmpl"), []byte(broken), 0o644); err != nil {
			t.Fatal(err)
		}
		sink := sinkFor(t, smtpsink.Options{})
		b := setupWith(t, dbURL, map[string]string{"IMPACTD_SMTP_URL": sink.URL(), "IMPACTD_TEMPLATES_DIR": dir, "IMPACTD_RETRY_BACKOFF": "5ms"})
		b.app.Runner.Options.Poll = 10 * time.Millisecond
		b.seed(t, 5)
		b.publish(t, "2026-Q3")
		run, err := b.app.Runs.Run(ctx, quarter)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != domain.RunFailed || run.Sent != 4 || run.Failed != 1 || run.Interrupted != 0 || !strings.Contains(run.Error, "could not be made") {
			t.Fatalf("run: %+v", run)
		}
		failed, err := b.app.Store.FailedJobs(ctx, run.ID, 10)
		if err != nil || len(failed) != 1 {
			t.Fatalf("failed jobs: %+v %v", failed, err)
		}
		j := failed[0]
		line := 1 + strings.Count(broken[:strings.Index(broken, `{{define "greeting"}}`)], "\n") // where the broken action is
		want := fmt.Sprintf("template letter.tmpl line %d failed for donor %s", line, j.DonorID)
		if j.Failure != domain.FailRender || j.Attempts != 0 || j.Interrupted != 0 || !strings.HasPrefix(j.LastError, want) {
			t.Errorf("job: %+v; want an error starting %q", j, want)
		}
		if ds, _ := b.app.Store.DeliveriesForStatement(ctx, j.StatementID); len(ds) != 0 {
			t.Errorf("a letter that could not be made has send attempts: %+v", ds)
		}
	})
}

// TestDatabaseFaultsAreWaitedOut: the database goes away mid-run — on
// PostgreSQL every connection of impactd is terminated again and again; on
// SQLite another process holds the write lock for longer than busy_timeout
// — and the run goes on: every supporter gets exactly one letter, nothing
// fails.
func TestDatabaseFaultsAreWaitedOut(t *testing.T) {
	const donors = 150
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "impactd.db")
		sink := sinkFor(t, smtpsink.Options{})
		b := setupWith(t, "sqlite:"+path, map[string]string{"IMPACTD_SMTP_URL": sink.URL(), "IMPACTD_SQLITE_BUSY_TIMEOUT": "50ms"})
		b.app.Runner.Options.Poll = 10 * time.Millisecond
		b.seed(t, donors)
		b.publish(t, "2026-Q3")
		other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		stop := make(chan struct{})
		held := make(chan int, 1)
		go func() {
			n := 0
			defer func() { held <- n }()
			for n < 4 {
				select {
				case <-stop:
					return
				case <-time.After(80 * time.Millisecond):
				}
				conn, err := other.Conn(context.Background())
				if err != nil {
					return
				}
				if _, err := conn.ExecContext(context.Background(), `BEGIN EXCLUSIVE`); err == nil {
					n++
					time.Sleep(400 * time.Millisecond) // 8× busy_timeout
					_, _ = conn.ExecContext(context.Background(), `COMMIT`)
				}
				conn.Close()
			}
		}()
		run, err := b.app.Runs.Run(context.Background(), quarter)
		close(stop)
		n := <-held
		if n < 1 {
			t.Errorf("the lock was held only %d times during the run", n)
		}
		t.Logf("another connection held the write lock %d times for 8× busy_timeout", n)
		if err != nil || run.Status != domain.RunSucceeded || run.Sent != donors || run.Failed != 0 {
			t.Fatalf("run: %+v %v", run, err)
		}
		oneEach(t, sink, donors)
	})
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv(storetest.PostgresEnv) == "" {
			t.Skip("PostgreSQL not available: set " + storetest.PostgresEnv)
		}
		var rnd [4]byte
		_, _ = rand.Read(rnd[:])
		appName := "impactd-fault-" + hex.EncodeToString(rnd[:])
		u, err := url.Parse(storetest.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("application_name", appName)
		u.RawQuery = q.Encode()
		sink := sinkFor(t, smtpsink.Options{})
		b := setupWith(t, u.String(), map[string]string{"IMPACTD_SMTP_URL": sink.URL()})
		b.app.Runner.Options.Poll = 10 * time.Millisecond
		b.seed(t, donors)
		b.publish(t, "2026-Q3")
		admin, err := store.Open(context.Background(), os.Getenv(storetest.PostgresEnv))
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		stop := make(chan struct{})
		killed := make(chan int, 1)
		go func() {
			n, rounds := 0, 0
			defer func() { killed <- n }()
			for ; rounds < 6; rounds++ {
				select {
				case <-stop:
					return
				case <-time.After(200 * time.Millisecond):
				}
				// Only this test's connections: they carry its application_name.
				var k int
				if err := admin.DB().QueryRow(`SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, appName).Scan(&k); err == nil {
					n += k
				}
			}
		}()
		run, err := b.app.Runs.Run(context.Background(), quarter)
		close(stop)
		n := <-killed
		if n < 1 {
			t.Errorf("only %d connections were terminated during the run", n)
		}
		t.Logf("%d of impactd's connections were terminated during the run", n)
		if err != nil || run.Status != domain.RunSucceeded || run.Sent != donors || run.Failed != 0 {
			t.Fatalf("run: %+v %v", run, err)
		}
		oneEach(t, sink, donors)
	})
}

// TestDeadWorkerTakenOverInSeconds: a worker that holds jobs under a
// ten-minute lease dies (its liveness lock is freed, as the kernel or
// PostgreSQL frees it when a process dies); the next worker takes its jobs
// over after the grace, not after the lease. While it lives, nobody does.
func TestDeadWorkerTakenOverInSeconds(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		sink := sinkFor(t, smtpsink.Options{})
		b := setupWith(t, dbURL, map[string]string{"IMPACTD_SMTP_URL": sink.URL(), "IMPACTD_JOB_LEASE": "10m", "IMPACTD_TAKEOVER_GRACE": "500ms"})
		b.app.Runner.Options.Poll = 10 * time.Millisecond
		b.seed(t, 8)
		b.publish(t, "2026-Q3")
		run, err := b.app.Runs.Start(ctx, quarter)
		if err != nil {
			t.Fatal(err)
		}
		lock, err := b.app.Store.HoldLiveness(ctx, "wrk-doomed@test")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		held, err := b.app.Store.ClaimJobs(ctx, "wrk-doomed@test", run.ID, now.UnixMilli(), now.Add(10*time.Minute).UnixMilli(), 3, nil)
		if err != nil || len(held) != 3 {
			t.Fatalf("claim: %d %v", len(held), err)
		}
		// Alive: the others are sent, its three wait.
		short, cancel := context.WithTimeout(ctx, 2500*time.Millisecond)
		_, err = b.app.Runs.Finish(short, run.ID, nil)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || sink.Count() != 5 {
			t.Fatalf("while the holder lives: %v, %d sent", err, sink.Count())
		}
		for _, j := range held {
			if got, _ := b.app.Store.Job(ctx, j.ID); got.LockedBy != "wrk-doomed@test" {
				t.Fatalf("a live worker's job was taken: %+v", got)
			}
		}
		if err := lock.Release(); err != nil { // it dies
			t.Fatal(err)
		}
		start := time.Now()
		done, err := b.app.Runs.Finish(ctx, run.ID, nil)
		if err != nil || done.Status != domain.RunSucceeded || done.Sent != 8 {
			t.Fatalf("after it died: %+v %v", done, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("taken over after %s; the lease was 10 minutes, the grace 500ms", d)
		}
		oneEach(t, sink, 8)
	})
}

// TestDatabaseBlipTakesNobodysJobs: PostgreSQL drops a worker's session
// (as a restart drops every session, with its advisory lock); the worker
// takes its lock again at its next check, within the grace, and the other
// workers leave its jobs alone.
func TestDatabaseBlipTakesNobodysJobs(t *testing.T) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skip("PostgreSQL not available: set " + storetest.PostgresEnv)
	}
	ctx := context.Background()
	base := storetest.PostgresURL(t)
	sink := sinkFor(t, smtpsink.Options{})
	b := setupWith(t, base, map[string]string{"IMPACTD_SMTP_URL": sink.URL(), "IMPACTD_JOB_LEASE": "10m", "IMPACTD_TAKEOVER_GRACE": "5s"})
	b.app.Runner.Options.Poll = 10 * time.Millisecond
	b.seed(t, 6)
	b.publish(t, "2026-Q3")
	run, err := b.app.Runs.Start(ctx, quarter)
	if err != nil {
		t.Fatal(err)
	}
	// The other worker: a store of its own whose connections carry a name.
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	appName := "impactd-blip-" + hex.EncodeToString(rnd[:])
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("application_name", appName)
	u.RawQuery = q.Encode()
	other, err := store.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.HoldLiveness(ctx, "wrk-blip@test")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	now := time.Now()
	held, err := other.ClaimJobs(ctx, "wrk-blip@test", run.ID, now.UnixMilli(), now.Add(10*time.Minute).UnixMilli(), 2, nil)
	if err != nil || len(held) != 2 {
		t.Fatalf("claim: %d %v", len(held), err)
	}
	admin, err := store.Open(ctx, os.Getenv(storetest.PostgresEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		short, cancel := context.WithTimeout(ctx, 7*time.Second)
		defer cancel()
		_, _ = b.app.Runs.Finish(short, run.ID, nil)
	}()
	time.Sleep(time.Second)
	var killed int
	if err := admin.DB().QueryRow(`SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, appName).Scan(&killed); err != nil || killed == 0 {
		t.Fatalf("terminated %d sessions: %v", killed, err)
	}
	// Dead-looking for 2.5s — the others check every second, so they see it
	// dead at least twice — then the worker's next check takes its lock
	// again, within the grace.
	time.Sleep(2500 * time.Millisecond)
	for i := 0; ; i++ {
		if err := lock.Check(ctx); err == nil {
			break
		} else if i == 20 {
			t.Fatalf("lock not taken again: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	<-done
	for _, j := range held {
		if got, _ := b.app.Store.Job(ctx, j.ID); got.LockedBy != "wrk-blip@test" || got.Status != domain.JobRunning {
			t.Fatalf("a job of a live worker was taken during the blip: %+v", got)
		}
	}
	if sink.Count() != 4 {
		t.Errorf("%d sent, want the 4 jobs nobody held", sink.Count())
	}
}
