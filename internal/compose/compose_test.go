package compose_test

import (
	"strings"
	"testing"
	"time"

	"impactd/internal/compose"
	"impactd/internal/domain"
	"impactd/internal/letter"
	"impactd/internal/wording"
)

// TestStatementEmailPerSeries: the email of a statement is chosen by its
// snapshot's series — the annual giving statement gets its own subject,
// copy and attachment name, and none of the impact letter's figures.
func TestStatementEmailPerSeries(t *testing.T) {
	tm, err := wording.Load("")
	if err != nil {
		t.Fatal(err)
	}
	c := &compose.Composer{Templates: tm, Sender: compose.Sender{From: "care@example.org"}, BaseURL: "https://example.org"}
	donor := &domain.Donor{ID: "dnr_1", Name: "Zoë Łukasiewicz", Email: "zoe@example.net"}
	now := time.Date(2026, 4, 20, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name, subject, attachment string
		snap                      *domain.Snapshot
		want, avoid               []string
	}{
		{"impact", "Your impact statement for July to September 2026", "impact-statement-2026-Q3.pdf", letter.SampleSnapshot(),
			[]string{"Your impact in July to September 2026", "£57.50"}, nil},
		{"annual GB", "Your giving statement for the tax year 2025/26", "giving-statement-2025-26.pdf", letter.AnnualSampleSnapshot(domain.CountryGB),
			[]string{"€30.00 and £275.00", "the Gift Aid we reclaim", "tax records"}, []string{"achieved", "standing with"}},
		{"annual US", "Your giving statement for 2026", "giving-statement-2026.pdf", letter.AnnualSampleSnapshot(domain.CountryUS),
			[]string{"$900.00", "tax records"}, []string{"Gift Aid", "achieved"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := c.Statement(tt.snap, donor, "stm_1", []byte("%PDF-"), "", now)
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != tt.subject || len(m.Attachments) != 1 || m.Attachments[0].Name != tt.attachment {
				t.Errorf("subject %q, attachments %+v", m.Subject, m.Attachments)
			}
			for _, part := range []string{m.Text, m.HTML} {
				for _, w := range tt.want {
					if !strings.Contains(part, w) {
						t.Errorf("email lacks %q", w)
					}
				}
				for _, a := range tt.avoid {
					if strings.Contains(part, a) {
						t.Errorf("email contains %q", a)
					}
				}
			}
		})
	}
}
