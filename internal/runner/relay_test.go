package runner_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"impactd/internal/domain"
	"impactd/internal/mail"
	"impactd/internal/smtpsink"
	"impactd/internal/store/storetest"
)

// relaySwitch is a TCP address in front of a sink that a test can take
// down — the listener closed (connection refused), its connections cut —
// and bring back on the same port, as a relay that is restarted.
type relaySwitch struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func newRelaySwitch(t *testing.T, target string) *relaySwitch {
	t.Helper()
	s := &relaySwitch{target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.down)
	return s
}

// url is an IMPACTD_SMTP_URL through the switch.
func (s *relaySwitch) url(query string) string { return "smtp://" + s.addr + "?tls=none" + query }

func (s *relaySwitch) serve(ln net.Listener) {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", s.target)
			if err != nil {
				c.Close()
				continue
			}
			s.mu.Lock()
			s.conns[c], s.conns[up] = true, true
			s.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// down refuses new connections and cuts the open ones.
func (s *relaySwitch) down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
	for c := range s.conns {
		c.Close()
	}
	s.conns = map[net.Conn]bool{}
}

// up listens on the same address again.
func (s *relaySwitch) up() error {
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			s.serve(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("relay not back on %s: %w", s.addr, err)
}

// untouched checks that a paused run's jobs are all open, none failed and
// none has used a send attempt, and that nobody is marked bounced.
func untouched(t *testing.T, b bundle, runID string, donors int) {
	t.Helper()
	ctx := context.Background()
	c, err := b.app.Store.CountRun(ctx, runID)
	if err != nil || c.Failed != 0 || c.Open()+c.Sent != donors || c.Retrying != 0 {
		t.Errorf("counts while paused: %+v %v", c, err)
	}
	jobs, err := b.app.Store.RunJobs(ctx, runID, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Attempts != 0 || j.Failure != "" {
			t.Errorf("job of donor %s: %d attempts used, failure %q (%s)", j.DonorID, j.Attempts, j.Failure, j.LastError)
		}
	}
	if bs, err := b.app.Runs.Bounces(ctx, 100); err != nil || len(bs) != 0 {
		t.Errorf("bounces: %+v %v", bs, err)
	}
}

// TestRelayDownPausesTheRun: the relay's port is closed. The run pauses
// after IMPACTD_RELAY_DOWN_AFTER failed tries — with the reason, nobody
// failed or bounced, no send attempt used up — and once a relay listens
// there, resuming sends every letter exactly once; the staff summary says
// why the run paused.
func TestRelayDownPausesTheRun(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		const donors = 10
		sink := sinkFor(t, smtpsink.Options{})
		sw := newRelaySwitch(t, sink.Addr())
		sw.down()
		b := setupWith(t, dbURL, map[string]string{"IMPACTD_SMTP_URL": sw.url(""), "IMPACTD_RELAY_DOWN_AFTER": "3",
			"IMPACTD_STAFF_EMAIL": "staff@example.org"})
		b.app.Runner.Options.Poll = 10 * time.Millisecond
		b.app.Runner.Options.RelayProbe = 20 * time.Millisecond
		b.seed(t, donors)
		b.publish(t, "2026-Q3")
		run, err := b.app.Runs.Run(ctx, quarter)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != domain.RunPaused || run.Pauses != 1 ||
			!strings.Contains(run.PauseReason, "the mail relay could not be reached (3 tries in a row)") || !strings.Contains(run.PauseReason, "connection refused") {
			t.Fatalf("run: %+v", run)
		}
		untouched(t, b, run.ID, donors)
		if sink.Count() != 0 {
			t.Fatalf("the relay took %d messages while down", sink.Count())
		}
		if err := sw.up(); err != nil {
			t.Fatal(err)
		}
		if _, err := b.app.Runs.Resume(ctx, run.ID, "ops", "relay started"); err != nil {
			t.Fatal(err)
		}
		run, err = b.app.Runs.Finish(ctx, run.ID, nil)
		if err != nil || run.Status != domain.RunSucceeded || run.Sent != donors || run.Interrupted != 0 {
			t.Fatalf("after resuming: %+v %v", run, err)
		}
		got := sink.ByRecipient()
		for i := range donors {
			if n := got[fmt.Sprintf("donor-%d@example.org", i)]; n != 1 {
				t.Errorf("donor %d got %d letters", i, n)
			}
		}
		if got["staff@example.org"] != 1 {
			t.Errorf("staff got %d emails (the paused notice could not be sent; the summary should have been)", got["staff@example.org"])
		}
		summary, err := b.app.Store.Run(ctx, run.ID)
		if err != nil || !summary.SummarySent {
			t.Fatalf("summary: %+v %v", summary, err)
		}
		if !strings.Contains(b.app.Runner.Compose.Summary(summary, nil, "staff@example.org", time.Now()).Text, "could not be reached") {
			t.Error("the staff summary does not say why the run paused")
		}
	})
}

