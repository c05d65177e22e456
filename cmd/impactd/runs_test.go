package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/runs"
	"impactd/internal/smtpsink"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

// TestRunInputs: what the run command says when it is given too little.
func TestRunInputs(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"IMPACTD_DATABASE_URL": "sqlite:" + filepath.Join(dir, "x.db"), "IMPACTD_SMTP_URL": "file://" + dir}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--reason", "x"}, "--period is required, e.g. --period 2026-Q3"},
		{[]string{"run", "--period", "2026-Q7", "--reason", "x"}, `--period: invalid period "2026-Q7"`},
		{[]string{"run", "--period", "2026-Q3"}, "--reason is required"},
		{[]string{"run", "--period", "2026-Q3", "--reason", "x", "--only-failed", "--only-unsent"}, "cannot be used together"},
		{[]string{"run", "--period", "2020-Q1", "--reason", "test"}, "no published impact update for 2020-Q1"},
		{[]string{"run", "--resume", "run_nope"}, "run not found"},
		{[]string{"run", "--series", "weekly", "--period", "2026-Q3", "--reason", "x"}, `--series: series "weekly": want impact or annual`},
		{[]string{"run", "--series", "annual", "--period", "2026-Q3", "--reason", "x"}, "period 2026-Q3 is a quarter, but the annual series runs by UK tax year"},
		{[]string{"preview", "--series", "annual", "--draft", "--donor", "x@example.org", "--period", "2025/26"}, "--draft is for the impact letter"},
		{[]string{"bounces", "clear", "a@example.org"}, "--reason is required"},
		{[]string{"bounces", "clear", "a@example.org", "--reason", "fixed"}, "not marked bounced"},
	}
	for _, tt := range tests {
		err := run(context.Background(), tt.args, getenv, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want %q", tt.args, err, tt.want)
		}
	}
}

// TestRunCommand walks the command line through what a person meets: a
// dry run, the same period started while its run is in progress (the
// command works that run), a resend that needs --force, and bounces listed
// and cleared.
func TestRunCommand(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		seedRun(t, dbURL, 5)
		sink, err := smtpsink.Start()
		if err != nil {
			t.Fatal(err)
		}
		defer sink.Close()
		env := map[string]string{"IMPACTD_DATABASE_URL": dbURL, "IMPACTD_SMTP_URL": sink.URL(), "IMPACTD_SCHEDULE": "off",
			"IMPACTD_LOG_LEVEL": "error", "USER": "tester"}
		getenv := func(k string) string { return env[k] }
		cli := func(args ...string) (string, string, error) {
			var out, errOut bytes.Buffer
			err := run(ctx, args, getenv, &out, &errOut)
			return out.String(), errOut.String(), err
		}
		out, _, err := cli("run", "--period", "2026-Q3", "--reason", "check", "--dry-run", "--quiet")
		if err != nil || !strings.Contains(out, "5 rendered, 0 sent") || strings.Contains(out, "sent, but worth a look") ||
			!strings.Contains(out, "rendered, worth a look: {\"no_postal_address\":5}") {
			t.Fatalf("dry run: %q %v", out, err)
		}

		// A run is in progress (started, not worked): the same command works it.
		s, err := store.Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		started, err := startOnly(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		out, stderr, err := cli("run", "--period", "2026-Q3", "--reason", "quarterly", "--quiet")
		want := fmt.Sprintf("run %s for 2026-Q3 is in progress, started ", started)
		if err != nil || !strings.Contains(stderr, want) || !strings.Contains(stderr, ", 0 of 5 sent; working it") ||
			!strings.Contains(out, "run "+started+" succeeded: 5 eligible, 5 rendered, 5 sent") {
			t.Fatalf("second start: %v\nstdout %q\nstderr %q", err, out, stderr)
		}
		if runs, _ := s.ListRuns(ctx, 10); len(runs) != 2 { // the dry run and the one run, so far
			t.Fatalf("%d runs", len(runs))
		}

		// One donor by name: their letter is unchanged, so nothing is sent, and the command says why and what to do.
		out, _, err = cli("run", "--period", "2026-Q3", "--reason", "asked", "--donor", "donor 3", "--quiet")
		if err != nil || !strings.Contains(out, "nothing was sent: the donor already has this letter, unchanged; add --force to send again anyway") {
			t.Errorf("one donor by name: %v\n%s", err, out)
		}
		out, _, err = cli("run", "--period", "2026-Q3", "--reason", "look", "--dry-run", "--quiet", "--samples", t.TempDir())
		if err != nil || !strings.Contains(out, "no letter was made to look at: all 5 donors already have this letter, unchanged; add --force") || strings.Contains(out, "sample:") {
			t.Errorf("dry run of a sent period: %v\n%s", err, out)
		}
		out, _, err = cli("run", "--period", "2026-Q3", "--reason", "look", "--dry-run", "--force", "--quiet", "--samples", t.TempDir())
		if err != nil || strings.Count(out, "sample: ") != 3 || !strings.Contains(out, ".pdf (no postal address)") || strings.Contains(out, "no letter was made") {
			t.Errorf("forced dry run's samples: %v\n%s", err, out)
		}
		_, stderr, err = cli("run", "--period", "2026-Q3", "--reason", "asked", "--donor", "donor", "--quiet")
		if err == nil || !strings.Contains(err.Error(), "5 donors match that (") || !strings.Contains(err.Error(), "--donor with one of the ids above") ||
			!strings.Contains(stderr, "Donor 4  donor-4@example.org") {
			t.Errorf("several donors: %v\n%s", err, stderr)
		}

		js, err := s.RunJobs(ctx, started, "", 1)
		if err != nil || len(js) != 1 {
			t.Fatal(js, err)
		}
		_, _, err = cli("run", "--statement", js[0].StatementID, "--reason", "lost it")
		if err == nil || !strings.Contains(err.Error(), "was delivered on") || !strings.Contains(err.Error(), "add --force to send it again") {
			t.Errorf("resend without --force: %v", err)
		}
		if _, _, err := cli("run", "--statement", js[0].StatementID, "--reason", "lost it", "--force", "--quiet"); err != nil {
			t.Errorf("resend with --force: %v", err)
		}

		if err := s.AddBounce(ctx, domain.Bounce{Email: "donor-3@example.org", Detail: "550 5.1.1 unknown", RunID: started, CreatedAt: 1}); err != nil {
			t.Fatal(err)
		}
		out, _, err = cli("bounces", "list")
		if err != nil || !strings.Contains(out, "donor-3@example.org") || !strings.Contains(out, "550 5.1.1 unknown") {
			t.Fatalf("bounces list: %q %v", out, err)
		}
		if _, _, err := cli("bounces", "clear", "donor-3@example.org", "--reason", "mailbox fixed"); err != nil {
			t.Fatal(err)
		}
		if out, _, _ := cli("bounces", "list"); strings.Contains(out, "donor-3") {
			t.Errorf("still listed: %q", out)
		}
		audit, _ := s.AuditLog(ctx, 1)
		if len(audit) != 1 || audit[0].Action != "bounce.clear" || audit[0].Actor != "tester" || audit[0].Reason != "mailbox fixed" {
			t.Errorf("audit: %+v", audit)
		}
	})
}

