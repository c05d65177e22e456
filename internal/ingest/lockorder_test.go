package ingest_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"impactd/internal/ingest"
	"impactd/internal/metrics"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

// TestNoDeadlockBetweenEvents: on PostgreSQL, two events of one supporter
// that meet halfway through their transactions never deadlock. Each case
// makes the meeting certain instead of lucky: the test holds one of the
// supporter's advisory locks, sends the first event and waits until it
// queues, sends the second and waits until it queues too, then lets go.
// When an event took a row lock before its advisory locks (customer.updated
// locked its customer link; a payment intent wrote its hint) or took
// advisory locks after rows (a subscription checkout wrote its hint after
// its donor), PostgreSQL broke the cycle by failing one of them: a 500 that
// Stripe retried.
func TestNoDeadlockBetweenEvents(t *testing.T) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skip("PostgreSQL not available: set " + storetest.PostgresEnv + " to run against it")
	}
	at := hostileAt
	lock1 := ingest.Charge{ID: "ch_lock1", Customer: "cus_lock1", Name: "Lock One", Email: "lock1@example.org",
		Amount: 1200, Currency: "gbp", Created: at}
	lock2 := ingest.Charge{ID: "ch_lock2", Customer: "cus_lock2", Name: "Lock Two", Email: "lock2@example.org",
		Amount: 1500, Currency: "gbp", Created: at}
	type event struct {
		id, typ string
		obj     map[string]any
	}
	tests := []struct {
		name          string
		before        []event
		hold          string // the advisory lock key the test holds, as store.LockSupporter names it
		first, second event
		check         func(t *testing.T, s *store.Store)
	}{
		{
			name:   "a new charge of a customer meets customer.updated",
			before: []event{{"evt_lock1_cus", "customer.created", ingest.CustomerObject("cus_lock1", "Lock One", lock1.Email, nil, at, nil)}},
			hold:   "email:lock1@example.org",
			first:  event{"evt_lock1_ch", "charge.succeeded", lock1.Object()},
			second: event{"evt_lock1_upd", "customer.updated",
				ingest.CustomerObject("cus_lock1", "Lock One Renamed", lock1.Email, nil, at.Add(time.Minute), nil)},
			check: func(t *testing.T, s *store.Store) {
				d, err := s.DonorByCustomer(context.Background(), "cus_lock1")
				if err != nil || d.Name != "Lock One Renamed" {
					t.Fatalf("donor %+v %v", d, err)
				}
				if g := donation(t, s, "ch_lock1"); g.DonorID != d.ID {
					t.Fatalf("the gift is on %s, the customer's donor is %s", g.DonorID, d.ID)
				}
			},
		},
		{
			name:   "a payment intent meets the subscription checkout that paid it",
			before: []event{{"evt_lock2_cus", "customer.created", ingest.CustomerObject("cus_lock2", "Lock Two", lock2.Email, nil, at, nil)}},
			hold:   "customer:cus_lock2",
			first: event{"evt_lock2_cs", "checkout.session.completed",
				ingest.CheckoutSessionObject("cs_lock2", "subscription", "pi_lock2", "sub_lock2", lock2, map[string]string{"designation": "Lock fund"})},
			second: event{"evt_lock2_pi", "payment_intent.succeeded", ingest.PaymentIntentObject("pi_lock2", lock2)},
			check: func(t *testing.T, s *store.Store) {
				g := donation(t, s, "ch_lock2")
				d, err := s.DonorByCustomer(context.Background(), "cus_lock2")
				if err != nil || g.DonorID != d.ID || g.SubscriptionID != "sub_lock2" || g.Designation != "Lock fund" {
					t.Fatalf("gift %+v of donor %+v (%v)", g, d, err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pg := openWatched(t)
			s, b, m := pg.store, pg.bundle, pg.metrics
			for _, ev := range tt.before {
				if code, body := b.raw(t, ev.id, ev.typ, ev.obj); code != 200 {
					t.Fatalf("%s: %d %s", ev.id, code, body)
				}
			}
			holder := pg.hold(t, tt.hold)
			var wg sync.WaitGroup
			answers := make([]string, 2)
			for i, ev := range []event{tt.first, tt.second} {
				wg.Go(func() {
					code, body := b.raw(t, ev.id, ev.typ, ev.obj)
					answers[i] = http.StatusText(code) + " " + strings.TrimSpace(body)
				})
				pg.waitFor(t, i+1)
			}
			if err := holder.Commit(); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			for i, ev := range []event{tt.first, tt.second} {
				if !strings.HasPrefix(answers[i], "OK ") || !strings.Contains(answers[i], "applied") {
					t.Errorf("%s: %s", ev.typ, answers[i])
				}
			}
			if n := testutil.ToFloat64(m.StripeRetries); n != 0 {
				t.Errorf("%v transactions retried after a deadlock", n)
			}
			if t.Failed() {
				return
			}
			tt.check(t, s)
			checkLedger(t, s)
		})
	}
}

// TestDeadlockIsRetried: a deadlock the lock order does not foresee (here
// made by the test itself: it locks the customer's row, which the event
// locks after its advisory locks, then asks for the customer's advisory
// lock) ends the event's transaction, which is run again and answered 200,
// and counted.
func TestDeadlockIsRetried(t *testing.T) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skip("PostgreSQL not available: set " + storetest.PostgresEnv + " to run against it")
	}
	ctx := context.Background()
	// The event's connections look for a deadlock after 2 s of waiting, the
	// test's after a minute: the event is the one PostgreSQL ends, however
	// busy the machine.
	pg := openWatched(t, "deadlock_timeout=2s")
	b, m := pg.bundle, pg.metrics
	cus := ingest.CustomerObject("cus_retry", "Retry Once", "retry@example.org", nil, hostileAt, nil)
	if code, body := b.raw(t, "evt_retry_cus", "customer.created", cus); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	holder, err := pg.store.DB().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Rollback() }()
	if _, err := holder.ExecContext(ctx, `SET LOCAL deadlock_timeout = '60s'`); err != nil {
		t.Fatal(err)
	}
	if _, err := holder.ExecContext(ctx, `SELECT 1 FROM donor_customers WHERE stripe_customer_id = 'cus_retry' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	answer := make(chan string, 1)
	go func() {
		code, body := b.raw(t, "evt_retry_upd", "customer.updated", with(cus, "name", "Retry Twice"))
		answer <- http.StatusText(code) + " " + strings.TrimSpace(body)
	}()
	pg.waitFor(t, 1)
	// The event waits for the row and holds the advisory lock; asking for
	// that lock closes the cycle. The event's deadlock check comes first and
	// ends its own transaction, which frees the lock.
	if _, err := holder.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('customer:cus_retry', 0))`); err != nil {
		t.Fatal(err)
	}
	if err := holder.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := <-answer; !strings.HasPrefix(got, "OK ") || !strings.Contains(got, "applied") {
		t.Fatalf("customer.updated after a deadlock: %s", got)
	}
	if n := testutil.ToFloat64(m.StripeRetries); n != 1 {
		t.Fatalf("impactd_stripe_retries_total = %v, want 1", n)
	}
	if d, err := pg.store.DonorByCustomer(ctx, "cus_retry"); err != nil || d.Name != "Retry Twice" {
		t.Fatalf("donor %+v %v", d, err)
	}
}

