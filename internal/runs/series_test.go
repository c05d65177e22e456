package runs_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"impactd/internal/app"
	"impactd/internal/domain"
	"impactd/internal/impact"
	"impactd/internal/runs"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

// publish publishes an organisation-wide impact update for a period.
func publish(t *testing.T, s *store.Store, p string) {
	t.Helper()
	ctx := context.Background()
	one := int64(7)
	u, _, err := impact.Import(ctx, s, &domain.ImpactUpdate{Period: p, Title: "Impact", Narrative: "Together.", Source: "Test", AsOf: "2027-04-10",
		Metrics: []domain.Metric{{Key: "safe", Label: "Children brought to safety", Period: &one}}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := impact.Publish(ctx, s, u.ID, "tester", time.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestAdmissionPerSeries: four processes (each its own database handle)
// start the impact letter and the annual statement of the same period at
// the same instant, twice each: the database admits one run per series and
// period, shows every other caller that series' run, and one series' run
// never holds the other back.
func TestAdmissionPerSeries(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		apps := []*app.App{newApp(t, dbURL, nil)}
		seed(t, apps[0].Store, 1000, 2000) // gifts in August 2026: the tax year 2026/27
		publish(t, apps[0].Store, "2026/27")
		for range 3 {
			apps = append(apps, newApp(t, dbURL, nil))
		}
		series := []domain.Series{domain.SeriesImpact, domain.SeriesAnnual}
		type result struct {
			started *domain.Run
			holder  string
			err     error
		}
		results := make([][]result, len(series))
		for s := range series {
			results[s] = make([]result, 2*len(apps))
		}
		begin := make(chan struct{})
		var wg sync.WaitGroup
		for s, sr := range series {
			for i := range 2 * len(apps) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-begin
					run, err := apps[i%len(apps)].Runs.Start(ctx, runs.Request{Series: string(sr), Period: "2026/27", Reason: "year end", Trigger: "test"})
					var busy *runs.InProgressError
					switch {
					case errors.As(err, &busy):
						results[s][i].holder = busy.Run.ID
					case err != nil:
						results[s][i].err = err
					default:
						results[s][i] = result{started: run, holder: run.ID}
					}
				}()
			}
		}
		close(begin)
		wg.Wait()
		admitted := map[domain.Series]string{}
		for s, sr := range series {
			for i, r := range results[s] {
				if r.err != nil {
					t.Fatalf("%s caller %d: %v", sr, i, r.err)
				}
				if r.started != nil {
					if admitted[sr] != "" {
						t.Fatalf("%s: two runs admitted, %s and %s", sr, admitted[sr], r.started.ID)
					}
					if r.started.Series != sr {
						t.Fatalf("%s: the run started is of series %q", sr, r.started.Series)
					}
					admitted[sr] = r.started.ID
				}
			}
			if admitted[sr] == "" {
				t.Fatalf("%s: no run admitted", sr)
			}
			for i, r := range results[s] {
				if r.holder != admitted[sr] {
					t.Errorf("%s caller %d was shown %q, want %s", sr, i, r.holder, admitted[sr])
				}
			}
		}
		for _, sr := range series {
			run, err := apps[0].Store.Run(ctx, admitted[sr])
			if err != nil || run.Series != sr || run.Period != "2026/27" {
				t.Fatalf("stored %s run: %+v %v", sr, run, err)
			}
			holder, err := apps[0].Store.UnfinishedRun(ctx, store.AdmissionKey{Series: sr, Period: "2026/27"})
			if err != nil || holder.ID != admitted[sr] {
				t.Fatalf("the %s run holding 2026/27: %+v %v", sr, holder, err)
			}
		}
		// The impact letter's run works to the end; the annual one is left
		// unfinished, and a new impact run of the period is admitted beside it.
		if run, err := apps[0].Runs.Finish(ctx, admitted[domain.SeriesImpact], nil); err != nil || run.Status != domain.RunSucceeded || run.Sent != 2 {
			t.Fatalf("finish the impact run: %+v %v", run, err)
		}
		again, err := apps[1].Runs.Start(ctx, runs.Request{Period: "2026/27", Reason: "again", Trigger: "test", Force: true})
		if err != nil || again.Series != domain.SeriesImpact {
			t.Fatalf("an impact run beside the unfinished annual one: %+v %v", again, err)
		}
		_, err = apps[2].Runs.Start(ctx, runs.Request{Series: "annual", Period: "2026/27", Reason: "again", Trigger: "test"})
		var busy *runs.InProgressError
		if !errors.As(err, &busy) || busy.Run.ID != admitted[domain.SeriesAnnual] {
			t.Fatalf("a second annual run: %v, want the first in progress", err)
		}
	})
}

