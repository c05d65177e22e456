package runs_test

import (
	"context"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/runs"
	"impactd/internal/store/storetest"
)

// TestWhyEmpty: a finished run that sent nothing (a dry run that made
// nothing) says why in words, with the cause adapters offer a next step for.
func TestWhyEmpty(t *testing.T) {
	finished := func(f func(r *domain.Run)) *domain.Run {
		r := &domain.Run{ID: "run_x", Period: "2026-Q3", Scope: domain.RunScopePeriod, Status: domain.RunSucceeded}
		if f != nil {
			f(r)
		}
		return r
	}
	skipped := func(by map[string]int) domain.RunCounts {
		c := domain.RunCounts{SkippedBy: by}
		for _, n := range by {
			c.Jobs += n
			c.Skipped += n
		}
		return c
	}
	tests := []struct {
		name   string
		run    *domain.Run
		counts domain.RunCounts
		empty  bool
		cause  string
		want   string
	}{
		{"sent some", finished(nil), domain.RunCounts{Jobs: 3, Sent: 1, Skipped: 2, SkippedBy: map[string]int{domain.SkipUnchanged: 2}}, false, "", ""},
		{"dry run that made some", finished(func(r *domain.Run) { r.DryRun = true }), domain.RunCounts{Jobs: 2, DryRendered: 2}, false, "", ""},
		{"still running", finished(func(r *domain.Run) { r.Status = domain.RunRunning }), skipped(map[string]int{domain.SkipUnchanged: 1}), false, "", ""},
		{"paused", finished(func(r *domain.Run) { r.Status = domain.RunPaused }), domain.RunCounts{Jobs: 4, Queued: 4}, false, "", ""},
		{"nobody gave", finished(nil), domain.RunCounts{}, true, runs.EmptyNoDonors,
			"nobody gave or was refunded in 2026-Q3 (July to September 2026), so the run had no one to write to"},
		{"no failures to rerun", finished(func(r *domain.Run) { r.Scope = domain.RunScopeFailed }), domain.RunCounts{}, true, runs.EmptyNoDonors,
			"no letter of 2026-Q3 (July to September 2026) had failed and stayed undelivered, so there was nothing to rerun"},
		{"everyone unchanged", finished(nil), skipped(map[string]int{domain.SkipUnchanged: 105}), true, domain.SkipUnchanged,
			"all 105 donors already have this letter, unchanged"},
		{"one donor, unchanged", finished(func(r *domain.Run) { r.Scope, r.DonorID = domain.RunScopeDonor, "dnr_a" }),
			skipped(map[string]int{domain.SkipUnchanged: 1}), true, domain.SkipUnchanged, "the donor already has this letter, unchanged"},
		{"a dry run of a sent period", finished(func(r *domain.Run) { r.DryRun = true }), skipped(map[string]int{domain.SkipUnchanged: 2}), true,
			domain.SkipUnchanged, "all 2 donors already have this letter, unchanged"},
		{"unreachable", finished(nil), skipped(map[string]int{domain.SkipUnsubscribed: 3, domain.SkipNoEmail: 1, domain.SkipBounced: 1}), true,
			domain.SkipUnsubscribed, "3 asked for no more letters; 1 has an email address that bounced and no postal address a letter can go to; 1 has no email address and no postal address a letter can go to"},
		{"refunded", finished(nil), skipped(map[string]int{domain.SkipNetNotPositive: 1}), true, domain.SkipNetNotPositive,
			"the donor was refunded in full, so a letter would thank them for nothing"},
		{"all failed", finished(func(r *domain.Run) { r.Status = domain.RunFailed }), domain.RunCounts{Jobs: 2, Failed: 2}, true, runs.EmptyFailed,
			"every letter failed (see why below)"},
		{"failed and left out", finished(func(r *domain.Run) { r.Status = domain.RunFailed }),
			domain.RunCounts{Jobs: 3, Failed: 1, Skipped: 2, SkippedBy: map[string]int{domain.SkipUnchanged: 2}}, true, runs.EmptyFailed,
			"1 letter failed (see why below); 2 already have this letter, unchanged"},
	}
	for _, tt := range tests {
		e, ok := runs.WhyEmpty(tt.run, tt.counts)
		if ok != tt.empty || e.Cause != tt.cause || e.Sentence != tt.want {
			t.Errorf("%s: %v %q %q, want %v %q %q", tt.name, ok, e.Cause, e.Sentence, tt.empty, tt.cause, tt.want)
		}
	}
	if got := runs.SkipLabel(domain.SkipUnchanged); got != "Already sent, unchanged" {
		t.Errorf("label: %q", got)
	}
	if got := runs.SkipLabel("some_new_reason"); got != "Some new reason" {
		t.Errorf("label of an unknown reason: %q", got)
	}
}

// TestSamples: a dry run's samples put a letter worth a look first — a
// correction, one with no postal address — and then the earliest.
func TestSamples(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		a := newApp(t, dbURL, nil)
		ids := seed(t, a.Store, 1000, 2000, 3000) // none has a postal address
		dry, err := a.Runs.Run(ctx, with(quarter, func(r *runs.Request) { r.DryRun = true }))
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.Runs.Samples(ctx, dry.ID, 2)
		if err != nil || len(got) != 2 || got[0].Why != "no postal address" || got[1].Why != "" || got[0].Snapshot == nil ||
			got[0].Statement.RunID != dry.ID || got[0].Job.ID == got[1].Job.ID {
			t.Fatalf("samples of the first dry run: %+v %v", got, err)
		}

		if _, err := a.Runs.Run(ctx, quarter); err != nil {
			t.Fatal(err)
		}
		// The first dry run's letters were made before any was sent: not repeats.
		if got, _ = a.Runs.Samples(ctx, dry.ID, 1); len(got) != 1 || got[0].SameAsSent != 0 {
			t.Errorf("a letter made before the send counts as a repeat: %+v", got)
		}
		forced, err := a.Runs.Run(ctx, with(quarter, func(r *runs.Request) { r.DryRun, r.Force = true, true }))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ = a.Runs.Samples(ctx, forced.ID, 1); len(got) != 1 || got[0].SameAsSent == 0 {
			t.Errorf("a forced dry run's letter is not said to be the one sent: %+v", got)
		}

		if _, err := a.Store.InsertDonation(ctx, &domain.Donation{DonorID: ids[1], ChargeID: "ch_late", Amount: 500, Currency: "gbp",
			Status: domain.DonationSucceeded, Created: time.Date(2026, 9, 20, 12, 0, 0, 0, time.UTC).Unix(), UpdatedAt: 1}); err != nil {
			t.Fatal(err)
		}
		again, err := a.Runs.Run(ctx, with(quarter, func(r *runs.Request) { r.DryRun = true }))
		if err != nil {
			t.Fatal(err)
		}
		got, err = a.Runs.Samples(ctx, again.ID, 3)
		if err != nil || len(got) != 1 || got[0].Why != "a correction" || got[0].Statement.DonorID != ids[1] || got[0].Statement.Replaces == "" {
			t.Fatalf("samples of a dry run after a change: %+v %v", got, err)
		}
	})
}
