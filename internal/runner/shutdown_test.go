package runner_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"impactd/internal/domain"
	"impactd/internal/smtpsink"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

// holdDatabase takes the database away from impactd's writes until the
// returned function is called: on SQLite another connection holds the
// write lock; on PostgreSQL another session holds the deliveries table
// locked, so that impactd's statement waits rather than fails.
func holdDatabase(t *testing.T, dbURL string) func() {
	t.Helper()
	ctx := context.Background()
	if path, ok := strings.CutPrefix(dbURL, "sqlite:"); ok {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Error(err)
			return func() {}
		}
		conn, err := db.Conn(ctx)
		if err == nil {
			_, err = conn.ExecContext(ctx, `BEGIN EXCLUSIVE`)
		}
		if err != nil {
			t.Error(err)
			db.Close()
			return func() {}
		}
		return func() { _, _ = conn.ExecContext(ctx, `COMMIT`); conn.Close(); db.Close() }
	}
	admin, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Error(err)
		return func() {}
	}
	tx, err := admin.DB().BeginTx(ctx, nil)
	if err == nil {
		_, err = tx.ExecContext(ctx, `LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE`)
	}
	if err != nil {
		t.Error(err)
		admin.Close()
		return func() {}
	}
	return func() { _ = tx.Rollback(); admin.Close() }
}

// unrecordedOutcomes reads impactd_send_outcomes_unrecorded_total.
func unrecordedOutcomes(t *testing.T, b bundle) float64 {
	t.Helper()
	mfs, err := b.app.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "impactd_send_outcomes_unrecorded_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("no impactd_send_outcomes_unrecorded_total")
	return 0
}

// TestShutdownDuringDatabaseOutage: the database goes away just as the
// relay takes a letter, and the process is told to stop. It stops within
// IMPACTD_SHUTDOWN_GRACE (plus a little), not when the database comes
// back; the outcome it could not record is counted (metric), its attempt
// left open, and the process that takes the run over counts it interrupted
// and sends it again under the same Message-ID — the one duplicate allowed.
// Every other supporter gets exactly one letter.
func TestShutdownDuringDatabaseOutage(t *testing.T) {
	const donors, grace = 8, 500 * time.Millisecond
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		held := make(chan func(), 1)
		var n atomic.Int64
		sink := sinkFor(t, smtpsink.Options{Refuse: func(stage, _ string) *smtp.SMTPError {
			if stage == "DATA" && n.Add(1) == 3 {
				held <- holdDatabase(t, dbURL) // before the relay answers 250
			}
			return nil
		}})
		env := map[string]string{"IMPACTD_SMTP_URL": sink.URL(), "IMPACTD_WORKERS": "1", "IMPACTD_SHUTDOWN_GRACE": grace.String(),
			"IMPACTD_TAKEOVER_GRACE": "200ms", "IMPACTD_SQLITE_BUSY_TIMEOUT": "20ms"}
		b := setupWith(t, dbURL, env)
		b.app.Runner.Options.Poll = 10 * time.Millisecond
		b.seed(t, donors)
		b.publish(t, "2026-Q3")
		run, err := b.app.Runs.Start(ctx, quarter)
		if err != nil {
			t.Fatal(err)
		}
		stop, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- b.app.Runner.Work(stop, run.ID) }()
		release := <-held
		time.Sleep(300 * time.Millisecond) // the worker tries to record the outcome meanwhile
		asked := time.Now()
		cancel() // SIGTERM
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("work: %v", err)
			}
		case <-time.After(grace + 10*time.Second):
			release()
			t.Fatal("the shutdown waits for the database")
		}
		took := time.Since(asked)
		release()
		t.Logf("stopped %s after it was told, with the database away", took.Round(time.Millisecond))
		if took > grace+2*time.Second {
			t.Errorf("stopping took %s; the grace is %s", took, grace)
		}
		unrecorded := unrecordedOutcomes(t, b)
		if unrecorded < 1 {
			t.Fatalf("%v outcomes counted unrecorded", unrecorded)
		}

		// A restarted process finishes the run.
		again := setupWith(t, dbURL, env)
		again.app.Runner.Options.Poll = 10 * time.Millisecond
		run, err = again.app.Runs.Finish(ctx, run.ID, nil)
		if err != nil || run.Status != domain.RunSucceeded || run.Sent != donors {
			t.Fatalf("run: %+v %v", run, err)
		}
		if float64(run.Interrupted) != unrecorded {
			t.Errorf("the run counts %d interrupted; %v outcomes were left unrecorded", run.Interrupted, unrecorded)
		}
		twice := 0
		for id, k := range sink.ByMessageID() {
			switch {
			case k == 2:
				twice++
			case k != 1:
				t.Errorf("%s arrived %d times", id, k)
			}
		}
		got := sink.ByRecipient()
		total := 0
		for _, k := range got {
			total += k
		}
		if twice != 1 || total != donors+1 || len(got) != donors {
			t.Errorf("%d Message-IDs twice, %d letters to %d supporters; want the one unrecorded letter twice under one Message-ID", twice, total, len(got))
		}
	})
}
