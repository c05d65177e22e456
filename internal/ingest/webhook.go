package ingest

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"impactd/internal/domain"
	"impactd/internal/metrics"
)

// MaxBodyBytes is the largest webhook body accepted; Stripe's are far smaller.
const MaxBodyBytes = 1 << 20

// DefaultTolerance is how old a signature may be, as Stripe recommends.
const DefaultTolerance = 300 * time.Second

// Webhook is the handler for POST /webhooks/stripe.
type Webhook struct {
	Ingester  *Ingester
	Secret    string
	Tolerance time.Duration
	Metrics   *metrics.Metrics
	Log       *slog.Logger
}

// ServeHTTP verifies the Stripe-Signature header, then applies the event.
// Stripe retries anything but a 2xx, so the answers are: 200 applied,
// already seen, ignored or rejected (stored, broke a rule of the ledger,
// listed for staff: a retry cannot make it true); 400 forged, stale, from the
// future or malformed; 413 too large; 500 only when we could not store it —
// the database is unreachable — nothing was written and a retry will work.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.reject(w, "", http.StatusRequestEntityTooLarge, "body larger than 1 MiB")
			return
		}
		h.reject(w, "", http.StatusBadRequest, "could not read body")
		return
	}
	tolerance := h.Tolerance
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	header := r.Header.Get("Stripe-Signature")
	if signedAt, ok := signatureTime(header); ok && time.Until(signedAt) > tolerance {
		// Stripe's library checks only the age; a timestamp from the future
		// would stretch the replay window by however far ahead it is.
		h.reject(w, "", http.StatusBadRequest, "signature timestamp outside the tolerance")
		return
	}
	ev, err := webhook.ConstructEventWithOptions(body, header, h.Secret,
		webhook.ConstructEventOptions{Tolerance: tolerance, IgnoreAPIVersionMismatch: true})
	if err != nil {
		switch {
		case errors.Is(err, webhook.ErrTooOld):
			h.reject(w, "", http.StatusBadRequest, "signature timestamp outside the tolerance")
		case errors.Is(err, webhook.ErrNotSigned), errors.Is(err, webhook.ErrInvalidHeader), errors.Is(err, webhook.ErrNoValidSignature):
			h.reject(w, "", http.StatusBadRequest, "invalid signature")
		default:
			h.reject(w, "", http.StatusBadRequest, "malformed event JSON")
		}
		return
	}
	log := h.Log.With("stripe_event", ev.ID, "type", string(ev.Type))
	if ev.APIVersion != "" && ev.APIVersion != stripe.APIVersion {
		log.Info("webhook from another Stripe API version; fields are read leniently",
			"event_api_version", ev.APIVersion, "library_api_version", stripe.APIVersion)
	}
	outcome, err := h.Ingester.Apply(r.Context(), &ev)
	if err != nil {
		if domain.ErrorCode(err) == domain.EINVALID {
			log.Warn("webhook rejected", "err", err)
			h.count(string(ev.Type), "rejected")
			http.Error(w, domain.ErrorMessage(err), http.StatusBadRequest)
			return
		}
		log.Error("webhook not stored; Stripe will retry", "err", err)
		h.count(string(ev.Type), "error")
		http.Error(w, "temporary failure, please retry", http.StatusInternalServerError)
		return
	}
	log.Debug("webhook", "outcome", string(outcome))
	h.count(string(ev.Type), string(outcome))
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"received":true,"outcome":"`+string(outcome)+`"}`)
}

func (h *Webhook) reject(w http.ResponseWriter, typ string, status int, why string) {
	h.Log.Warn("webhook rejected", "status", status, "why", why)
	h.count(typ, "rejected")
	http.Error(w, why, status)
}

func (h *Webhook) count(typ, outcome string) {
	if h.Metrics == nil {
		return
	}
	if typ == "" {
		typ = "unknown"
	}
	h.Metrics.WebhookEvents.WithLabelValues(typ, outcome).Inc()
}

// signatureTime reads the t= timestamp of a Stripe-Signature header.
func signatureTime(header string) (time.Time, bool) {
	for _, part := range strings.Split(header, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok && k == "t" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return time.Time{}, false
			}
			return time.Unix(n, 0), true
		}
	}
	return time.Time{}, false
}
