package statement_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/period"
	"impactd/internal/statement"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
	"impactd/internal/wording"
)

// bundle is what a statement test needs: a store with one published update
// for 2026-Q3 and a builder over it.
type bundle struct {
	ctx   context.Context
	store *store.Store
	tmpl  *wording.Templates
	loc   *time.Location
}

func setup(t *testing.T, s *store.Store) *bundle {
	t.Helper()
	ctx := context.Background()
	tmpl, err := wording.Load("")
	if err != nil {
		t.Fatal(err)
	}
	v := int64(41)
	u := &domain.ImpactUpdate{Period: "2026-Q3", Title: "Q3", Narrative: "n", Source: "s", AsOf: "2026-10-01",
		Metrics: []domain.Metric{{Key: "safe", Label: "Brought to safety", Period: &v}}}
	if err := s.CreateImpactUpdate(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.PublishImpactUpdate(ctx, u.ID, "tester", 1); err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{ctx: ctx, store: s, tmpl: tmpl, loc: loc}
}

// MustDonor stores a donor and gifts given as "YYYY-MM-DD amount currency [monthly]".
func (b *bundle) MustDonor(t *testing.T, giftAidFrom string, gifts ...string) *domain.Donor {
	t.Helper()
	return b.MustDonorAt(t, &domain.Donor{Name: "Zoë Łukasiewicz", GiftAidFrom: giftAidFrom}, gifts...)
}

// MustDonorAt is MustDonor for a donor given in full (an address, say).
func (b *bundle) MustDonorAt(t *testing.T, d *domain.Donor, gifts ...string) *domain.Donor {
	t.Helper()
	if err := b.store.CreateDonor(b.ctx, d); err != nil {
		t.Fatal(err)
	}
	for i, g := range gifts {
		f := strings.Fields(g)
		day, err := time.ParseInLocation(time.DateOnly, f[0], b.loc)
		if err != nil {
			t.Fatal(err)
		}
		var amount int64
		for _, c := range f[1] {
			amount = amount*10 + int64(c-'0')
		}
		don := &domain.Donation{DonorID: d.ID, ChargeID: d.ID + "_" + string(rune('a'+i)), Amount: amount, Currency: f[2],
			Status: domain.DonationSucceeded, Created: day.Add(12 * time.Hour).Unix(), Recurring: map[bool]int{true: 1}[len(f) > 3]}
		if _, err := b.store.InsertDonation(b.ctx, don); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func TestBuild(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		q3 := period.MustParse("2026-Q3")
		issued := time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC)
		builder := func(country string) *statement.Builder {
			return &statement.Builder{Store: s, Templates: b.tmpl, Location: b.loc, PaperSize: "A4",
				Org: domain.Org{Name: "Trust", Country: country}}
		}
		uk := b.MustDonor(t, "2026-08-01",
			"2024-01-10 9900 GBP",         // before the eight quarters: lifetime only
			"2025-03-03 2000 GBP monthly", // first chart quarter with a gift
			"2026-02-03 2000 GBP monthly", // year to date
			"2026-07-03 2000 GBP monthly", // before the Gift Aid declaration
			"2026-08-03 2000 GBP monthly", // Gift Aid eligible
			"2026-09-15 2500 GBP",         // Gift Aid eligible
			"2026-09-20 1000 EUR",         // never added to pounds
			"2026-10-02 5000 GBP",         // after the period: nowhere
		)
		if err := s.SaveSubscription(b.ctx, &store.Subscription{ID: "sub_1", DonorID: uk.ID, Status: "active",
			Started: time.Date(2025, 3, 3, 12, 0, 0, 0, b.loc).Unix()}); err != nil {
			t.Fatal(err)
		}
		us := b.MustDonor(t, "", "2026-07-04 25000 USD", "2026-08-04 24999 USD")
		small := b.MustDonor(t, "", "2026-07-04 24999 USD")

		sc, err := builder(domain.CountryGB).NewContext(b.ctx, q3)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := builder(domain.CountryGB).Build(b.ctx, sc, uk, issued)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Version != domain.SnapshotVersion || snap.Version < 2 {
			t.Errorf("version %d", snap.Version)
		}
		total := func(ts []domain.Total, c string) int64 {
			for _, t := range ts {
				if t.Currency == c {
					return t.Net
				}
			}
			return -1
		}
		checks := []struct {
			name      string
			got, want any
		}{
			{"year start", snap.YearStart, "2026-01-01"},
			{"year to date GBP", total(snap.YearToDate, "GBP"), int64(2000 + 2000 + 2000 + 2500)},
			{"year to date EUR", total(snap.YearToDate, "EUR"), int64(1000)},
			{"lifetime GBP", total(snap.Lifetime, "GBP"), int64(9900 + 2000 + 2000 + 2000 + 2000 + 2500)},
			{"first gift", snap.FirstGiftOn, "2024-01-10"},
			{"monthly since", snap.MonthlySince, "2025-03-03"},
			{"gift aid marks", []bool{snap.Gifts[0].GiftAid, snap.Gifts[1].GiftAid, snap.Gifts[2].GiftAid, snap.Gifts[3].GiftAid}, []bool{false, true, true, false}},
			{"gift aid eligible", snap.GiftAid.Eligible.String(), "£45.00"},
			{"gift aid uplift", snap.GiftAid.Uplift.String(), "£11.25"},
			{"chart currency", snap.Chart.Currency, "GBP"},
			{"chart others", snap.Chart.OtherCurrencies, []string{"EUR"}},
			{"chart bars", len(snap.Chart.Bars), 8},
			{"first bar", snap.Chart.Bars[0].Label + " " + snap.Chart.Bars[0].Period, "Q4 2024 2024-Q4"},
			{"Q1 2025 bar", snap.Chart.Bars[1].Amount, int64(2000)},
			{"Q3 2026 bar", snap.Chart.Bars[7].Amount, int64(6500)},
			{"no acknowledgment in the UK", snap.Acknowledgment, ""},
		}
		for _, c := range checks {
			if !equal(c.got, c.want) {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
			}
		}
		if !strings.Contains(strings.Join(snap.Paragraphs, " "), "As a monthly supporter since March 2025") {
			t.Errorf("paragraphs lack the monthly-since date: %q", snap.Paragraphs)
		}
		if !strings.Contains(snap.GiftAid.Note, "£45.00") || !strings.Contains(snap.GiftAid.Note, "£11.25") {
			t.Errorf("Gift Aid note %q", snap.GiftAid.Note)
		}

		for _, tt := range []struct {
			name    string
			donor   *domain.Donor
			country string
			ack     bool
		}{
			{"US gift of $250", us, domain.CountryUS, true},
			{"US gifts under $250 each", small, domain.CountryUS, false},
			{"UK charity, US gift of $250", us, domain.CountryGB, false},
		} {
			snap, err := builder(tt.country).Build(b.ctx, sc, tt.donor, issued)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(snap.Acknowledgment, "No goods or services were provided"); got != tt.ack {
				t.Errorf("%s: acknowledgment %q, want present=%v", tt.name, snap.Acknowledgment, tt.ack)
			}
			if snap.GiftAid != nil {
				t.Errorf("%s: Gift Aid on dollars: %+v", tt.name, snap.GiftAid)
			}
		}
	})
}

