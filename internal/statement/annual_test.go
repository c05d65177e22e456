package statement_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/period"
	"impactd/internal/statement"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

// gift is one donation of a test, made at a wall-clock time in the
// organisation's zone.
type gift struct {
	at       string // "2006-01-02 15:04"
	amount   int64
	currency string
	monthly  bool
	benefit  string
	value    int64
}

// refund is money returned on the i-th gift of a test.
type refund struct {
	gift    int
	at      string
	amount  int64
	dispute bool
}

// mustGifts stores a donor with the gifts and refunds, at times in loc.
func mustGifts(t *testing.T, b *bundle, loc *time.Location, d *domain.Donor, gifts []gift, refunds []refund) *domain.Donor {
	t.Helper()
	if d.Name == "" {
		d.Name = "Zoë Łukasiewicz"
	}
	if err := b.store.CreateDonor(b.ctx, d); err != nil {
		t.Fatal(err)
	}
	when := func(s string) int64 {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return tm.Unix()
	}
	var ids []string
	for i, g := range gifts {
		don := &domain.Donation{DonorID: d.ID, ChargeID: d.ID + "_" + string(rune('a'+i)), Amount: g.amount, Currency: g.currency,
			Status: domain.DonationSucceeded, Created: when(g.at), Recurring: map[bool]int{true: 1}[g.monthly],
			BenefitDescription: g.benefit, BenefitValue: g.value}
		if _, err := b.store.InsertDonation(b.ctx, don); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, don.ID)
	}
	for i, r := range refunds {
		kind := domain.RefundKindRefund
		if r.dispute {
			kind = domain.RefundKindDispute
		}
		if err := b.store.InsertRefund(b.ctx, domain.Refund{ID: d.ID + "_re" + string(rune('a'+i)), DonationID: ids[r.gift],
			Amount: r.amount, Currency: gifts[r.gift].currency, Created: when(r.at), Kind: kind}); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func annualBuilder(s *store.Store, b *bundle, country string, loc *time.Location) *statement.Builder {
	return &statement.Builder{Store: s, Templates: b.tmpl, Location: loc, PaperSize: "A4",
		Org: domain.Org{Name: "Safe Childhood Online Trust", Country: country, Email: "care@example.org"}}
}

// mustAnnual builds a donor's annual statement for period p, issued at issued.
func mustAnnual(t *testing.T, b *bundle, builder *statement.Builder, p string, d *domain.Donor, issued time.Time) *domain.Snapshot {
	t.Helper()
	sc, err := builder.NewSeriesContext(b.ctx, domain.SeriesAnnual, period.MustParse(p))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := builder.Build(b.ctx, sc, d, issued)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Series != domain.SeriesAnnual || snap.Impact != nil || snap.Chart != nil || snap.Collective != "" {
		t.Fatalf("not an annual statement: series %q, impact %v, chart %v, collective %q", snap.Series, snap.Impact, snap.Chart, snap.Collective)
	}
	return snap
}

func giftDates(s *domain.Snapshot) string {
	var out []string
	for _, g := range s.Gifts {
		out = append(out, g.Date+" "+g.Amount.String())
	}
	return strings.Join(out, ", ")
}

// TestAnnualBoundaries: a gift belongs to the year its moment falls in, in
// the organisation's zone — the UK tax year turns at midnight between 5
// and 6 April in London (British Summer Time, so 23:00 UTC), the US
// calendar year at midnight in New York (05:00 UTC).
func TestAnnualBoundaries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		ny, err := time.LoadLocation("America/New_York")
		if err != nil {
			t.Fatal(err)
		}
		uk := mustGifts(t, b, b.loc, &domain.Donor{}, []gift{
			{at: "2025-04-05 23:59", amount: 100, currency: "GBP"}, // 2024/25
			{at: "2025-04-06 00:00", amount: 200, currency: "GBP"}, // first moment of 2025/26
			{at: "2026-04-05 23:30", amount: 300, currency: "GBP"}, // 22:30 UTC: still 2025/26
			{at: "2026-04-06 00:30", amount: 400, currency: "GBP"}, // 23:30 UTC on the 5th: 2026/27
		}, nil)
		us := mustGifts(t, b, ny, &domain.Donor{}, []gift{
			{at: "2026-01-01 00:00", amount: 500, currency: "USD"},
			{at: "2026-12-31 23:30", amount: 600, currency: "USD"}, // 04:30 UTC on 1 January 2027
			{at: "2027-01-01 00:30", amount: 700, currency: "USD"},
		}, nil)
		gb := annualBuilder(s, b, domain.CountryGB, b.loc)
		usb := annualBuilder(s, b, domain.CountryUS, ny)
		issued := time.Date(2027, 4, 20, 9, 0, 0, 0, time.UTC)
		for _, tt := range []struct {
			builder *statement.Builder
			period  string
			donor   *domain.Donor
			want    string
			start   string
			end     string
		}{
			{gb, "2024/25", uk, "2025-04-05 £1.00", "2024-04-06", "2025-04-05"},
			{gb, "2025/26", uk, "2025-04-06 £2.00, 2026-04-05 £3.00", "2025-04-06", "2026-04-05"},
			{gb, "2026/27", uk, "2026-04-06 £4.00", "2026-04-06", "2027-04-05"},
			{usb, "2025", us, "", "2025-01-01", "2025-12-31"},
			{usb, "2026", us, "2026-01-01 $5.00, 2026-12-31 $6.00", "2026-01-01", "2026-12-31"},
			{usb, "2027", us, "2027-01-01 $7.00", "2027-01-01", "2027-12-31"},
		} {
			snap := mustAnnual(t, b, tt.builder, tt.period, tt.donor, issued)
			if got := giftDates(snap); got != tt.want {
				t.Errorf("%s: gifts %q, want %q", tt.period, got, tt.want)
			}
			if snap.PeriodStart != tt.start || snap.PeriodEnd != tt.end {
				t.Errorf("%s: from %s to %s, want %s to %s", tt.period, snap.PeriodStart, snap.PeriodEnd, tt.start, tt.end)
			}
		}
	})
}

