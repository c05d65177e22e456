package runs_test

import (
	"context"
	"strings"
	"testing"

	"impactd/internal/domain"
	"impactd/internal/runs"
	"impactd/internal/store/storetest"
)

// TestForcedRerunOfOneSeries: both series of the same period are sent; a
// forced rerun of the impact letter sends impact letters again and leaves
// the annual statements alone (a later annual run finds them unchanged),
// and a forced annual rerun leaves the impact letters alone.
func TestForcedRerunOfOneSeries(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		a := newApp(t, dbURL, nil)
		ids := seed(t, a.Store, 1000, 2000)
		publish(t, a.Store, "2026/27")
		req := func(series string, force bool) runs.Request {
			return runs.Request{Series: series, Period: "2026/27", Reason: "year end", Trigger: "test", Force: force}
		}
		for _, s := range []string{"impact", "annual"} {
			if run, err := a.Runs.Run(ctx, req(s, false)); err != nil || run.Sent != 2 || run.Series != domain.Series(s) {
				t.Fatalf("%s run: %+v %v", s, run, err)
			}
		}
		last := func(series domain.Series) map[string]string {
			out := map[string]string{}
			for _, id := range ids {
				st, err := a.Store.LastSentStatement(ctx, id, series, "2026/27")
				if err != nil {
					t.Fatalf("%s letter of %s: %v", series, id, err)
				}
				if st.Series != series {
					t.Fatalf("%s letter of %s is of series %q", series, id, st.Series)
				}
				out[id] = st.ID
			}
			return out
		}
		annualBefore, impactBefore := last(domain.SeriesAnnual), last(domain.SeriesImpact)
		forced, err := a.Runs.Run(ctx, req("impact", true))
		if err != nil || forced.Sent != 2 {
			t.Fatalf("forced impact rerun: %+v %v", forced, err)
		}
		if got := last(domain.SeriesAnnual); !equal(got, annualBefore) {
			t.Fatalf("the forced impact rerun changed the annual statements: %v, was %v", got, annualBefore)
		}
		if again, err := a.Runs.Run(ctx, req("annual", false)); err != nil || again.Sent != 0 || !strings.Contains(again.Exceptions, `"already_sent_unchanged":2`) {
			t.Fatalf("annual run after the impact rerun: %+v %v", again, err)
		}
		impactNow := last(domain.SeriesImpact)
		if equal(impactNow, impactBefore) {
			t.Fatal("the forced impact rerun sent no new impact letter")
		}
		if run, err := a.Runs.Run(ctx, req("annual", true)); err != nil || run.Sent != 2 {
			t.Fatalf("forced annual rerun: %+v %v", run, err)
		}
		if got := last(domain.SeriesImpact); !equal(got, impactNow) {
			t.Fatalf("the forced annual rerun changed the impact letters: %v, was %v", got, impactNow)
		}
	})
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