// TestSeriesRequests: the series and its period kind are checked where runs
// start, with a message naming what is wrong; a run is audited with its
// series.
func TestSeriesRequests(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		a := newApp(t, dbURL, nil)
		seed(t, a.Store, 1000)
		tests := []struct {
			name string
			req  runs.Request
			want string
		}{
			{"unknown series", with(quarter, func(r *runs.Request) { r.Series = "monthly" }), `series "monthly": want impact or annual`},
			{"annual for a quarter", with(quarter, func(r *runs.Request) { r.Series = "annual" }),
				"period 2026-Q3 is a quarter, but the annual series runs by UK tax year: want e.g. "},
			{"annual for a calendar year in GB", with(quarter, func(r *runs.Request) { r.Series, r.Period = "annual", "2026" }),
				"period 2026 is a calendar year, but the annual series runs by UK tax year"},
		}
		for _, tt := range tests {
			_, err := a.Runs.Start(ctx, tt.req)
			if domain.ErrorCode(err) != domain.EINVALID || !strings.Contains(domain.ErrorMessage(err), tt.want) {
				t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
			}
		}
		// The annual statement needs no published impact update.
		run, err := a.Runs.Start(ctx, runs.Request{Series: " annual ", Period: "2026/27", Reason: "year end", Trigger: "test", DryRun: true})
		if err != nil || run.Series != domain.SeriesAnnual {
			t.Fatalf("annual run without an impact update: %+v %v", run, err)
		}
		log, err := a.Store.AuditLog(ctx, 5)
		if err != nil || len(log) == 0 || !strings.Contains(log[0].Detail, `"series":"annual"`) {
			t.Fatalf("audit of the annual run: %+v %v", log, err)
		}
		// In the US the annual statement is for the calendar year.
		us := newApp(t, storetest.SQLiteURL(t), map[string]string{"IMPACTD_ORG_COUNTRY": "US", "IMPACTD_TIMEZONE": "America/New_York"})
		if _, err := us.Runs.Start(ctx, runs.Request{Series: "annual", Period: "2025/26", Reason: "x", Trigger: "test"}); !strings.Contains(domain.ErrorMessage(err), "runs by calendar year") {
			t.Errorf("US annual run for a tax year: %v", err)
		}
		if _, err := us.Runs.Start(ctx, runs.Request{Series: "annual", Period: "2025", Reason: "x", Trigger: "test", DryRun: true}); err != nil {
			t.Errorf("US annual run for 2025: %v", err)
		}
	})
}

