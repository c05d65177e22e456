package store_test

import (
	"context"
	"sync"
	"testing"

	"impactd/internal/domain"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

// TestSeriesMigration: a database as impactd left it before there were
// series (migration 00030), with an unfinished run, a delivered statement,
// a schedule tick and an unsubscribed donor, migrates without loss: every
// row is the impact letter's, the unsubscribed donor receives nothing, and
// admission, the one-letter rule and the ticks then hold per series.
func TestSeriesMigration(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		s, err := store.Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.MigrateTo(ctx, 30); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			`INSERT INTO donors (id, name, email, status, created_at, updated_at) VALUES ('dnr_a', 'Ann', 'ann@example.org', 'active', 1, 1)`,
			`INSERT INTO donors (id, name, email, status, created_at, updated_at) VALUES ('dnr_u', 'Una', 'una@example.org', 'unsubscribed', 1, 1)`,
			`INSERT INTO runs (id, period, triggered_by, status, started_at) VALUES ('run_old', '2026-Q3', 'cli', 'running', 10)`,
			`INSERT INTO statements (id, run_id, donor_id, period, snapshot, content_hash, created_at) VALUES ('stmt_old', 'run_old', 'dnr_a', '2026-Q3', '{}', 'hash_old', 11)`,
			`INSERT INTO deliveries (id, statement_id, attempt, status, created_at, updated_at, donor_id, period, letter_key, force_key)
				VALUES ('dlv_old', 'stmt_old', 1, 'sent', 12, 13, 'dnr_a', '2026-Q3', 'key_old', '')`,
			`INSERT INTO schedule_ticks (tick_at, period, run_id, created_at) VALUES (100, '2026-Q2', 'run_old', 100)`,
		} {
			if _, err := s.DB().ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}

		run, err := s.Run(ctx, "run_old")
		if err != nil || run.Series != domain.SeriesImpact || run.Status != domain.RunRunning || run.Period != "2026-Q3" {
			t.Fatalf("old run: %+v %v", run, err)
		}
		st, err := s.Statement(ctx, "stmt_old")
		if err != nil || st.Series != domain.SeriesImpact || st.ContentHash != "hash_old" {
			t.Fatalf("old statement: %+v %v", st, err)
		}
		sent, err := s.LastSentStatement(ctx, "dnr_a", domain.SeriesImpact, "2026-Q3")
		if err != nil || sent.ID != "stmt_old" || sent.SentAt != 13 {
			t.Fatalf("old delivered statement: %+v %v", sent, err)
		}
		if _, err := s.LastSentStatement(ctx, "dnr_a", domain.SeriesAnnual, "2026-Q3"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("the impact letter counted as an annual statement: %v", err)
		}
		for id, want := range map[string]string{"dnr_a": domain.LettersAll, "dnr_u": domain.LettersNone} {
			d, err := s.Donor(ctx, id)
			if err != nil || d.Letters != want || d.Status != domain.DonorActive || d.MarketingConsent != "" {
				t.Fatalf("%s: %+v %v, want letters %q", id, d, err, want)
			}
		}
		if last, err := s.LastTick(ctx, domain.SeriesImpact); err != nil || last != 100 {
			t.Fatalf("impact's last tick %d %v", last, err)
		}
		if last, err := s.LastTick(ctx, domain.SeriesAnnual); err != nil || last != 0 {
			t.Fatalf("annual's last tick %d %v", last, err)
		}

		// Admission per series and period.
		impactRun := &domain.Run{Series: domain.SeriesImpact, Period: "2026-Q3", Trigger: "test", Status: domain.RunRunning, StartedAt: 20}
		if ok, err := s.AdmitRun(ctx, impactRun); err != nil || ok {
			t.Fatalf("a second impact run of 2026-Q3 admitted: %v %v", ok, err)
		}
		annualRun := &domain.Run{Series: domain.SeriesAnnual, Period: "2026-Q3", Trigger: "test", Status: domain.RunRunning, StartedAt: 20}
		if ok, err := s.AdmitRun(ctx, annualRun); err != nil || !ok {
			t.Fatalf("an annual run beside the impact run: %v %v", ok, err)
		}
		if h, err := s.UnfinishedRun(ctx, store.AdmissionKey{Series: domain.SeriesImpact, Period: "2026-Q3"}); err != nil || h.ID != "run_old" {
			t.Fatalf("impact holder: %+v %v", h, err)
		}
		// One letter per series: the same letter key in the other series is
		// another letter; in the same series it is refused.
		if err := s.InsertStatement(ctx, &domain.Statement{ID: "stmt_annual", RunID: annualRun.ID, DonorID: "dnr_a", Series: domain.SeriesAnnual,
			Period: "2026-Q3", Snapshot: "{}", ContentHash: "hash_annual", CreatedAt: 21}); err != nil {
			t.Fatal(err)
		}
		attempt := func(id, stmt string, series domain.Series) bool {
			ok, err := s.InsertAttempt(ctx, &domain.Delivery{ID: id, StatementID: stmt, Attempt: 1, Status: domain.DeliverySending, CreatedAt: 22, UpdatedAt: 22,
				DonorID: "dnr_a", Series: series, Period: "2026-Q3", LetterKey: "key_old"})
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !attempt("dlv_annual", "stmt_annual", domain.SeriesAnnual) {
			t.Fatal("the annual statement's attempt was refused by the impact letter's")
		}
		if err := s.InsertStatement(ctx, &domain.Statement{ID: "stmt_again", RunID: "run_old", DonorID: "dnr_u", Period: "2026-Q3",
			Snapshot: "{}", ContentHash: "hash_again", CreatedAt: 21}); err != nil {
			t.Fatal(err)
		}
		if attempt("dlv_again", "stmt_again", domain.SeriesImpact) {
			t.Fatal("a second attempt of the same impact letter was recorded")
		}
		// Ticks per series.
		if ok, err := s.RecordTick(ctx, domain.SeriesAnnual, 100, "2025/26", "", 100); err != nil || !ok {
			t.Fatalf("the annual tick at the impact tick's instant: %v %v", ok, err)
		}
		if ok, err := s.RecordTick(ctx, domain.SeriesImpact, 100, "2026-Q2", "", 100); err != nil || ok {
			t.Fatalf("the impact tick recorded twice: %v %v", ok, err)
		}
	})
}

