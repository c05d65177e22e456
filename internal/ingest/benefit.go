package ingest

import (
	"strconv"
	"strings"

	"impactd/internal/textclean"
)

// The metadata keys of a gift's benefit: what the donor received in
// exchange (a gala dinner ticket) and its good-faith value in minor units
// of the gift's currency. They are read from the charge's, the payment
// intent's and the invoice's metadata (a Checkout session passes them on
// through payment_intent_data.metadata).
const (
	BenefitDescriptionKey = "benefit_description"
	BenefitValueKey       = "benefit_value"
)

// BenefitDescriptionMax is the longest benefit description kept, in runes.
const BenefitDescriptionMax = 120

// benefit reads a gift's benefit from its metadata: ("", 0) when it names
// none. A value that is not a whole number of minor units from 0 to the
// gift's amount, a value without a description or a description without a
// value is a rejection, not a guess: the annual statement's US
// acknowledgment would otherwise tell the donor that nothing was given in
// exchange, or the wrong amount they may deduct.
func benefit(chargeID string, amount int64, md map[string]string) (string, int64, error) {
	rawValue, hasValue := md[BenefitValueKey]
	rawDesc, hasDesc := md[BenefitDescriptionKey]
	desc := textclean.Line(rawDesc, BenefitDescriptionMax)
	rawValue = strings.TrimSpace(rawValue)
	if (!hasValue || rawValue == "") && (!hasDesc || desc == "") {
		return "", 0, nil
	}
	if !hasValue || rawValue == "" {
		return "", 0, reject(RuleAmount, "charge %s: %s without %s", chargeID, BenefitDescriptionKey, BenefitValueKey)
	}
	v, err := strconv.ParseInt(rawValue, 10, 64)
	if err != nil || strings.HasPrefix(rawValue, "+") {
		return "", 0, reject(RuleAmount, "charge %s: %s is not a whole number of minor units (%d bytes)", chargeID, BenefitValueKey, len(rawValue))
	}
	if v < 0 || v > amount {
		return "", 0, reject(RuleAmount, "charge %s: %s %d outside 0…%d, the gift's amount", chargeID, BenefitValueKey, v, amount)
	}
	if desc == "" {
		return "", 0, reject(RuleAmount, "charge %s: %s without %s", chargeID, BenefitValueKey, BenefitDescriptionKey)
	}
	return desc, v, nil
}
