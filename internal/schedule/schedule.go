// Package schedule starts statement runs on a cron schedule
// (github.com/robfig/cron/v3). cron keeps its entries only in memory, so the
// ticks that created runs are recorded in the database: that record makes a
// tick fire once however many replicas see it, and lets a tick missed while
// impactd was down be run at start-up, once.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"impactd/internal/domain"
	"impactd/internal/period"
)

// Default is the impact letter's schedule: 09:00 on the first day of each
// quarter, in the organisation's time zone.
const Default = "0 9 1 1,4,7,10 *"

// The annual statement's default schedules: 09:00 on 20 April, a fortnight
// after the UK tax year ends on 5 April (late gifts and refunds have
// settled), and on 20 January after the US calendar year.
const (
	DefaultAnnualGB = "0 9 20 4 *"
	DefaultAnnualUS = "0 9 20 1 *"
)

// DefaultAnnual returns the annual statement's default schedule for an
// organisation's country: the UK's after the tax year, the calendar year's
// everywhere else.
func DefaultAnnual(country string) string {
	if country == domain.CountryGB {
		return DefaultAnnualGB
	}
	return DefaultAnnualUS
}

// parser reads standard five-field expressions and descriptors (@monthly).
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule is a parsed IMPACTD_SCHEDULE.
type Schedule struct {
	Spec     string
	Location *time.Location // where the expression's hours are read
	sched    *cron.SpecSchedule
}

// Parse reads a cron expression. It is read in loc unless it starts with
// CRON_TZ=Zone (or TZ=Zone). "@every" intervals are refused: a statement
// schedule is a calendar, and a missed tick can only be found on one.
func Parse(spec string, loc *time.Location) (*Schedule, error) {
	spec = strings.TrimSpace(spec)
	full := spec
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		if !strings.Contains(spec, " ") {
			return nil, fmt.Errorf("%q: a time zone prefix must be followed by an expression, e.g. CRON_TZ=Europe/London 0 9 1 1,4,7,10 *", spec)
		}
	} else {
		full = "CRON_TZ=" + loc.String() + " " + spec
	}
	if strings.Contains(spec, "@every") {
		return nil, fmt.Errorf("%q: @every intervals are not supported; give calendar times, e.g. %s", spec, Default)
	}
	s, err := parser.Parse(full)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", spec, err)
	}
	ss, ok := s.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("%q: not a calendar schedule", spec)
	}
	return &Schedule{Spec: spec, Location: ss.Location, sched: ss}, nil
}

// Next returns the first tick after t.
func (s *Schedule) Next(t time.Time) time.Time { return s.sched.Next(t) }

// Latest returns the last tick in (after, upTo], or the zero time.
func (s *Schedule) Latest(after, upTo time.Time) time.Time {
	var last time.Time
	for t := s.sched.Next(after); !t.IsZero() && !t.After(upTo); t = s.sched.Next(t) {
		last = t
	}
	return last
}

// DSTWarning returns a warning when the schedule has ticks between 01:00
// and 02:59 local time in a zone with daylight saving: a spring-forward
// jump skips that hour, and cron then fires late or not at all that day.
// It returns "" otherwise.
func (s *Schedule) DSTWarning() string {
	if s.sched.Hour&(1<<1|1<<2) == 0 {
		return ""
	}
	y := time.Now().Year()
	_, jan := time.Date(y, 1, 1, 12, 0, 0, 0, s.Location).Zone()
	_, jul := time.Date(y, 7, 1, 12, 0, 0, 0, s.Location).Zone()
	if jan == jul {
		return ""
	}
	return fmt.Sprintf("IMPACTD_SCHEDULE %q fires between 01:00 and 03:00 in %s, where a daylight-saving change can skip or repeat that hour; choose another hour",
		s.Spec, s.Location)
}

// StartFunc starts the run of a series' tick for a period and reports
// whether it did; false means another replica already recorded the tick.
type StartFunc func(ctx context.Context, series domain.Series, tickAt time.Time, p period.Period) (runID string, started bool, err error)

