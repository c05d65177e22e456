package ingest_test

import (
	"strings"
	"testing"
	"time"

	"impactd/internal/ingest"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

// TestBenefitMetadata: what a donor received in exchange for a gift comes
// from the payment's metadata, checked and cleaned, and is stored on the
// donation; a later object of the same payment fills in one the charge
// lacked but never replaces one it had. (Bad values are rejected: see
// TestHostileEvents.)
func TestBenefitMetadata(t *testing.T) {
	at := time.Date(2026, 3, 14, 19, 0, 0, 0, time.UTC)
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		tests := []struct {
			name     string
			md       map[string]string
			wantDesc string
			wantVal  int64
		}{
			{"none", map[string]string{"designation": "Aftercare"}, "", 0},
			{"a dinner ticket", benefitMD("Gala dinner ticket", "12000"), "Gala dinner ticket", 12000},
			{"worth nothing to speak of", benefitMD("Pin badge", "0"), "Pin badge", 0},
			{"worth the whole gift", benefitMD("Concert ticket", "50000"), "Concert ticket", 50000},
			{"spaces around the value", benefitMD("Tote bag", " 1500 "), "Tote bag", 1500},
			{"text cleaned to one line", benefitMD("Two tickets\n\tfor the\x00 gala", "9000"), "Two tickets for the gala", 9000},
			{"a long description is cut", benefitMD(strings.Repeat("Dinner ", 40), "100"), "", 100},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := ingest.Charge{ID: "ch_benefit" + string(rune('a'+i)), Email: "gala@example.org", Name: "Gala Guest",
					Amount: 50000, Currency: "usd", Created: at}
				obj := c.Object()
				obj["metadata"] = tt.md
				b.send(t, ev{"evt_benefit" + string(rune('a'+i)), "charge.succeeded", at, obj})
				d := donation(t, s, c.ID)
				if tt.name == "a long description is cut" {
					if n := len([]rune(d.BenefitDescription)); n > ingest.BenefitDescriptionMax || n < ingest.BenefitDescriptionMax-2 ||
						!strings.HasPrefix(d.BenefitDescription, "Dinner Dinner") || !strings.HasSuffix(d.BenefitDescription, "…") {
						t.Fatalf("description of %d runes: %q", n, d.BenefitDescription)
					}
				} else if d.BenefitDescription != tt.wantDesc {
					t.Errorf("description %q, want %q", d.BenefitDescription, tt.wantDesc)
				}
				if d.BenefitValue != tt.wantVal {
					t.Errorf("value %d, want %d", d.BenefitValue, tt.wantVal)
				}
			})
		}

		// The payment intent, after its charge, fills in the benefit the
		// charge did not carry; a second one does not replace it.
		c := ingest.Charge{ID: "ch_benefitpi", Email: "gala@example.org", Amount: 20000, Currency: "usd", Created: at}
		ch := c.Object()
		ch["payment_intent"] = "pi_benefit"
		b.send(t, ev{"evt_benefitpi1", "charge.succeeded", at, ch})
		pi := ingest.PaymentIntentObject("pi_benefit", c)
		pi["metadata"] = benefitMD("Gala dinner ticket", "8000")
		b.send(t, ev{"evt_benefitpi2", "payment_intent.succeeded", at, pi})
		pi2 := ingest.PaymentIntentObject("pi_benefit", c)
		pi2["metadata"] = benefitMD("Something else", "100")
		b.send(t, ev{"evt_benefitpi3", "payment_intent.succeeded", at.Add(time.Minute), pi2})
		if d := donation(t, s, "ch_benefitpi"); d.BenefitDescription != "Gala dinner ticket" || d.BenefitValue != 8000 {
			t.Errorf("benefit from the payment intent: %q %d", d.BenefitDescription, d.BenefitValue)
		}
		checkLedger(t, s)
	})
}
