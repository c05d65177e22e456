package domain

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"impactd/internal/money"
)

// Donor is a supporter. A donor is linked to zero or more Stripe customers and
// one or more email addresses; a guest who gave through Checkout without an
// account is a donor known only by email.
type Donor struct {
	ID      string `db:"id" json:"id"`
	Name    string `db:"name" json:"name"`
	Email   string `db:"email" json:"email"`     // normalised, lower case; "" when unknown
	Address string `db:"address" json:"address"` // postal address, lines joined by "\n"
	Status  string `db:"status" json:"status"`   // DonorActive, DonorErased, DonorMerged
	// Letters is which series the donor receives: LettersAll, LettersAnnual
	// or LettersNone.
	Letters string `db:"letters" json:"letters"`
	// MarketingConsent is what the Stripe customer's metadata said about
	// marketing (ConsentYes, ConsentNo), or "" when nothing was recorded.
	MarketingConsent string `db:"marketing_consent" json:"marketing_consent,omitempty"`
	// GiftAidFrom is the date (YYYY-MM-DD) from which the donor's GBP gifts
	// are Gift Aid eligible, from their declaration; "" when none.
	GiftAidFrom string `db:"gift_aid_from" json:"gift_aid_from,omitempty"`
	// MergedInto is the donor this one was merged into; "" for a live donor.
	MergedInto string `db:"merged_into" json:"merged_into,omitempty"`
	CreatedAt  int64  `db:"created_at" json:"created_at"`
	UpdatedAt  int64  `db:"updated_at" json:"updated_at"`
	// Channel is how the donor asked to get their letters: ChannelEmail
	// (the default) or ChannelPost. Which of them they get is decided in
	// internal/runs (Route).
	Channel string `db:"channel" json:"channel"`
}

// Donor states.
const (
	DonorActive = "active"
	// DonorUnsubscribed was the status of a donor who stopped their letters
	// before there were series; migration 00040 made every such donor
	// active with Letters = LettersNone. No row has it now.
	DonorUnsubscribed = "unsubscribed"
	DonorErased       = "erased"
	DonorMerged       = "merged" // folded into another donor (MergedInto)
)

// Donation is one successful gift, a Stripe charge, with the refunds and lost
// disputes applied to it. Amounts are in minor units of Currency.
type Donation struct {
	ID             string `db:"id" json:"id"`
	DonorID        string `db:"donor_id" json:"donor_id"`
	ChargeID       string `db:"stripe_charge_id" json:"stripe_charge_id"`
	Amount         int64  `db:"amount" json:"amount"`
	Currency       string `db:"currency" json:"currency"`
	AmountRefunded int64  `db:"amount_refunded" json:"amount_refunded"`
	Status         string `db:"status" json:"status"`       // DonationSucceeded, DonationRefunded
	Recurring      int    `db:"recurring" json:"recurring"` // 1 for a gift from a subscription
	Designation    string `db:"designation" json:"designation"`
	Created        int64  `db:"created" json:"created"` // unix seconds, Stripe's charge.created
	UpdatedAt      int64  `db:"updated_at" json:"updated_at"`
	// AmountDisputed is the amount reversed by a lost dispute.
	AmountDisputed  int64  `db:"amount_disputed" json:"amount_disputed"`
	PaymentIntentID string `db:"payment_intent_id" json:"payment_intent_id,omitempty"`
	InvoiceID       string `db:"invoice_id" json:"invoice_id,omitempty"`
	SubscriptionID  string `db:"subscription_id" json:"subscription_id,omitempty"`
	// SettledAmount and SettledCurrency are what reached the charity's
	// balance (from the balance transaction), when known; 0 and "" otherwise.
	SettledAmount   int64  `db:"settled_amount" json:"settled_amount,omitempty"`
	SettledCurrency string `db:"settled_currency" json:"settled_currency,omitempty"`
	// BenefitDescription and BenefitValue are the goods or services the donor
	// received in exchange (a gala dinner ticket) and their good-faith value
	// in minor units of Currency, from the payment's metadata; "" and 0 for a
	// gift with nothing in return. The description is free text from the
	// donation form, so erasure blanks it.
	BenefitDescription string `db:"benefit_description" json:"benefit_description,omitempty"`
	BenefitValue       int64  `db:"benefit_value" json:"benefit_value,omitempty"`
}

