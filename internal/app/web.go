package app

import (
	"context"
	"fmt"

	"impactd/internal/console"
	"impactd/internal/supporter"
)

// Web assembles the staff console and the supporter pages. Runs started
// from the console live in ctx (the server's): cancelling it stops them.
func (a *App) Web(ctx context.Context) (*console.Console, *supporter.Pages, error) {
	runs := &console.RunnerRuns{Runner: a.Runner, Log: a.Log, Base: ctx}
	c, err := console.New(console.Options{
		Store: a.Store, Renderer: a.Renderer, Runs: runs, Schedule: console.NoSchedule{},
		Preview: &console.Preview{Builder: a.Runner.Builder, Renderer: a.Renderer},
		Clock:   a.Clock, Log: a.Log, Location: a.Config.Location, PeriodKind: a.Config.PeriodKind,
		CookieSecure: a.Config.CookieSecure, SessionTTL: a.Config.SessionTTL,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("web: %w", err)
	}
	s, err := supporter.New(supporter.Pages{
		Store: a.Store, Renderer: a.Renderer, Links: a.Links, Clock: a.Clock, Log: a.Log,
		Location: a.Config.Location, OrgName: a.Config.OrgName, OrgEmail: a.Config.OrgEmail,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("web: %w", err)
	}
	return c, s, nil
}