// watched is a PostgreSQL store whose connections the test can see waiting.
type watched struct {
	store   *store.Store
	bundle  bundle
	metrics *metrics.Metrics
	app     string // the application_name of the store's connections
}

// openWatched opens a migrated store in a private schema; params are more
// connection parameters ("name=value", PostgreSQL settings included).
func openWatched(t *testing.T, params ...string) watched {
	t.Helper()
	ctx := context.Background()
	var r [4]byte
	_, _ = rand.Read(r[:])
	app := "impactd_lockorder_" + hex.EncodeToString(r[:])
	u := storetest.PostgresURL(t) + "&application_name=" + app
	for _, p := range params {
		u += "&" + p
	}
	s, err := store.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	b, m := withMetrics(t, s)
	return watched{store: s, bundle: b, metrics: m, app: app}
}

// waiting counts the store's connections that wait for a lock.
func (w watched) waiting(t *testing.T) int {
	t.Helper()
	var n int
	err := w.store.DB().GetContext(context.Background(), &n, `SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE a.application_name = $1 AND NOT l.granted`, w.app)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitFor waits until at least n of the store's connections wait for a lock.
func (w watched) waitFor(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); w.waiting(t) < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions waiting, want %d", w.waiting(t), n)
		}
	}
}

// hold takes the advisory lock of key in a transaction of its own, which
// the caller ends.
func (w watched) hold(t *testing.T, key string) *sqlx.Tx {
	t.Helper()
	ctx := context.Background()
	tx, err := w.store.DB().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, key); err != nil {
		t.Fatal(err)
	}
	return tx
}
