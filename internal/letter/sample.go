package letter

import (
	"impactd/internal/domain"
	"impactd/internal/money"
)

// SampleSnapshot returns a realistic statement snapshot for previews, tests
// and benchmarks: a donor with a Polish name, two monthly gifts and a one-off
// gift in pounds, a refund of an earlier gift, and demonstration impact
// figures. It returns a fresh value on every call, so callers may change it.
func SampleSnapshot() *domain.Snapshot {
	i := func(v int64) *int64 { return &v }
	gbp := func(minor int64) money.Money { return money.New(minor, "GBP") }
	org := domain.Org{
		Name:          "Safe Childhood Online Trust",
		CharityNumber: "1234567",
		Address:       []string{"PO Box 1234", "London", "SE1 0AA"},
		Website:       "https://example.org",
		Email:         "supporters@example.org",
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
			Address: []string{"Flat 3, 14 Canal Street", "Manchester", "M1 3HE"},
		},
		Period:      "2026-Q3",
		PeriodLabel: "July to September 2026",
		PeriodStart: "2026-07-01",
		PeriodEnd:   "2026-09-30",
		Gifts: []domain.Gift{
			{Date: "2026-07-03", Amount: gbp(2000), Recurring: true},
			{Date: "2026-08-03", Amount: gbp(2000), Recurring: true},
			{Date: "2026-09-15", Amount: gbp(2500), Designation: "Survivor aftercare"},
		},
		Refunds: []domain.RefundLine{
			{Date: "2026-09-20", Amount: gbp(750), GiftDate: "2026-06-03"},
		},
		Totals: []domain.Total{
			{Currency: "GBP", Gross: 6500, Refunded: 750, Net: 5750},
		},
		Greeting: "Dear Zoë,",
		Paragraphs: []string{
			"Thank you. Between 1 July 2026 and 30 September 2026 you gave £57.50 to " + org.Name +
				" as a monthly supporter. This statement lists every gift and refund we received from you in that time.",
			"Your support goes to our work against the online sexual exploitation of children: working with police " +
				"to find children and bring them to safety, giving survivors trauma-focused aftercare, supporting " +
				"authorities to hold offenders to account, and training police, courts and communities so that abuse " +
				"does not happen in the first place.",
			"Together, 4,812 supporters gave to this work in July to September 2026. What follows is what we " +
				"achieved together — no single gift can be traced to a single outcome, and every outcome depends on all of them.",
		},
		SignOff: []string{"With heartfelt thanks,", "Supporter Care Team", org.Name},
		Footer: []string{
			"You receive this statement because you support " + org.Name + ". To stop these letters, use the " +
				"unsubscribe link in the email that brought it or write to " + org.Email + ".",
			"We hold your name, contact details and gift history to thank you and to keep accurate records; " +
				"we never store your card details.",
		},
		Impact: &domain.ImpactSection{
			UpdateID:  "imp_0192a3b4-0000-7000-8000-000000000001",
			Version:   1,
			Title:     "Protecting children from online sexual exploitation",
			Narrative: "Working alongside police, our teams helped identify children being exploited online and supported operations to bring them to safety. Our social workers gave survivors trauma-focused aftercare, and our lawyers supported the authorities in holding offenders to account.",
			Source:    "Cumulative figures: " + org.Name + " programme records since 2011. Figures for the period: demonstration data",
			AsOf:      "2026-09-30",
			DemoData:  true,
			Metrics: []domain.Metric{
				{Key: "brought_to_safety", Label: "Children and vulnerable adults brought to safety", Period: i(41), Cumulative: i(1407), CumulativeSince: "2011"},
				{Key: "suspects_arrested", Label: "Suspects arrested", Period: i(17), Cumulative: i(431), CumulativeSince: "2011"},
				{Key: "perpetrators_convicted", Label: "Perpetrators convicted", Period: i(9), Cumulative: i(255), CumulativeSince: "2011"},
				{Key: "police_trained", Label: "Police officers and prosecutors trained", Period: nil, Cumulative: i(5210), CumulativeSince: "2016"},
			},
		},
	}
}
