package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"impactd/internal/domain"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

func ptr(v int64) *int64 { return &v }

// TestConformance is the store's behaviour, run on every database.
func TestConformance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t.Run("events are stored once", func(t *testing.T) {
			ev := store.StripeEvent{ID: "evt_1", Type: "charge.succeeded", Created: 100, Payload: "{}", ReceivedAt: 101}
			for i, want := range []bool{true, false} {
				got, err := s.InsertEvent(ctx, ev)
				if err != nil || got != want {
					t.Fatalf("insert %d: got %v, %v; want %v", i, got, err, want)
				}
			}
			if n, _ := s.CountEvents(ctx); n != 1 {
				t.Fatalf("events = %d, want 1", n)
			}
		})

		t.Run("donors, links, donations and refunds", func(t *testing.T) {
			d := &domain.Donor{Name: "Zoë Łukasiewicz", Email: "zoe@example.org", CreatedAt: 1, UpdatedAt: 1}
			if err := s.CreateDonor(ctx, d); err != nil {
				t.Fatal(err)
			}
			if err := s.LinkCustomer(ctx, "cus_1", d.ID, 1); err != nil {
				t.Fatal(err)
			}
			if err := s.LinkEmail(ctx, "zoe@example.org", d.ID, 1); err != nil {
				t.Fatal(err)
			}
			// A second link of the same customer is ignored, not an error.
			if err := s.LinkCustomer(ctx, "cus_1", "dnr_other", 2); err != nil {
				t.Fatal(err)
			}
			for name, get := range map[string]func() (*domain.Donor, error){
				"customer": func() (*domain.Donor, error) { return s.DonorByCustomer(ctx, "cus_1") },
				"email":    func() (*domain.Donor, error) { return s.DonorByEmail(ctx, "zoe@example.org") },
			} {
				got, err := get()
				if err != nil || got.ID != d.ID || got.Name != d.Name {
					t.Fatalf("by %s: %+v, %v", name, got, err)
				}
			}
			if _, err := s.DonorByEmail(ctx, "nobody@example.org"); domain.ErrorCode(err) != domain.ENOTFOUND {
				t.Fatalf("unknown email: %v, want not found", err)
			}

			g := &domain.Donation{DonorID: d.ID, ChargeID: "ch_1", Amount: 2500, Currency: "GBP", Status: domain.DonationSucceeded, Created: 1000}
			if ok, err := s.InsertDonation(ctx, g); err != nil || !ok {
				t.Fatalf("insert donation: %v %v", ok, err)
			}
			dup := *g
			dup.ID = ""
			if ok, err := s.InsertDonation(ctx, &dup); err != nil || ok {
				t.Fatalf("duplicate charge inserted: %v %v", ok, err)
			}
			err := s.InTx(ctx, func(tx *store.Tx) error {
				got, err := tx.DonationByChargeForUpdate(ctx, "ch_1")
				if err != nil {
					return err
				}
				got.AmountRefunded = 500
				if err := tx.UpdateDonation(ctx, got); err != nil {
					return err
				}
				return tx.InsertRefund(ctx, domain.Refund{ID: "re_1", DonationID: got.ID, Amount: 500, Currency: "GBP", Created: 2000})
			})
			if err != nil {
				t.Fatal(err)
			}
			if sum, _ := s.SumRefunds(ctx, g.ID); sum != 500 {
				t.Fatalf("refund sum = %d", sum)
			}
			gifts, err := s.DonationsForDonor(ctx, d.ID, 0, 1500)
			if err != nil || len(gifts) != 1 || gifts[0].AmountRefunded != 500 {
				t.Fatalf("donations: %+v %v", gifts, err)
			}
			refunds, err := s.RefundsForDonor(ctx, d.ID, 1500, 3000)
			if err != nil || len(refunds) != 1 || refunds[0].GiftCreated != 1000 {
				t.Fatalf("refunds: %+v %v", refunds, err)
			}
			// The donor is active in the period of the gift and in the period of the refund.
			for _, r := range [][2]int64{{0, 1500}, {1500, 3000}} {
				ds, err := s.DonorsWithActivity(ctx, r[0], r[1])
				if err != nil || len(ds) != 1 {
					t.Fatalf("activity %v: %+v %v", r, ds, err)
				}
			}
			if ds, _ := s.DonorsWithActivity(ctx, 3000, 4000); len(ds) != 0 {
				t.Fatalf("activity after: %+v", ds)
			}
			tot, err := s.TotalsBetween(ctx, 0, 1500)
			if err != nil || len(tot) != 1 || tot[0].Gross != 2500 || tot[0].Refunded != 500 {
				t.Fatalf("totals: %+v %v", tot, err)
			}
		})

		t.Run("a job's donor comes with whether their address bounced", func(t *testing.T) {
			d := &domain.Donor{Name: "Bea", Email: "bea@example.org", CreatedAt: 1, UpdatedAt: 1}
			if err := s.CreateDonor(ctx, d); err != nil {
				t.Fatal(err)
			}
			for i, want := range []bool{false, true} {
				if want {
					if err := s.AddBounce(ctx, domain.Bounce{Email: "bea@example.org", Detail: "550 mailbox unknown", CreatedAt: 2}); err != nil {
						t.Fatal(err)
					}
				}
				got, bounced, err := s.JobDonor(ctx, d.ID)
				if err != nil || got.ID != d.ID || got.Email != d.Email || bounced != want {
					t.Fatalf("%d: %+v bounced %v, %v; want bounced %v", i, got, bounced, err, want)
				}
			}
			if _, _, err := s.JobDonor(ctx, "dnr_nobody"); domain.ErrorCode(err) != domain.ENOTFOUND {
				t.Fatalf("unknown donor: %v, want not found", err)
			}
		})

		t.Run("claims go on after the cursor and still find a job due behind it", func(t *testing.T) {
			run := &domain.Run{Period: "2030-Q1", Trigger: "test", Reason: "claims", Status: domain.RunRunning}
			err := s.InTx(ctx, func(tx *store.Tx) error {
				for i := range 5 {
					d := &domain.Donor{Name: "Claimed", Email: fmt.Sprintf("claim-%d@example.org", i), Status: domain.DonorActive}
					if err := tx.CreateDonor(ctx, d); err != nil {
						return err
					}
					g := &domain.Donation{DonorID: d.ID, ChargeID: fmt.Sprintf("ch_claim_%d", i), Amount: 100, Currency: "GBP",
						Status: domain.DonationSucceeded, Created: 50_000 + int64(i)}
					if _, err := tx.InsertDonation(ctx, g); err != nil {
						return err
					}
				}
				if ok, err := tx.AdmitRun(ctx, run); err != nil || !ok {
					return fmt.Errorf("admit: %v %w", ok, err)
				}
				_, err := tx.PlanJobs(ctx, run, store.Plan{From: 50_000, To: 60_000}, 1)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var cur store.ClaimCursor
			claim := func(nowMS int64, limit int) []domain.Job {
				t.Helper()
				js, err := s.ClaimJobs(ctx, "w1", run.ID, nowMS, nowMS+60_000, limit, &cur)
				if err != nil {
					t.Fatal(err)
				}
				return js
			}
			first := claim(1000, 2)
			if len(first) != 2 || cur.ID != first[1].ID {
				t.Fatalf("first claim: %+v, cursor %+v", first, cur)
			}
			// The first job goes back to the queue, due at once: behind the cursor.
			first[0].Attempts, first[0].RunAfterMS = 1, 0
			if err := s.RetryJob(ctx, &first[0], "w1", 1); err != nil {
				t.Fatal(err)
			}
			if next := claim(1001, 2); len(next) != 2 || next[0].ID == first[0].ID || next[1].ID == first[0].ID {
				t.Fatalf("second claim: %+v", next)
			}
			// One job is left after the cursor; the claim goes back to the start for the second.
			last := claim(1002, 2)
			if len(last) != 2 || (last[0].ID != first[0].ID && last[1].ID != first[0].ID) {
				t.Fatalf("last claim: %+v, want the retried job %s among them", last, first[0].ID)
			}
			if none := claim(1003, 2); len(none) != 0 {
				t.Fatalf("claim of an empty queue: %+v", none)
			}
		})

		t.Run("a failed transaction leaves nothing", func(t *testing.T) {
			boom := errors.New("boom")
			err := s.InTx(ctx, func(tx *store.Tx) error {
				if _, err := tx.InsertEvent(ctx, store.StripeEvent{ID: "evt_rollback", Type: "x", Payload: "{}"}); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("err = %v", err)
			}
			if ok, _ := s.InsertEvent(ctx, store.StripeEvent{ID: "evt_rollback", Type: "x", Payload: "{}"}); !ok {
				t.Fatal("rolled-back event was kept")
			}
		})

		t.Run("impact updates are versioned and published once", func(t *testing.T) {
			u := &domain.ImpactUpdate{Period: "2026-Q3", Title: "Q3", Narrative: "n", Source: "s", AsOf: "2026-10-01",
				Metrics: []domain.Metric{
					{Key: "rescued", Label: "Children brought to safety", Period: ptr(12), Cumulative: ptr(1407), CumulativeSince: "2011"},
					{Key: "arrested", Label: "Suspects arrested", Cumulative: ptr(431)},
				}}
			if err := s.CreateImpactUpdate(ctx, u); err != nil {
				t.Fatal(err)
			}
			if _, err := s.PublishedImpactUpdate(ctx, "2026-Q3"); domain.ErrorCode(err) != domain.ENOTFOUND {
				t.Fatalf("draft reached donors: %v", err)
			}
			if err := s.PublishImpactUpdate(ctx, u.ID, "staff@example.org", 5); err != nil {
				t.Fatal(err)
			}
			if err := s.PublishImpactUpdate(ctx, u.ID, "staff@example.org", 6); domain.ErrorCode(err) != domain.ECONFLICT {
				t.Fatalf("second publish: %v", err)
			}
			got, err := s.PublishedImpactUpdate(ctx, "2026-Q3")
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != 1 || len(got.Metrics) != 2 || *got.Metrics[0].Period != 12 || got.Metrics[1].Period != nil {
				t.Fatalf("published: %+v", got)
			}
			noReason := &domain.ImpactUpdate{Period: "2026-Q3", Title: "Q3 corrected"}
			if err := s.CreateImpactUpdate(ctx, noReason); domain.ErrorCode(err) != domain.EINVALID {
				t.Fatalf("a correction without a reason: err = %v, want EINVALID", err)
			}
			v2 := &domain.ImpactUpdate{Period: "2026-Q3", Title: "Q3 corrected", CorrectionReason: "arrest count double-counted one operation",
				Metrics: []domain.Metric{{Key: "rescued", Label: "Children brought to safety", Period: ptr(3), PeriodDemo: true, Cumulative: ptr(1407)}}}
			if err := s.CreateImpactUpdate(ctx, v2); err != nil || v2.Version != 2 || v2.Supersedes != u.ID {
				t.Fatalf("v2: %+v %v", v2, err)
			}
			// Until the correction is published, donors still see version 1.
			if got, err := s.PublishedImpactUpdate(ctx, "2026-Q3"); err != nil || got.Version != 1 {
				t.Fatalf("before publishing the correction: %+v %v", got, err)
			}
			if err := s.PublishImpactUpdate(ctx, v2.ID, "", 7); domain.ErrorCode(err) != domain.EINVALID {
				t.Fatalf("publish without an approver: %v", err)
			}
			if err := s.PublishImpactUpdate(ctx, v2.ID, "finance@example.org", 7); err != nil {
				t.Fatal(err)
			}
			got, err = s.PublishedImpactUpdate(ctx, "2026-Q3")
			if err != nil || got.Version != 2 || got.CorrectionReason == "" || got.Supersedes != u.ID || got.ApprovedBy != "finance@example.org" ||
				!got.Metrics[0].PeriodDemo || got.Metrics[0].CumulativeDemo {
				t.Fatalf("published correction: %+v %v", got, err)
			}
			// Version 1 is unchanged by the correction.
			v1, err := s.ImpactUpdate(ctx, u.ID)
			if err != nil || v1.Title != "Q3" || v1.ApprovedBy != "staff@example.org" || v1.PublishedAt != 5 || v1.Status != domain.UpdatePublished {
				t.Fatalf("version 1 after the correction: %+v %v", v1, err)
			}
			all, err := s.ImpactUpdates(ctx, "2026-Q3")
			if err != nil || len(all) != 2 || all[0].Version != 2 || all[1].Version != 1 {
				t.Fatalf("ImpactUpdates: %+v %v", all, err)
			}
			if none, err := s.ImpactUpdates(ctx, "2019-Q1"); err != nil || len(none) != 0 {
				t.Fatalf("ImpactUpdates of an empty period: %+v %v", none, err)
			}
		})

		t.Run("concurrent writers do not lose a refund", func(t *testing.T) {
			d := &domain.Donor{Name: "x"}
			if err := s.CreateDonor(ctx, d); err != nil {
				t.Fatal(err)
			}
			g := &domain.Donation{DonorID: d.ID, ChargeID: "ch_conc", Amount: 10000, Currency: "GBP", Status: domain.DonationSucceeded}
			if _, err := s.InsertDonation(ctx, g); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 10)
			for range 10 {
				wg.Go(func() {
					errs <- s.InTx(ctx, func(tx *store.Tx) error {
						got, err := tx.DonationByChargeForUpdate(ctx, "ch_conc")
						if err != nil {
							return err
						}
						got.AmountRefunded += 100
						return tx.UpdateDonation(ctx, got)
					})
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			err := s.InTx(ctx, func(tx *store.Tx) error {
				got, err := tx.DonationByChargeForUpdate(ctx, "ch_conc")
				if err == nil && got.AmountRefunded != 1000 {
					t.Errorf("refunded = %d, want 1000", got.AmountRefunded)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	})
}

func TestOpenRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "mysql://x", "sqlite:", "impactd.db"} {
		if _, err := store.Open(context.Background(), u); err == nil {
			t.Errorf("Open(%q) succeeded", u)
		}
	}
}

func TestMergeAndErase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		keep := &domain.Donor{Name: "Ayşe Yılmaz", Email: "ayse@example.org"}
		other := &domain.Donor{Email: "ayse.old@example.org", Address: "1 High Street\nLondon", GiftAidFrom: "2025-01-01"}
		for _, d := range []*domain.Donor{keep, other} {
			if err := s.CreateDonor(ctx, d); err != nil {
				t.Fatal(err)
			}
			if err := s.LinkEmail(ctx, d.Email, d.ID, 0); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.LinkCustomer(ctx, "cus_old", other.ID, 0); err != nil {
			t.Fatal(err)
		}
		for i, id := range []string{keep.ID, other.ID} {
			if _, err := s.InsertDonation(ctx, &domain.Donation{DonorID: id, ChargeID: "ch_m" + string(rune('0'+i)), Amount: 1000, Currency: "GBP", Status: domain.DonationSucceeded}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.MergeDonors(ctx, keep.ID, keep.ID, 1); domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("self-merge: %v", err)
		}
		if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.MergeDonors(ctx, keep.ID, other.ID, 2) }); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Donor(ctx, keep.ID)
		if got.Address != "1 High Street\nLondon" || got.GiftAidFrom != "2025-01-01" || got.Name != "Ayşe Yılmaz" {
			t.Fatalf("merged donor: %+v", got)
		}
		if gifts, _ := s.DonationsForDonor(ctx, keep.ID, 0, 1<<62); len(gifts) != 2 {
			t.Fatalf("gifts after merge: %d", len(gifts))
		}
		for _, lookup := range []func() (*domain.Donor, error){
			func() (*domain.Donor, error) { return s.DonorByCustomer(ctx, "cus_old") },
			func() (*domain.Donor, error) { return s.DonorByEmail(ctx, "ayse.old@example.org") },
		} {
			if d, err := lookup(); err != nil || d.ID != keep.ID {
				t.Fatalf("lookup after merge: %+v %v", d, err)
			}
		}
		if gone, _ := s.Donor(ctx, other.ID); gone.MergedInto != keep.ID || gone.Status != domain.DonorMerged || gone.Email != "" {
			t.Fatalf("merged-away donor: %+v", gone)
		}
		if err := s.MergeDonors(ctx, keep.ID, other.ID, 3); domain.ErrorCode(err) != domain.ECONFLICT {
			t.Fatalf("second merge: %v", err)
		}

		if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.EraseDonor(ctx, keep.ID, 4) }); err != nil {
			t.Fatal(err)
		}
		erased, _ := s.Donor(ctx, keep.ID)
		if erased.Name != "" || erased.Email != "" || erased.Address != "" || erased.Status != domain.DonorErased {
			t.Fatalf("erased donor keeps personal data: %+v", erased)
		}
		if _, err := s.DonorByEmail(ctx, "ayse@example.org"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("email still leads to the erased donor: %v", err)
		}
		if gifts, _ := s.DonationsForDonor(ctx, keep.ID, 0, 1<<62); len(gifts) != 2 {
			t.Fatalf("erasure lost the amounts: %d gifts", len(gifts))
		}
		if err := s.EraseDonor(ctx, "dnr_missing", 5); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("erase unknown: %v", err)
		}
	})
}