// LastTickFunc returns the newest recorded tick of a series (unix seconds), or 0.
type LastTickFunc func(ctx context.Context, series domain.Series) (int64, error)

// Scheduler turns the ticks of one series' schedule into runs of that
// series; serve runs one per series whose schedule is on.
type Scheduler struct {
	Series   domain.Series
	Schedule *Schedule
	Kind     period.Kind    // the period each tick runs: the previous complete one
	Location *time.Location // the organisation's time zone, for period bounds
	CatchUp  time.Duration  // how old a missed tick may be and still run
	Clock    domain.Clock
	Log      *slog.Logger
	Start    StartFunc
	LastTick LastTickFunc
}

// Tick starts the run of the tick at `at`: the previous complete period.
func (s *Scheduler) Tick(ctx context.Context, at time.Time) error {
	p := period.LastComplete(at, s.Kind, s.Location)
	id, started, err := s.Start(ctx, s.Series.OrDefault(), at, p)
	if err != nil {
		return fmt.Errorf("%s schedule tick %s: %w", s.Series.OrDefault(), at.Format(time.RFC3339), err)
	}
	if started {
		s.Log.Info("scheduled run started", "series", s.Series.OrDefault(), "run_id", id, "period", p.String(), "tick", at.Format(time.RFC3339))
	} else {
		s.Log.Info("scheduled tick already taken by another replica", "series", s.Series.OrDefault(), "period", p.String(), "tick", at.Format(time.RFC3339))
	}
	return nil
}

// CatchUpMissed runs the newest tick that should have fired since the last
// recorded one while impactd was down, if it is within the catch-up window.
// Older missed ticks are not run: they ask for older periods, which staff
// can rerun by hand. It returns the tick run, or the zero time.
func (s *Scheduler) CatchUpMissed(ctx context.Context) (time.Time, error) {
	if s.CatchUp <= 0 {
		return time.Time{}, nil
	}
	now := s.Clock.Now()
	last, err := s.LastTick(ctx, s.Series.OrDefault())
	if err != nil {
		return time.Time{}, fmt.Errorf("schedule catch-up: %w", err)
	}
	after := now.Add(-s.CatchUp)
	if lt := time.Unix(last, 0); last != 0 && lt.After(after) {
		after = lt
	}
	missed := s.Schedule.Latest(after, now)
	if missed.IsZero() {
		return time.Time{}, nil
	}
	s.Log.Warn("running a missed schedule tick", "series", s.Series.OrDefault(), "tick", missed.Format(time.RFC3339))
	return missed, s.Tick(ctx, missed)
}

// Run catches up a missed tick, then fires every tick until ctx is done.
// Each tick runs under cron.Recover, so a panic is logged and does not stop
// the schedule.
func (s *Scheduler) Run(ctx context.Context) error {
	if w := s.Schedule.DSTWarning(); w != "" {
		s.Log.Warn(w)
	}
	logger := cronLogger{s.Log}
	c := cron.New(cron.WithLocation(s.Schedule.Location), cron.WithLogger(logger), cron.WithChain(cron.Recover(logger)))
	c.Schedule(s.Schedule.sched, cron.FuncJob(func() {
		// The tick is the scheduled instant, not the moment cron woke up, so
		// every replica names the same tick.
		now := s.Clock.Now()
		at := s.Schedule.Latest(now.Add(-24*time.Hour), now.Add(time.Second))
		if at.IsZero() {
			at = now.Truncate(time.Minute)
		}
		if err := s.Tick(ctx, at); err != nil && !errors.Is(err, context.Canceled) {
			s.Log.Error("scheduled run not started", "err", err)
		}
	}))
	if _, err := s.CatchUpMissed(ctx); err != nil {
		s.Log.Error("missed tick not run", "err", err)
	}
	c.Start()
	s.Log.Info("schedule started", "series", s.Series.OrDefault(), "schedule", s.Schedule.Spec, "next", s.Schedule.Next(s.Clock.Now()).Format(time.RFC3339))
	<-ctx.Done()
	<-c.Stop().Done()
	return nil
}

// cronLogger adapts slog to cron's logger.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}