// TestRelayGoesDownMidRun: the relay answers "421 shutting down" and goes
// away after some letters, then comes back: the run pauses, nobody's
// attempts are used, and after resuming every supporter has exactly one
// letter. A blip shorter than the first back-off is ridden out: the run
// never pauses.
func TestRelayGoesDownMidRun(t *testing.T) {
	const donors = 30
	for _, blip := range []bool{false, true} {
		t.Run(map[bool]string{false: "down", true: "blip"}[blip], func(t *testing.T) {
			storetest.EachURL(t, func(t *testing.T, dbURL string) {
				ctx := context.Background()
				var sw *relaySwitch
				var going atomic.Bool
				var mails atomic.Int64
				sink := sinkFor(t, smtpsink.Options{Refuse: func(stage, _ string) *smtp.SMTPError {
					if stage != "MAIL FROM" {
						return nil
					}
					if mails.Add(1) == 11 {
						going.Store(true)
						go func() {
							sw.down()
							if blip {
								time.Sleep(20 * time.Millisecond)
								going.Store(false)
								if err := sw.up(); err != nil {
									t.Error(err)
								}
							}
						}()
					}
					if going.Load() {
						return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "service shutting down"}
					}
					return nil
				}})
				sw = newRelaySwitch(t, sink.Addr())
				b := setupWith(t, dbURL, map[string]string{"IMPACTD_SMTP_URL": sw.url("&pool=1"), "IMPACTD_WORKERS": "1",
					"IMPACTD_RELAY_DOWN_AFTER": "3"})
				b.app.Runner.Options.Poll = 10 * time.Millisecond
				b.app.Runner.Options.RelayProbe = 30 * time.Millisecond
				if blip {
					b.app.Runner.Options.RelayProbe = 300 * time.Millisecond
				}
				b.seed(t, donors)
				b.publish(t, "2026-Q3")
				run, err := b.app.Runs.Run(ctx, quarter)
				if err != nil {
					t.Fatal(err)
				}
				if blip {
					if run.Status != domain.RunSucceeded || run.Pauses != 0 || run.Sent != donors {
						t.Fatalf("after a blip: %+v", run)
					}
					var failed int
					if err := b.app.Store.DB().Get(&failed, `SELECT COUNT(*) FROM deliveries WHERE status = 'failed_temporary'`); err != nil || failed == 0 {
						t.Fatalf("no send failed during the blip (%d, %v): the test proves nothing", failed, err)
					}
				} else {
					if run.Status != domain.RunPaused || !strings.Contains(run.PauseReason, "could not be reached") {
						t.Fatalf("run: %+v", run)
					}
					if sink.Count() != 10 {
						t.Errorf("%d letters went before the relay went down, want 10", sink.Count())
					}
					untouched(t, b, run.ID, donors)
					going.Store(false)
					if err := sw.up(); err != nil {
						t.Fatal(err)
					}
					if _, err := b.app.Runs.Resume(ctx, run.ID, "ops", "relay back"); err != nil {
						t.Fatal(err)
					}
					if run, err = b.app.Runs.Finish(ctx, run.ID, nil); err != nil || run.Status != domain.RunSucceeded || run.Sent != donors {
						t.Fatalf("after resuming: %+v %v", run, err)
					}
				}
				jobs, _ := b.app.Store.RunJobs(ctx, run.ID, "", 1000)
				for _, j := range jobs {
					if j.Attempts != 0 {
						t.Errorf("donor %s used %d send attempts on the relay's outage", j.DonorID, j.Attempts)
					}
				}
				oneEach(t, sink, donors)
			})
		})
	}
}

