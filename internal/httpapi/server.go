// Package httpapi is impactd's HTTP surface: the Stripe webhook, health
// checks, metrics, the supporter's one-click unsubscribe, and the routes of
// the staff console and the supporter pages. Every route is
// listed in routes.go; domain error codes become HTTP statuses in Error, and
// nowhere else.
package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

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
	// HSTS is the Strict-Transport-Security value of every response; "" sends none.
	HSTS string
	// MetricsToken, when set, serves /metrics here to requests that bear it;
	// unset, /metrics is not served here (see MetricsHandler).
	MetricsToken string
}

// Body limits. The webhook has its own (ingest.MaxBodyBytes); sign-in reads
// an email and a password and nothing more.
const (
	MaxBodyBytes       = 256 << 10              // every form and JSON endpoint
	MaxSignInBodyBytes = console.SignInMaxBytes // POST /console/sign-in
)

// NewServer returns the HTTP handler.
func NewServer(d Deps) http.Handler {
	mux := http.NewServeMux()
	addRoutes(mux, d)
	return logRequests(d.Log, d.HSTS, limitBodies(mux))
}

// MetricsHandler serves the registry, to requests bearing token when it is
// not empty: on its own listener (IMPACTD_METRICS_ADDR) or as /metrics.
func MetricsHandler(reg *prometheus.Registry, token string) http.Handler {
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	if token == "" {
		return h
	}
	want := sha256.Sum256([]byte("Bearer " + token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need a bearer token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// limitBodies bounds what any handler can read: a body declared larger is
// refused before it is read (413), and one that turns out larger stops at
// the limit (the handler's read fails), so no form parser ever buffers or
// spools an unbounded upload to disk.
func limitBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/webhooks/stripe" && r.Body != nil && r.Body != http.NoBody {
			limit := int64(MaxBodyBytes)
			if r.URL.Path == "/console/sign-in" {
				limit = MaxSignInBodyBytes
			}
			if r.ContentLength > limit {
				w.Header().Set("Connection", "close")
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
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

// statusRecorder remembers the status for the request log and, just
// before the headers go out, adds the security headers the handler did not
// set: every response is unsniffable, unframeable and sends no referrer, an
// HTML page gets the content security policy of webui (so a page that
// forgot webui.SecurityHeaders is still covered), and HSTS when configured.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	hsts        string
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.wroteHeader, s.status = true, code
		h := s.Header()
		setDefault := func(k, v string) {
			if h.Get(k) == "" {
				h.Set(k, v)
			}
		}
		setDefault("X-Content-Type-Options", "nosniff")
		setDefault("Referrer-Policy", "no-referrer")
		setDefault("X-Frame-Options", "DENY")
		if strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			setDefault("Content-Security-Policy", webui.ContentSecurityPolicy)
		} else {
			setDefault("Content-Security-Policy", "frame-ancestors 'none'")
		}
		if s.hsts != "" {
			h.Set("Strict-Transport-Security", s.hsts)
		}
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if !s.wroteHeader {
		if s.Header().Get("Content-Type") == "" {
			s.Header().Set("Content-Type", http.DetectContentType(b))
		}
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests logs method, route and status — never query strings or
// bodies, which may carry tokens or personal data — and sets the security
// headers (see statusRecorder).
func logRequests(log *slog.Logger, hsts string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK, hsts: hsts}
		next.ServeHTTP(rec, r)
		log.Debug("http", "method", r.Method, "route", r.Pattern, "status", rec.status, "ms", time.Since(start).Milliseconds())
	})
}
