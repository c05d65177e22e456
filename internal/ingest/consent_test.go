package ingest_test

import (
	"context"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/ingest"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

// TestMarketingConsent: with IMPACTD_MARKETING_CONSENT_METADATA set, the
// customer's metadata under that key is read where it enters: yes/true/1 is
// consent, no/false/0 none; a missing key or a value that is neither changes
// nothing. Without the setting nothing is read.
func TestMarketingConsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		b.in.ConsentKey = "email_opt_in"
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		steps := []struct {
			md   map[string]string
			want string
		}{
			{nil, ""},
			{map[string]string{"email_opt_in": " Yes "}, domain.ConsentYes},
			{map[string]string{"other": "no"}, domain.ConsentYes},
			{map[string]string{"email_opt_in": "perhaps"}, domain.ConsentYes},
			{map[string]string{"email_opt_in": "0"}, domain.ConsentNo},
			{map[string]string{"email_opt_in": "TRUE"}, domain.ConsentYes},
			{map[string]string{"email_opt_in": "false"}, domain.ConsentNo},
			{map[string]string{"email_opt_in": "1"}, domain.ConsentYes},
			{map[string]string{"email_opt_in": "no"}, domain.ConsentNo},
		}
		for i, st := range steps {
			b.send(t, ev{"evt_consent_" + string(rune('a'+i)), "customer.updated", at.Add(time.Duration(i) * time.Minute),
				ingest.CustomerObject("cus_consent", "Con Sent", "con@example.org", nil, at, st.md)})
			ds, err := s.DonorsByEmail(ctx, "con@example.org")
			if err != nil || len(ds) != 1 {
				t.Fatalf("step %d: %v %v", i, ds, err)
			}
			if ds[0].MarketingConsent != st.want {
				t.Fatalf("step %d (%v): consent %q, want %q", i, st.md, ds[0].MarketingConsent, st.want)
			}
		}
		// Not configured: the key is not read.
		b.in.ConsentKey = ""
		b.send(t, ev{"evt_consent_off", "customer.created", at, ingest.CustomerObject("cus_off", "Off", "off@example.org", nil, at,
			map[string]string{"email_opt_in": "yes"})})
		ds, err := s.DonorsByEmail(ctx, "off@example.org")
		if err != nil || len(ds) != 1 || ds[0].MarketingConsent != "" {
			t.Fatalf("consent read without the setting: %+v %v", ds, err)
		}
	})
}
