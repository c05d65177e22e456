// Package stripesync reads a Stripe account through its API — the backfill
// of history from before impactd, and the reconciliation of a period — and
// feeds every object through the same apply code as the webhooks, so the two
// paths can never disagree.
package stripesync

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"golang.org/x/sync/errgroup"

	"impactd/internal/domain"
	"impactd/internal/ingest"
	"impactd/internal/store"
)

// NewClient returns a Stripe API client. base overrides Stripe's address (for
// stripe-mock or a fixture server); retries covers 429s and network errors,
// which stripe-go retries with exponential backoff and jitter.
func NewClient(key, base string, retries int64) *client.API {
	cfg := &stripe.BackendConfig{
		MaxNetworkRetries: stripe.Int64(retries),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelError},
	}
	if base != "" {
		cfg.URL = stripe.String(base)
	}
	backends := &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, cfg),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, cfg),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, cfg),
	}
	return client.New(key, backends)
}

// Syncer pages through the account and applies what it reads.
type Syncer struct {
	API      *client.API
	Ingester *ingest.Ingester
	Store    *store.Store
	Log      *slog.Logger
	Progress io.Writer // a line per page; nil for none
	PageSize int64     // default 100, Stripe's maximum
	Workers  int       // objects applied at once; default 1 on SQLite, 8 on PostgreSQL
}

// Stats counts what a sync did, per resource.
type Stats struct {
	Resource string
	Objects  int
	Applied  int
	Resumed  bool
	Elapsed  time.Duration
}

// iter is what every stripe-go list iterator offers.
type iter interface {
	Next() bool
	Current() interface{}
	Err() error
}

// resource is one list the sync reads, in dependency order: customers
// first so that gifts find their donors with names and addresses.
type resource struct {
	name  string
	event string // the event type whose data object this list returns
	list  func(api *client.API, lp stripe.ListParams, since *stripe.RangeQueryParams) iter
	// observed dates an object as an event would: most objects are applied
	// as their state now; lost disputes by when their funds left.
	observed func(obj any, now int64) int64
}

func now(_ any, n int64) int64 { return n }

var resources = []resource{
	{"customers", "customer.updated", func(api *client.API, lp stripe.ListParams, since *stripe.RangeQueryParams) iter {
		return api.Customers.List(&stripe.CustomerListParams{ListParams: lp, CreatedRange: since})
	}, now},
	{"checkout_sessions", "checkout.session.completed", func(api *client.API, lp stripe.ListParams, since *stripe.RangeQueryParams) iter {
		return api.CheckoutSessions.List(&stripe.CheckoutSessionListParams{ListParams: lp, CreatedRange: since, Status: stripe.String("complete")})
	}, now},
	{"invoices", "invoice.paid", func(api *client.API, lp stripe.ListParams, since *stripe.RangeQueryParams) iter {
		return api.Invoices.List(&stripe.InvoiceListParams{ListParams: lp, CreatedRange: since, Status: stripe.String("paid")})
	}, now},
	{"charges", "charge.updated", func(api *client.API, lp stripe.ListParams, since *stripe.RangeQueryParams) iter {
		p := &stripe.ChargeListParams{ListParams: lp, CreatedRange: since}
		p.AddExpand("data.balance_transaction")
		p.AddExpand("data.refunds")
		return api.Charges.List(p)
	}, now},
	{"disputes", "charge.dispute.updated", func(api *client.API, lp stripe.ListParams, since *stripe.RangeQueryParams) iter {
		return api.Disputes.List(&stripe.DisputeListParams{ListParams: lp, CreatedRange: since})
	}, func(obj any, n int64) int64 {
		d, ok := obj.(*stripe.Dispute)
		if !ok {
			return n
		}
		var last int64
		for _, bt := range d.BalanceTransactions {
			if bt != nil && bt.Created > last {
				last = bt.Created
			}
		}
		if last == 0 {
			last = d.Created
		}
		return last
	}},
}

// Resources names the lists a sync reads, in order.
func Resources() []string {
	out := make([]string, len(resources))
	for i, r := range resources {
		out[i] = r.name
	}
	return out
}