// TestAnnualGiftAidRefundsAndCurrencies: a UK statement with a Gift Aid
// declaration made mid-year, a refund and a lost dispute, one of them made
// after the year's end but before the statement, and gifts in two
// currencies, each totalled on its own.
func TestAnnualGiftAidRefundsAndCurrencies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		d := mustGifts(t, b, b.loc, &domain.Donor{GiftAidFrom: "2025-10-01"}, []gift{
			{at: "2025-05-03 12:00", amount: 2000, currency: "GBP", monthly: true}, // before the declaration
			{at: "2025-09-30 23:30", amount: 2000, currency: "GBP", monthly: true}, // the last evening before it
			{at: "2025-10-01 00:10", amount: 2000, currency: "GBP", monthly: true}, // eligible
			{at: "2025-12-24 12:00", amount: 5000, currency: "GBP"},                // eligible, £15 refunded
			{at: "2026-02-14 12:00", amount: 3000, currency: "EUR"},                // never Gift Aid, never added to pounds
			{at: "2026-03-01 12:00", amount: 1001, currency: "GBP"},                // eligible, then disputed in full
			{at: "2026-03-20 12:00", amount: 2500, currency: "GBP"},                // eligible; refunded after the statement
			{at: "2025-03-01 12:00", amount: 4000, currency: "GBP"},                // 2024/25, refunded in 2025/26: that year's record
		}, []refund{
			{gift: 7, at: "2025-06-01 12:00", amount: 4000},
			{gift: 3, at: "2026-01-10 12:00", amount: 1500},
			{gift: 5, at: "2026-04-12 12:00", amount: 1001, dispute: true}, // next tax year, before the statement
			{gift: 6, at: "2026-04-25 12:00", amount: 2500},                // after the statement: not in it
		})
		builder := annualBuilder(s, b, domain.CountryGB, b.loc)
		issued := time.Date(2026, 4, 20, 9, 0, 0, 0, b.loc)
		snap := mustAnnual(t, b, builder, "2025/26", d, issued)

		var marks []bool
		var taxes []int64
		for _, g := range snap.Gifts {
			marks = append(marks, g.GiftAid)
			taxes = append(taxes, g.GiftAidTax)
		}
		if got, want := marks, []bool{false, false, true, true, false, false, true}; !equal(got, want) {
			t.Errorf("Gift Aid marks %v, want %v", got, want)
		}
		// 25% of what is left of each gift: £20 → £5; £50 − £15 → £8.75;
		// the disputed gift has nothing left; the refund after the
		// statement is not known to it.
		if got, want := taxes, []int64{0, 0, 500, 875, 0, 0, 625}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("tax reclaimed per gift %v, want %v", got, want)
		}
		ga := snap.GiftAid
		if ga == nil || ga.Eligible.String() != "£80.00" || ga.Uplift.String() != "£20.00" || ga.DeclaredFrom != "2025-10-01" {
			t.Fatalf("Gift Aid summary %+v, want £80.00 eligible (20 + 35 + 25), £20.00 reclaimed, declared from 2025-10-01", ga)
		}
		for _, w := range []string{"1 October 2025", "£80.00", "£20.00 of basic-rate tax"} {
			if !strings.Contains(ga.Note, w) {
				t.Errorf("Gift Aid note lacks %q: %q", w, ga.Note)
			}
		}
		var lines []string
		for _, r := range snap.Refunds {
			lines = append(lines, r.Date+" "+r.Amount.String()+" of "+r.GiftDate+" "+r.Kind)
		}
		if got, want := strings.Join(lines, "; "), "2026-01-10 £15.00 of 2025-12-24 ; 2026-04-12 £10.01 of 2026-03-01 dispute"; got != want {
			t.Errorf("refund lines %q, want %q", got, want)
		}
		want := []domain.Total{
			{Currency: "EUR", Gross: 3000, Net: 3000},
			{Currency: "GBP", Gross: 2000*3 + 5000 + 1001 + 2500, Refunded: 1500 + 1001, Net: 2000*3 + 5000 + 2500 - 1500},
		}
		if len(snap.Totals) != 2 || snap.Totals[0] != want[0] || snap.Totals[1] != want[1] {
			t.Errorf("totals %+v, want %+v", snap.Totals, want)
		}
		if snap.Acknowledgment != "" || snap.Disclosure != "" {
			t.Errorf("US wording on a UK statement: %q %q", snap.Acknowledgment, snap.Disclosure)
		}
		if !strings.Contains(snap.Pointer, "impact letters") {
			t.Errorf("pointer %q", snap.Pointer)
		}
		body := strings.Join(snap.Paragraphs, " ")
		for _, w := range []string{"6 April 2025", "5 April 2026", "the UK tax year 2025/26", "20 April 2026", "refunds"} {
			if !strings.Contains(body, w) {
				t.Errorf("body lacks %q: %q", w, body)
			}
		}

		// Issued later, the statement knows the later refund too: it is
		// the record as of its date.
		later := mustAnnual(t, b, builder, "2025/26", d, time.Date(2026, 5, 1, 9, 0, 0, 0, b.loc))
		if len(later.Refunds) != 3 || later.Gifts[6].GiftAid || later.GiftAid.Uplift.String() != "£13.75" {
			t.Errorf("statement issued after the last refund: %d refund lines, last gift %+v, Gift Aid %+v", len(later.Refunds), later.Gifts[6], later.GiftAid)
		}
		// The next tax year's statement does not carry this year's refunds.
		next := mustAnnual(t, b, builder, "2026/27", d, time.Date(2027, 4, 20, 9, 0, 0, 0, b.loc))
		if len(next.Gifts) != 0 || len(next.Refunds) != 0 || len(next.Totals) != 0 {
			t.Errorf("2026/27 statement: %d gifts, %d refunds, totals %+v", len(next.Gifts), len(next.Refunds), next.Totals)
		}

		// Determinism: the same ledger and date give the same snapshot.
		again := mustAnnual(t, b, builder, "2025/26", d, issued)
		e1, _ := snap.Encode()
		e2, _ := again.Encode()
		if !bytes.Equal(e1, e2) {
			t.Errorf("two builds differ:\n%s\n%s", e1, e2)
		}
	})
}

