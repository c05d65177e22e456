package app

import (
	"context"
	"fmt"
	"time"

	"impactd/internal/console"
	"impactd/internal/domain"
	"impactd/internal/period"
	"impactd/internal/schedule"
	"impactd/internal/supporter"
)

// Web assembles the staff console and the supporter pages. The console
// only records runs (with their jobs); the workers that serve starts — in
// this or any replica — do the work.
func (a *App) Web(ctx context.Context) (*console.Console, *supporter.Pages, error) {
	return a.web(ctx, 0, 0)
}

// WebForTest is Web with a sign-in rate limit the tests choose.
func (a *App) WebForTest(ctx context.Context, signInBurst int, signInEvery time.Duration) (*console.Console, *supporter.Pages, error) {
	return a.web(ctx, signInBurst, signInEvery)
}

func (a *App) web(_ context.Context, signInBurst int, signInEvery time.Duration) (*console.Console, *supporter.Pages, error) {
	sched := ScheduleView{Location: a.Config.Location}
	if a.Config.Schedule != nil {
		sched.Series = append(sched.Series, SeriesSchedule{Series: domain.SeriesImpact, Schedule: a.Config.Schedule, Kind: a.Config.PeriodKind})
	}
	if a.Config.AnnualSchedule != nil {
		sched.Series = append(sched.Series, SeriesSchedule{Series: domain.SeriesAnnual, Schedule: a.Config.AnnualSchedule, Kind: a.Config.AnnualPeriodKind})
	}
	c, err := console.New(console.Options{
		Store: a.Store, Renderer: a.Renderer, Runs: a.Runs, Schedule: sched,
		Preview: &console.Preview{Builder: a.Runner.Builder, Renderer: a.Renderer},
		Clock:   a.Clock, Log: a.Log, Location: a.Config.Location, PeriodKind: a.Config.PeriodKind, AnnualPeriodKind: a.Config.AnnualPeriodKind,
		CookieSecure: a.Config.CookieSecure, SessionTTL: a.Config.SessionTTL,
		SignInBurst: signInBurst, SignInEvery: signInEvery,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("web: %w", err)
	}
	s, err := supporter.New(supporter.Pages{
		Store: a.Store, Renderer: a.Renderer, Links: a.Links, Clock: a.Clock, Log: a.Log,
		Location: a.Config.Location, OrgName: a.Config.OrgName, OrgEmail: a.Config.OrgEmail,
		CharityNumber: a.Config.OrgCharityNumber, Address: a.Config.OrgAddress, Logo: a.Config.OrgLogo, PeriodKind: a.Config.PeriodKind,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("web: %w", err)
	}
	return c, s, nil
}

// ScheduleView tells the console when each series' schedule next fires
// and for which period.
type ScheduleView struct {
	Series   []SeriesSchedule
	Location *time.Location
}

// SeriesSchedule is one series' schedule and the period kind its ticks run.
type SeriesSchedule struct {
	Series   domain.Series
	Schedule *schedule.Schedule
	Kind     period.Kind
}

// Next returns each series' next tick after now and the period it will run.
func (s ScheduleView) Next(now time.Time) []console.ScheduledRun {
	var out []console.ScheduledRun
	for _, ss := range s.Series {
		at := ss.Schedule.Next(now)
		if at.IsZero() {
			continue
		}
		out = append(out, console.ScheduledRun{Series: ss.Series, At: at, Period: period.LastComplete(at, ss.Kind, s.Location).String()})
	}
	return out
}
