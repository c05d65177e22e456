package runner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/ingest"
	"impactd/internal/mail"
	"impactd/internal/runs"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

func inQ3(month time.Month, day int) time.Time {
	return time.Date(2026, month, day, 12, 0, 0, 0, time.UTC)
}

// seed makes n donors who each gave £10 (plus n pence) in 2026-Q3, with
// addresses donor-N@example.org, straight through the store.
func (b bundle) seed(t testing.TB, n int) {
	t.Helper()
	ctx := context.Background()
	err := b.app.Store.InTx(ctx, func(tx *store.Tx) error {
		for i := range n {
			d := &domain.Donor{Name: fmt.Sprintf("Donor %d", i), Email: fmt.Sprintf("donor-%d@example.org", i),
				Address: "1 High Street\\nLondon", Status: domain.DonorActive, CreatedAt: 1, UpdatedAt: 1}
			if err := tx.CreateDonor(ctx, d); err != nil {
				return err
			}
			g := &domain.Donation{DonorID: d.ID, ChargeID: fmt.Sprintf("ch_seed_%d", i), Amount: 1000 + int64(i), Currency: "gbp",
				Status: domain.DonationSucceeded, Created: inQ3(8, 1+i%28).Unix(), UpdatedAt: 1}
			if _, err := tx.InsertDonation(ctx, g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (b bundle) jobs(t *testing.T, runID string) []domain.JobView {
	t.Helper()
	js, err := b.app.Store.RunJobs(context.Background(), runID, "", 100000)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// TestRerunsAndCorrections walks the staff's tools: exceptions report,
// flags, a forced single-donor rerun, a correction with its diff, a resend,
// the failed-only rerun, and the audit trail of each.
func TestRerunsAndCorrections(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		b := setup(t, dbURL)
		alice := ingest.Charge{ID: "ch_a", Customer: "cus_a", Name: "Alice", Email: "alice@example.org", Amount: 2500, Currency: "gbp", Created: inQ3(7, 3)}
		b.deliver(t, "charge.succeeded", alice, alice.Created)
		// Bob's only gift was refunded in full: zero net, no letter.
		bob := ingest.Charge{ID: "ch_b", Customer: "cus_b", Name: "Bob", Email: "bob@example.org", Amount: 1000, Currency: "gbp", Created: inQ3(7, 4)}
		b.deliver(t, "charge.succeeded", bob, bob.Created)
		bob.AmountRefunded = 1000
		b.deliver(t, "charge.refunded", bob, inQ3(7, 9))
		// Carol gave in two currencies: her letter goes, flagged.
		carol := ingest.Charge{ID: "ch_c1", Customer: "cus_c", Name: "Carol", Email: "carol@example.org", Amount: 500, Currency: "gbp", Created: inQ3(8, 1)}
		b.deliver(t, "charge.succeeded", carol, carol.Created)
		carol.ID, carol.Currency = "ch_c2", "usd"
		b.deliver(t, "charge.succeeded", carol, inQ3(8, 2))
		b.publish(t, "2026-Q3")

		run, err := b.app.Runs.Run(ctx, runs.Request{Period: "2026-Q3", Trigger: "test", Actor: "ops@charity", Reason: "quarterly"})
		if err != nil {
			t.Fatal(err)
		}
		var ex, fl map[string]int
		_ = json.Unmarshal([]byte(run.Exceptions), &ex)
		_ = json.Unmarshal([]byte(run.Flags), &fl)
		if run.Status != domain.RunSucceeded || run.Sent != 2 || ex[domain.SkipNetNotPositive] != 1 || fl["mixed_currencies"] != 1 || fl["no_postal_address"] != 2 {
			t.Fatalf("run: %+v", run)
		}
		aliceID := ""
		for _, j := range b.jobs(t, run.ID) {
			if j.Status == domain.JobSent {
				d, _ := b.app.Store.Donor(ctx, j.DonorID)
				if d.Email == "alice@example.org" {
					aliceID = d.ID
				}
			}
		}

		tests := []struct {
			name             string
			req              runs.Request
			sent, corrected  int
			skippedBy        string
			wantErr, wantDif string
			before           func()
		}{
			{name: "one donor, unchanged", req: runs.Request{Scope: domain.RunScopeDonor, Donor: aliceID}, skippedBy: domain.SkipUnchanged},
			{name: "one donor, forced", req: runs.Request{Scope: domain.RunScopeDonor, Donor: aliceID, Force: true}, sent: 1},
			{name: "nothing failed", req: runs.Request{Scope: domain.RunScopeFailed}},
			{name: "late gift: a correction", req: runs.Request{}, sent: 1, corrected: 1, skippedBy: domain.SkipUnchanged,
				wantDif: "totals[0].net: 2500 → 3700", before: func() {
					late := alice
					late.ID, late.Amount, late.Created = "ch_a2", 1200, inQ3(9, 20)
					b.deliver(t, "charge.succeeded", late, late.Created)
				}},
			{name: "only unsent", req: runs.Request{Scope: domain.RunScopeUnsent}, skippedBy: domain.SkipAlreadySent},
		}
		for _, tt := range tests {
			if tt.before != nil {
				tt.before()
			}
			before, correctedBefore := len(b.emails(t)), countCorrected(b.emails(t))
			tt.req.Period, tt.req.Trigger, tt.req.Actor, tt.req.Reason = "2026-Q3", "test", "ops@charity", tt.name
			run, err := b.app.Runs.Run(ctx, tt.req)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			corrected := countCorrected(b.emails(t)) - correctedBefore
			if run.Sent != tt.sent || len(b.emails(t))-before != tt.sent || corrected != tt.corrected ||
				(tt.skippedBy != "" && !strings.Contains(run.Exceptions, tt.skippedBy)) {
				t.Errorf("%s: run %+v, %d new emails, %d corrected", tt.name, run, len(b.emails(t))-before, corrected)
			}
			if tt.wantDif != "" {
				found := false
				for _, j := range b.jobs(t, run.ID) {
					found = found || (j.Replaces != "" && strings.Contains(j.Diff, tt.wantDif))
					if j.Replaces == "" || j.StatementID == "" {
						continue
					}
					// The corrected letter itself says what it replaces.
					st, err := b.app.Store.Statement(ctx, j.StatementID)
					if err != nil {
						t.Fatal(err)
					}
					snap, err := domain.DecodeSnapshot([]byte(st.Snapshot))
					if err != nil || snap.Corrects == "" {
						t.Errorf("%s: corrected snapshot without Corrects (%v)", tt.name, err)
					}
				}
				if !found {
					t.Errorf("%s: no statement with diff %q: %+v", tt.name, tt.wantDif, b.jobs(t, run.ID))
				}
			}
			audit, err := b.app.Store.AuditLog(ctx, 1)
			if err != nil || len(audit) != 1 || audit[0].Subject != run.ID || audit[0].Reason != tt.name || audit[0].Actor != "ops@charity" {
				t.Errorf("%s: audit %+v %v", tt.name, audit, err)
			}
		}

		// Resending a delivered statement needs force.
		var stmtID string
		for _, j := range b.jobs(t, run.ID) {
			if j.DonorID == aliceID {
				stmtID = j.StatementID
			}
		}
		_, err = b.app.Runs.Start(ctx, runs.Request{Scope: domain.RunScopeStatement, StatementID: stmtID, Trigger: "test", Reason: "lost it"})
		if domain.ErrorCode(err) != domain.ECONFLICT {
			t.Fatalf("resend without force: %v", err)
		}
		re, err := b.app.Runs.Run(ctx, runs.Request{Scope: domain.RunScopeStatement, StatementID: stmtID, Force: true, Trigger: "test", Reason: "lost it"})
		if err != nil || re.Sent != 1 {
			t.Fatalf("resend: %+v %v", re, err)
		}
		var pdf bytes.Buffer
		if _, err := b.app.Runner.StatementPDF(ctx, stmtID, &pdf); err != nil || !bytes.HasPrefix(pdf.Bytes(), []byte("%PDF-")) {
			t.Fatalf("statement PDF: %v", err)
		}
	})
}

func countCorrected(emails []string) int {
	n := 0
	for _, e := range emails {
		if strings.Contains(e, "Subject: Corrected:") {
			n++
		}
	}
	return n
}

// failingSender fails every message for one address with a given error and
// passes the rest on: a real transport with one bad mailbox.
type failingSender struct {
	mail.Sender
	to  string
	err error
	mu  sync.Mutex
	n   int
}

func (f *failingSender) Send(ctx context.Context, m *mail.Message) error {
	if m.To == f.to {
		f.mu.Lock()
		f.n++
		f.mu.Unlock()
		return f.err
	}
	return f.Sender.Send(ctx, m)
}

// TestFailuresRetryAndRerun: a permanent failure fails at once and marks the
// address bounced; a temporary one is retried up to the limit; a rerun of
// the failed picks both up and the bounced donor is reported, not mailed.
func TestFailuresRetryAndRerun(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		b := setupWith(t, dbURL, map[string]string{"IMPACTD_SEND_ATTEMPTS": "3", "IMPACTD_RETRY_BACKOFF": "5ms"})
		b.seed(t, 6)
		b.publish(t, "2026-Q3")
		perm := &failingSender{Sender: b.app.Mailer, to: "donor-1@example.org", err: &mail.SendError{Op: "RCPT TO", Code: 550, Enhanced: "5.1.1", Reply: "5.1.1 mailbox unknown"}}
		temp := &failingSender{Sender: perm, to: "donor-2@example.org", err: &mail.SendError{Op: "RCPT TO", Temporary: true, Code: 451, Enhanced: "4.3.0", Reply: "4.3.0 try later"}}
		b.app.Runner.Mailer = temp
		b.app.Runner.Options.Poll = 10 * time.Millisecond
		run, err := b.app.Runs.Run(ctx, runs.Request{Period: "2026-Q3", Trigger: "test", Reason: "quarterly"})
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != domain.RunFailed || run.Sent != 4 || run.Failed != 2 || perm.n != 1 || temp.n != 3 {
			t.Fatalf("run %+v; permanent tried %d, temporary tried %d", run, perm.n, temp.n)
		}
		for _, j := range b.jobs(t, run.ID) {
			if j.Status == domain.JobFailed && !strings.Contains(j.LastError+j.DeliveryDetail, "550") && !strings.Contains(j.LastError, "gave up after 3 attempts") {
				t.Errorf("failed job without the server's answer: %+v", j)
			}
		}
		b.app.Runner.Mailer = b.app.Mailer
		again, err := b.app.Runs.Run(ctx, runs.Request{Period: "2026-Q3", Scope: domain.RunScopeFailed, Trigger: "test", Reason: "relay fixed"})
		if err != nil || again.Sent != 1 || !strings.Contains(again.Exceptions, `"bounced":1`) {
			t.Fatalf("rerun of the failed: %+v %v", again, err)
		}
	})
}

// TestReplicasShareOneRun: two impactd processes on one database fire the
// same tick; one run is created, and both work its jobs.
func TestReplicasShareOneRun(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		one := setup(t, dbURL)
		two := setup(t, dbURL)
		one.seed(t, 60)
		one.publish(t, "2026-Q3")
		tick := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
		var counts [2]*countingSender
		var runIDs [2]string
		var wg sync.WaitGroup
		for i, b := range []bundle{one, two} {
			counts[i] = &countingSender{Sender: b.app.Mailer}
			b.app.Runner.Mailer = counts[i]
			b.app.Runner.Options.Poll = 10 * time.Millisecond
			wg.Add(1)
			go func() {
				defer wg.Done()
				run, started, err := b.app.Runs.StartTick(ctx, runs.Request{Period: "2026-Q3", Trigger: "schedule", Reason: "tick", TickAt: tick.Unix()})
				if err != nil {
					t.Error(err)
					return
				}
				if started {
					runIDs[i] = run.ID
				}
			}()
		}
		wg.Wait()
		if (runIDs[0] == "") == (runIDs[1] == "") {
			t.Fatalf("runs started: %q", runIDs)
		}
		id := runIDs[0] + runIDs[1]
		for _, b := range []bundle{one, two} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := b.app.Runs.Finish(ctx, id, nil); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		run, err := one.app.Store.Run(ctx, id)
		if err != nil || run.Sent != 60 || counts[0].n+counts[1].n != 60 || len(one.emails(t))+len(two.emails(t)) != 60 {
			t.Fatalf("run %+v %v; sent by each: %d %d", run, err, counts[0].n, counts[1].n)
		}
		if counts[0].n == 0 || counts[1].n == 0 {
			t.Errorf("one replica did all the work: %d %d", counts[0].n, counts[1].n)
		}
	})
}

