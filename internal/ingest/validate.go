package ingest

import (
	"errors"
	"fmt"
	"strings"

	"impactd/internal/domain"
	"impactd/internal/money"
	"impactd/internal/store"
	"impactd/internal/textclean"
)

// Rules an event can break. Each is a label of impactd_stripe_rejections_total
// and a column of the console's exceptions page, so the list is short and fixed.
const (
	RuleParse    = "parse"          // the object is not what its type says
	RuleID       = "id"             // a missing or malformed Stripe id
	RuleAmount   = "amount"         // an amount outside 0…money.MaxAmount, or a gift of nothing
	RuleCurrency = "currency"       // not a current ISO 4217 code, or not the charge's currency
	RuleExceeds  = "exceeds_charge" // refunds and lost disputes beyond the charge
	RuleOverflow = "overflow"       // a total that does not fit
	RuleDatabase = "database"       // a value the database refused (a safety net: text is cleaned before)
	RuleInvalid  = "invalid"        // any other broken rule
)

// Rejection is an event that breaks a rule of the ledger. Apply stores the
// event, records the rejection, changes nothing else and reports Rejected:
// Stripe gets a 200 and stops retrying, because a retry cannot make the
// event true. It is a domain EINVALID error.
type Rejection struct {
	Rule   string
	Reason string // ids, amounts and codes only: never a name or an address
}

func (r *Rejection) Error() string { return "rejected (" + r.Rule + "): " + r.Reason }

// Unwrap makes a rejection an EINVALID domain error.
func (r *Rejection) Unwrap() error { return &domain.Error{Code: domain.EINVALID, Message: r.Reason} }

func reject(rule, format string, args ...any) *Rejection {
	return &Rejection{Rule: rule, Reason: textclean.Line(fmt.Sprintf(format, args...), textclean.ReasonMax)}
}

// rejection returns the rejection err stands for: a Rejection, any other
// EINVALID error, or a value the database refused; false for anything else
// (an outage of ours, which Stripe should retry).
func rejection(err error) (*Rejection, bool) {
	var r *Rejection
	switch {
	case err == nil:
		return nil, false
	case errors.As(err, &r):
		return r, true
	case domain.ErrorCode(err) == domain.EINVALID:
		return reject(RuleInvalid, "%s", domain.ErrorMessage(err)), true
	case store.IsDataError(err):
		return reject(RuleDatabase, "the database refused a value (%s)", store.DataErrorCode(err)), true
	}
	return nil, false
}

// checkAmount refuses an amount outside 0…money.MaxAmount.
func checkAmount(what, id string, v int64) error {
	if !money.ValidAmount(v) {
		return reject(RuleAmount, "%s %s: amount %d outside 0…%d", what, id, v, money.MaxAmount)
	}
	return nil
}

// checkCurrency returns the currency in upper case, or refuses a code that
// is not a current ISO 4217 currency.
func checkCurrency(what, id, c string) (string, error) {
	if !money.ValidCurrency(c) {
		return "", reject(RuleCurrency, "%s %s: currency %q is not an ISO 4217 currency", what, id, textclean.Cut(textclean.Line(c, 0), 12))
	}
	return money.NormaliseCurrency(c), nil
}

// MaxIDLength is the longest Stripe id accepted; Stripe's are far shorter.
const MaxIDLength = 255

// validID reports whether s looks like a Stripe id: ASCII letters, digits
// and _ - . : only, at most MaxIDLength long.
func validID(s string) bool {
	if s == "" || len(s) > MaxIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// checkIDs refuses any non-empty id that is not a valid Stripe id; names
// and values alternate: checkIDs("charge", ch.ID, "customer", cus).
func checkIDs(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if v := pairs[i+1]; v != "" && !validID(v) {
			return reject(RuleID, "%s id is not a Stripe id (%d bytes)", pairs[i], len(v))
		}
	}
	return nil
}

// sum adds amounts of one charge, refusing an overflow.
func sum(chargeID string, amounts ...int64) (int64, error) {
	t, err := money.Sum(amounts...)
	if err != nil {
		return 0, reject(RuleOverflow, "charge %s: amounts overflow", chargeID)
	}
	return t, nil
}

// NormaliseEmail is the form in which email addresses are compared and
// stored: cleaned, one line, lower case; "" when it is too long to be one.
func NormaliseEmail(s string) string {
	e := strings.ToLower(textclean.Line(s, 0))
	if len(e) > textclean.EmailMax {
		return ""
	}
	return e
}

// cleanName is a name as impactd stores it.
func cleanName(s string) string { return textclean.Line(s, textclean.NameMax) }

// cleanStatus is a Stripe status word as stored.
func cleanStatus(s string) string { return textclean.Line(s, 40) }
