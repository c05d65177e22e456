package httpapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"impactd/internal/auth"
	"impactd/internal/domain"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

func TestImpactAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := newAPI(t, s, nil)
		tokens := a.tokens
		do := func(method, path, token, body string) (int, string) { return a.do(t, method, path, token, body) }
		const draft = `{"period":"2026-q3","title":"Q3","narrative":"Together we brought children to safety.","source":"programme records","as_of":"2026-10-15",
			"metrics":[{"key":"safe","label":"Children brought to safety","period_value":41,"period_demo":true,"cumulative_value":1407,"cumulative_since":"2011"}]}`
		corrected := strings.Replace(draft, `"period_value":41`, `"period_value":40`, 1)
		// The id of the first version is learnt from the response that creates it.
		var firstID string
		tests := []struct {
			name, method, path, token, body string
			status                          int
			want                            []string
		}{
			{"viewer cannot create", "POST", "/api/v1/impact", tokens[auth.Viewer], draft, 403, []string{"operator"}},
			{"no token", "GET", "/api/v1/impact", "", "", 401, nil},
			{"invalid", "POST", "/api/v1/impact", tokens[auth.Operator], `{"period":"2026-Q3"}`, 400, []string{"title is required", "source is required"}},
			{"unknown field", "POST", "/api/v1/impact", tokens[auth.Operator], `{"colour":"blue"}`, 400, []string{"colour"}},
			{"create draft", "POST", "/api/v1/impact", tokens[auth.Operator], draft, 201, []string{`"version":1`, `"status":"draft"`, `"created_by":"api-operator"`, `"period_demo":true`}},
			{"same again is a no-op", "POST", "/api/v1/impact", tokens[auth.Operator], draft, 200, []string{`"version":1`}},
			{"viewer reads", "GET", "/api/v1/impact?period=2026-Q3", tokens[auth.Viewer], "", 200, []string{`"updates":[{`, `"version":1`}},
			{"bad period", "GET", "/api/v1/impact?period=2026-Q9", tokens[auth.Viewer], "", 400, []string{"period"}},
			{"viewer cannot publish", "POST", "/api/v1/impact/{first}/publish", tokens[auth.Viewer], "", 403, nil},
			{"publish", "POST", "/api/v1/impact/{first}/publish", tokens[auth.Operator], `{"approved_by":"Head of Programmes"}`, 200, []string{`"status":"published"`, `"approved_by":"Head of Programmes"`}},
			{"publish twice", "POST", "/api/v1/impact/{first}/publish", tokens[auth.Operator], "", 409, []string{"already published"}},
			{"correction needs a reason", "POST", "/api/v1/impact", tokens[auth.Operator], corrected, 400, []string{"reason"}},
			{"correction", "POST", "/api/v1/impact", tokens[auth.Operator], strings.Replace(corrected, `"period":`, `"correction_reason":"one child counted twice","period":`, 1), 201,
				[]string{`"version":2`, `"supersedes":"{first}"`, `"correction_reason":"one child counted twice"`}},
			{"first version unchanged", "GET", "/api/v1/impact/{first}", tokens[auth.Viewer], "", 200, []string{`"period_value":41`, `"status":"published"`}},
			{"missing", "GET", "/api/v1/impact/upd_missing", tokens[auth.Viewer], "", 404, nil},
			{"publish missing", "POST", "/api/v1/impact/upd_missing/publish", tokens[auth.Operator], "", 404, nil},
		}
		for _, tt := range tests {
			path := strings.ReplaceAll(tt.path, "{first}", firstID)
			status, body := do(tt.method, path, tt.token, tt.body)
			if status != tt.status {
				t.Errorf("%s: %s %s: %d %s, want %d", tt.name, tt.method, path, status, body, tt.status)
			}
			for _, w := range tt.want {
				if w = strings.ReplaceAll(w, "{first}", firstID); !strings.Contains(body, w) {
					t.Errorf("%s: body %s lacks %s", tt.name, body, w)
				}
			}
			if tt.name == "create draft" {
				var u domain.ImpactUpdate
				if err := json.Unmarshal([]byte(body), &u); err != nil || u.ID == "" {
					t.Fatalf("create draft: %v %s", err, body)
				}
				firstID = u.ID
			}
		}
		if pub, err := s.PublishedImpactUpdate(ctx, "2026-Q3"); err != nil || pub.ID != firstID {
			t.Errorf("an unpublished correction reached donors: %+v %v", pub, err)
		}
	})
}
