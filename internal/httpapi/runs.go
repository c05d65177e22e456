package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"impactd/internal/auth"
	"impactd/internal/domain"
	"impactd/internal/runs"
)

// startRunRequest is the body of POST /api/v1/runs.
type startRunRequest struct {
	Series      string `json:"series"` // "impact" (the default) or "annual"
	Period      string `json:"period"`
	Reason      string `json:"reason"`
	DryRun      bool   `json:"dry_run"`
	DonorID     string `json:"donor_id"`
	DonorEmail  string `json:"donor_email"`
	StatementID string `json:"statement_id"` // resend this statement as it is
	OnlyFailed  bool   `json:"only_failed"`
	OnlyUnsent  bool   `json:"only_unsent"`
	Force       bool   `json:"force"`
}

// runView is a run with its live counts; a dry run's also names sample statements.
type runView struct {
	*domain.Run
	Counts  domain.RunCounts `json:"counts"`
	Samples []sample         `json:"samples,omitempty"`
}

type sample struct {
	StatementID string `json:"statement_id"`
	PDF         string `json:"pdf"`
}

func (d Deps) runView(r *http.Request, id string) (*runView, error) {
	run, c, err := d.Runs.Status(r.Context(), id)
	if err != nil {
		return nil, err
	}
	v := &runView{Run: run, Counts: c}
	if run.DryRun {
		ss, err := d.Runs.Samples(r.Context(), id, 3)
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			v.Samples = append(v.Samples, sample{StatementID: s.Statement.ID, PDF: "/api/v1/statements/" + s.Statement.ID + "/pdf"})
		}
	}
	return v, nil
}

// decodeBody reads a small JSON body with no unknown fields; an empty one
// is allowed when every field is optional.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, emptyOK bool) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !(emptyOK && errors.Is(err, io.EOF)) {
		return domain.Errorf(domain.EINVALID, "invalid JSON body: %v", err)
	}
	return nil
}

func runsAvailable(d Deps, w http.ResponseWriter, r *http.Request) bool {
	if d.Runs == nil {
		Error(w, r, d.Log, domain.Errorf(domain.EUNAVAILABLE, "statement runs are not available on this server"))
		return false
	}
	return true
}

// handleStartRun starts a run; its jobs are worked by every impactd serve.
// A dry run needs the viewer role, anything that sends needs operator.
func handleStartRun(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !runsAvailable(d, w, r) {
			return
		}
		var body startRunRequest
		if err := decodeBody(w, r, &body, false); err != nil {
			Error(w, r, d.Log, err)
			return
		}
		caller, _ := CallerFrom(r.Context())
		if !body.DryRun && !caller.Role.Allows(auth.Operator) {
			Error(w, r, d.Log, domain.Errorf(domain.EFORBIDDEN, "sending statements needs the operator role; a dry run does not"))
			return
		}
		req := runs.Request{Trigger: "api", Actor: firstOf(caller.Name, caller.TokenID), Reason: body.Reason, DryRun: body.DryRun,
			Force: body.Force, Series: body.Series, Period: body.Period, StatementID: body.StatementID}
		switch {
		case body.StatementID != "":
			req.Scope = domain.RunScopeStatement
		case body.DonorID != "" || body.DonorEmail != "":
			req.Scope, req.Donor = domain.RunScopeDonor, firstOf(body.DonorID, body.DonorEmail)
		case body.OnlyFailed && body.OnlyUnsent:
			Error(w, r, d.Log, domain.Errorf(domain.EINVALID, "only_failed and only_unsent cannot be used together"))
			return
		case body.OnlyFailed:
			req.Scope = domain.RunScopeFailed
		case body.OnlyUnsent:
			req.Scope = domain.RunScopeUnsent
		}
		run, err := d.Runs.Start(r.Context(), req)
		var busy *runs.InProgressError
		var force *runs.NeedsForceError
		switch {
		case errors.As(err, &busy):
			// 409 with the run that holds the period, so that a script can watch it.
			w.Header().Set("Location", "/api/v1/runs/"+busy.Run.ID)
			writeJSON(w, http.StatusConflict, map[string]any{"error": busy.Describe(), "code": domain.ECONFLICT,
				"run_id": busy.Run.ID, "run": busy.Run, "counts": busy.Counts})
			return
		case errors.As(err, &force):
			Error(w, r, d.Log, domain.Errorf(domain.ECONFLICT, "%s (set \"force\": true)", domain.ErrorMessage(err)))
			return
		case err != nil:
			Error(w, r, d.Log, err)
			return
		}
		v, err := d.runView(r, run.ID)
		if err != nil {
			Error(w, r, d.Log, err)
			return
		}
		w.Header().Set("Location", "/api/v1/runs/"+run.ID)
		writeJSON(w, http.StatusAccepted, v)
	})
}