// Donation states.
const (
	DonationSucceeded = "succeeded"
	DonationRefunded  = "refunded" // fully refunded
	DonationReversed  = "reversed" // a lost dispute took it back
)

// Gross is the amount given.
func (d Donation) Gross() money.Money { return money.New(d.Amount, d.Currency) }

// Net is the amount given less refunds and lost disputes.
func (d Donation) Net() money.Money {
	return money.New(d.Amount-d.AmountRefunded-d.AmountDisputed, d.Currency)
}

// Settle sets Status from the amounts.
func (d *Donation) Settle() {
	switch {
	case d.AmountDisputed > 0 && d.AmountRefunded+d.AmountDisputed >= d.Amount:
		d.Status = DonationReversed
	case d.AmountRefunded >= d.Amount:
		d.Status = DonationRefunded
	default:
		d.Status = DonationSucceeded
	}
}

// Refund is one refund of a donation, dated when it happened, so that a
// refund of last quarter's gift shows in this quarter's letter.
type Refund struct {
	ID         string `db:"id" json:"id"` // Stripe refund id
	DonationID string `db:"donation_id" json:"donation_id"`
	Amount     int64  `db:"amount" json:"amount"`
	Currency   string `db:"currency" json:"currency"`
	Created    int64  `db:"created" json:"created"`
	Kind       string `db:"kind" json:"kind"`           // RefundKindRefund or RefundKindDispute
	Synthetic  int    `db:"synthetic" json:"synthetic"` // 1: stands for refunds not seen one by one
}

// Kinds of money returned.
const (
	RefundKindRefund  = "refund"
	RefundKindDispute = "dispute"
)

// GiftAidEligible reports whether a gift qualifies for Gift Aid: a GBP gift
// made on or after the donor's declaration date (giftAidFrom, YYYY-MM-DD, in
// the organisation's time zone loc).
func GiftAidEligible(d Donation, giftAidFrom string, loc *time.Location) bool {
	if giftAidFrom == "" || d.Currency != "GBP" {
		return false
	}
	return time.Unix(d.Created, 0).In(loc).Format(time.DateOnly) >= giftAidFrom
}

// CurrencySummary is a donor's giving in one currency.
type CurrencySummary struct {
	Currency        string `json:"currency"`
	Gifts           int    `json:"gifts"`
	Gross           int64  `json:"gross"`
	Refunded        int64  `json:"refunded"` // refunds and lost disputes
	Net             int64  `json:"net"`
	GiftAidEligible int64  `json:"gift_aid_eligible"` // net of eligible gifts
}

// Summarise totals gifts per currency, in currency order. Currencies are
// never added together. A total that would overflow is an error, never a
// wrapped number (the ledger's per-gift ceiling makes one unreachable in
// practice, but the letter must not print a wrapped sum if it ever were).
func Summarise(gifts []Donation, giftAidFrom string, loc *time.Location) ([]CurrencySummary, error) {
	by := map[string]*CurrencySummary{}
	var order []string
	add := func(total *int64, v int64) error {
		sum, err := money.Add(*total, v)
		if err != nil {
			return fmt.Errorf("summarise gifts: %w", err)
		}
		*total = sum
		return nil
	}
	for _, g := range gifts {
		s := by[g.Currency]
		if s == nil {
			s = &CurrencySummary{Currency: g.Currency}
			by[g.Currency] = s
			order = append(order, g.Currency)
		}
		s.Gifts++
		returned, err := money.Add(g.AmountRefunded, g.AmountDisputed)
		if err != nil {
			return nil, fmt.Errorf("summarise gifts: %w", err)
		}
		net, err := money.Sub(g.Amount, returned)
		if err != nil {
			return nil, fmt.Errorf("summarise gifts: %w", err)
		}
		if err := errors.Join(add(&s.Gross, g.Amount), add(&s.Refunded, returned), add(&s.Net, net)); err != nil {
			return nil, err
		}
		if GiftAidEligible(g, giftAidFrom, loc) {
			if err := add(&s.GiftAidEligible, net); err != nil {
				return nil, err
			}
		}
	}
	sort.Strings(order)
	out := make([]CurrencySummary, 0, len(order))
	for _, c := range order {
		out = append(out, *by[c])
	}
	return out, nil
}