// TestAnnualNoDeclaration: a UK donor without a Gift Aid declaration is
// told so, and no gift is marked.
func TestAnnualNoDeclaration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		d := mustGifts(t, b, b.loc, &domain.Donor{}, []gift{{at: "2025-06-01 12:00", amount: 2000, currency: "GBP"}}, nil)
		snap := mustAnnual(t, b, annualBuilder(s, b, domain.CountryGB, b.loc), "2025/26", d, time.Date(2026, 4, 20, 9, 0, 0, 0, b.loc))
		if snap.GiftAid == nil || snap.GiftAid.Uplift.Amount != 0 || snap.Gifts[0].GiftAid || !strings.Contains(snap.GiftAid.Note, "no Gift Aid declaration") {
			t.Errorf("Gift Aid without a declaration: %+v, gift %+v", snap.GiftAid, snap.Gifts[0])
		}
	})
}

// TestAnnualUSAcknowledgment: a US statement is the IRS written
// acknowledgment: it names the organisation and the amounts and says no
// goods or services were provided, unless a gift records some — then it
// describes them with their good-faith value, and for a payment over $75
// gives the quid-pro-quo disclosure.
func TestAnnualUSAcknowledgment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		ny, _ := time.LoadLocation("America/New_York")
		builder := annualBuilder(s, b, domain.CountryUS, ny)
		issued := time.Date(2027, 1, 20, 9, 0, 0, 0, ny)
		plain := mustGifts(t, b, ny, &domain.Donor{}, []gift{
			{at: "2026-03-01 12:00", amount: 25000, currency: "USD"},
			{at: "2026-06-01 12:00", amount: 5000, currency: "USD", monthly: true},
		}, nil)
		gala := mustGifts(t, b, ny, &domain.Donor{}, []gift{
			{at: "2026-03-01 12:00", amount: 50000, currency: "USD", benefit: "Gala dinner ticket", value: 12000},
			{at: "2026-06-01 12:00", amount: 5000, currency: "USD"},
		}, nil)
		small := mustGifts(t, b, ny, &domain.Donor{}, []gift{
			{at: "2026-03-01 12:00", amount: 7500, currency: "USD", benefit: "Tote bag", value: 1000}, // $75: not over
		}, nil)

		p := mustAnnual(t, b, builder, "2026", plain, issued)
		for _, w := range []string{"Safe Childhood Online Trust", "$300.00", "No goods or services were provided in exchange for these contributions."} {
			if !strings.Contains(p.Acknowledgment, w) {
				t.Errorf("acknowledgment lacks %q: %q", w, p.Acknowledgment)
			}
		}
		if p.Disclosure != "" || p.GiftAid != nil {
			t.Errorf("plain gifts: disclosure %q, Gift Aid %+v", p.Disclosure, p.GiftAid)
		}

		g := mustAnnual(t, b, builder, "2026", gala, issued)
		if strings.Contains(g.Acknowledgment, "No goods or services were provided in exchange for these contributions") ||
			!strings.Contains(g.Acknowledgment, "no goods or services were provided in exchange for your other contributions") {
			t.Errorf("acknowledgment with a benefit: %q", g.Acknowledgment)
		}
		if b := g.Gifts[0].Benefit; b == nil || b.Description != "Gala dinner ticket" || b.Value.String() != "$120.00" || g.Gifts[1].Benefit != nil {
			t.Errorf("benefits %+v %+v", g.Gifts[0].Benefit, g.Gifts[1].Benefit)
		}
		if !strings.Contains(g.Disclosure, "more than $75") || !strings.Contains(g.Disclosure, "limited to the excess") {
			t.Errorf("disclosure %q", g.Disclosure)
		}
		if g.Totals[0].Benefits != 12000 {
			t.Errorf("totals %+v", g.Totals)
		}

		sm := mustAnnual(t, b, builder, "2026", small, issued)
		if sm.Disclosure != "" || sm.Gifts[0].Benefit == nil || !strings.Contains(sm.Acknowledgment, "your other contributions") {
			t.Errorf("a $75 payment with a benefit: disclosure %q, acknowledgment %q", sm.Disclosure, sm.Acknowledgment)
		}
	})
}

