package impact_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/impact"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

const good = `
period: 2026-Q3
title: Our impact, July to September 2026
narrative: Together we brought children to safety.
source: IJM Centre to End Online Sexual Exploitation of Children
as_of: 2026-10-15
metrics:
  - key: brought_to_safety
    label: Children and vulnerable adults brought to safety
    period: 38
    cumulative: 1407
    cumulative_since: "2011"
  - key: convicted
    label: Perpetrators convicted
    cumulative: 255
`

func TestParseYAML(t *testing.T) {
	u, err := impact.ParseYAML(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if u.Period != "2026-Q3" || len(u.Metrics) != 2 || *u.Metrics[0].Period != 38 || u.Metrics[1].Period != nil {
		t.Fatalf("%+v", u)
	}
	bad := []struct{ name, yaml, want string }{
		{"unknown period", strings.Replace(good, "2026-Q3", "2026-Q9", 1), "invalid period"},
		{"no source", strings.Replace(good, "source: IJM Centre to End Online Sexual Exploitation of Children", "", 1), "source is required"},
		{"bad date", strings.Replace(good, "2026-10-15", "15/10/2026", 1), "as_of"},
		{"negative", strings.Replace(good, "period: 38", "period: -3", 1), "negative"},
		{"unknown field", good + "colour: blue\n", "colour"},
		{"not yaml", "{{{", "YAML"},
		{"duplicate metric", strings.Replace(good, "key: convicted", "key: brought_to_safety", 1), "twice"},
	}
	for _, tt := range bad {
		_, err := impact.ParseYAML(strings.NewReader(tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.want) || domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("%s: err = %v, want invalid mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestImportIsIdempotentAndVersioned(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 10, 16, 9, 0, 0, 0, time.UTC)
		parse := func(y string) *domain.ImpactUpdate {
			u, err := impact.ParseYAML(strings.NewReader(y))
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		a, created, err := impact.Import(ctx, s, parse(good), now)
		if err != nil || !created || a.Version != 1 {
			t.Fatalf("first import: %+v %v %v", a, created, err)
		}
		b, created, err := impact.Import(ctx, s, parse(good), now)
		if err != nil || created || b.ID != a.ID {
			t.Fatalf("second import made a new version: %+v %v %v", b, created, err)
		}
		if err := impact.Publish(ctx, s, a.ID, "", now); domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("publish without approver: %v", err)
		}
		if err := impact.Publish(ctx, s, a.ID, "Head of Fundraising", now); err != nil {
			t.Fatal(err)
		}
		changed := strings.Replace(good, "period: 38", "period: 39", 1)
		if _, _, err := impact.Import(ctx, s, parse(changed), now); domain.ErrorCode(err) != domain.EINVALID || !strings.Contains(err.Error(), "reason") {
			t.Fatalf("correction without a reason: err = %v, want invalid asking for a reason", err)
		}
		c, created, err := impact.Import(ctx, s, parse(changed+"correction_reason: one child counted twice\n"), now)
		if err != nil || !created || c.Version != 2 || c.Supersedes != a.ID {
			t.Fatalf("correction: %+v %v %v", c, created, err)
		}
		pub, err := s.PublishedImpactUpdate(ctx, "2026-Q3")
		if err != nil || pub.ID != a.ID {
			t.Fatalf("published should still be v1 until v2 is approved: %+v %v", pub, err)
		}
	})
}

func TestExportRoundTrip(t *testing.T) {
	u, err := impact.ParseYAML(strings.NewReader(good + "demo_data: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	u.Metrics[0].PeriodDemo = true
	u.ID, u.Version, u.Status, u.ApprovedBy = "upd_x", 3, domain.UpdatePublished, "Head of Fundraising"
	var out strings.Builder
	if err := impact.ExportYAML(&out, u); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# impact update upd_x: 2026-Q3 version 3, published, approved by Head of Fundraising", "demo_data: true", "period_demo: true", "cumulative_since: \"2011\""} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("export lacks %q:\n%s", want, out.String())
		}
	}
	back, err := impact.ParseYAML(strings.NewReader(out.String()))
	if err != nil {
		t.Fatalf("re-import of the export: %v\n%s", err, out.String())
	}
	if back.Title != u.Title || back.Narrative != u.Narrative || len(back.Metrics) != 2 || !back.Metrics[0].PeriodDemo ||
		*back.Metrics[0].Period != 38 || back.Metrics[1].Period != nil || !back.DemoData {
		t.Errorf("round trip changed the update: %+v", back)
	}
}
