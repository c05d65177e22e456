package runs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"impactd/internal/app"
	"impactd/internal/config"
	"impactd/internal/domain"
	"impactd/internal/impact"
	"impactd/internal/runs"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

// newApp assembles impactd on dbURL, as a process of its own would: each
// call opens its own database handle.
func newApp(t *testing.T, dbURL string, extra map[string]string) *app.App {
	t.Helper()
	env := map[string]string{
		"IMPACTD_DATABASE_URL": dbURL, "IMPACTD_SMTP_URL": "file://" + filepath.Join(t.TempDir(), "outbox"),
		"IMPACTD_SECRET_KEY": "runs-test-key-runs-test-key-runs-0123", "IMPACTD_SCHEDULE": "off",
		"IMPACTD_TIMEZONE": "UTC",
	}
	for k, v := range extra {
		env[k] = v
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

// seed makes donors with one gift each in 2026-Q3 of the given amounts
// (refunded in full when the amount is negative) and publishes the period.
func seed(t *testing.T, s *store.Store, amounts ...int64) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	err := s.InTx(ctx, func(tx *store.Tx) error {
		for i, amount := range amounts {
			d := &domain.Donor{Name: fmt.Sprintf("Donor %d", i), Email: fmt.Sprintf("donor-%d@example.org", i), Status: domain.DonorActive, CreatedAt: 1, UpdatedAt: 1}
			if err := tx.CreateDonor(ctx, d); err != nil {
				return err
			}
			ids = append(ids, d.ID)
			g := &domain.Donation{DonorID: d.ID, ChargeID: fmt.Sprintf("ch_%d", i), Amount: max(amount, -amount), Currency: "gbp",
				Status: domain.DonationSucceeded, Created: time.Date(2026, 8, 1+i%28, 12, 0, 0, 0, time.UTC).Unix(), UpdatedAt: 1}
			if amount < 0 {
				g.AmountRefunded = -amount
			}
			if _, err := tx.InsertDonation(ctx, g); err != nil {
				return err
			}
			if amount < 0 {
				if err := tx.InsertRefund(ctx, domain.Refund{ID: fmt.Sprintf("re_%d", i), DonationID: g.ID, Amount: -amount, Currency: "gbp",
					Created: g.Created + 3600, Kind: domain.RefundKindRefund}); err != nil {
					return err
				}
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

// TestAdmission: while a period's run that sends is unfinished, starting
// another is refused with the run that holds the period — the same request
// as "working it", anything else as "cannot start"; a dry run is not held
// back; once the run has finished the period can be run again.
func TestAdmission(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		a := newApp(t, dbURL, nil)
		ids := seed(t, a.Store, 1000, 2000, 3000)
		first, err := a.Runs.Start(ctx, quarter)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			req  runs.Request
			same bool
			want string
		}{
			{"the same run again", quarter, true, "is in progress, started "},
			{"forced", with(quarter, func(r *runs.Request) { r.Force = true }), false, "starts only once that run has finished"},
			{"one donor", with(quarter, func(r *runs.Request) { r.Scope, r.Donor = domain.RunScopeDonor, ids[0] }), false, "starts only once"},
			{"only the failed", with(quarter, func(r *runs.Request) { r.Scope = domain.RunScopeFailed }), false, "starts only once"},
		}
		for _, tt := range tests {
			_, err := a.Runs.Start(ctx, tt.req)
			var busy *runs.InProgressError
			if !errors.As(err, &busy) || busy.Run.ID != first.ID || busy.Same != tt.same || domain.ErrorCode(err) != domain.ECONFLICT {
				t.Fatalf("%s: %v, want the run %s in progress (same %v)", tt.name, err, first.ID, tt.same)
			}
			want := fmt.Sprintf("run %s for 2026-Q3 is in progress, started ", first.ID)
			if msg := domain.ErrorMessage(err); !strings.HasPrefix(msg, want) || !strings.Contains(msg, ", 0 of 3 sent") || !strings.Contains(msg, tt.want) {
				t.Errorf("%s: message %q", tt.name, msg)
			}
		}
		dry, err := a.Runs.Start(ctx, with(quarter, func(r *runs.Request) { r.DryRun = true }))
		if err != nil || dry.ID == first.ID {
			t.Fatalf("a dry run is not held back: %+v %v", dry, err)
		}
		for _, id := range []string{first.ID, dry.ID} {
			if run, err := a.Runs.Finish(ctx, id, nil); err != nil || run.Status != domain.RunSucceeded {
				t.Fatalf("finish %s: %+v %v", id, run, err)
			}
		}
		if _, err := a.Runs.Start(ctx, quarter); err != nil {
			t.Fatalf("after the run finished: %v", err)
		}
		audit, err := a.Store.AuditLog(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		starts := 0
		for _, e := range audit {
			if e.Action == "run.start" {
				starts++
			}
		}
		if starts != 3 {
			t.Errorf("%d run.start audit entries, want 3 (refused starts record nothing)", starts)
		}
	})
}

func with(r runs.Request, f func(*runs.Request)) runs.Request {
	f(&r)
	return r
}

// TestAdmissionAcrossProcesses: 2 and 4 processes (each with its own
// database handle) start the same period at the same instant; the database
// admits one run, and every other caller is shown that one.
func TestAdmissionAcrossProcesses(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		apps := []*app.App{newApp(t, dbURL, nil)}
		seed(t, apps[0].Store, 1000, 2000)
		for range 3 {
			apps = append(apps, newApp(t, dbURL, nil))
		}
		for _, n := range []int{2, 4} {
			ctx := context.Background()
			var wg sync.WaitGroup
			started := make([]*domain.Run, n)
			holders := make([]string, n)
			errs := make([]error, n)
			begin := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-begin
					run, err := apps[i].Runs.Start(ctx, quarter)
					var busy *runs.InProgressError
					switch {
					case errors.As(err, &busy):
						holders[i] = busy.Run.ID
					case err != nil:
						errs[i] = err
					default:
						started[i], holders[i] = run, run.ID
					}
				}()
			}
			close(begin)
			wg.Wait()
			var ids []string
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("%d at once: %v", n, errs[i])
				}
				if started[i] != nil {
					ids = append(ids, started[i].ID)
				}
			}
			if len(ids) != 1 {
				t.Fatalf("%d at once started %d runs", n, len(ids))
			}
			for i := range n {
				if holders[i] != ids[0] {
					t.Errorf("%d at once: caller %d was shown %q, want %s", n, i, holders[i], ids[0])
				}
			}
			if _, err := apps[0].Runs.Finish(ctx, ids[0], nil); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestRequests: every adapter's input is checked here, with one wording.
func TestRequests(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		a := newApp(t, dbURL, nil)
		ids := seed(t, a.Store, 1000, -1000)
		if err := a.Store.CreateDonor(ctx, &domain.Donor{Name: "Twin", Email: "donor-0@example.org", Status: domain.DonorActive}); err != nil {
			t.Fatal(err)
		}
		sent, err := a.Runs.Run(ctx, with(quarter, func(r *runs.Request) { r.Scope, r.Donor = domain.RunScopeDonor, ids[0] }))
		if err != nil || sent.Sent != 1 {
			t.Fatalf("one donor: %+v %v", sent, err)
		}
		sts, err := a.Store.StatementsForRun(ctx, sent.ID)
		if err != nil || len(sts) != 1 {
			t.Fatal(sts, err)
		}
		tests := []struct {
			name string
			req  runs.Request
			code string
			want string
		}{
			{"no reason", with(quarter, func(r *runs.Request) { r.Reason = " " }), domain.EINVALID, "a reason is required"},
			{"no period", with(quarter, func(r *runs.Request) { r.Period = "" }), domain.EINVALID, "a period is required, e.g. 2026-Q3"},
			{"bad period", with(quarter, func(r *runs.Request) { r.Period = "2026-Q7" }), domain.EINVALID, "want e.g. 2026-Q3"},
			{"unknown scope", with(quarter, func(r *runs.Request) { r.Scope = "everyone" }), domain.EINVALID, `unknown run scope "everyone"`},
			{"no published update", with(quarter, func(r *runs.Request) { r.Period = "2026-Q1" }), domain.EINVALID, "no published impact update for 2026-Q1"},
			{"unknown donor id", with(quarter, func(r *runs.Request) { r.Scope, r.Donor = domain.RunScopeDonor, "dnr_nobody" }), domain.ENOTFOUND, `no donor has the id "dnr_nobody"`},
			{"unknown donor email", with(quarter, func(r *runs.Request) { r.Scope, r.Donor = domain.RunScopeDonor, "nobody@example.org" }), domain.ENOTFOUND, "no donor's name or email address matches that"},
			{"two donors share the email", with(quarter, func(r *runs.Request) { r.Scope, r.Donor = domain.RunScopeDonor, "Donor-0@Example.org" }), domain.EINVALID, "several donors have that email address"},
			{"resend without force", runs.Request{Scope: domain.RunScopeStatement, StatementID: sts[0].ID, Reason: "lost it"}, domain.ECONFLICT, "was delivered on"},
		}
		for _, tt := range tests {
			_, err := a.Runs.Start(ctx, tt.req)
			if domain.ErrorCode(err) != tt.code || !strings.Contains(domain.ErrorMessage(err), tt.want) {
				t.Errorf("%s: %v, want %s mentioning %q", tt.name, err, tt.code, tt.want)
			}
		}
		var force *runs.NeedsForceError
		if _, err := a.Runs.Start(ctx, tests[len(tests)-1].req); !errors.As(err, &force) || force.StatementID != sts[0].ID {
			t.Errorf("resend without force: %v, want a NeedsForceError", err)
		}
		// By email, normalised: the donor's own letter, unchanged, is not sent again.
		again, err := a.Runs.Run(ctx, with(quarter, func(r *runs.Request) { r.Scope, r.Donor = domain.RunScopeDonor, " DONOR-1@example.org " }))
		if err != nil || again.DonorID != ids[1] {
			t.Fatalf("by email: %+v %v", again, err)
		}
	})
}

