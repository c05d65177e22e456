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
}
