package httpapi

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"impactd/internal/auth"
)

// addRoutes lists every route impactd serves.
func addRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(d.Store, d.Log))
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{}))
	mux.Handle("POST /webhooks/stripe", d.Webhook)
	mux.Handle("GET /unsubscribe/{token}", handleUnsubscribePage(d))
	mux.Handle("POST /unsubscribe/{token}", handleUnsubscribe(d))

	mux.Handle("GET /api/v1/donors", requireRole(d, auth.Viewer, handleDonorsByEmail(d)))
	mux.Handle("GET /api/v1/donors/{id}", requireRole(d, auth.Viewer, handleDonor(d)))

	mux.Handle("POST /api/v1/runs", requireRole(d, auth.Viewer, handleStartRun(d))) // sending needs operator: checked inside
	mux.Handle("GET /api/v1/runs", requireRole(d, auth.Viewer, handleRuns(d)))
	mux.Handle("GET /api/v1/runs/{id}", requireRole(d, auth.Viewer, handleRun(d)))
	mux.Handle("GET /api/v1/runs/{id}/statements", requireRole(d, auth.Viewer, handleRunStatements(d)))
	mux.Handle("GET /api/v1/statements/{id}/pdf", requireRole(d, auth.Viewer, handleStatementPDF(d)))
}
