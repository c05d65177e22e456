// Package httpapi is impactd's HTTP surface: the Stripe webhook, health
// checks, metrics, the supporter's one-click unsubscribe, and the routes of
// the staff console and the supporter pages. Every route is
// listed in routes.go; domain error codes become HTTP statuses in Error, and
// nowhere else.
package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"impactd/internal/console"
	"impactd/internal/domain"
	"impactd/internal/links"
	"impactd/internal/runs"
	"impactd/internal/store"
	"impactd/internal/supporter"
	"impactd/internal/webui"
)

// Deps are what the server needs.
type Deps struct {
	Log      *slog.Logger
	Store    *store.Store
	Webhook  http.Handler
	Registry *prometheus.Registry
	Links    *links.Signer
	Clock    domain.Clock
	Location *time.Location // the organisation's time zone
	// Console is the staff console; nil serves no /console routes.
	Console *console.Console
	// Supporter serves the supporter pages; nil serves none.
	Supporter *supporter.Pages
	Runs      *runs.Service // statement runs; nil: the run routes answer 503
	// PDFs renders stored statements (*runner.Runner); nil: the PDF route answers 503.
	PDFs interface {
		StatementPDF(ctx context.Context, statementID string, w io.Writer) (*domain.Statement, error)
	}
}

// NewServer returns the HTTP handler.
func NewServer(d Deps) http.Handler {
	mux := http.NewServeMux()
	addRoutes(mux, d)
	return logRequests(d.Log, mux)
}

// Error writes a domain error as JSON with its HTTP status; internal errors
// are logged and shown only as "Internal error.".
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := domain.ErrorCode(err)
	status := webui.Status(err)
	if status == http.StatusInternalServerError {
		log.Error("http error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, map[string]string{"error": domain.ErrorMessage(err), "code": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

func handleReadyz(s *store.Store, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.Ping(ctx); err != nil {
			log.Warn("not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unreachable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

// statusRecorder remembers the status for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

// logRequests logs method, route and status — never query strings or
// bodies, which may carry tokens or personal data.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.Debug("http", "method", r.Method, "route", r.Pattern, "status", rec.status, "ms", time.Since(start).Milliseconds())
	})
}
