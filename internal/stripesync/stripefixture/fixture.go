// Package stripefixture is a small stand-in for Stripe's list API, serving a
// given set of objects with Stripe's pagination (newest first, limit,
// starting_after, created[gte]) and, on request, 429 answers — so that the
// sync can be tested against realistic, paginated data and rate limits.
package stripefixture

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
)

// Server serves lists of objects by type.
type Server struct {
	mu       sync.Mutex
	lists    map[string][]map[string]any // by path, newest first
	requests atomic.Int64
	// RateLimitEvery answers every Nth request with 429, as Stripe does
	// under load; 0 never.
	RateLimitEvery int64
	// OnRequest, when set, is called with the request count before answering.
	OnRequest func(n int64)
}

// paths maps Stripe object types to their list endpoints.
var paths = map[string]string{
	"customer": "/v1/customers", "charge": "/v1/charges", "invoice": "/v1/invoices",
	"checkout.session": "/v1/checkout/sessions", "dispute": "/v1/disputes",
}

// New returns a server for objects grouped by Stripe type ("charge", …).
func New(objects map[string][]map[string]any) *Server {
	s := &Server{lists: map[string][]map[string]any{}}
	for _, p := range paths {
		s.lists[p] = []map[string]any{}
	}
	for typ, objs := range objects {
		p, ok := paths[typ]
		if !ok {
			continue
		}
		list := append([]map[string]any(nil), objs...)
		sort.SliceStable(list, func(i, j int) bool { return created(list[i]) > created(list[j]) })
		s.lists[p] = list
	}
	return s
}

// Requests is the number of requests answered so far.
func (s *Server) Requests() int64 { return s.requests.Load() }

func created(o map[string]any) int64 {
	switch v := o["created"].(type) {
	case int64:
		return v
	case float64:
		return int64(v)
	case int:
		return int64(v)
	}
	return 0
}

// ServeHTTP answers GET list requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1)
	if s.OnRequest != nil {
		s.OnRequest(n)
	}
	w.Header().Set("Content-Type", "application/json")
	if s.RateLimitEvery > 0 && n%s.RateLimitEvery == 0 {
		w.Header().Set("Stripe-Should-Retry", "true")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}`))
		return
	}
	s.mu.Lock()
	list, ok := s.lists[r.URL.Path]
	s.mu.Unlock()
	if r.Method != http.MethodGet || !ok {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"type":"invalid_request_error","message":"Unrecognized request URL"}}`))
		return
	}
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 100 {
		limit = 10
	}
	gte, _ := strconv.ParseInt(q.Get("created[gte]"), 10, 64)
	lt, _ := strconv.ParseInt(q.Get("created[lt]"), 10, 64)
	charge := q.Get("charge")
	after := q.Get("starting_after")
	var page []map[string]any
	started := after == ""
	more := false
	for _, o := range list {
		if !started {
			started = o["id"] == after
			continue
		}
		if created(o) < gte || (lt > 0 && created(o) >= lt) || (charge != "" && o["charge"] != charge) {
			continue
		}
		if len(page) == limit {
			more = true
			break
		}
		page = append(page, o)
	}
	if page == nil {
		page = []map[string]any{}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "url": r.URL.Path, "has_more": more, "data": page})
}