// TestRunCommandRelayDown: `impactd run` with nothing listening at the
// relay's address says the run paused and why, and that nobody was
// bounced; once a relay listens there, `impactd run --resume` sends every
// letter once.
func TestRunCommandRelayDown(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		seedRun(t, dbURL, 4)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		env := map[string]string{"IMPACTD_DATABASE_URL": dbURL, "IMPACTD_SMTP_URL": "smtp://" + addr + "?tls=none", "IMPACTD_SCHEDULE": "off",
			"IMPACTD_LOG_LEVEL": "error", "IMPACTD_RELAY_DOWN_AFTER": "2", "USER": "tester"}
		getenv := func(k string) string { return env[k] }
		cli := func(args ...string) (string, error) {
			var out bytes.Buffer
			err := run(ctx, args, getenv, &out, io.Discard)
			return out.String(), err
		}
		_, err = cli("run", "--period", "2026-Q3", "--reason", "quarterly", "--quiet")
		if err == nil || !strings.Contains(err.Error(), "paused: the mail relay could not be reached (2 tries in a row)") ||
			!strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "nobody was marked bounced") {
			t.Fatalf("run with the relay down: %v", err)
		}
		runID := strings.Fields(strings.TrimPrefix(err.Error(), "run "))[0]
		sink, err := smtpsink.StartWith(smtpsink.Options{Addr: addr})
		if err != nil {
			t.Fatal(err)
		}
		defer sink.Close()
		out, err := cli("run", "--resume", runID, "--reason", "relay started", "--quiet")
		if err != nil || !strings.Contains(out, "succeeded: 4 eligible, 4 rendered, 4 sent, 0 failed") {
			t.Fatalf("resume: %q %v", out, err)
		}
		if sink.Count() != 4 || len(sink.ByRecipient()) != 4 {
			t.Errorf("the relay took %d letters for %d supporters", sink.Count(), len(sink.ByRecipient()))
		}
	})
}

