package httpapi

import (
	"net/http"

	"impactd/internal/auth"
	"impactd/internal/webui"
)

// addRoutes lists every route impactd serves.
func addRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(d.Store, d.Log))
	if d.MetricsToken != "" { // otherwise on its own address, or nowhere
		mux.Handle("GET /metrics", MetricsHandler(d.Registry, d.MetricsToken))
	}
	mux.Handle("POST /webhooks/stripe", d.Webhook)
	mux.Handle("GET /unsubscribe/{token}", handleUnsubscribePage(d))
	mux.Handle("POST /unsubscribe/{token}", handleUnsubscribe(d))

	mux.Handle("GET /api/v1/donors", requireRole(d, auth.Viewer, handleDonorsByEmail(d)))
	mux.Handle("GET /api/v1/donors/{id}", requireRole(d, auth.Viewer, handleDonor(d)))

	mux.Handle("GET /api/v1/impact", requireRole(d, auth.Viewer, handleImpactList(d)))
	mux.Handle("GET /api/v1/impact/{id}", requireRole(d, auth.Viewer, handleImpactGet(d)))
	mux.Handle("POST /api/v1/impact", requireRole(d, auth.Operator, handleImpactCreate(d)))
	mux.Handle("POST /api/v1/impact/{id}/publish", requireRole(d, auth.Operator, handleImpactPublish(d)))
	mux.Handle("GET "+webui.StylesheetPath, webui.Stylesheet())
	mux.Handle("GET "+webui.FontPath+"{file}", webui.Font())

	// Supporter pages: the signed link is the authority, no session.
	if s := d.Supporter; s != nil {
		mux.Handle("GET /s/{token}", s.StatementPage())
		mux.Handle("GET /s/{token}/pdf", s.StatementPDF())
		mux.Handle("GET /s/{token}/pdf/{id}", s.StatementPDF())
		mux.Handle("GET /s/{token}/preferences", s.PreferencesPage())
		mux.Handle("POST /s/{token}/preferences", s.SetPreferences())
		mux.Handle("GET /verify", s.Verify())
	}

	// Staff console: c.Require checks the session, the role and, for every
	// POST, the cross-origin headers and the CSRF token.
	if c := d.Console; c != nil {
		mux.Handle("GET /{$}", http.RedirectHandler("/console", http.StatusSeeOther))
		mux.Handle("GET /console/sign-in", c.SignInPage())
		mux.Handle("POST /console/sign-in", c.SignIn())
		mux.Handle("POST /console/sign-out", c.Require(auth.Viewer, c.SignOut()))
		mux.Handle("GET /console", c.Require(auth.Viewer, c.Dashboard()))
		mux.Handle("POST /console/runs", c.Require(auth.Operator, c.StartRun()))
		mux.Handle("GET /console/runs/{id}", c.Require(auth.Viewer, c.RunPage()))
		mux.Handle("POST /console/runs/{id}/rerun", c.Require(auth.Operator, c.Rerun()))
		mux.Handle("POST /console/runs/{id}/resume", c.Require(auth.Operator, c.Resume()))
		mux.Handle("GET /console/bounces", c.Require(auth.Viewer, c.Bounces()))
		mux.Handle("POST /console/bounces/clear", c.Require(auth.Operator, c.ClearBounce()))
		mux.Handle("GET /console/donors", c.Require(auth.Viewer, c.Donors()))
		mux.Handle("GET /console/donors/{id}", c.Require(auth.Viewer, c.DonorPage()))
		mux.Handle("POST /console/donors/{id}/letters", c.Require(auth.Operator, c.SetLetters()))
		mux.Handle("POST /console/donors/{id}/merge", c.Require(auth.Admin, c.Merge()))
		mux.Handle("POST /console/donors/{id}/erase", c.Require(auth.Admin, c.Erase()))
		mux.Handle("GET /console/statements/{id}/pdf", c.Require(auth.Viewer, c.StatementPDF()))
		mux.Handle("POST /console/statements/{id}/resend", c.Require(auth.Operator, c.Resend()))
		mux.Handle("GET /console/impact", c.Require(auth.Viewer, c.Updates()))
		mux.Handle("GET /console/impact/new", c.Require(auth.Operator, c.UpdateForm()))
		mux.Handle("POST /console/impact", c.Require(auth.Operator, c.CreateUpdate()))
		mux.Handle("GET /console/impact/{id}", c.Require(auth.Viewer, c.UpdatePage()))
		mux.Handle("GET /console/impact/{id}/preview.pdf", c.Require(auth.Viewer, c.UpdatePreview()))
		mux.Handle("POST /console/impact/{id}/publish", c.Require(auth.Operator, c.PublishUpdate()))
		mux.Handle("GET /console/audit", c.Require(auth.Viewer, c.Audit()))
		mux.Handle("GET /console/exceptions", c.Require(auth.Viewer, c.Exceptions()))
	}
	mux.Handle("POST /api/v1/runs", requireRole(d, auth.Viewer, handleStartRun(d))) // sending needs operator: checked inside
	mux.Handle("GET /api/v1/runs", requireRole(d, auth.Viewer, handleRuns(d)))
	mux.Handle("GET /api/v1/runs/{id}", requireRole(d, auth.Viewer, handleRun(d)))
	mux.Handle("POST /api/v1/runs/{id}/resume", requireRole(d, auth.Operator, handleResumeRun(d)))
	mux.Handle("GET /api/v1/runs/{id}/statements", requireRole(d, auth.Viewer, handleRunStatements(d)))
	mux.Handle("GET /api/v1/statements/{id}/pdf", requireRole(d, auth.Viewer, handleStatementPDF(d)))
}
