// Package giftaid makes the charity's Gift Aid claims to HMRC: which gifts
// can be claimed (a GBP gift, net of refunds and lost disputes, covered by
// the donor's declaration on its date, from a donor with a UK home address,
// at most four years old), the rows of HMRC's Charities Online Gift Aid
// schedule in its column order and formats, the exceptions a person has to
// look at, small donations added together as HMRC allows, and adjustments
// for gifts refunded after they were claimed. The rules and the GOV.UK pages
// they come from are in README.md ("Gift Aid claims").
//
// Claims are records (internal/store, giftaid_claims): the Service in
// service.go is the one entry that makes, lists and marks them, for the
// command line, the console and the API alike.
package giftaid

import (
	"fmt"
	"strconv"
	"time"

	"impactd/internal/domain"
	"impactd/internal/money"
)

// Reason says why a gift with a declaration cannot go on the schedule.
type Reason string

// Reasons.
const (
	ReasonNotGBP      Reason = "not_gbp"
	ReasonNoAddress   Reason = "no_address"
	ReasonNotUK       Reason = "not_uk"
	ReasonNoPostcode  Reason = "no_postcode"
	ReasonNoHouse     Reason = "no_house"
	ReasonNoName      Reason = "no_name"
	ReasonNoSurname   Reason = "no_surname"
	ReasonNameTooLong Reason = "name_too_long"
	ReasonErased      Reason = "erased"
	ReasonTooOld      Reason = "too_old"
)

// Text says a reason in words, for the console and the exceptions file.
func (r Reason) Text() string {
	switch r {
	case ReasonNotGBP:
		return "not in pounds sterling: Gift Aid is only on GBP gifts"
	case ReasonNoAddress:
		return "no home address"
	case ReasonNotUK:
		return "the home address is not in the UK"
	case ReasonNoPostcode:
		return "no UK postcode in the address"
	case ReasonNoHouse:
		return "no house name or number in the address"
	case ReasonNoName:
		return "no name"
	case ReasonNoSurname:
		return "no last name (one word only)"
	case ReasonNameTooLong:
		return "last name longer than 35 characters"
	case ReasonErased:
		return "the donor's personal data was erased"
	case ReasonTooOld:
		return "more than four years old: past HMRC's time limit"
	}
	return string(r)
}

// Window is a span of a donor's Gift Aid declaration: the gifts made on a
// day From ≤ day < Until (YYYY-MM-DD, in the organisation's time zone) are
// covered; Until "" is a declaration still in force.
type Window struct {
	From  string
	Until string
}

// Covers reports whether a gift made on day (YYYY-MM-DD) is covered.
func (w Window) Covers(day string) bool {
	return w.From != "" && day >= w.From && (w.Until == "" || day < w.Until)
}

// Covered reports whether any window covers day.
func Covered(ws []Window, day string) bool {
	for _, w := range ws {
		if w.Covers(day) {
			return true
		}
	}
	return false
}

// Gift is a donation with what decides whether it can be claimed.
type Gift struct {
	Donation     domain.Donation
	DonorName    string
	DonorAddress string
	DonorStatus  string
	Windows      []Window
}

// Line is a claimed gift: the schedule's person and the net amount.
type Line struct {
	DonationID string `json:"donation_id"`
	DonorID    string `json:"donor_id"`
	Created    int64  `json:"created"`
	Amount     int64  `json:"amount"` // pence
	Name       Name   `json:"-"`
	Home       Home   `json:"-"`
}

// Exception is a gift with a declaration that cannot go on the schedule.
type Exception struct {
	DonationID string `json:"donation_id"`
	DonorID    string `json:"donor_id"`
	Created    int64  `json:"created"`
	Amount     int64  `json:"amount"` // net, minor units of Currency
	Currency   string `json:"currency"`
	Reason     Reason `json:"reason"`
}

// Rules are what Check needs besides the gift.
type Rules struct {
	// Oldest is the first day (YYYY-MM-DD) a gift may be made on and still
	// be claimed: see OldestClaimable.
	Oldest   string
	Location *time.Location
}

// OldestClaimable is the first day whose gifts may still be claimed in a
// claim made at ref: HMRC takes claims within four years of the end of the
// accounting period a gift was received in, and since that end is never
// before the gift, a gift at most four years old is always in time. (This
// may leave out a gift of up to a year more that the charity's own year end
// would still allow: a claim is never late, at the cost of a little.)
func OldestClaimable(ref time.Time) string {
	return ref.AddDate(-4, 0, 0).Format(time.DateOnly)
}

// Check decides one gift. It returns the line to claim, or the exception
// that keeps it out; both nil when the gift is simply not claimable (no
// declaration covers its date, or nothing of it is left after refunds).
func Check(g Gift, r Rules) (*Line, *Exception) {
	d := g.Donation
	day := time.Unix(d.Created, 0).In(r.Location).Format(time.DateOnly)
	net := d.Amount - d.AmountRefunded - d.AmountDisputed
	if !Covered(g.Windows, day) || net <= 0 {
		return nil, nil
	}
	ex := func(reason Reason) (*Line, *Exception) {
		return nil, &Exception{DonationID: d.ID, DonorID: d.DonorID, Created: d.Created, Amount: net,
			Currency: money.NormaliseCurrency(d.Currency), Reason: reason}
	}
	if day < r.Oldest {
		return ex(ReasonTooOld)
	}
	if money.NormaliseCurrency(d.Currency) != "GBP" {
		return ex(ReasonNotGBP)
	}
	if g.DonorStatus == domain.DonorErased {
		return ex(ReasonErased)
	}
	name, why := SplitName(g.DonorName)
	if why != "" {
		return ex(why)
	}
	home, why := HomeOf(g.DonorAddress)
	if why != "" {
		return ex(why)
	}
	return &Line{DonationID: d.ID, DonorID: d.DonorID, Created: d.Created, Amount: net, Name: name, Home: home}, nil
}

// FormatAmount writes pence as HMRC's schedule wants an amount: two
// decimals, no £ and no thousands separator ("1234.50", "-3.05").
func FormatAmount(pence int64) string {
	sign := ""
	u := uint64(pence)
	if pence < 0 {
		sign, u = "-", uint64(-(pence+1))+1 // math.MinInt64 has no positive twin in int64
	}
	frac := u % 100
	s := strconv.FormatUint(u/100, 10) + "." + strconv.FormatUint(frac/10, 10) + strconv.FormatUint(frac%10, 10)
	return sign + s
}

// FormatDate writes a date as the schedule wants it: DD/MM/YY.
func FormatDate(unix int64, loc *time.Location) string {
	return time.Unix(unix, 0).In(loc).Format("02/01/06")
}

// GiftAidOn is the tax HMRC repays on a net amount of donations at the
// basic rate (20%): 25p in the pound, rounded to the nearest penny (half a
// penny up). The claim's adjustment box takes this for over-claims.
func GiftAidOn(pence int64) (int64, error) {
	const limit = (1<<63 - 1 - 50) / 25
	neg := pence < 0
	if neg {
		pence = -pence
	}
	if pence > limit {
		return 0, fmt.Errorf("gift aid on %d pence: %w", pence, money.ErrOverflow)
	}
	t := (pence*25 + 50) / 100
	if neg {
		t = -t
	}
	return t, nil
}