// TestLettersPreference: the three preferences are stored and read back,
// anything else is refused, and erased donors keep none.
func TestLettersPreference(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := &domain.Donor{Name: "Pat", Email: "pat@example.org", CreatedAt: 1, UpdatedAt: 1}
		if err := s.CreateDonor(ctx, d); err != nil {
			t.Fatal(err)
		}
		if d.Letters != domain.LettersAll {
			t.Fatalf("a new donor's letters: %q", d.Letters)
		}
		prev := domain.LettersAll
		for _, l := range []string{domain.LettersAnnual, domain.LettersNone, domain.LettersAll} {
			was, err := s.SetDonorLetters(ctx, d.ID, l, 2)
			if err != nil || was != prev {
				t.Fatalf("set %s: was %q %v, want %q", l, was, err, prev)
			}
			got, _ := s.Donor(ctx, d.ID)
			if got.Letters != l {
				t.Fatalf("set %s: read %q", l, got.Letters)
			}
			prev = l
		}
		if _, err := s.SetDonorLetters(ctx, d.ID, "impact", 3); domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("an unknown preference: %v", err)
		}
		if err := s.SetMarketingConsent(ctx, d.ID, domain.ConsentYes, 3); err != nil {
			t.Fatal(err)
		}
		if err := s.SetMarketingConsent(ctx, d.ID, "maybe", 3); domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("an unknown consent: %v", err)
		}
		if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.EraseDonor(ctx, d.ID, 4) }); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Donor(ctx, d.ID)
		if got.MarketingConsent != "" || got.Letters != domain.LettersNone {
			t.Fatalf("erased donor keeps consent %q, letters %q", got.MarketingConsent, got.Letters)
		}
		if _, err := s.SetDonorLetters(ctx, d.ID, domain.LettersAll, 5); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("letters restarted for an erased donor: %v", err)
		}
	})
}

// TestTicksPerSeriesAtOnce: replicas recording the same instant's ticks of
// both series at once record each series' tick once.
func TestTicksPerSeriesAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var mu sync.Mutex
		won := map[domain.Series]int{}
		var wg sync.WaitGroup
		for i := range 8 {
			series := domain.AllSeries[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				var ok bool
				err := s.InTx(ctx, func(tx *store.Tx) error {
					var err error
					ok, err = tx.RecordTick(ctx, series, 500, "p", "", 500)
					return err
				})
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					won[series]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if won[domain.SeriesImpact] != 1 || won[domain.SeriesAnnual] != 1 {
			t.Fatalf("ticks recorded %v, want one per series", won)
		}
	})
}