// Sync reads every resource created since since (zero: all of history).
// It records its place after every page, so an interrupted sync resumes
// where it stopped when run again with the same since; a finished one
// starts afresh.
func (s *Syncer) Sync(ctx context.Context, since time.Time) ([]Stats, error) {
	var out []Stats
	for _, r := range resources {
		st, err := s.syncOne(ctx, r, since)
		out = append(out, st)
		if err != nil {
			return out, fmt.Errorf("stripe sync %s: %w", r.name, err)
		}
	}
	return out, nil
}

func (s *Syncer) syncOne(ctx context.Context, r resource, since time.Time) (Stats, error) {
	start := time.Now()
	st := Stats{Resource: r.name}
	sinceUnix := int64(0)
	if !since.IsZero() {
		sinceUnix = since.Unix()
	}
	state, err := s.Store.SyncState(ctx, r.name)
	if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
		return st, err
	}
	cursor := ""
	if state != nil && state.Done == 0 && state.Since == sinceUnix && state.Cursor != "" {
		cursor, st.Resumed = state.Cursor, true
		st.Objects = int(state.Objects)
	}
	save := func(done int) error {
		return s.Store.SaveSyncState(ctx, &store.SyncState{Resource: r.name, Cursor: cursor, Since: sinceUnix, Done: done,
			Objects: int64(st.Objects), UpdatedAt: time.Now().Unix()})
	}
	if err := save(0); err != nil {
		return st, err
	}
	pageSize := s.PageSize
	if pageSize <= 0 {
		pageSize = 100
	}
	lp := stripe.ListParams{Limit: stripe.Int64(pageSize), Context: ctx}
	if cursor != "" {
		lp.StartingAfter = stripe.String(cursor)
	}
	var rng *stripe.RangeQueryParams
	if sinceUnix > 0 {
		rng = &stripe.RangeQueryParams{GreaterThanOrEqual: sinceUnix}
	}
	it := r.list(s.API, lp, rng)
	workers := s.Workers
	if workers <= 0 {
		workers = 1
		if s.Store.Dialect() == store.Postgres {
			workers = 8 // objects of a page are independent; row locks order the rest
		}
	}
	// Objects are applied a page at a time, several at once, and the page's
	// last id is saved only when all of them are in: a crash repeats at most
	// one page, which applying idempotently makes harmless.
	var page []any
	printed := -1 // objects counted in the last progress line
	flush := func() error {
		if len(page) == 0 {
			return nil
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(workers)
		applied := make([]bool, len(page))
		for i, obj := range page {
			g.Go(func() error {
				raw, err := json.Marshal(obj)
				if err != nil {
					return fmt.Errorf("encode %s: %w", r.name, err)
				}
				outcome, err := s.Ingester.ApplyObject(gctx, r.event, raw, r.observed(obj, time.Now().Unix()))
				applied[i] = outcome == ingest.Applied
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		for _, a := range applied {
			st.Objects++
			if a {
				st.Applied++
			}
		}
		raw, err := json.Marshal(page[len(page)-1])
		if err != nil {
			return err
		}
		var last struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(raw, &last)
		cursor = last.ID
		page = page[:0]
		if err := save(0); err != nil {
			return err
		}
		s.progress(st, start)
		printed = st.Objects
		return nil
	}
	for it.Next() {
		page = append(page, it.Current())
		if len(page) == int(pageSize) {
			if err := flush(); err != nil {
				return st, err
			}
		}
	}
	if err := it.Err(); err != nil {
		return st, err
	}
	if err := flush(); err != nil {
		return st, err
	}
	cursor = ""
	st.Elapsed = time.Since(start)
	if printed != st.Objects { // the last page's line already says it all
		s.progress(st, start)
	}
	return st, save(1)
}

func (s *Syncer) progress(st Stats, start time.Time) {
	if s.Progress == nil {
		return
	}
	el := time.Since(start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(st.Objects) / el
	}
	resumed := ""
	if st.Resumed {
		resumed = " (resumed)"
	}
	fmt.Fprintf(s.Progress, "%-18s %7d objects, %6d applied, %7.0f/s%s\n", st.Resource, st.Objects, st.Applied, rate, resumed)
}
