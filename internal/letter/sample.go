package letter

import (
	"time"

	"impactd/internal/domain"
	"impactd/internal/money"
)

// SampleSnapshot returns a realistic statement snapshot for previews, tests
// and benchmarks: a donor with a Polish name living in Manchester, a named
// signatory, two monthly gifts and a one-off
// gift in pounds (two of them Gift Aid eligible), a refund of an earlier
// gift, giving over time, and impact figures whose per-period values are
// demonstration data while the cumulative ones are the organisation's
// published figures. It returns a fresh value on every call, so callers may
// change it.
func SampleSnapshot() *domain.Snapshot {
	i := func(v int64) *int64 { return &v }
	gbp := func(minor int64) money.Money { return money.New(minor, "GBP") }
	org := domain.Org{
		Name:          "Safe Childhood Online Trust",
		CharityNumber: "1234567",
		Address:       []string{"PO Box 1234", "London", "SE1 0AA"},
		Website:       "https://example.org",
		Email:         "supporters@example.org",
		Country:       domain.CountryGB,
		Signatory:     "Grace Whitfield",
		SignatoryRole: "Head of Supporter Care",
	}
	return &domain.Snapshot{
		Version:         domain.SnapshotVersion,
		TemplateVersion: "letter-v1",
		IssuedOn:        "2026-10-05",
		PaperSize:       "A4",
		Org:             org,
		Donor: domain.SnapshotDonor{
			ID:      "don_0192a3b4-c5d6-7e8f-9012-3456789abcde",
			Name:    "Zoë Łukasiewicz",
			Address: []string{"Flat 3, 14 Canal Street", "MANCHESTER", "M1 3HE"},
		},
		Period:      "2026-Q3",
		PeriodLabel: "July to September 2026",
		PeriodStart: "2026-07-01",
		PeriodEnd:   "2026-09-30",
		Gifts: []domain.Gift{
			{Date: "2026-07-03", Amount: gbp(2000), Recurring: true, GiftAid: true},
			{Date: "2026-08-03", Amount: gbp(2000), Recurring: true, GiftAid: true},
			{Date: "2026-09-15", Amount: gbp(2500), Designation: "Survivor aftercare"},
		},
		Refunds: []domain.RefundLine{
			{Date: "2026-09-20", Amount: gbp(750), GiftDate: "2026-06-03"},
		},
		Totals: []domain.Total{
			{Currency: "GBP", Gross: 6500, Refunded: 750, Net: 5750},
		},
		YearStart:    "2026-01-01",
		YearToDate:   []domain.Total{{Currency: "GBP", Gross: 18500, Refunded: 750, Net: 17750}},
		Lifetime:     []domain.Total{{Currency: "GBP", Gross: 40500, Refunded: 750, Net: 39750}, {Currency: "USD", Gross: 5000, Net: 5000}},
		FirstGiftOn:  "2025-03-03",
		MonthlySince: "2025-03-03",
		Chart: &domain.GivingChart{Currency: "GBP", OtherCurrencies: []string{"USD"}, Bars: []domain.ChartBar{
			{Period: "2025-Q1", Label: "Q1 2025", Amount: 2000},
			{Period: "2025-Q2", Label: "Q2 2025", Amount: 6000},
			{Period: "2025-Q3", Label: "Q3 2025", Amount: 6000},
			{Period: "2025-Q4", Label: "Q4 2025", Amount: 8500},
			{Period: "2026-Q1", Label: "Q1 2026", Amount: 6000},
			{Period: "2026-Q2", Label: "Q2 2026", Amount: 6000},
			{Period: "2026-Q3", Label: "Q3 2026", Amount: 5750},
		}},
		GiftAid: &domain.GiftAidSummary{
			Eligible: gbp(4000), Uplift: gbp(1000),
			Note: "Gift Aid: £40.00 of your gifts in this period (marked \"Yes\" in the list of your gifts) are eligible for Gift Aid, so we can reclaim a " +
				"further £10.00 from HMRC — 25p for every £1 — at no extra cost to you.",
		},
		Greeting: "Dear Zoë,",
		Paragraphs: []string{
			"Thank you. As a monthly supporter since March 2025, you gave £57.50 between 1 July and 30 September 2026. " +
				"Your gifts go to our work against the online sexual exploitation of children: finding children and " +
				"bringing them to safety with the police, caring for survivors, holding offenders to account and " +
				"training those who can stop the abuse before it starts.",
		},
		Collective: "Together, 4,812 supporters gave to this work in July to September 2026. No single gift can be " +
			"traced to a single outcome: every one of these results depends on all of them.",
		SignOff: []string{"With heartfelt thanks,"},
		Footer: []string{
			"You receive this letter because you support " + org.Name + ". To stop these letters, use the " +
				"unsubscribe link in our email or write to " + org.Email + ". We keep your name, contact details " +
				"and gifts to thank you and keep accurate records; we never store your card details.",
		},
		Impact: &domain.ImpactSection{
			UpdateID:  "imp_0192a3b4-0000-7000-8000-000000000001",
			Version:   1,
			Title:     "Protecting children from online sexual exploitation",
			Narrative: "Working alongside police, our teams helped identify children being exploited online and supported operations to bring them to safety. Our social workers gave survivors trauma-focused aftercare, and our lawyers supported the authorities in holding offenders to account.",
			Source:    "Cumulative figures: IJM Centre to End Online Sexual Exploitation of Children, since 2011. Figures for the period: demonstration data",
			AsOf:      "2024-11-04",
			DemoData:  true,
			Metrics: []domain.Metric{
				{Key: "brought_to_safety", Label: "Children and vulnerable adults brought to safety", Period: i(41), PeriodDemo: true, Cumulative: i(1407), CumulativeSince: "2011"},
				{Key: "suspects_arrested", Label: "Suspects arrested", Period: i(17), PeriodDemo: true, Cumulative: i(431), CumulativeSince: "2011"},
				{Key: "perpetrators_convicted", Label: "Perpetrators convicted", Period: i(9), PeriodDemo: true, Cumulative: i(255), CumulativeSince: "2011"},
			},
		},
	}
}

