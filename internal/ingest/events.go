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
