package post_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"impactd/internal/app"
	"impactd/internal/config"
	"impactd/internal/domain"
	"impactd/internal/impact"
	"impactd/internal/runs"
	"impactd/internal/smtpsink"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

// newApp assembles impactd on dbURL as a process of its own would.
func newApp(t *testing.T, dbURL, smtpURL string) *app.App {
	t.Helper()
	if smtpURL == "" {
		smtpURL = "file://" + filepath.Join(t.TempDir(), "outbox")
	}
	env := map[string]string{
		"IMPACTD_DATABASE_URL": dbURL, "IMPACTD_SMTP_URL": smtpURL,
		"IMPACTD_SECRET_KEY": "post-test-key-post-test-key-post-0123", "IMPACTD_SCHEDULE": "off",
		"IMPACTD_TIMEZONE": "UTC", "IMPACTD_LOG_LEVEL": "error",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), domain.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// supporter is a test donor: how they can be reached.
type supporter struct {
	name, email, address, channel string
}

// seed makes the donors, each with a gift in 2026-Q3, and publishes the
// period's impact update. It returns their ids in order.
func seed(t *testing.T, s *store.Store, ds []supporter) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	err := s.InTx(ctx, func(tx *store.Tx) error {
		for i, sp := range ds {
			d := &domain.Donor{Name: sp.name, Email: sp.email, Address: sp.address, Channel: sp.channel, Status: domain.DonorActive, CreatedAt: 1, UpdatedAt: 1}
			if err := tx.CreateDonor(ctx, d); err != nil {
				return err
			}
			ids = append(ids, d.ID)
			g := &domain.Donation{DonorID: d.ID, ChargeID: fmt.Sprintf("ch_%d", i), Amount: 1000 + int64(i), Currency: "gbp",
				Status: domain.DonationSucceeded, Created: time.Date(2026, 8, 1+i%28, 12, 0, 0, 0, time.UTC).Unix(), UpdatedAt: 1}
			if _, err := tx.InsertDonation(ctx, g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	one := int64(7)
	u, _, err := impact.Import(ctx, s, &domain.ImpactUpdate{Period: "2026-Q3", Title: "Impact", Narrative: "Together.", Source: "Test", AsOf: "2026-10-01",
		Metrics: []domain.Metric{{Key: "safe", Label: "Children brought to safety", Period: &one}}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := impact.Publish(ctx, s, u.ID, "tester", time.Now()); err != nil {
		t.Fatal(err)
	}
	return ids
}

var quarter = runs.Request{Period: "2026-Q3", Reason: "quarterly letters", Trigger: "test", Actor: "tester"}

const (
	london    = "1 High Street\nLondon SW1A 1AA\nGB"
	edinburgh = "2 Royal Mile\nEdinburgh EH1 1AA\nGB"
	berlin    = "Invalidenstraße 1\nBerlin 10115\nDE"
)

// latest is each donor's newest delivery of the run, by donor id.
func latest(t *testing.T, s *store.Store, runID string) map[string]domain.Delivery {
	t.Helper()
	sts, err := s.StatementsForRun(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]domain.Delivery{}
	for _, st := range sts {
		ds, err := s.DeliveriesForStatement(context.Background(), st.ID)
		if err != nil || len(ds) == 0 {
			t.Fatalf("deliveries of %s: %v %v", st.ID, ds, err)
		}
		out[st.DonorID] = ds[len(ds)-1]
	}
	return out
}

// TestChannels: who gets their letter by email, who by post and who is an
// exception, through a real run; the postal letters are in the run's one
// print batch, made when the run finished; marking it posted is audited,
// sets its letters posted, and happens once.
func TestChannels(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		a := newApp(t, dbURL, "")
		ids := seed(t, a.Store, []supporter{
			{"Email Only", "email@example.org", "", ""},
			{"Email And Address", "both@example.org", london, ""},
			{"No Email", "", edinburgh, ""},
			{"Chose Post", "post@example.org", berlin, domain.ChannelPost},
			{"Nothing", "", "", ""},
			{"Post No Address", "nopost@example.org", "", domain.ChannelPost},
			{"No Postcode", "", "1 High Street\nLondon\nGB", ""},
		})
		run, err := a.Runs.Run(ctx, quarter)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != domain.RunSucceeded || run.Sent != 2 {
			t.Fatalf("run: %+v", run)
		}
		if !strings.Contains(run.Exceptions, `"no_email":2`) || !strings.Contains(run.Exceptions, `"post_no_address":1`) {
			t.Errorf("exceptions: %s", run.Exceptions)
		}
		c, err := a.Store.CountRun(ctx, run.ID)
		if err != nil || c.Postal != 2 || c.Sent != 2 || c.Skipped != 3 {
			t.Fatalf("counts: %+v %v", c, err)
		}
		got := latest(t, a.Store, run.ID)
		want := []struct {
			i                 int
			channel, status   string
			country, postcode string
		}{
			{0, domain.ChannelEmail, domain.DeliverySent, "", ""},
			{1, domain.ChannelEmail, domain.DeliverySent, "", ""},
			{2, domain.ChannelPost, domain.DeliveryInBatch, "GB", "EH1 1AA"},
			{3, domain.ChannelPost, domain.DeliveryInBatch, "DE", "10115"},
		}
		b, err := a.Store.BatchForRun(ctx, run.ID)
		if err != nil || b.Letters != 2 || b.PostedAt != 0 {
			t.Fatalf("batch: %+v %v", b, err)
		}
		for _, w := range want {
			d := got[ids[w.i]]
			if d.Channel != w.channel || d.Status != w.status || d.Country != w.country || d.Postcode != w.postcode {
				t.Errorf("donor %d: %+v, want %s %s %s %s", w.i, d, w.channel, w.status, w.country, w.postcode)
			}
			if w.channel == domain.ChannelPost && (d.BatchID != b.ID || d.MessageID != "") {
				t.Errorf("donor %d: batch %q message %q, want batch %s and no message", w.i, d.BatchID, d.MessageID, b.ID)
			}
		}
		for _, i := range []int{4, 5, 6} {
			if _, ok := got[ids[i]]; ok {
				t.Errorf("donor %d got a letter", i)
			}
		}
		// The batch: the Berlin letter first (DE before GB).
		_, p, err := a.Post.Print(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(p.Manifest)), "\n")
		if len(lines) != 3 || !strings.Contains(lines[1], "Chose Post") || !strings.Contains(lines[2], "No Email") {
			t.Errorf("manifest:\n%s", p.Manifest)
		}
		// A rerun of the period sends and posts nothing again.
		again, err := a.Runs.Run(ctx, quarter)
		if err != nil || again.Sent != 0 {
			t.Fatalf("rerun: %+v %v", again, err)
		}
		if c, _ := a.Store.CountRun(ctx, again.ID); c.Postal != 0 || c.SkippedBy[domain.SkipUnchanged] != 4 {
			t.Errorf("rerun counts: %+v", c)
		}

		n, err := a.Post.MarkPosted(ctx, b.ID, &store.AuditEntry{Actor: "staff:operator@example.org", Reason: "handed to the mailing house"})
		if err != nil || n != 2 {
			t.Fatalf("mark posted: %d %v", n, err)
		}
		got = latest(t, a.Store, run.ID)
		for _, i := range []int{2, 3} {
			if got[ids[i]].Status != domain.DeliveryPosted {
				t.Errorf("donor %d after posting: %+v", i, got[ids[i]])
			}
		}
		if b, _ := a.Store.BatchForRun(ctx, run.ID); b.PostedAt == 0 || b.PostedBy != "staff:operator@example.org" || b.Posted != 2 {
			t.Errorf("batch after posting: %+v", b)
		}
		if in, posted, err := a.Store.PostalCounts(ctx, run.ID); in != 0 || posted != 2 || err != nil {
			t.Errorf("postal counts: %d %d %v", in, posted, err)
		}
		log, err := a.Store.AuditLog(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range log {
			if e.Action == "batch.posted" && e.Subject == b.ID && e.Actor == "staff:operator@example.org" &&
				e.Reason == "handed to the mailing house" && strings.Contains(e.Detail, `"letters":2`) {
				found = true
			}
		}
		if !found {
			t.Errorf("no audit entry for the posting: %+v", log)
		}
		if _, err := a.Post.MarkPosted(ctx, b.ID, &store.AuditEntry{Actor: "staff:x"}); domain.ErrorCode(err) != domain.ECONFLICT {
			t.Errorf("posting twice: %v, want a conflict", err)
		}
	})
}

// TestOneBatchAcrossFinishers: processes that finish the same run at once
// make one batch, with every postal letter in it once.
func TestOneBatchAcrossFinishers(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		a, other := newApp(t, dbURL, ""), newApp(t, dbURL, "")
		var ds []supporter
		for i := range 12 {
			ds = append(ds, supporter{fmt.Sprintf("Donor %d", i), "", london, ""})
		}
		seed(t, a.Store, ds)
		run, err := a.Runs.Start(ctx, quarter)
		if err != nil {
			t.Fatal(err)
		}
		// The letters, as the workers record them, without the finish that
		// would make the batch.
		err = a.Store.InTx(ctx, func(tx *store.Tx) error {
			jobs, err := tx.RunJobs(ctx, run.ID, "", 100)
			if err != nil {
				return err
			}
			for _, j := range jobs {
				st := &domain.Statement{ID: store.NewID("stmt"), RunID: run.ID, DonorID: j.DonorID, Period: run.Period,
					Snapshot: `{"version":1}`, ContentHash: "00", CreatedAt: 1}
				if err := tx.InsertStatement(ctx, st); err != nil {
					return err
				}
				if _, err := tx.InsertAttempt(ctx, &domain.Delivery{StatementID: st.ID, Attempt: 1, Status: domain.DeliveryInBatch,
					Channel: domain.ChannelPost, DonorID: j.DonorID, Period: run.Period, LetterKey: st.ID, Country: "GB", Postcode: "SW1A 1AA",
					CreatedAt: 1, UpdatedAt: 1}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		got := make([]*domain.PrintBatch, 8)
		errs := make([]error, 8)
		for i := range 8 {
			s := a.Store
			if i%2 == 1 {
				s = other.Store
			}
			wg.Go(func() { got[i], errs[i] = s.EnsureBatch(ctx, run.ID, time.Now().Unix()) })
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil {
				t.Fatalf("finisher %d: %v", i, errs[i])
			}
			if got[i].ID != got[0].ID || got[i].Letters != 12 {
				t.Errorf("finisher %d: %+v, want batch %s with 12 letters", i, got[i], got[0].ID)
			}
		}
		var n int
		if err := a.Store.DB().GetContext(ctx, &n, a.Store.DB().Rebind(`SELECT COUNT(*) FROM print_batches WHERE run_id = ?`), run.ID); err != nil || n != 1 {
			t.Fatalf("%d batches (%v), want 1", n, err)
		}
		if _, err := a.Store.EnsureBatch(ctx, "run_none", 1); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("a run without postal letters: %v, want not found", err)
		}
	})
}

// TestBounceThenPost: an address that bounces in one run gets the next
// run's letter by post, when there is a postal address.
func TestBounceThenPost(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		sink, err := smtpsink.StartWith(smtpsink.Options{Refuse: func(stage, addr string) *smtp.SMTPError {
			if stage == "RCPT TO" && strings.HasPrefix(addr, "gone@") {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
			}
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer sink.Close()
		a := newApp(t, dbURL, sink.URL())
		ids := seed(t, a.Store, []supporter{
			{"Still Here", "here@example.org", "", ""},
			{"Gone Away", "gone@example.org", london, ""},
			{"Also Here", "also@example.org", "", ""},
		})
		first, err := a.Runs.Run(ctx, quarter)
		if err != nil {
			t.Fatal(err)
		}
		if first.Sent != 2 || first.Failed != 1 {
			t.Fatalf("first run: %+v", first)
		}
		if bounced, err := a.Store.IsBounced(ctx, "gone@example.org"); err != nil || !bounced {
			t.Fatalf("bounced: %v %v", bounced, err)
		}
		if _, err := a.Store.BatchForRun(ctx, first.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("the first run has a print batch: %v", err)
		}
		second, err := a.Runs.Run(ctx, with(quarter, domain.RunScopeFailed))
		if err != nil {
			t.Fatal(err)
		}
		c, err := a.Store.CountRun(ctx, second.ID)
		if err != nil || c.Postal != 1 || c.Sent != 0 {
			t.Fatalf("second run: %+v %+v %v", second, c, err)
		}
		d := latest(t, a.Store, second.ID)[ids[1]]
		if d.Channel != domain.ChannelPost || d.Status != domain.DeliveryInBatch {
			t.Errorf("the bounced donor's delivery: %+v", d)
		}
		if b, err := a.Store.BatchForRun(ctx, second.ID); err != nil || b.Letters != 1 {
			t.Errorf("second run's batch: %+v %v", b, err)
		}
	})
}

func with(r runs.Request, scope string) runs.Request {
	r.Scope = scope
	return r
}
