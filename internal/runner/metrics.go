package runner

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"impactd/internal/domain"
)

// Collectors are the runner's own metrics: the depth of the job queue, by
// status, read from the database at each scrape (so every replica reports
// the shared queue, not its own share), and this process's send outcomes
// that could not be recorded before it stopped.
func (r *Runner) Collectors() []prometheus.Collector {
	r.init()
	out := []prometheus.Collector{prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "impactd_send_outcomes_unrecorded_total",
		Help: "Send outcomes (or unsent attempts) this process could not record, the database being away when it had to stop: each leaves an open attempt that whoever takes the job over counts interrupted and sends again.",
	}, func() float64 { return float64(r.sh.unrecorded.Load()) })}
	for _, status := range []string{domain.JobPending, domain.JobRunning} {
		out = append(out, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "impactd_job_queue_depth",
			Help:        "Statement jobs waiting (pending, including those waiting to retry) or being worked (running), across all replicas.",
			ConstLabels: prometheus.Labels{"status": status},
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			m, err := r.Store.QueueDepth(ctx)
			if err != nil {
				return -1
			}
			return float64(m[status])
		}))
	}
	return out
}
