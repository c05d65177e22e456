package domain

import "impactd/internal/money"

// Donor is a supporter. A donor is linked to zero or more Stripe customers and
// one or more email addresses; a guest who gave through Checkout without an
// account is a donor known only by email.
type Donor struct {
	ID        string `db:"id" json:"id"`
	Name      string `db:"name" json:"name"`
	Email     string `db:"email" json:"email"`     // normalised, lower case; "" when unknown
	Address   string `db:"address" json:"address"` // postal address, lines joined by "\n"
	Status    string `db:"status" json:"status"`   // DonorActive, DonorUnsubscribed, DonorErased
	CreatedAt int64  `db:"created_at" json:"created_at"`
	UpdatedAt int64  `db:"updated_at" json:"updated_at"`
}

// Donor states.
const (
	DonorActive       = "active"
	DonorUnsubscribed = "unsubscribed"
	DonorErased       = "erased"
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
}

// Donation states.
const (
	DonationSucceeded = "succeeded"
	DonationRefunded  = "refunded" // fully refunded
)

// Gross is the amount given.
func (d Donation) Gross() money.Money { return money.New(d.Amount, d.Currency) }

// Net is the amount given less the amount refunded.
func (d Donation) Net() money.Money { return money.New(d.Amount-d.AmountRefunded, d.Currency) }

// Refund is one refund of a donation, dated when it happened, so that a
// refund of last quarter's gift shows in this quarter's letter.
type Refund struct {
	ID         string `db:"id" json:"id"` // Stripe refund id
	DonationID string `db:"donation_id" json:"donation_id"`
	Amount     int64  `db:"amount" json:"amount"`
	Currency   string `db:"currency" json:"currency"`
	Created    int64  `db:"created" json:"created"`
}