// LongSampleSnapshot is SampleSnapshot with n gifts in two currencies, long
// designations and a donor whose name and address need wrapping: the
// multi-page letter of tests, benchmarks and the README.
func LongSampleSnapshot(n int) *domain.Snapshot {
	s := SampleSnapshot()
	s.Donor.Name = "Dr Maximiliana Aurelia Konstantinopoulou-Wojciechowska-Fairweather of the Very Long Household Name"
	s.Donor.Address = []string{
		"Apartment 1207, The Extraordinarily Long Residential Tower Building Named After A Benefactor",
		"1234 Northern Industrial and Commercial Boulevard Extension",
		"Greater Manchester", "M1 3HE",
	}
	s.Gifts = nil
	totals := money.Totals{}
	for i := range n {
		cur := "GBP"
		if i%7 == 3 {
			cur = "EUR"
		}
		g := domain.Gift{
			Date:      time.Date(2026, time.July, 1+i*91/n, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
			Amount:    money.New(int64(500+i*125), cur),
			Recurring: i%3 != 0,
		}
		if i%5 == 0 {
			g.Designation = "Survivor aftercare and long-term support for children brought to safety in the Philippines"
		}
		s.Gifts = append(s.Gifts, g)
		totals.Add(g.Amount)
	}
	s.Totals = nil
	for _, t := range totals.List() {
		refunded := int64(0)
		if t.Currency == "GBP" {
			refunded = 750
		}
		s.Totals = append(s.Totals, domain.Total{Currency: t.Currency, Gross: t.Amount, Refunded: refunded, Net: t.Amount - refunded})
	}
	// Keep the rest of the letter consistent with these gifts.
	s.GiftAid = nil
	s.YearToDate, s.Lifetime = s.Totals, s.Totals
	for _, t := range s.Totals {
		if t.Currency == s.Chart.Currency {
			s.Chart.Bars[len(s.Chart.Bars)-1].Amount = t.Net
		}
	}
	return s
}

// AnnualSampleSnapshot returns a realistic annual giving statement
// (domain.SeriesAnnual) for previews, tests and benchmarks. For GB: the
// UK tax year 2025/26 of SampleSnapshot's donor, twelve monthly gifts and
// two one-off gifts in pounds and one in euros, a Gift Aid declaration from
// 1 October 2025 (so some gifts are eligible and some not), a refund and a
// lost dispute made after the year's end. For US: the calendar year 2026 of
// a donor in New York on US Letter, one gift with a benefit worth more than
// $75 (a gala dinner) and others with none. The copy is what the default
// templates (templates/annual_letter.tmpl) write. It returns a fresh value
// on every call.
func AnnualSampleSnapshot(country string) *domain.Snapshot {
	if country == domain.CountryUS {
		return annualSampleUS()
	}
	gbp := func(minor int64) money.Money { return money.New(minor, "GBP") }
	base := SampleSnapshot()
	org := base.Org
	s := &domain.Snapshot{
		Version:         domain.SnapshotVersion,
		TemplateVersion: "annual-v1",
		IssuedOn:        "2026-04-20",
		PaperSize:       "A4",
		Series:          domain.SeriesAnnual,
		Org:             org,
		Donor:           base.Donor,
		Period:          "2025/26",
		PeriodLabel:     "tax year 2025/26",
		PeriodStart:     "2025-04-06",
		PeriodEnd:       "2026-04-05",
		Greeting:        "Dear Zoë,",
		Paragraphs: []string{"This statement lists every gift you made to " + org.Name + " between 6 April 2025 and 5 April 2026, " +
			"the UK tax year 2025/26, and the refunds of those gifts, each on its own line, as our records stood on 20 April 2026. " +
			"Please keep it with your tax records."},
		SignOff: []string{"With thanks,"},
		Footer: []string{"This giving statement is the record of your gifts that we send once a year for your tax affairs. To stop it, " +
			"use the link in our email or write to " + org.Email + ". We keep your name, contact details and gifts to keep accurate " +
			"records; we never store your card details."},
		Pointer: "What your gifts helped achieve is reported in our quarterly impact letters.",
	}
	for m := range 12 {
		day := time.Date(2025, time.April+time.Month(m), 3, 0, 0, 0, 0, time.UTC)
		if m == 0 {
			day = day.AddDate(0, 0, 4) // the first, on 7 April: after the year began
		}
		g := domain.Gift{Date: day.Format(time.DateOnly), Amount: gbp(2000), Recurring: true}
		if day.Format(time.DateOnly) >= "2025-10-01" {
			g.GiftAid, g.GiftAidTax = true, 500
		}
		s.Gifts = append(s.Gifts, g)
	}
	s.Gifts = append(s.Gifts,
		domain.Gift{Date: "2025-12-24", Amount: gbp(5000), Designation: "Survivor aftercare", GiftAid: true, GiftAidTax: 875},
		domain.Gift{Date: "2026-02-14", Amount: money.New(3000, "EUR")},
		domain.Gift{Date: "2026-03-01", Amount: gbp(1001)},
	)
	sortGifts(s.Gifts)
	s.Refunds = []domain.RefundLine{
		{Date: "2026-01-10", Amount: gbp(1500), GiftDate: "2025-12-24"},
		{Date: "2026-04-12", Amount: gbp(1001), GiftDate: "2026-03-01", Kind: domain.RefundKindDispute},
	}
	s.Totals = []domain.Total{
		{Currency: "EUR", Gross: 3000, Net: 3000},
		{Currency: "GBP", Gross: 30001, Refunded: 2501, Net: 27500},
	}
	s.GiftAid = &domain.GiftAidSummary{Eligible: gbp(15500), Uplift: gbp(3875), DeclaredFrom: "2025-10-01",
		Note: "Gift Aid: your declaration covers gifts in pounds made from 1 October 2025. £155.00 of your gifts in this tax year " +
			"(marked \"Yes\" in the list of your gifts) are eligible, and we reclaim £38.75 of basic-rate tax on them from HMRC — " +
			"25p for every £1 — at no extra cost to you. If you pay less Income Tax and Capital Gains Tax in a tax year than the Gift " +
			"Aid claimed on all your donations, it is your responsibility to pay the difference."}
	return s
}

// sortGifts puts gifts in date order, as the builder does.
func sortGifts(gs []domain.Gift) {
	for i := 1; i < len(gs); i++ {
		for j := i; j > 0 && gs[j].Date < gs[j-1].Date; j-- {
			gs[j], gs[j-1] = gs[j-1], gs[j]
		}
	}
}

func annualSampleUS() *domain.Snapshot {
	usd := func(minor int64) money.Money { return money.New(minor, "USD") }
	org := SampleSnapshot().Org
	org.Name, org.CharityNumber, org.Country = "Safe Childhood Online Trust USA", "", domain.CountryUS
	org.Address = []string{"PO Box 4567", "New York, NY 10163"}
	s := &domain.Snapshot{
		Version:         domain.SnapshotVersion,
		TemplateVersion: "annual-v1",
		IssuedOn:        "2027-01-20",
		PaperSize:       "Letter",
		Series:          domain.SeriesAnnual,
		Org:             org,
		Donor: domain.SnapshotDonor{ID: "don_0192a3b4-c5d6-7e8f-9012-3456789abcdf", Name: "Jordan Ellis",
			Address: []string{"350 Fifth Avenue, Apt 12B", "NEW YORK, NY 10118"}},
		Period:      "2026",
		PeriodLabel: "2026",
		PeriodStart: "2026-01-01",
		PeriodEnd:   "2026-12-31",
		Greeting:    "Dear Jordan,",
		Paragraphs: []string{"This statement lists every gift you made to " + org.Name + " between 1 January 2026 and " +
			"31 December 2026, as our records stood on 20 January 2027. Please keep it with your tax records."},
		Gifts: []domain.Gift{
			{Date: "2026-03-01", Amount: usd(25000)},
			{Date: "2026-05-14", Amount: usd(50000), Designation: "Spring gala",
				Benefit: &domain.Benefit{Description: "Gala dinner ticket", Value: usd(12000)}},
		},
		Refunds: []domain.RefundLine{},
		Totals:  []domain.Total{{Currency: "USD", Gross: 90000, Net: 90000, Benefits: 12000}},
		Acknowledgment: org.Name + " gives this statement as its written acknowledgment of the contributions listed in it, " +
			"$900.00 in 2026. Goods or services were provided in exchange only for the gifts where the list of your gifts describes " +
			"them, with our good-faith estimate of their value; no goods or services were provided in exchange for your other contributions.",
		Disclosure: "For a payment of more than $75 made partly as a contribution and partly for goods or services, the amount you " +
			"may deduct for federal income tax purposes is limited to the excess of the money you gave over the value of the goods or " +
			"services we provided, which the list of your gifts estimates in good faith.",
		Pointer: "What your gifts helped achieve is reported in our quarterly impact letters.",
		SignOff: []string{"With thanks,"},
		Footer: []string{"This giving statement is the record of your gifts that we send once a year for your tax affairs. To stop it, " +
			"use the link in our email or write to " + org.Email + ". We keep your name, contact details and gifts to keep accurate " +
			"records; we never store your card details."},
	}
	for m := 7; m <= 12; m++ {
		s.Gifts = append(s.Gifts, domain.Gift{Date: time.Date(2026, time.Month(m), 15, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
			Amount: usd(2500), Recurring: true})
	}
	return s
}

// AnnualLongSampleSnapshot is the GB AnnualSampleSnapshot with n gifts in
// pounds and euros over the tax year, every fifth with a long designation:
// the size and speed bound of the annual statement.
func AnnualLongSampleSnapshot(n int) *domain.Snapshot {
	s := AnnualSampleSnapshot(domain.CountryGB)
	s.Gifts = nil
	totals := money.Totals{}
	var eligible, tax int64
	start := time.Date(2025, time.April, 6, 0, 0, 0, 0, time.UTC)
	for i := range n {
		cur := "GBP"
		if i%7 == 3 {
			cur = "EUR"
		}
		day := start.AddDate(0, 0, i*365/n)
		g := domain.Gift{Date: day.Format(time.DateOnly), Amount: money.New(int64(500+i*125), cur), Recurring: i%3 != 0}
		if i%5 == 0 {
			g.Designation = "Survivor aftercare and long-term support for children brought to safety in the Philippines"
		}
		if cur == "GBP" && g.Date >= "2025-10-01" && g.Date != "2026-03-01" {
			g.GiftAid, g.GiftAidTax = true, g.Amount.Amount*25/100
			eligible += g.Amount.Amount
			tax += g.GiftAidTax
		}
		s.Gifts = append(s.Gifts, g)
		totals.Add(g.Amount)
	}
	s.Refunds = nil
	s.Totals = nil
	for _, t := range totals.List() {
		s.Totals = append(s.Totals, domain.Total{Currency: t.Currency, Gross: t.Amount, Net: t.Amount})
	}
	s.GiftAid.Eligible, s.GiftAid.Uplift = money.New(eligible, "GBP"), money.New(tax, "GBP")
	return s
}