type countingSender struct {
	mail.Sender
	mu sync.Mutex
	n  int
}

func (c *countingSender) Send(ctx context.Context, m *mail.Message) error {
	err := c.Sender.Send(ctx, m)
	if err == nil {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	}
	return err
}

// mailpit starts a private Mailpit with chaos enabled, so that its errors
// hit only this test, and returns its SMTP address and API base.
func mailpit(t *testing.T) (smtpAddr, api string) {
	t.Helper()
	if os.Getenv("IMPACTD_TEST_MAILPIT_SMTP") == "" {
		t.Skip("Mailpit not available: set IMPACTD_TEST_MAILPIT_SMTP")
	}
	bin, err := exec.LookPath("mailpit")
	if err != nil {
		t.Skip("mailpit not installed (not on PATH): a private instance is needed for chaos")
	}
	free := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}
	smtpAddr, httpAddr := free(), free()
	cmd := exec.Command(bin, "--smtp", smtpAddr, "--listen", httpAddr, "--enable-chaos", "--smtp-auth-accept-any",
		"--smtp-auth-allow-insecure", "--database", filepath.Join(t.TempDir(), "mailpit.db"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	api = "http://" + httpAddr
	for range 100 {
		if resp, err := http.Get(api + "/api/v1/info"); err == nil {
			resp.Body.Close()
			return smtpAddr, api
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("mailpit did not start")
	return "", ""
}

func chaos(t *testing.T, api string, code, probability int) {
	t.Helper()
	body := fmt.Sprintf(`{"Recipient":{"ErrorCode":%d,"Probability":%d}}`, code, probability)
	req, _ := http.NewRequest(http.MethodPut, api+"/api/v1/chaos", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("chaos: %v %v", resp, err)
	}
	resp.Body.Close()
}

func mailpitTotal(t *testing.T, api string) int {
	t.Helper()
	resp, err := http.Get(api + "/api/v1/messages?limit=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Total int `json:"total"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.Total
}

// TestMailpitChaos runs statements through a real SMTP server that refuses
// recipients at random with 451 (retried until delivered, once each), then
// with 550 for everyone (failed with the server's answer, bounced).
func TestMailpitChaos(t *testing.T) {
	smtpAddr, api := mailpit(t)
	ctx := context.Background()
	b := setupWith(t, storetest.SQLiteURL(t), map[string]string{
		"IMPACTD_SMTP_URL": "smtp://" + smtpAddr + "?tls=none", "IMPACTD_SEND_ATTEMPTS": "30", "IMPACTD_RETRY_BACKOFF": "5ms",
	})
	b.app.Runner.Options.Poll = 10 * time.Millisecond
	b.seed(t, 40)
	b.publish(t, "2026-Q3")
	chaos(t, api, 451, 40)
	run, err := b.app.Runs.Run(ctx, runs.Request{Period: "2026-Q3", Trigger: "test", Reason: "chaos"})
	if err != nil {
		t.Fatal(err)
	}
	temp := 0
	for _, j := range b.jobs(t, run.ID) {
		ds, _ := b.app.Store.DeliveriesForStatement(ctx, j.StatementID)
		for _, d := range ds {
			if d.Status == domain.DeliveryTempFailed {
				temp++
				if !strings.Contains(d.Detail, "451") {
					t.Errorf("temporary failure without the server's answer: %q", d.Detail)
				}
			}
		}
	}
	if run.Status != domain.RunSucceeded || run.Sent != 40 || temp == 0 || mailpitTotal(t, api) != 40 {
		t.Fatalf("run %+v; %d temporary failures; mailpit has %d messages", run, temp, mailpitTotal(t, api))
	}

	chaos(t, api, 550, 100)
	run, err = b.app.Runs.Run(ctx, runs.Request{Period: "2026-Q3", Trigger: "test", Reason: "chaos 550", Force: true, Scope: domain.RunScopeDonor,
		Donor: b.jobs(t, run.ID)[0].DonorID})
	if err != nil {
		t.Fatal(err)
	}
	js := b.jobs(t, run.ID)
	if run.Failed != 1 || len(js) != 1 || !strings.Contains(js[0].DeliveryDetail, "550") || js[0].DeliveryStatus != domain.DeliveryPermFailed {
		t.Fatalf("permanent failure: %+v %+v", run, js)
	}
	d, _ := b.app.Store.Donor(ctx, js[0].DonorID)
	if bounced, err := b.app.Store.IsBounced(ctx, d.Email); err != nil || !bounced {
		t.Fatalf("address not marked bounced: %v", err)
	}
	if mailpitTotal(t, api) != 40 {
		t.Fatalf("mailpit has %d messages", mailpitTotal(t, api))
	}
}
