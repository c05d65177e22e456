// Package money is the one place where amounts of money are represented and
// formatted. An amount is always an integer number of minor units (pence,
// cents, yen) together with its ISO 4217 currency code; floats never appear.
package money

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/bojanz/currency"
)

// Money is an amount in minor units of one currency.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"` // ISO 4217, upper case, e.g. "GBP"
}

// New returns Money with the currency code normalised to upper case.
func New(amount int64, currency string) Money {
	return Money{Amount: amount, Currency: NormaliseCurrency(currency)}
}

// NormaliseCurrency upper-cases and trims a currency code. Stripe sends lower case.
func NormaliseCurrency(c string) string { return strings.ToUpper(strings.TrimSpace(c)) }

// MaxAmount is the largest amount, in minor units, that impactd accepts for
// one charge, refund, dispute or balance transaction: 10^12 (ten thousand
// million pounds). It is far above any real gift and far below the int64
// range, so that sums of many amounts stay exact and checked.
const MaxAmount int64 = 1_000_000_000_000

// ErrOverflow is returned by checked arithmetic whose exact result would not
// fit in an int64; a wrapped number is never returned.
var ErrOverflow = errors.New("money: amount overflows")

// Add returns a+b, or ErrOverflow.
func Add(a, b int64) (int64, error) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, ErrOverflow
	}
	return a + b, nil
}

// Sub returns a-b, or ErrOverflow.
func Sub(a, b int64) (int64, error) {
	if (b < 0 && a > math.MaxInt64+b) || (b > 0 && a < math.MinInt64+b) {
		return 0, ErrOverflow
	}
	return a - b, nil
}

// Sum adds amounts, or returns ErrOverflow.
func Sum(amounts ...int64) (int64, error) {
	var t int64
	for _, a := range amounts {
		var err error
		if t, err = Add(t, a); err != nil {
			return 0, err
		}
	}
	return t, nil
}

// ValidAmount reports whether a is an amount impactd accepts from Stripe:
// 0 ≤ a ≤ MaxAmount.
func ValidAmount(a int64) bool { return a >= 0 && a <= MaxAmount }

// ValidCurrency reports whether c (any case) is a current ISO 4217 currency
// of legal tender: the CLDR list kept by github.com/bojanz/currency. Funds,
// precious metals, test and "no currency" codes (XAU, XTS, XXX …) and
// withdrawn currencies are not.
func ValidCurrency(c string) bool {
	c = NormaliseCurrency(c)
	return c != "" && currency.IsValid(c) // IsValid calls "" valid: "no currency chosen yet"
}

// Stripe's own rules for minor units (docs.stripe.com/currencies): these
// currencies are zero-decimal in its API, these three-decimal, and every
// other currency has two decimals in the API — even where ISO 4217 says
// otherwise (ISK, HUF and TWD are sent with two decimals, for example).
var (
	zeroDecimal = map[string]bool{
		"BIF": true, "CLP": true, "DJF": true, "GNF": true, "JPY": true, "KMF": true,
		"KRW": true, "MGA": true, "PYG": true, "RWF": true, "UGX": true, "VND": true,
		"VUV": true, "XAF": true, "XOF": true, "XPF": true,
	}
	threeDecimal = map[string]bool{"BHD": true, "JOD": true, "KWD": true, "OMR": true, "TND": true}
)

// Exponent is the number of decimal places of a currency's minor unit as
// Stripe counts amounts.
func Exponent(currency string) int {
	c := NormaliseCurrency(currency)
	switch {
	case zeroDecimal[c]:
		return 0
	case threeDecimal[c]:
		return 3
	default:
		return 2
	}
}

var symbols = map[string]string{"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥"}

// String formats the amount for people, e.g. "£1,234.50", "-€3.00", "CHF 12.00".
func (m Money) String() string {
	exp := Exponent(m.Currency)
	a := m.Amount
	neg := a < 0
	if neg {
		a = -a
	}
	if a < 0 { // math.MinInt64 has no positive twin
		return m.Currency + " ?"
	}
	div := int64(1)
	for range exp {
		div *= 10
	}
	whole, frac := a/div, a%div
	s := groupThousands(strconv.FormatInt(whole, 10))
	if exp > 0 {
		s += "." + fmt.Sprintf("%0*d", exp, frac)
	}
	if sym, ok := symbols[m.Currency]; ok {
		s = sym + s
	} else {
		s = m.Currency + " " + s
	}
	if neg {
		s = "-" + s
	}
	return s
}

func groupThousands(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	lead := len(digits) % 3
	if lead > 0 {
		b.WriteString(digits[:lead])
	}
	for i := lead; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// Totals accumulates amounts per currency. Amounts of different currencies are
// never added together.
type Totals map[string]int64

// Add adds m to the running total of its currency. A total that would
// overflow is left as it was and ErrOverflow returned.
func (t Totals) Add(m Money) error {
	c := NormaliseCurrency(m.Currency)
	sum, err := Add(t[c], m.Amount)
	if err != nil {
		return fmt.Errorf("total of %s: %w", c, err)
	}
	t[c] = sum
	return nil
}

// Currencies returns the currency codes in alphabetical order, so that
// everything built from Totals is deterministic.
func (t Totals) Currencies() []string {
	cs := make([]string, 0, len(t))
	for c := range t {
		cs = append(cs, c)
	}
	sort.Strings(cs)
	return cs
}

// List returns the totals as Money values in currency order.
func (t Totals) List() []Money {
	out := make([]Money, 0, len(t))
	for _, c := range t.Currencies() {
		out = append(out, Money{Amount: t[c], Currency: c})
	}
	return out
}