// TestNeverThankedForNothing: a donor whose net for the period is zero or
// less gets no letter, whatever the run — forced, one donor, or a resend of
// a stored statement that says so.
func TestNeverThankedForNothing(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		a := newApp(t, dbURL, nil)
		ids := seed(t, a.Store, 2500, -1000)
		for _, req := range []runs.Request{
			quarter,
			with(quarter, func(r *runs.Request) { r.Force = true }),
			with(quarter, func(r *runs.Request) { r.Scope, r.Donor, r.Force = domain.RunScopeDonor, ids[1], true }),
		} {
			run, err := a.Runs.Run(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(run.Exceptions, `"net_not_positive":1`) {
				t.Errorf("%s %s force %v: exceptions %s", run.Scope, run.DonorID, run.Force, run.Exceptions)
			}
			sts, _ := a.Store.StatementsForRun(ctx, run.ID)
			for _, st := range sts {
				if st.DonorID == ids[1] {
					t.Errorf("a statement was made for the refunded donor: %+v", st)
				}
			}
		}
	})
}

func TestExclusion(t *testing.T) {
	const email = "a@example.org"
	active := func(letters, consent string) domain.Donor {
		return domain.Donor{Status: domain.DonorActive, Email: email, Letters: letters, MarketingConsent: consent}
	}
	tests := []struct {
		name           string
		donor          domain.Donor
		bounced        bool
		series         domain.Series
		requireConsent bool
		want           string
	}{
		{"active", active(domain.LettersAll, ""), false, domain.SeriesImpact, false, ""},
		{"active, annual", active(domain.LettersAll, ""), false, domain.SeriesAnnual, false, ""},
		{"no series is impact", active(domain.LettersAnnual, ""), false, "", false, domain.SkipUnsubscribed},
		{"erased", domain.Donor{Status: domain.DonorErased}, false, domain.SeriesImpact, false, domain.SkipErased},
		{"merged", domain.Donor{Status: domain.DonorActive, Email: email, MergedInto: "dnr_x"}, false, domain.SeriesImpact, false, domain.SkipMerged},
		{"unsubscribed before series", domain.Donor{Status: domain.DonorUnsubscribed, Email: email}, false, domain.SeriesAnnual, false, domain.SkipUnsubscribed},
		{"annual only: impact", active(domain.LettersAnnual, ""), false, domain.SeriesImpact, false, domain.SkipUnsubscribed},
		{"annual only: annual", active(domain.LettersAnnual, ""), false, domain.SeriesAnnual, false, ""},
		{"nothing: impact", active(domain.LettersNone, ""), false, domain.SeriesImpact, false, domain.SkipUnsubscribed},
		{"nothing: annual", active(domain.LettersNone, ""), false, domain.SeriesAnnual, false, domain.SkipUnsubscribed},
		{"consent needed, none recorded", active(domain.LettersAll, ""), false, domain.SeriesImpact, true, domain.SkipNoConsent},
		{"consent needed, refused", active(domain.LettersAll, domain.ConsentNo), false, domain.SeriesImpact, true, domain.SkipNoConsent},
		{"consent needed, given", active(domain.LettersAll, domain.ConsentYes), false, domain.SeriesImpact, true, ""},
		{"consent refused: annual still goes", active(domain.LettersAll, domain.ConsentNo), false, domain.SeriesAnnual, true, ""},
		{"consent not read: refusal ignored", active(domain.LettersAll, domain.ConsentNo), false, domain.SeriesImpact, false, ""},
		{"no email", domain.Donor{Status: domain.DonorActive, Letters: domain.LettersAll}, false, domain.SeriesImpact, false, domain.SkipNoEmail},
		{"bounced", active(domain.LettersAll, ""), true, domain.SeriesAnnual, false, domain.SkipBounced},
	}
	for _, tt := range tests {
		if got := runs.Exclusion(&tt.donor, tt.bounced, tt.series, tt.requireConsent); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestClearBounce: clearing is audited with who and why, names the donors
// and not the address, and the next run writes to the address again.
func TestClearBounce(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		a := newApp(t, dbURL, nil)
		ids := seed(t, a.Store, 1000)
		if err := a.Store.AddBounce(ctx, domain.Bounce{Email: "donor-0@example.org", Detail: "550 5.1.1 no such user", CreatedAt: 1}); err != nil {
			t.Fatal(err)
		}
		run, err := a.Runs.Run(ctx, quarter)
		if err != nil || run.Sent != 0 || run.Exceptions != `{"bounced":1}` {
			t.Fatalf("bounced: %+v %v", run, err)
		}
		if bs, err := a.Runs.Bounces(ctx, 10); err != nil || len(bs) != 1 || bs[0].Email != "donor-0@example.org" {
			t.Fatalf("bounces: %+v %v", bs, err)
		}
		if err := a.Runs.ClearBounce(ctx, "donor-0@example.org", "ops", ""); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("without a reason: %v", err)
		}
		if err := a.Runs.ClearBounce(ctx, "nobody@example.org", "ops", "x"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("an address that did not bounce: %v", err)
		}
		if err := a.Runs.ClearBounce(ctx, " Donor-0@Example.org", "ops", "mailbox fixed"); err != nil {
			t.Fatal(err)
		}
		audit, err := a.Store.AuditLog(ctx, 1)
		if err != nil || len(audit) != 1 || audit[0].Action != "bounce.clear" || audit[0].Actor != "ops" || audit[0].Reason != "mailbox fixed" ||
			audit[0].Subject != ids[0] || strings.Contains(audit[0].Detail+audit[0].Subject, "@") {
			t.Fatalf("audit: %+v %v", audit, err)
		}
		again, err := a.Runs.Run(ctx, quarter)
		if err != nil || again.Sent != 1 {
			t.Fatalf("after clearing: %+v %v", again, err)
		}
	})
}

// TestScheduleTickWhileUnfinished: a tick that finds the period's run
// unfinished starts nothing and is recorded, so it does not fire again.
func TestScheduleTickWhileUnfinished(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		a := newApp(t, dbURL, nil)
		seed(t, a.Store, 1000)
		tick := func(at int64) (*domain.Run, bool, error) {
			return a.Runs.StartTick(ctx, runs.Request{Period: "2026-Q3", Reason: "scheduled", Trigger: "schedule", Actor: "schedule", TickAt: at})
		}
		first, started, err := tick(1_000)
		if err != nil || !started {
			t.Fatalf("first tick: %v %v", started, err)
		}
		again, started, err := tick(2_000)
		if err != nil || started || again == nil || again.ID != first.ID {
			t.Fatalf("second tick: %+v %v %v, want the first run, not started", again, started, err)
		}
		if last, err := a.Store.LastTick(ctx, domain.SeriesImpact); err != nil || last != 2_000 {
			t.Fatalf("last tick %d %v", last, err)
		}
		if _, started, err := tick(2_000); err != nil || started {
			t.Fatalf("the same tick again: %v %v", started, err)
		}
	})
}
