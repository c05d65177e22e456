package schedule_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/period"
	"impactd/internal/schedule"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

var london = mustLoc("Europe/London")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func TestParse(t *testing.T) {
	tests := []struct {
		spec    string
		after   time.Time
		want    time.Time
		wantErr string
	}{
		{spec: schedule.Default, after: time.Date(2026, 9, 15, 0, 0, 0, 0, london), want: time.Date(2026, 10, 1, 9, 0, 0, 0, london)},
		{spec: schedule.Default, after: time.Date(2026, 10, 1, 9, 0, 0, 0, london), want: time.Date(2027, 1, 1, 9, 0, 0, 0, london)},
		{spec: "CRON_TZ=America/New_York 0 9 1 * *", after: time.Date(2026, 9, 15, 0, 0, 0, 0, time.UTC),
			want: time.Date(2026, 10, 1, 9, 0, 0, 0, mustLoc("America/New_York"))},
		{spec: "@monthly", after: time.Date(2026, 9, 15, 0, 0, 0, 0, london), want: time.Date(2026, 10, 1, 0, 0, 0, 0, london)},
		{spec: "0 25 * * *", wantErr: "above maximum"},
		{spec: "every quarter", wantErr: "expected exactly 5 fields"},
		{spec: "CRON_TZ=Mars/Olympus 0 9 * * *", wantErr: "bad location"},
		{spec: "CRON_TZ=Europe/London", wantErr: "must be followed by an expression"},
		{spec: "@every 1h", wantErr: "@every"},
		{spec: "", wantErr: "expected exactly 5 fields"},
	}
	for _, tt := range tests {
		s, err := schedule.Parse(tt.spec, london)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: err = %v, want %q", tt.spec, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.spec, err)
			continue
		}
		if got := s.Next(tt.after); !got.Equal(tt.want) {
			t.Errorf("%q: next after %v = %v, want %v", tt.spec, tt.after, got, tt.want)
		}
	}
}

func TestDSTWarning(t *testing.T) {
	tests := []struct {
		spec string
		loc  *time.Location
		warn bool
	}{
		{schedule.Default, london, false},
		{"30 1 * * *", london, true},
		{"0 2 1 * *", mustLoc("America/New_York"), true},
		{"0 2 1 * *", time.UTC, false},
		{"0 3 1 * *", london, false},
	}
	for _, tt := range tests {
		s, err := schedule.Parse(tt.spec, tt.loc)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.DSTWarning() != ""; got != tt.warn {
			t.Errorf("%q in %s: warning %v, want %v", tt.spec, tt.loc, got, tt.warn)
		}
	}
}

// bundle is a scheduler on a real database whose Start records the tick
// the way the runner does (schedule_ticks, first writer wins) and remembers
// the periods it started.
type bundle struct {
	store   *store.Store
	mu      sync.Mutex
	started []string
}

func (b *bundle) scheduler(t *testing.T, spec string, kind period.Kind, now time.Time) *schedule.Scheduler {
	t.Helper()
	s, err := schedule.Parse(spec, london)
	if err != nil {
		t.Fatal(err)
	}
	return &schedule.Scheduler{
		Schedule: s, Kind: kind, Location: london, CatchUp: 72 * time.Hour, Clock: domain.FixedClock(now),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), LastTick: b.store.LastTick,
		Start: func(ctx context.Context, series domain.Series, at time.Time, p period.Period) (string, bool, error) {
			ok, err := b.store.RecordTick(ctx, series, at.Unix(), p.String(), "", at.Unix())
			if ok {
				b.mu.Lock()
				b.started = append(b.started, p.String()+"@"+at.In(london).Format("2006-01-02T15:04"))
				b.mu.Unlock()
			}
			return "", ok, err
		},
	}
}

func TestTickRunsThePreviousCompletePeriod(t *testing.T) {
	tests := []struct {
		kind period.Kind
		at   time.Time
		want string
	}{
		{period.Quarter, time.Date(2026, 10, 1, 9, 0, 0, 0, london), "2026-Q3"},
		{period.Quarter, time.Date(2026, 1, 1, 9, 0, 0, 0, london), "2025-Q4"},
		{period.Month, time.Date(2026, 3, 1, 0, 0, 0, 0, london), "2026-02"},
		{period.Year, time.Date(2027, 1, 2, 9, 0, 0, 0, london), "2026"},
		{period.TaxYear, time.Date(2027, 4, 6, 9, 0, 0, 0, london), "2026/27"},
		{period.TaxYear, time.Date(2027, 4, 5, 9, 0, 0, 0, london), "2025/26"},
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		for _, tt := range tests {
			b := &bundle{store: st}
			if err := b.scheduler(t, schedule.Default, tt.kind, tt.at).Tick(context.Background(), tt.at); err != nil {
				t.Fatal(err)
			}
			if len(b.started) != 1 || !strings.HasPrefix(b.started[0], tt.want+"@") {
				t.Errorf("%s tick at %v: started %v, want %s", tt.kind, tt.at, b.started, tt.want)
			}
		}
	})
}

func TestMissedTickIsCaughtUpOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b := &bundle{store: st}
		// The July tick ran; impactd was then down over 1 October 09:00.
		july := time.Date(2026, 7, 1, 9, 0, 0, 0, london)
		if err := b.scheduler(t, schedule.Default, period.Quarter, july).Tick(ctx, july); err != nil {
			t.Fatal(err)
		}
		back := time.Date(2026, 10, 2, 14, 0, 0, 0, london)
		// Two replicas start at once: the tick is run once.
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := b.scheduler(t, schedule.Default, period.Quarter, back).CatchUpMissed(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		want := []string{"2026-Q2@2026-07-01T09:00", "2026-Q3@2026-10-01T09:00"}
		if strings.Join(b.started, " ") != strings.Join(want, " ") {
			t.Fatalf("started %v, want %v", b.started, want)
		}
		// A restart later the same day finds the tick recorded: nothing runs.
		if got, err := b.scheduler(t, schedule.Default, period.Quarter, back.Add(3*time.Hour)).CatchUpMissed(ctx); err != nil || !got.IsZero() {
			t.Fatalf("second catch-up: %v %v", got, err)
		}
		// A tick older than the window is left to staff.
		late := &bundle{store: storetest.SQLite(t)}
		got, err := late.scheduler(t, schedule.Default, period.Quarter, time.Date(2026, 10, 9, 9, 0, 0, 0, london)).CatchUpMissed(ctx)
		if err != nil || !got.IsZero() || len(late.started) != 0 {
			t.Fatalf("tick outside the window: %v %v %v", got, err, late.started)
		}
	})
}

func (b *bundle) seriesScheduler(t *testing.T, series domain.Series, spec string, kind period.Kind, now time.Time) *schedule.Scheduler {
	s := b.scheduler(t, spec, kind, now)
	s.Series = series
	start := s.Start
	s.Start = func(ctx context.Context, series domain.Series, at time.Time, p period.Period) (string, bool, error) {
		id, ok, err := start(ctx, series, at, p)
		if ok {
			b.mu.Lock()
			b.started[len(b.started)-1] = string(series) + ":" + b.started[len(b.started)-1]
			b.mu.Unlock()
		}
		return id, ok, err
	}
	return s
}

// TestSeriesSchedules: each series' schedule fires once across replicas,
// records its ticks apart (two series ticking at the same instant each
// start their run) and catches up only its own missed tick.
func TestSeriesSchedules(t *testing.T) {
	if schedule.DefaultAnnual(domain.CountryGB) != "0 9 20 4 *" || schedule.DefaultAnnual(domain.CountryUS) != "0 9 20 1 *" {
		t.Fatalf("default annual schedules %q, %q", schedule.DefaultAnnual(domain.CountryGB), schedule.DefaultAnnual(domain.CountryUS))
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b := &bundle{store: st}
		// The annual statement's default tick in GB: 20 April 2026, 09:00
		// BST, runs the tax year that ended on 5 April.
		annualTick := time.Date(2026, 4, 20, 9, 0, 0, 0, london)
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := b.seriesScheduler(t, domain.SeriesAnnual, schedule.DefaultAnnualGB, period.TaxYear, annualTick).Tick(ctx, annualTick); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		// An impact schedule set to the same instant gets its own tick.
		if err := b.seriesScheduler(t, domain.SeriesImpact, schedule.DefaultAnnualGB, period.Quarter, annualTick).Tick(ctx, annualTick); err != nil {
			t.Fatal(err)
		}
		want := []string{"annual:2025/26@2026-04-20T09:00", "impact:2026-Q1@2026-04-20T09:00"}
		if strings.Join(b.started, " ") != strings.Join(want, " ") {
			t.Fatalf("started %v, want %v", b.started, want)
		}
		for series, want := range map[domain.Series]int64{domain.SeriesAnnual: annualTick.Unix(), domain.SeriesImpact: annualTick.Unix()} {
			if got, err := st.LastTick(ctx, series); err != nil || got != want {
				t.Errorf("last %s tick %d %v, want %d", series, got, err, want)
			}
		}

		// impactd was down over 1 July 09:00 (impact) and is back on 2
		// July: the impact tick is caught up; the annual schedule, whose
		// last tick was in April, has nothing missed in the window.
		b.started = nil
		back := time.Date(2026, 7, 2, 14, 0, 0, 0, london)
		if got, err := b.seriesScheduler(t, domain.SeriesAnnual, schedule.DefaultAnnualGB, period.TaxYear, back).CatchUpMissed(ctx); err != nil || !got.IsZero() {
			t.Fatalf("annual catch-up: %v %v", got, err)
		}
		if _, err := b.seriesScheduler(t, domain.SeriesImpact, schedule.Default, period.Quarter, back).CatchUpMissed(ctx); err != nil {
			t.Fatal(err)
		}
		if want := []string{"impact:2026-Q2@2026-07-01T09:00"}; strings.Join(b.started, " ") != strings.Join(want, " ") {
			t.Fatalf("after catch-up started %v, want %v", b.started, want)
		}
	})
}