// startOnly starts the period's run without working it, as a process that
// was killed at once would leave it.
func startOnly(ctx context.Context, dbURL string) (string, error) {
	a, err := open(ctx, func(k string) string {
		return map[string]string{"IMPACTD_DATABASE_URL": dbURL, "IMPACTD_LOG_LEVEL": "error", "IMPACTD_SMTP_URL": "file://" + os.TempDir()}[k]
	}, io.Discard)
	if err != nil {
		return "", err
	}
	defer a.Close()
	run, err := a.Runs.Start(ctx, runs.Request{Period: "2026-Q3", Reason: "quarterly", Trigger: "test"})
	if err != nil {
		return "", err
	}
	return run.ID, nil
}

// TestConcurrentCommands: 2 and 4 `impactd run --period` processes started
// at the same moment (the real program, in processes of their own) make
// one run between them, and every supporter gets exactly one letter; two
// impact and two annual commands at once make one run of each series, and
// every supporter gets one letter of each.
func TestConcurrentCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	impact := []string{"run", "--period", "2026-Q3", "--reason", "quarterly", "--quiet"}
	annual := []string{"run", "--series", "annual", "--period", "2026/27", "--reason", "year end", "--quiet"}
	for _, tc := range []struct {
		name   string
		cmds   [][]string
		series int // distinct series the commands ask for: runs made, letters per supporter
	}{
		{"2", [][]string{impact, impact}, 1},
		{"4", [][]string{impact, impact, impact, impact}, 1},
		{"impact and annual", [][]string{impact, annual, impact, annual}, 2},
	} {
		n := len(tc.cmds)
		t.Run(tc.name, func(t *testing.T) {
			storetest.EachURL(t, func(t *testing.T, dbURL string) {
				const donors = 60
				seedRun(t, dbURL, donors)
				sink, err := smtpsink.Start()
				if err != nil {
					t.Fatal(err)
				}
				defer sink.Close()
				env := append(os.Environ(), "IMPACTD_DATABASE_URL="+dbURL, "IMPACTD_SMTP_URL="+sink.URL(), "IMPACTD_LOG_LEVEL=error",
					"IMPACTD_SCHEDULE=off", "IMPACTD_WORKERS=2")
				var wg sync.WaitGroup
				outs := make([]string, n)
				for i := range n {
					a, _ := json.Marshal(tc.cmds[i])
					cmd := exec.Command(os.Args[0], "-test.run=^$")
					cmd.Env = append(slices.Clone(env), childEnv+"="+string(a))
					var stderr bytes.Buffer
					cmd.Stderr = &stderr
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := cmd.Run(); err != nil {
							t.Errorf("process %d: %v: %s", i, err, stderr.String())
						}
						outs[i] = stderr.String()
					}()
				}
				wg.Wait()
				working := 0
				for _, o := range outs {
					if strings.Contains(o, "; working it") {
						working++
					}
				}
				if working != n-tc.series {
					t.Errorf("%d of %d processes found the run in progress and worked it, want %d:\n%s", working, n, n-tc.series, strings.Join(outs, "\n"))
				}
				s, err := store.Open(context.Background(), dbURL)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				runs, _ := s.ListRuns(context.Background(), 10)
				if len(runs) != tc.series {
					t.Fatalf("runs: %+v", runs)
				}
				for _, r := range runs {
					if r.Sent != donors {
						t.Fatalf("run %s (%s %s) sent %d, want %d", r.ID, r.Series, r.Period, r.Sent, donors)
					}
				}
				got := sink.ByRecipient()
				for i := range donors {
					if c := got[fmt.Sprintf("donor-%d@example.org", i)]; c != tc.series {
						t.Errorf("donor %d got %d letters, want %d", i, c, tc.series)
					}
				}
			})
		})
	}
}

// TestProgressAndLogDoNotCollide: a log line written while the bar is
// drawn starts on a line of its own; the bar is drawn again after it.
func TestProgressAndLogDoNotCollide(t *testing.T) {
	var buf bytes.Buffer
	term := &terminal{w: &buf}
	bar := &progress{t: term, start: time.Now()}
	bar.update(&domain.Run{Status: domain.RunRunning}, domain.RunCounts{Eligible: 10, Queued: 6, Sent: 4})
	fmt.Fprintf(term, "{\"level\":\"WARN\",\"msg\":\"database unavailable\"}\n")
	bar.update(&domain.Run{Status: domain.RunRunning}, domain.RunCounts{Eligible: 10, Queued: 5, Sent: 5})
	term.done()
	lines := strings.Split(buf.String(), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "\r[") || lines[1] != `{"level":"WARN","msg":"database unavailable"}` ||
		!strings.HasPrefix(lines[2], "\r[") || !strings.Contains(lines[2], "5/10") || lines[3] != "" {
		t.Fatalf("output %q", buf.String())
	}
}
