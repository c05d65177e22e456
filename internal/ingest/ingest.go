// Package ingest turns Stripe events into the donation ledger. The webhook
// handler and (later) the API backfill both call Apply, so the two paths can
// never disagree about what an event means.
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/stripe/stripe-go/v76"

	"impactd/internal/domain"
	"impactd/internal/store"
)

// Ingester applies Stripe events to the ledger.
type Ingester struct {
	Store *store.Store
	Clock domain.Clock
	Log   *slog.Logger
}

// Outcome says what Apply did with an event.
type Outcome string

// Outcomes of Apply.
const (
	Applied   Outcome = "applied"   // stored and applied to the ledger
	Duplicate Outcome = "duplicate" // seen before: nothing changed
	Ignored   Outcome = "ignored"   // stored, but of a type that does not touch the ledger
)

// Apply stores the event and applies it to the ledger in one transaction: either
// both happen or neither does, so a failure can always be retried by Stripe.
func (in *Ingester) Apply(ctx context.Context, ev *stripe.Event) (Outcome, error) {
	if ev.ID == "" || ev.Data == nil || len(ev.Data.Raw) == 0 {
		return "", domain.Errorf(domain.EINVALID, "event without id or data object")
	}
	payload, err := redact(ev.Data.Raw)
	if err != nil {
		return "", domain.Errorf(domain.EINVALID, "event %s: data object is not JSON", ev.ID)
	}
	now := in.Clock.Now().Unix()
	outcome := Ignored
	err = in.Store.InTx(ctx, func(tx *store.Tx) error {
		live := 0
		if ev.Livemode {
			live = 1
		}
		fresh, err := tx.InsertEvent(ctx, store.StripeEvent{
			ID: ev.ID, Type: string(ev.Type), APIVersion: ev.APIVersion, Created: ev.Created,
			Livemode: live, Payload: string(payload), ReceivedAt: now,
		})
		if err != nil {
			return err
		}
		if !fresh {
			outcome = Duplicate
			return nil
		}
		switch ev.Type {
		case "charge.succeeded", "charge.refunded", "charge.updated":
			var ch stripe.Charge
			if err := json.Unmarshal(ev.Data.Raw, &ch); err != nil {
				return domain.Errorf(domain.EINVALID, "event %s: charge object: %v", ev.ID, err)
			}
			if err := in.applyCharge(ctx, tx, &ch, ev.Created, now); err != nil {
				return err
			}
			outcome = Applied
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("apply %s: %w", ev.Type, err)
	}
	return outcome, nil
}

// applyCharge records a succeeded charge as a donation, or brings an existing
// donation up to the charge's state. It is idempotent and order-insensitive:
// the refunded amount only ever grows, so an old event arriving late cannot
// roll a newer refund back.
func (in *Ingester) applyCharge(ctx context.Context, tx *store.Tx, ch *stripe.Charge, eventCreated, now int64) error {
	if ch.ID == "" || ch.Amount <= 0 || ch.Currency == "" {
		return domain.Errorf(domain.EINVALID, "charge without id, amount or currency")
	}
	if ch.Status != stripe.ChargeStatusSucceeded {
		return nil // pending and failed charges are not gifts
	}
	don, err := tx.DonationByChargeForUpdate(ctx, ch.ID)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		donor, err := in.resolveDonor(ctx, tx, ch, now)
		if err != nil {
			return err
		}
		recurring := 0
		if ch.Invoice != nil && ch.Invoice.ID != "" {
			recurring = 1
		}
		if _, err := tx.InsertDonation(ctx, &domain.Donation{
			DonorID: donor.ID, ChargeID: ch.ID, Amount: ch.Amount, Currency: strings.ToUpper(string(ch.Currency)),
			Status: domain.DonationSucceeded, Recurring: recurring, Designation: ch.Metadata["designation"],
			Created: ch.Created, UpdatedAt: now,
		}); err != nil {
			return err
		}
		don, err = tx.DonationByChargeForUpdate(ctx, ch.ID)
		if err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	return applyRefunds(ctx, tx, don, ch, eventCreated, now)
}

func applyRefunds(ctx context.Context, tx *store.Tx, don *domain.Donation, ch *stripe.Charge, eventCreated, now int64) error {
	recorded, err := tx.SumRefunds(ctx, don.ID)
	if err != nil {
		return err
	}
	if ch.Refunds != nil && len(ch.Refunds.Data) > 0 {
		for _, r := range ch.Refunds.Data {
			if r.ID == "" || r.Amount <= 0 || (r.Status != "" && r.Status != stripe.RefundStatusSucceeded) {
				continue
			}
			if err := tx.InsertRefund(ctx, domain.Refund{ID: r.ID, DonationID: don.ID, Amount: r.Amount, Currency: don.Currency, Created: r.Created}); err != nil {
				return err
			}
		}
	} else if ch.AmountRefunded > recorded {
		// The charge does not list its refunds (API versions since 2022-11-15
		// leave them out of events), so record the difference as one refund,
		// dated by the event. Its id is derived from the new cumulative amount,
		// so applying the same state twice records it once.
		if err := tx.InsertRefund(ctx, domain.Refund{
			ID: fmt.Sprintf("%s:refunded:%d", ch.ID, ch.AmountRefunded), DonationID: don.ID,
			Amount: ch.AmountRefunded - recorded, Currency: don.Currency, Created: eventCreated,
		}); err != nil {
			return err
		}
	}
	if recorded, err = tx.SumRefunds(ctx, don.ID); err != nil {
		return err
	}
	refunded := max(don.AmountRefunded, ch.AmountRefunded, recorded)
	if refunded > don.Amount {
		return domain.Errorf(domain.EINVALID, "charge %s: refunds %d exceed the amount %d", ch.ID, refunded, don.Amount)
	}
	if refunded == don.AmountRefunded {
		return nil
	}
	don.AmountRefunded = refunded
	don.Status = domain.DonationSucceeded
	if refunded == don.Amount {
		don.Status = domain.DonationRefunded
	}
	don.UpdatedAt = now
	return tx.UpdateDonationRefunds(ctx, don)
}

// NormaliseEmail is the form in which email addresses are compared and stored.
func NormaliseEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// resolveDonor finds the donor of a charge — by Stripe customer, then by email
// — or creates one. A guest checkout is a donor known only by email.
func (in *Ingester) resolveDonor(ctx context.Context, tx *store.Tx, ch *stripe.Charge, now int64) (*domain.Donor, error) {
	var customerID, name, email, address string
	if ch.Customer != nil {
		customerID = ch.Customer.ID
	}
	if b := ch.BillingDetails; b != nil {
		name, email, address = strings.TrimSpace(b.Name), NormaliseEmail(b.Email), formatAddress(b.Address)
	}
	if email == "" {
		email = NormaliseEmail(ch.ReceiptEmail)
	}
	var donor *domain.Donor
	var err error
	if customerID != "" {
		donor, err = tx.DonorByCustomer(ctx, customerID)
	}
	if donor == nil && email != "" {
		donor, err = tx.DonorByEmail(ctx, email)
	}
	if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
		return nil, err
	}
	if donor == nil {
		donor = &domain.Donor{Name: name, Email: email, Address: address, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateDonor(ctx, donor); err != nil {
			return nil, err
		}
	} else if (donor.Name == "" && name != "") || (donor.Email == "" && email != "") || (donor.Address == "" && address != "") {
		donor.Name = cmp(donor.Name, name)
		donor.Email = cmp(donor.Email, email)
		donor.Address = cmp(donor.Address, address)
		donor.UpdatedAt = now
		if err := tx.UpdateDonorContact(ctx, donor); err != nil {
			return nil, err
		}
	}
	if customerID != "" {
		if err := tx.LinkCustomer(ctx, customerID, donor.ID, now); err != nil {
			return nil, err
		}
	}
	if email != "" {
		if err := tx.LinkEmail(ctx, email, donor.ID, now); err != nil {
			return nil, err
		}
	}
	return donor, nil
}

// cmp keeps what is known and fills in what is missing.
func cmp(have, got string) string {
	if have != "" {
		return have
	}
	return got
}

func formatAddress(a *stripe.Address) string {
	if a == nil {
		return ""
	}
	var lines []string
	for _, l := range []string{a.Line1, a.Line2, strings.TrimSpace(a.City + " " + a.PostalCode), a.State, a.Country} {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// cardKeys are removed from every stored payload: impactd never keeps card data.
var cardKeys = map[string]bool{
	"payment_method_details": true, "source": true, "card": true, "last4": true, "fingerprint": true,
	"exp_month": true, "exp_year": true, "iin": true, "dynamic_last4": true,
}

// redact returns the JSON with card details removed at every depth.
func redact(raw []byte) ([]byte, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	strip(v)
	b, err := json.Marshal(v)
	if err != nil {
		return nil, errors.New("re-encode payload")
	}
	return b, nil
}

func strip(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if cardKeys[k] {
				delete(t, k)
				continue
			}
			strip(child)
		}
	case []any:
		for _, child := range t {
			strip(child)
		}
	}
}
