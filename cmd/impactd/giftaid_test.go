package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"impactd/internal/domain"
	"impactd/internal/period"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
	"impactd/internal/synthetic"
)

// TestGiftAidClaimTwoProcesses starts two `impactd giftaid claim`
// processes at once on one database, on SQLite and PostgreSQL: every gift
// ends in exactly one claim, whichever process got it.
func TestGiftAidClaimTwoProcesses(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		s, err := store.Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		const donors, each = 40, 5
		err = s.InTx(ctx, func(tx *store.Tx) error {
			for i := range donors {
				d := &domain.Donor{Name: fmt.Sprintf("Olivia Smith%d", i), Email: fmt.Sprintf("d%d@example.org", i), Status: domain.DonorActive,
					Address: fmt.Sprintf("%d High Street\nLondon SE1 7TP\nGB", i+1), GiftAidFrom: "2026-01-01", CreatedAt: 1, UpdatedAt: 1}
				if err := tx.CreateDonor(ctx, d); err != nil {
					return err
				}
				for j := range each {
					g := &domain.Donation{DonorID: d.ID, ChargeID: fmt.Sprintf("ch_%d_%d", i, j), Amount: 1000 + int64(i*each+j), Currency: "GBP",
						Status: domain.DonationSucceeded, Created: time.Date(2026, 7, 1+j, 12, 0, 0, 0, time.UTC).Unix(), UpdatedAt: 1}
					if _, err := tx.InsertDonation(ctx, g); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		env := append(os.Environ(), "IMPACTD_DATABASE_URL="+dbURL, "IMPACTD_SMTP_URL=file://"+t.TempDir(), "IMPACTD_LOG_LEVEL=error", "IMPACTD_SCHEDULE=off")
		var wg sync.WaitGroup
		outs := make([]bytes.Buffer, 2)
		errs := make([]error, 2)
		for i := range 2 {
			a, _ := json.Marshal([]string{"giftaid", "claim", "--to", "2026-09-30", "--out", filepath.Join(t.TempDir(), "out"), "--actor", fmt.Sprint("process ", i)})
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(slices.Clip(env), childEnv+"="+string(a)) // each its own copy: both start at once
			cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = cmd.Run() }()
		}
		wg.Wait()
		made := 0
		for i, err := range errs {
			switch {
			case err == nil:
				made++
			case !strings.Contains(outs[i].String(), "nothing to claim"):
				t.Fatalf("process %d: %v\n%s", i, err, outs[i].String())
			}
		}
		var gifts, distinct, claims int
		var sum, totals int64
		db := s.DB()
		if err := db.Get(&gifts, `SELECT COUNT(*) FROM giftaid_claim_gifts`); err != nil {
			t.Fatal(err)
		}
		if err := db.Get(&distinct, `SELECT COUNT(DISTINCT donation_id) FROM giftaid_claim_gifts`); err != nil {
			t.Fatal(err)
		}
		if err := db.Get(&claims, `SELECT COUNT(*) FROM giftaid_claims`); err != nil {
			t.Fatal(err)
		}
		if err := db.Get(&sum, `SELECT COALESCE(SUM(amount), 0) FROM donations`); err != nil {
			t.Fatal(err)
		}
		if err := db.Get(&totals, `SELECT COALESCE(SUM(total), 0) FROM giftaid_claims`); err != nil {
			t.Fatal(err)
		}
		if gifts != donors*each || distinct != gifts || claims != made || sum != totals {
			t.Fatalf("%d claim rows (%d distinct) for %d gifts; %d claims (%d processes made one); donations %d, claims %d",
				gifts, distinct, donors*each, claims, made, sum, totals)
		}
		t.Logf("%d gifts in %d claims", gifts, claims)
	})
}

// TestDemoGiftAidReconciles runs the demo and checks its Gift Aid claim
// against a sum made here from the demo's raw Stripe history: the GBP
// charges, less what was refunded, of customers who declared Gift Aid
// before the charge and live at a UK address — to the penny.
func TestDemoGiftAidReconciles(t *testing.T) {
	dir := t.TempDir()
	const donors = 120
	var out bytes.Buffer
	if err := run(context.Background(), []string{"demo", "--dir", dir, "--donors", fmt.Sprint(donors)}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "gift aid claim    gac_") || !strings.Contains(out.String(), filepath.Join(dir, "giftaid")) {
		t.Fatalf("the summary does not say where the claim is:\n%s", out.String())
	}
	ctx := context.Background()
	s, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "impactd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	claims, err := s.GiftAidClaims(ctx, 10)
	if err != nil || len(claims) != 1 {
		t.Fatalf("%d claims, %v", len(claims), err)
	}
	c := claims[0]
	for _, name := range []string{".csv", ".ods", "-exceptions.csv", "-adjustments.csv"} {
		if _, err := os.Stat(filepath.Join(dir, "giftaid", "giftaid-"+c.ID+name)); err != nil {
			t.Error(err)
		}
	}

	// The same history, read as Stripe sent it.
	london, _ := time.LoadLocation("Europe/London")
	last := period.LastComplete(time.Now(), period.Quarter, london)
	_, end := last.Bounds(london)
	h := synthetic.MakeCovering(donors, last, period.LastComplete(time.Now(), period.TaxYear, london), london) // as the demo makes it
	type cust struct {
		declared string
		uk       bool
	}
	customers := map[string]cust{}
	for _, ev := range h.Events {
		if ev.Type != "customer.created" {
			continue
		}
		md, _ := ev.Object["metadata"].(map[string]string)
		addr, _ := ev.Object["address"].(*stripe.Address)
		uk := addr != nil && addr.Country == "GB"
		if md["gift_aid"] == "yes" {
			customers[ev.Object["id"].(string)] = cust{declared: md["gift_aid_declared"], uk: uk}
		}
	}
	var want int64
	n := 0
	for _, ch := range h.Latest()["charge"] {
		cus, _ := ch["customer"].(string)
		cu, ok := customers[cus]
		created := time.Unix(ch["created"].(int64), 0).In(london)
		if !ok || !cu.uk || ch["currency"] != "gbp" || created.Format(time.DateOnly) < cu.declared || !created.Before(end) {
			continue
		}
		net := ch["amount"].(int64) - ch["amount_refunded"].(int64)
		if net > 0 {
			want += net
			n++
		}
	}
	if want == 0 {
		t.Fatal("the demo's history has no Gift Aid gift: the check proves nothing")
	}
	if c.Total != want || c.Gifts != n {
		t.Fatalf("claim %s: %d gifts, %d pence; the history says %d gifts, %d pence", c.ID, c.Gifts, c.Total, n, want)
	}
	t.Logf("claim %s: %d gifts, %d pence, as the history says", c.ID, c.Gifts, c.Total)
}
