package ingest_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"impactd/internal/ingest"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

// TestEraseWaitsForEventsUnderWay: on PostgreSQL an erasure waits for the
// events being applied, and the events that arrive during it wait for it, so
// an event that read the donor as not yet erased cannot store their details
// after the erasure looked. The test makes the overlap certain: it holds the
// event's row in stripe_events (as a concurrent delivery of the same event
// would), so the event is stopped after it has read the donor and before it
// writes; then it starts the erasure and lets the event go.
func TestEraseWaitsForEventsUnderWay(t *testing.T) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skip("PostgreSQL not available: set " + storetest.PostgresEnv + " to run against it")
	}
	ctx := context.Background()
	pg := openWatched(t)
	s, b := pg.store, pg.bundle
	addr := &stripe.Address{Line1: "9 Umbrella Yard", City: "Wexcombe", PostalCode: "WX9 9ZZ", Country: "GB"}
	c := ingest.Charge{ID: "ch_race", Customer: "cus_race", Name: "Ottoline Vantablack", Email: "ottoline@example.org",
		Address: addr, Amount: 4000, Currency: "gbp", Created: hostileAt}
	if code, body := b.raw(t, "evt_race_cus", "customer.created", ingest.CustomerObject("cus_race", c.Name, c.Email, addr, hostileAt, nil)); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if code, body := b.raw(t, "evt_race_ch", "charge.succeeded", c.Object()); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	d, err := s.DonorByCustomer(ctx, "cus_race")
	if err != nil {
		t.Fatal(err)
	}

	holder, err := s.DB().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Rollback() }()
	if _, err := holder.ExecContext(ctx, `INSERT INTO stripe_events (id, type, created, payload, received_at)
		VALUES ('evt_race_cs', 'checkout.session.completed', 0, '{}', 0)`); err != nil {
		t.Fatal(err)
	}
	next := c
	next.Created = hostileAt.Add(time.Hour)
	answer := make(chan string, 1)
	go func() {
		code, body := b.raw(t, "evt_race_cs", "checkout.session.completed",
			ingest.CheckoutSessionObject("cs_race2", "payment", "pi_race2", "", next, nil))
		answer <- http.StatusText(code) + " " + strings.TrimSpace(body)
	}()
	pg.waitFor(t, 1)
	erased := make(chan error, 1)
	go func() {
		erased <- s.InTx(ctx, func(tx *store.Tx) error { return tx.EraseDonor(ctx, d.ID, time.Now().Unix()) })
	}()
	// The erasure now waits for the event; were it not to, it would finish
	// first, and the event would then store what it read.
	var done error
	finished := false
	for deadline := time.Now().Add(10 * time.Second); !finished && pg.waiting(t) < 2; time.Sleep(5 * time.Millisecond) {
		select {
		case done = <-erased:
			finished = true
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("neither waiting nor done: the erasure")
		}
	}
	if err := holder.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := <-answer; !strings.HasPrefix(got, "OK ") || !strings.Contains(got, "applied") {
		t.Fatalf("checkout.session.completed during the erasure: %s", got)
	}
	if !finished {
		done = <-erased
	}
	if done != nil {
		t.Fatal(done)
	}
	cols, err := s.TextColumns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range cols {
		for _, n := range []string{"ottoline", "vantablack", "umbrella", "wexcombe", "wx9 9zz"} {
			var vals []string
			q := `SELECT "` + col.Column + `" FROM "` + col.Table + `" WHERE LOWER("` + col.Column + `") LIKE $1`
			if err := s.DB().SelectContext(ctx, &vals, q, "%"+n+"%"); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				t.Errorf("%s.%s holds %s after the erasure: %.160s", col.Table, col.Column, n, v)
			}
		}
	}
}