// resumeRunRequest is the body of POST /api/v1/runs/{id}/resume.
type resumeRunRequest struct {
	Reason string `json:"reason"`
}

// handleResumeRun resumes a paused run (operator): once the relay is fixed.
func handleResumeRun(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !runsAvailable(d, w, r) {
			return
		}
		var body resumeRunRequest
		if err := decodeBody(w, r, &body, true); err != nil {
			Error(w, r, d.Log, err)
			return
		}
		caller, _ := CallerFrom(r.Context())
		run, err := d.Runs.Resume(r.Context(), r.PathValue("id"), firstOf(caller.Name, caller.TokenID), body.Reason)
		if err != nil {
			Error(w, r, d.Log, err)
			return
		}
		v, err := d.runView(r, run.ID)
		if err != nil {
			Error(w, r, d.Log, err)
			return
		}
		writeJSON(w, http.StatusAccepted, v)
	})
}

// handleRuns lists the newest runs; ?series=impact|annual keeps one series'.
func handleRuns(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var only domain.Series
		if q := r.URL.Query().Get("series"); q != "" {
			s, err := domain.ParseSeries(q)
			if err != nil {
				Error(w, r, d.Log, err)
				return
			}
			only = s
		}
		all, err := d.Store.ListRuns(r.Context(), 50)
		if err != nil {
			Error(w, r, d.Log, err)
			return
		}
		runs := []domain.Run{}
		for _, run := range all {
			if only == "" || run.Series.OrDefault() == only {
				runs = append(runs, run)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
	})
}

func handleRun(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !runsAvailable(d, w, r) {
			return
		}
		v, err := d.runView(r, r.PathValue("id"))
		if err != nil {
			Error(w, r, d.Log, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// handleRunStatements pages through a run's jobs: ?after=JOB_ID&limit=N.
func handleRunStatements(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := d.Store.Run(r.Context(), r.PathValue("id")); err != nil {
			Error(w, r, d.Log, err)
			return
		}
		limit := 100
		if s := r.URL.Query().Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 1000 {
				Error(w, r, d.Log, domain.Errorf(domain.EINVALID, "limit must be 1 to 1000"))
				return
			}
			limit = n
		}
		jobs, err := d.Store.RunJobs(r.Context(), r.PathValue("id"), r.URL.Query().Get("after"), limit)
		if err != nil {
			Error(w, r, d.Log, err)
			return
		}
		if jobs == nil {
			jobs = []domain.JobView{}
		}
		out := map[string]any{"statements": jobs}
		if len(jobs) == limit {
			out["next"] = "?after=" + jobs[len(jobs)-1].ID + "&limit=" + strconv.Itoa(limit)
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// handleStatementPDF renders a stored statement again: the PDF is a pure
// function of its snapshot, so the bytes are those the donor received.
func handleStatementPDF(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.PDFs == nil {
			Error(w, r, d.Log, domain.Errorf(domain.EUNAVAILABLE, "statement PDFs are not available on this server"))
			return
		}
		var buf bytes.Buffer
		st, err := d.PDFs.StatementPDF(r.Context(), r.PathValue("id"), &buf)
		if err != nil {
			Error(w, r, d.Log, err)
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", `inline; filename="statement-`+strings.ReplaceAll(st.Period, "/", "-")+`.pdf"`)
		w.Header().Set("ETag", `"`+st.ContentHash+`"`)
		_, _ = w.Write(buf.Bytes())
	})
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