// TestAnnualPeriodBounds: the year a gift belongs to is decided in the
// organisation's time zone. In London a gift at 23:30 BST on 5 April 2026
// (22:30 UTC) is in the tax year 2025/26, one at 00:30 BST on 6 April (23:30
// UTC on the 5th) in 2026/27; in New York a gift at 23:30 EST on 31 December
// 2025 (04:30 UTC on 1 January) is in 2025. Each annual run considers the
// donors of its own year only.
func TestAnnualPeriodBounds(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	newYork, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		name    string
		env     map[string]string
		gifts   map[string]time.Time
		periods map[string][]string // period → the donors its annual run plans
	}{
		{"GB tax year", map[string]string{"IMPACTD_TIMEZONE": "Europe/London"},
			map[string]time.Time{
				"late": time.Date(2026, 4, 5, 23, 30, 0, 0, london),
				"next": time.Date(2026, 4, 6, 0, 30, 0, 0, london),
			},
			map[string][]string{"2025/26": {"late"}, "2026/27": {"next"}}},
		{"US calendar year", map[string]string{"IMPACTD_TIMEZONE": "America/New_York", "IMPACTD_ORG_COUNTRY": "US"},
			map[string]time.Time{
				"late": time.Date(2025, 12, 31, 23, 30, 0, 0, newYork),
				"next": time.Date(2026, 1, 1, 0, 30, 0, 0, newYork),
			},
			map[string][]string{"2025": {"late"}, "2026": {"next"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.EachURL(t, func(t *testing.T, dbURL string) {
				ctx := context.Background()
				a := newApp(t, dbURL, tt.env)
				names := map[string]string{}
				for name, at := range tt.gifts {
					d := &domain.Donor{Name: name, Email: name + "@example.org", CreatedAt: 1, UpdatedAt: 1}
					if err := a.Store.CreateDonor(ctx, d); err != nil {
						t.Fatal(err)
					}
					names[d.ID] = name
					if _, err := a.Store.InsertDonation(ctx, &domain.Donation{DonorID: d.ID, ChargeID: "ch_" + name, Amount: 1000, Currency: "gbp",
						Status: domain.DonationSucceeded, Created: at.Unix(), UpdatedAt: 1}); err != nil {
						t.Fatal(err)
					}
				}
				for p, want := range tt.periods {
					run, err := a.Runs.Start(ctx, runs.Request{Series: "annual", Period: p, Reason: "year end", Trigger: "test", DryRun: true})
					if err != nil {
						t.Fatalf("%s: %v", p, err)
					}
					jobs, err := a.Store.RunJobs(ctx, run.ID, "", 10)
					if err != nil {
						t.Fatal(err)
					}
					var got []string
					for _, j := range jobs {
						got = append(got, names[j.DonorID])
					}
					sort.Strings(got)
					if strings.Join(got, " ") != strings.Join(want, " ") {
						t.Errorf("%s: the annual run plans %v, want %v", p, got, want)
					}
				}
			})
		})
	}
}

// TestMarketingConsentGatesImpact: with IMPACTD_MARKETING_CONSENT_METADATA
// set, the impact letter goes only to a donor whose consent is recorded as
// yes; the others are counted no_marketing_consent. The annual statement's
// run leaves nobody out for it (its letters are the builder's).
func TestMarketingConsentGatesImpact(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		a := newApp(t, dbURL, map[string]string{"IMPACTD_MARKETING_CONSENT_METADATA": "email_opt_in"})
		ids := seed(t, a.Store, 1000, 2000, 3000)
		if err := a.Store.SetMarketingConsent(ctx, ids[0], domain.ConsentYes, 2); err != nil {
			t.Fatal(err)
		}
		if err := a.Store.SetMarketingConsent(ctx, ids[1], domain.ConsentNo, 2); err != nil {
			t.Fatal(err)
		}
		run, err := a.Runs.Run(ctx, quarter)
		if err != nil || run.Sent != 1 || run.Exceptions != `{"no_marketing_consent":2}` {
			t.Fatalf("impact run: %+v %v", run, err)
		}
		if _, err := a.Store.LastSentStatement(ctx, ids[0], domain.SeriesImpact, "2026-Q3"); err != nil {
			t.Fatalf("the consenting donor's letter: %v", err)
		}
		// Without the setting, consent is not asked.
		b := newApp(t, dbURL, nil)
		again, err := b.Runs.Run(ctx, quarter)
		if err != nil || again.Sent != 2 {
			t.Fatalf("impact run without the setting: %+v %v", again, err)
		}
	})
}
