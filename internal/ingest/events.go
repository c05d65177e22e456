package ingest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// Charge describes a Stripe charge for building test and demo events. It
// produces the JSON Stripe itself sends, not a private format, so the events
// go through exactly the code that real webhooks do.
type Charge struct {
	ID             string
	Customer       string // Stripe customer id; empty for a guest checkout
	Invoice        string // set for a gift from a subscription
	Name, Email    string
	Address        *stripe.Address
	Amount         int64
	Currency       string // lower case, as Stripe sends it
	AmountRefunded int64
	Created        time.Time
	Designation    string
}

// Object returns the charge as Stripe's JSON object.
func (c Charge) Object() map[string]any {
	obj := map[string]any{
		"id": c.ID, "object": "charge", "amount": c.Amount, "amount_captured": c.Amount,
		"amount_refunded": c.AmountRefunded, "currency": c.Currency, "created": c.Created.Unix(),
		"status": "succeeded", "paid": true, "captured": true, "refunded": c.AmountRefunded == c.Amount,
		"livemode": false, "metadata": map[string]string{},
		"billing_details":        map[string]any{"name": nilIfEmpty(c.Name), "email": nilIfEmpty(c.Email), "address": c.Address},
		"payment_method_details": map[string]any{"type": "card", "card": map[string]any{"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030}},
		"receipt_email":          nilIfEmpty(c.Email),
	}
	if c.Customer != "" {
		obj["customer"] = c.Customer
	}
	if c.Invoice != "" {
		obj["invoice"] = c.Invoice
	}
	if c.Designation != "" {
		obj["metadata"] = map[string]string{"designation": c.Designation}
	}
	return obj
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// EventJSON wraps a data object in a Stripe event envelope.
func EventJSON(id, typ string, created time.Time, object map[string]any) ([]byte, error) {
	b, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "type": typ, "api_version": stripe.APIVersion,
		"created": created.Unix(), "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": object},
	})
	if err != nil {
		return nil, fmt.Errorf("event json: %w", err)
	}
	return b, nil
}

// SignatureHeader returns the Stripe-Signature header for a payload signed
// with secret at time ts, as Stripe computes it.
func SignatureHeader(payload []byte, secret string, ts time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: ts}).Header
}

// PaymentIntentObject returns a succeeded payment intent for charge c, as
// Stripe sends it in payment_intent.succeeded.
func PaymentIntentObject(piID string, c Charge) map[string]any {
	obj := map[string]any{
		"id": piID, "object": "payment_intent", "amount": c.Amount, "amount_received": c.Amount, "currency": c.Currency,
		"created": c.Created.Unix(), "status": "succeeded", "latest_charge": c.ID, "receipt_email": nilIfEmpty(c.Email),
		"metadata": map[string]string{},
	}
	if c.Customer != "" {
		obj["customer"] = c.Customer
	}
	return obj
}

// CheckoutSessionObject returns a completed, paid checkout session.
// mode is "payment" (piID set) or "subscription" (subID set).
func CheckoutSessionObject(id, mode, piID, subID string, c Charge, metadata map[string]string) map[string]any {
	obj := map[string]any{
		"id": id, "object": "checkout.session", "mode": mode, "status": "complete", "payment_status": "paid",
		"amount_total": c.Amount, "currency": c.Currency, "created": c.Created.Unix(),
		"customer_details": map[string]any{"email": nilIfEmpty(c.Email), "name": nilIfEmpty(c.Name), "address": c.Address},
		"metadata":         metadata,
	}
	if c.Customer != "" {
		obj["customer"] = c.Customer
	}
	if piID != "" {
		obj["payment_intent"] = piID
	}
	if subID != "" {
		obj["subscription"] = subID
	}
	return obj
}

// InvoiceObject returns a paid subscription invoice for charge c.
func InvoiceObject(id, subID, priceID string, c Charge) map[string]any {
	return map[string]any{
		"id": id, "object": "invoice", "status": "paid", "amount_paid": c.Amount, "currency": c.Currency,
		"created": c.Created.Unix(), "customer": c.Customer, "customer_email": nilIfEmpty(c.Email),
		"customer_name": nilIfEmpty(c.Name), "subscription": subID, "charge": c.ID, "billing_reason": "subscription_cycle",
		"status_transitions": map[string]any{"paid_at": c.Created.Unix()},
		"lines": map[string]any{"object": "list", "data": []any{map[string]any{
			"id": "il_" + id, "object": "line_item", "amount": c.Amount, "currency": c.Currency,
			"price": map[string]any{"id": priceID, "object": "price"}, "subscription": subID,
		}}},
	}
}

// DisputeObject returns a dispute of charge c with the given status
// ("needs_response", "under_review", "won", "lost").
func DisputeObject(id string, c Charge, amount int64, status string) map[string]any {
	return map[string]any{
		"id": id, "object": "dispute", "charge": c.ID, "amount": amount, "currency": c.Currency,
		"status": status, "created": c.Created.Add(24 * time.Hour).Unix(), "reason": "fraudulent",
	}
}

// CustomerObject returns a Stripe customer.
func CustomerObject(id, name, email string, address *stripe.Address, created time.Time, metadata map[string]string) map[string]any {
	return map[string]any{
		"id": id, "object": "customer", "name": nilIfEmpty(name), "email": nilIfEmpty(email), "address": address,
		"created": created.Unix(), "metadata": metadata,
	}
}