// TestErasedStaysErased: after an erasure, ConcernsErased knows every id of
// the supporter's (customer, charge, payment intent, and the payment hint
// erased with them) and no other, however many ids it is given; and a hint
// marked Erased is never filled again, while saving one as Erased clears it.
func TestErasedStaysErased(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := &domain.Donor{Name: "Ines Quarry", Email: "ines@example.org", Address: "4 Flint Row"}
		if err := s.CreateDonor(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := s.LinkCustomer(ctx, "cus_e", d.ID, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.InsertDonation(ctx, &domain.Donation{DonorID: d.ID, ChargeID: "ch_e", PaymentIntentID: "pi_e",
			Amount: 500, Currency: "GBP", Status: domain.DonationSucceeded}); err != nil {
			t.Fatal(err)
		}
		full := func(pi, customer string) *store.PaymentHint {
			return &store.PaymentHint{PaymentIntentID: pi, CustomerID: customer, Email: "ines@example.org", Name: "Ines Quarry",
				Address: "4 Flint Row", IsDonation: 1}
		}
		other := &store.PaymentHint{PaymentIntentID: "pi_other", CustomerID: "cus_other", Email: "olu@example.org", Name: "Olu Other", IsDonation: 1}
		for _, h := range []*store.PaymentHint{full("pi_e", "cus_e"), full("pi_pending", "cus_e"), other} {
			if err := s.SavePaymentHint(ctx, h); err != nil {
				t.Fatal(err)
			}
		}
		concerns := func(ids ...string) bool {
			t.Helper()
			got, err := s.ConcernsErased(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if concerns("cus_e", "ch_e", "pi_e", "pi_pending") {
			t.Fatal("a supporter not erased counts as erased")
		}
		if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.EraseDonor(ctx, d.ID, 1) }); err != nil {
			t.Fatal(err)
		}
		many := make([]string, 0, 501)
		for i := range 500 {
			many = append(many, fmt.Sprintf("ch_unrelated_%d", i))
		}
		for _, tt := range []struct {
			ids  []string
			want bool
		}{
			{[]string{"cus_e"}, true}, {[]string{"ch_e"}, true}, {[]string{"pi_e"}, true},
			{[]string{"pi_pending"}, true}, // no gift yet: known by its hint
			{[]string{"pi_other"}, false}, {[]string{"cus_other", "ch_x"}, false}, {nil, false}, {[]string{""}, false},
			{many, false}, {append(many, "cus_e"), true},
		} {
			if got := concerns(tt.ids...); got != tt.want {
				t.Errorf("ConcernsErased(%d ids, %.40v) = %v, want %v", len(tt.ids), tt.ids, got, tt.want)
			}
		}
		hint := func(pi string) store.PaymentHint {
			t.Helper()
			h, err := s.PaymentHint(ctx, pi)
			if err != nil {
				t.Fatal(err)
			}
			return *h
		}
		erased := func(pi string) {
			t.Helper()
			if h := hint(pi); h.Email != store.Erased || h.Name != "" || h.Address != "" {
				t.Errorf("hint %s: %+v, want only ids and %s", pi, h, store.Erased)
			}
		}
		erased("pi_e")
		erased("pi_pending")
		if err := s.SavePaymentHint(ctx, full("pi_pending", "cus_e")); err != nil { // a late checkout session
			t.Fatal(err)
		}
		erased("pi_pending")
		if h := hint("pi_other"); h.Name != "Olu Other" || h.Email != "olu@example.org" {
			t.Fatalf("another payment's hint changed: %+v", h)
		}
		if err := s.SavePaymentHint(ctx, &store.PaymentHint{PaymentIntentID: "pi_other", Email: store.Erased}); err != nil {
			t.Fatal(err)
		}
		erased("pi_other")
		if h := hint("pi_other"); h.CustomerID != "cus_other" || h.IsDonation != 1 {
			t.Errorf("erasing a hint lost its ids: %+v", h)
		}
	})
}