// TestTLSFailurePausesTheRun: the relay's TLS cannot be set up (smtps://
// to a relay that does not speak TLS): the run pauses at once — a retry
// would meet the same — with nobody failed or bounced; with the transport
// fixed it resumes and sends each letter once.
func TestTLSFailurePausesTheRun(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		const donors = 6
		sink := sinkFor(t, smtpsink.Options{})
		b := setupWith(t, dbURL, map[string]string{"IMPACTD_SMTP_URL": "smtps://" + sink.Addr()})
		b.app.Runner.Options.Poll = 10 * time.Millisecond
		b.seed(t, donors)
		b.publish(t, "2026-Q3")
		run, err := b.app.Runs.Run(ctx, quarter)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != domain.RunPaused || !strings.Contains(run.PauseReason, "the mail relay refused to send: mail: connect: tls:") {
			t.Fatalf("run: %+v", run)
		}
		untouched(t, b, run.ID, donors)
		fixed, err := mail.Open(sink.URL(), mail.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer fixed.Close()
		b.app.Runner.Mailer = fixed // the operator corrects IMPACTD_SMTP_URL and restarts
		if _, err := b.app.Runs.Resume(ctx, run.ID, "ops", "smtp:// with STARTTLS"); err != nil {
			t.Fatal(err)
		}
		if run, err = b.app.Runs.Finish(ctx, run.ID, nil); err != nil || run.Status != domain.RunSucceeded || run.Sent != donors {
			t.Fatalf("after resuming: %+v %v", run, err)
		}
		oneEach(t, sink, donors)
	})
}

// TestBreakerCountsAcrossReplicas: two processes share a run whose relay
// answers every RCPT TO with a plain 550. The first records a few refusals
// and stops; the second trips the breaker after the rest of the streak —
// fewer than IMPACTD_BREAKER_FAILURES of its own — and takes back the
// first one's bounces and failures too.
func TestBreakerCountsAcrossReplicas(t *testing.T) {
	// Above what one worker has claimed when it is told to stop (it works its
	// claimed batch to the end, and may be in its next claim).
	const limit = 10
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		var refusals atomic.Int64
		sink := sinkFor(t, smtpsink.Options{Refuse: func(stage, _ string) *smtp.SMTPError {
			if stage == "RCPT TO" {
				refusals.Add(1)
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.NoEnhancedCode, Message: "mailbox unavailable"}
			}
			return nil
		}})
		env := map[string]string{"IMPACTD_SMTP_URL": sink.URL(), "IMPACTD_BREAKER_FAILURES": fmt.Sprint(limit), "IMPACTD_WORKERS": "1"}
		first, second := setupWith(t, dbURL, env), setupWith(t, dbURL, env)
		for _, p := range []bundle{first, second} {
			p.app.Runner.Options.Poll = 10 * time.Millisecond
		}
		first.seed(t, 24)
		first.publish(t, "2026-Q3")
		run, err := first.app.Runs.Start(ctx, quarter)
		if err != nil {
			t.Fatal(err)
		}
		stop, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- first.app.Runner.Work(stop, run.ID) }()
		for refusals.Load() < 2 {
			time.Sleep(time.Millisecond)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("first process: %v", err)
		}
		byFirst := int(refusals.Load())
		if byFirst >= limit {
			t.Fatalf("the first process made %d refusals before it stopped", byFirst)
		}
		c, _ := first.app.Store.CountRun(ctx, run.ID)
		if c.Failed != byFirst {
			t.Fatalf("%d failed after the first process, want %d", c.Failed, byFirst)
		}
		run, err = second.app.Runs.Finish(ctx, run.ID, nil)
		if err != nil || run.Status != domain.RunPaused || !strings.Contains(run.PauseReason, fmt.Sprintf("%d sends in a row failed", limit)) {
			t.Fatalf("run: %+v %v", run, err)
		}
		if bySecond := int(refusals.Load()) - byFirst; bySecond != limit-byFirst {
			t.Errorf("the second process made %d refusals, want %d: the streak did not go on from the first's %d", bySecond, limit-byFirst, byFirst)
		}
		untouched(t, second, run.ID, 24)
	})
}