// TestAnnualPeriodKind: the annual statement covers the tax year in the UK
// and the calendar year elsewhere, and refuses any other period; the impact
// letter's snapshot still has no series.
func TestAnnualPeriodKind(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		for _, tt := range []struct {
			country, period string
			ok              bool
		}{
			{domain.CountryGB, "2025/26", true},
			{domain.CountryGB, "2025", false},
			{domain.CountryGB, "2026-Q3", false},
			{domain.CountryUS, "2026", true},
			{domain.CountryUS, "2025/26", false},
			{"DE", "2026", true},
		} {
			_, err := annualBuilder(s, b, tt.country, b.loc).NewSeriesContext(b.ctx, domain.SeriesAnnual, period.MustParse(tt.period))
			if (err == nil) != tt.ok || (err != nil && domain.ErrorCode(err) != domain.EINVALID) {
				t.Errorf("%s %s: err %v, want ok=%v", tt.country, tt.period, err, tt.ok)
			}
		}
		if k := statement.AnnualKind(domain.CountryGB); k != period.TaxYear {
			t.Errorf("AnnualKind(GB) = %s", k)
		}

		d := b.MustDonor(t, "", "2026-08-01 1000 GBP")
		builder := annualBuilder(s, b, domain.CountryGB, b.loc)
		sc, err := builder.NewSeriesContext(b.ctx, domain.SeriesImpact, period.MustParse("2026-Q3"))
		if err != nil {
			t.Fatal(err)
		}
		snap, err := builder.Build(b.ctx, sc, d, time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		enc, _ := snap.Encode()
		for _, key := range []string{`"series"`, `"gift_aid_tax"`, `"benefit"`, `"pointer"`, `"disclosure"`, `"declared_from"`, `"kind"`} {
			if bytes.Contains(enc, []byte(key)) {
				t.Errorf("the impact letter's snapshot has %s: %s", key, enc)
			}
		}
		if snap.TemplateVersion == b.tmpl.Annual().Version || snap.TemplateVersion != b.tmpl.Version {
			t.Errorf("impact letter template version %q (impact %q, annual %q)", snap.TemplateVersion, b.tmpl.Version, b.tmpl.Annual().Version)
		}
	})
}
