package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"impactd/internal/domain"
	"impactd/internal/impact"
	"impactd/internal/period"
)

// maxImpactBody bounds an impact update sent to the API.
const maxImpactBody = 1 << 20

// handleImpactList lists the versions of the impact updates, optionally of
// one period (?period=2026-Q3), newest first.
func handleImpactList(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimSpace(r.URL.Query().Get("period"))
		if p != "" {
			pp, err := period.Parse(p)
			if err != nil {
				Error(w, r, d.Log, domain.Errorf(domain.EINVALID, "period: %v", err))
				return
			}
			p = pp.String()
		}
		us, err := d.Store.ImpactUpdates(r.Context(), p)
		if err != nil {
			Error(w, r, d.Log, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"updates": us})
	})
}

// handleImpactGet returns one version of an impact update.
func handleImpactGet(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := d.Store.ImpactUpdate(r.Context(), r.PathValue("id"))
		if err != nil {
			Error(w, r, d.Log, err)
			return
		}
		writeJSON(w, http.StatusOK, u)
	})
}

// handleImpactCreate stores an impact update sent as JSON as a new draft
// version (201), or answers 200 with the latest version when it already says
// the same. A change to a published update needs "correction_reason".
func handleImpactCreate(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dec := json.NewDecoder(io.LimitReader(r.Body, maxImpactBody))
		dec.DisallowUnknownFields()
		var u domain.ImpactUpdate
		if err := dec.Decode(&u); err != nil {
			Error(w, r, d.Log, domain.Errorf(domain.EINVALID, "impact update JSON: %v", err))
			return
		}
		// Fields the server decides are not taken from the client.
		u.ID, u.Version, u.Status, u.ApprovedBy, u.PublishedAt, u.Supersedes = "", 0, "", "", 0, ""
		if c, ok := CallerFrom(r.Context()); ok {
			u.CreatedBy = c.Name
		}
		stored, created, err := impact.Import(r.Context(), d.Store, &u, d.Clock.Now())
		if err != nil {
			Error(w, r, d.Log, err)
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		writeJSON(w, status, stored)
	})
}

// handleImpactPublish publishes a draft. The body may name who approved the
// figures ({"approved_by": "…"}); by default it is the API token's name.
func handleImpactPublish(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ApprovedBy string `json:"approved_by"`
		}
		if r.ContentLength != 0 {
			dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&body); err != nil && err != io.EOF {
				Error(w, r, d.Log, domain.Errorf(domain.EINVALID, "publish JSON: %v", err))
				return
			}
		}
		approver := strings.TrimSpace(body.ApprovedBy)
		if approver == "" {
			if c, ok := CallerFrom(r.Context()); ok {
				approver = c.Name
			}
		}
		id := r.PathValue("id")
		if err := impact.Publish(r.Context(), d.Store, id, approver, d.Clock.Now()); err != nil {
			Error(w, r, d.Log, err)
			return
		}
		u, err := d.Store.ImpactUpdate(r.Context(), id)
		if err != nil {
			Error(w, r, d.Log, err)
			return
		}
		writeJSON(w, http.StatusOK, u)
	})
}