// TestChartStartsAtFirstGift: a new supporter's chart starts at their first
// quarter, not at empty quarters before they began; a long-standing one's
// shows the last eight.
func TestChartStartsAtFirstGift(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		q3 := period.MustParse("2026-Q3")
		builder := &statement.Builder{Store: s, Templates: b.tmpl, Location: b.loc, PaperSize: "A4", Org: domain.Org{Name: "Trust", Country: "GB"}}
		sc, err := builder.NewContext(b.ctx, q3)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name  string
			gifts []string
			want  []string
		}{
			{"first gift this quarter", []string{"2026-08-01 1000 GBP"}, []string{"2026-Q3"}},
			{"first gift last quarter", []string{"2026-05-01 1000 GBP", "2026-08-01 1000 GBP"}, []string{"2026-Q2", "2026-Q3"}},
			{"a gap is shown", []string{"2025-11-01 1000 GBP", "2026-08-01 1000 GBP"}, []string{"2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"}},
			{"at most eight", []string{"2023-01-01 1000 GBP", "2026-08-01 1000 GBP"},
				[]string{"2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"}},
		} {
			d := b.MustDonor(t, "", tt.gifts...)
			snap, err := builder.Build(b.ctx, sc, d, time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, bar := range snap.Chart.Bars {
				got = append(got, bar.Period)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("%s: chart quarters %q, want %q", tt.name, got, tt.want)
			}
		}
	})
}

// TestAddressForTheEnvelope: the snapshot holds the address as the window
// shows it, formatted for the destination from the charity's country.
func TestAddressForTheEnvelope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		q3 := period.MustParse("2026-Q3")
		for _, tt := range []struct {
			org, stored string
			want        []string
		}{
			{"GB", "14 Canal Street\nManchester M1 3HE\nGB", []string{"14 Canal Street", "MANCHESTER", "M1 3HE"}},
			{"GB", "Unter den Linden 77\nBerlin 10117\nDE", []string{"Unter den Linden 77", "10117 Berlin", "GERMANY"}},
			{"US", "14 Canal Street\nManchester M1 3HE\nGB", []string{"14 Canal Street", "MANCHESTER", "M1 3HE", "UNITED KINGDOM"}},
			{"US", "350 Fifth Avenue\nNew York 10118\nNY\nUS", []string{"350 Fifth Avenue", "NEW YORK, NY 10118"}},
		} {
			builder := &statement.Builder{Store: s, Templates: b.tmpl, Location: b.loc, PaperSize: "A4", Org: domain.Org{Name: "Trust", Country: tt.org}}
			sc, err := builder.NewContext(b.ctx, q3)
			if err != nil {
				t.Fatal(err)
			}
			d := b.MustDonorAt(t, &domain.Donor{Name: "A Supporter", Address: tt.stored}, "2026-08-01 1000 GBP")
			snap, err := builder.Build(b.ctx, sc, d, time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(snap.Donor.Address, "|") != strings.Join(tt.want, "|") {
				t.Errorf("from %s, %q: address %q, want %q", tt.org, tt.stored, snap.Donor.Address, tt.want)
			}
		}
	})
}

func equal(a, b any) bool {
	switch x := a.(type) {
	case []bool:
		y := b.([]bool)
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	case []string:
		return strings.Join(x, ",") == strings.Join(b.([]string), ",")
	}
	return a == b
}
