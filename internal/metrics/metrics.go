// Package metrics declares impactd's Prometheus metrics in one place, so that
// names and labels stay consistent and every collector is registered once.
package metrics

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the collectors the other packages update.
type Metrics struct {
	WebhookEvents      *prometheus.CounterVec
	StripeRejections   *prometheus.CounterVec
	StripeRetries      prometheus.Counter
	StatementsRendered prometheus.Counter
	StatementsSent     prometheus.Counter
	StatementsFailed   prometheus.Counter
	StatementsPosted   prometheus.Counter
	RunDuration        prometheus.Histogram
}

// New creates the collectors and registers them with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		WebhookEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "impactd_webhook_events_total",
			Help: "Stripe webhook deliveries by event type and outcome (applied, duplicate, ignored, rejected, error).",
		}, []string{"type", "outcome"}),
		StripeRejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "impactd_stripe_rejections_total",
			Help: "Stripe events and backfilled objects stored but not applied because they broke a rule of the ledger, by rule; each is listed on the console's Exceptions page.",
		}, []string{"rule"}),
		StripeRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "impactd_stripe_retries_total",
			Help: "Transactions of Stripe events that PostgreSQL ended as a deadlock or serialisation failure and that were run again; locks are taken in one order, so this stays 0 unless that order has a gap.",
		}),
		StatementsRendered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "impactd_statements_rendered_total", Help: "Statement PDFs rendered.",
		}),
		StatementsSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "impactd_statements_sent_total", Help: "Statement emails accepted by the mail relay.",
		}),
		StatementsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "impactd_statements_failed_total", Help: "Statement emails that failed.",
		}),
		StatementsPosted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "impactd_statements_posted_total", Help: "Statements made for the post and put in their run's print batch.",
		}),
		RunDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "impactd_run_duration_seconds", Help: "Wall time of statement runs.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14),
		}),
	}
	reg.MustRegister(m.WebhookEvents, m.StripeRejections, m.StripeRetries, m.StatementsRendered, m.StatementsSent, m.StatementsFailed, m.StatementsPosted, m.RunDuration)
	return m
}

// Discard returns collectors registered nowhere, for tests and one-shot commands.
func Discard() *Metrics { return New(prometheus.NewRegistry()) }
