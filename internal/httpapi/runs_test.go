package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"impactd/internal/auth"
	"impactd/internal/domain"
	"impactd/internal/impact"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
	"impactd/internal/webtest"
)

// TestRunsAPI drives a run through the API as an operator's script would:
// start it, watch it, list its statements, fetch a PDF — with the roles.
func TestRunsAPI(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		b := webtest.Setup(t, dbURL, webtest.Options{})
		one := int64(3)
		u := &domain.ImpactUpdate{Period: webtest.Period, Title: "Q3", Narrative: "Together.", Source: "records", AsOf: "2026-10-01",
			Metrics: []domain.Metric{{Key: "safe", Label: "Children brought to safety", Period: &one}}}
		stored, _, err := impact.Import(ctx, b.App.Store, u, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := impact.Publish(ctx, b.App.Store, stored.ID, "tester", time.Now()); err != nil {
			t.Fatal(err)
		}
		tokens := map[auth.Role]string{}
		for _, role := range []auth.Role{auth.Viewer, auth.Operator} {
			tok := auth.NewToken()
			if err := b.App.Store.CreateToken(ctx, &store.APIToken{Hash: auth.HashToken(tok), Role: string(role), Name: "script-" + string(role)}); err != nil {
				t.Fatal(err)
			}
			tokens[role] = tok
		}
		call := func(method, path string, role auth.Role, body string) (int, string, string) {
			t.Helper()
			req, _ := http.NewRequest(method, b.URL+path, strings.NewReader(body))
			if role != "" {
				req.Header.Set("Authorization", "Bearer "+tokens[role])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, resp.Header.Get("Content-Type"), string(data)
		}
		refusals := []struct {
			name, body string
			role       auth.Role
			status     int
			want       string
		}{
			{"no token", `{"period":"2026-Q3","reason":"x"}`, "", 401, "token"},
			{"a viewer may not send", `{"period":"2026-Q3","reason":"x"}`, auth.Viewer, 403, "operator"},
			{"unknown period", `{"period":"2026-Q9","reason":"x","dry_run":true}`, auth.Operator, 400, "invalid period"},
			{"no reason", `{"period":"2026-Q3","dry_run":true}`, auth.Operator, 400, "reason"},
			{"unknown field", `{"period":"2026-Q3","reason":"x","colour":"red"}`, auth.Operator, 400, "colour"},
			{"not JSON", `{period`, auth.Operator, 400, ""},
		}
		for _, tt := range refusals {
			status, _, body := call(http.MethodPost, "/api/v1/runs", tt.role, tt.body)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("%s: %d %s, want %d mentioning %q", tt.name, status, body, tt.status, tt.want)
			}
		}

		start := func(role auth.Role, body string) string {
			t.Helper()
			status, _, resp := call(http.MethodPost, "/api/v1/runs", role, body)
			if status != http.StatusAccepted {
				t.Fatalf("start %s: %d %s", body, status, resp)
			}
			var v struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal([]byte(resp), &v); err != nil || v.ID == "" {
				t.Fatalf("start: %s (%v)", resp, err)
			}
			return v.ID
		}
		wait := func(id string) map[string]any {
			t.Helper()
			deadline := time.Now().Add(30 * time.Second)
			for {
				status, _, body := call(http.MethodGet, "/api/v1/runs/"+id, auth.Viewer, "")
				var v map[string]any
				if status != 200 || json.Unmarshal([]byte(body), &v) != nil {
					t.Fatalf("get run: %d %s", status, body)
				}
				if v["status"] != domain.RunRunning {
					return v
				}
				if time.Now().After(deadline) {
					t.Fatalf("run %s still running: %s", id, body)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}

		// A viewer may ask for a dry run: it renders and sends nothing.
		dry := wait(start(auth.Viewer, `{"period":"2026-Q3","reason":"check before sending","dry_run":true}`))
		if counts := dry["counts"].(map[string]any); counts["sent"].(float64) != 0 || counts["dry_rendered"].(float64) != 2 {
			t.Fatalf("dry run counts: %v", counts)
		}
		if samples, _ := dry["samples"].([]any); len(samples) == 0 {
			t.Fatalf("dry run names no sample PDFs: %v", dry)
		}

		id := start(auth.Operator, `{"period":"2026-Q3","reason":"quarterly letters"}`)
		sent := wait(id)
		if sent["status"] != domain.RunSucceeded || sent["counts"].(map[string]any)["sent"].(float64) != 2 {
			t.Fatalf("send run: %v", sent)
		}
		status, _, body := call(http.MethodGet, "/api/v1/runs/"+id+"/statements", auth.Viewer, "")
		if status != 200 || strings.Count(body, `"statement_id":"stmt_`) != 2 {
			t.Fatalf("statements: %d %s", status, body)
		}
		stmt := body[strings.Index(body, `"statement_id":"`)+len(`"statement_id":"`):]
		stmt = stmt[:strings.Index(stmt, `"`)]
		status, ctype, pdf := call(http.MethodGet, "/api/v1/statements/"+stmt+"/pdf", auth.Viewer, "")
		if status != 200 || ctype != "application/pdf" || !strings.HasPrefix(pdf, "%PDF") {
			t.Fatalf("pdf: %d %s %.20q", status, ctype, pdf)
		}
		if status, _, _ := call(http.MethodGet, "/api/v1/statements/stmt_nope/pdf", auth.Viewer, ""); status != 404 {
			t.Fatalf("unknown statement: %d", status)
		}
		status, _, body = call(http.MethodGet, "/api/v1/runs", auth.Viewer, "")
		if status != 200 || !strings.Contains(body, id) {
			t.Fatalf("list: %d %.300s", status, body)
		}
		if !strings.Contains(body, `"series":"impact"`) {
			t.Fatalf("list does not name the series: %.300s", body)
		}
		// The annual statement's run, by series: listed apart, and refused a quarter.
		status, _, body = call(http.MethodPost, "/api/v1/runs", auth.Operator, `{"series":"annual","period":"2026-Q3","reason":"year"}`)
		if status != http.StatusBadRequest || !strings.Contains(body, "the annual series runs by UK tax year") {
			t.Fatalf("annual run of a quarter: %d %s", status, body)
		}
		status, _, body = call(http.MethodPost, "/api/v1/runs", auth.Viewer, `{"series":"annual","period":"2026/27","reason":"year","dry_run":true}`)
		if status != http.StatusAccepted || !strings.Contains(body, `"series":"annual"`) {
			t.Fatalf("annual dry run: %d %s", status, body)
		}
		status, _, body = call(http.MethodGet, "/api/v1/runs?series=annual", auth.Viewer, "")
		if status != 200 || !strings.Contains(body, `"series":"annual"`) || strings.Contains(body, `"series":"impact"`) {
			t.Fatalf("annual runs: %d %.300s", status, body)
		}
		if status, _, _ := call(http.MethodGet, "/api/v1/runs?series=weekly", auth.Viewer, ""); status != http.StatusBadRequest {
			t.Fatalf("unknown series: %d", status)
		}
		// Running again sends nothing: both letters went out unchanged.
		again := wait(start(auth.Operator, `{"period":"2026-Q3","reason":"again"}`))
		if c := again["counts"].(map[string]any); c["sent"].(float64) != 0 {
			t.Fatalf("second run sent again: %v", c)
		}
		// The run's flags are JSON booleans.
		if again["dry_run"] != false || again["force"] != false || dry["dry_run"] != true {
			t.Errorf("booleans: dry_run %#v force %#v, dry run's dry_run %#v", again["dry_run"], again["force"], dry["dry_run"])
		}
		status, _, body = call(http.MethodPost, "/api/v1/runs", auth.Operator, `{"statement_id":"`+stmt+`","reason":"lost it"}`)
		if status != http.StatusConflict || !strings.Contains(body, `set \"force\": true`) {
			t.Errorf("resend without force: %d %s", status, body)
		}

		// While a run of the period is unfinished, another start is a 409
		// that names it (a paused one here, which the workers leave alone).
		paused := &domain.Run{Period: "2026-Q3", Trigger: "test", Reason: "held", Status: domain.RunPaused,
			PauseReason: "the mail relay refused to send: test", Pauses: 1, StartedAt: time.Now().Unix()}
		if ok, err := b.App.Store.AdmitRun(ctx, paused); err != nil || !ok {
			t.Fatal(ok, err)
		}
		held := paused.ID
		status, _, body = call(http.MethodPost, "/api/v1/runs", auth.Operator, `{"period":"2026-Q3","reason":"again"}`)
		var v map[string]any
		_ = json.Unmarshal([]byte(body), &v)
		if status != http.StatusConflict || v["run_id"] != held || v["code"] != domain.ECONFLICT || !strings.Contains(v["error"].(string), "is paused") {
			t.Fatalf("start while one is unfinished: %d %s", status, body)
		}
		if status, _, _ := call(http.MethodPost, "/api/v1/runs/"+held+"/resume", auth.Viewer, `{"reason":"fixed"}`); status != http.StatusForbidden {
			t.Errorf("viewer resume: %d", status)
		}
		status, _, body = call(http.MethodPost, "/api/v1/runs/"+held+"/resume", auth.Operator, `{"reason":"relay fixed"}`)
		if status != http.StatusAccepted {
			t.Fatalf("resume: %d %s", status, body)
		}
		if done := wait(held); done["status"] != domain.RunSucceeded || done["pauses"].(float64) != 1 {
			t.Fatalf("resumed run: %v", done)
		}
	})
}
