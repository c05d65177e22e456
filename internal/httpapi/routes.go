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

	mux.Handle("GET /api/v1/impact", requireRole(d, auth.Viewer, handleImpactList(d)))
	mux.Handle("GET /api/v1/impact/{id}", requireRole(d, auth.Viewer, handleImpactGet(d)))
	mux.Handle("POST /api/v1/impact", requireRole(d, auth.Operator, handleImpactCreate(d)))
	mux.Handle("POST /api/v1/impact/{id}/publish", requireRole(d, auth.Operator, handleImpactPublish(d)))
}
