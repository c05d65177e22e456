// Package ingest turns Stripe events — and the objects the backfill reads
// from Stripe's API — into the donation ledger. Webhooks and the backfill
// both call the same apply functions, so the two can never disagree.
//
// Stripe delivers events at least once, in any order, sometimes days late.
// Everything here is therefore idempotent and order-insensitive: a gift is
// keyed by its charge id whichever event reveals it first; refunded and
// disputed amounts only grow; customer and dispute states carry the time of
// the event that set them, and an older event never overwrites a newer one.
package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/stripe/stripe-go/v76"

	"impactd/internal/domain"
	"impactd/internal/metrics"
	"impactd/internal/store"
	"impactd/internal/textclean"
)

// Ingester applies Stripe events and objects to the ledger.
type Ingester struct {
	Store   *store.Store
	Clock   domain.Clock
	Log     *slog.Logger
	Rule    Rule             // which charges are donations; the zero Rule accepts all
	Metrics *metrics.Metrics // nil counts nothing
	// ConsentKey is the Stripe customer metadata key that records marketing
	// consent (IMPACTD_MARKETING_CONSENT_METADATA); "" reads none.
	ConsentKey string
}

// Outcome says what Apply did with an event.
type Outcome string

// Outcomes of Apply.
const (
	Applied   Outcome = "applied"   // stored and applied to the ledger
	Duplicate Outcome = "duplicate" // seen before: nothing changed
	Ignored   Outcome = "ignored"   // stored, but of a type (or a charge) that is not a gift
	Rejected  Outcome = "rejected"  // stored, broke a rule of the ledger, changed nothing (see Rejection)
)

// Apply stores the event and applies it in one transaction: either both
// happen or neither does, so a failed delivery can always be retried. An
// event that breaks a rule of the ledger is rolled back and stored again, on
// its own, with its rejection: it reports Rejected and no error.
func (in *Ingester) Apply(ctx context.Context, ev *stripe.Event) (Outcome, error) {
	if ev.ID == "" || ev.Data == nil || len(ev.Data.Raw) == 0 {
		return "", domain.Errorf(domain.EINVALID, "event without id or data object")
	}
	if !validID(ev.ID) {
		return "", domain.Errorf(domain.EINVALID, "event id is not a Stripe id")
	}
	payload, err := redact(ev.Data.Raw)
	if err != nil {
		return "", domain.Errorf(domain.EINVALID, "event %s: data object is not JSON", ev.ID)
	}
	now := in.Clock.Now().Unix()
	live := 0
	if ev.Livemode {
		live = 1
	}
	typ := textclean.Line(string(ev.Type), 100)
	stored := store.StripeEvent{
		ID: ev.ID, Type: typ, APIVersion: textclean.Line(ev.APIVersion, 40), Created: ev.Created,
		Livemode: live, Payload: string(payload), ReceivedAt: now,
	}
	var outcome Outcome
	obj, err := parseObject(typ, ev.Data.Raw)
	if err == nil {
		err = in.inTx(ctx, ev.ID, func(tx *store.Tx) error {
			a := &applier{in: in, tx: tx, eventCreated: ev.Created, now: now}
			if err := a.prepare(ctx, obj, ev.Data.Raw); err != nil {
				return err
			}
			row, err := a.scrubbed(stored)
			if err != nil {
				return err
			}
			fresh, err := tx.InsertEvent(ctx, row)
			if err != nil {
				return err
			}
			if !fresh {
				outcome = Duplicate
				return nil
			}
			outcome, err = a.apply(ctx, obj)
			if err != nil {
				return err
			}
			return a.forgetLate(ctx, ev.ID)
		})
	}
	if rej, ok := rejection(err); ok {
		return in.rejected(ctx, rej, store.Rejection{ID: ev.ID, EventType: typ, ObjectID: objectID(ev.Data.Raw),
			Created: ev.Created, ReceivedAt: now}, &stored, ev.Data.Raw)
	}
	if err != nil {
		return "", fmt.Errorf("apply %s: %w", typ, err)
	}
	return outcome, nil
}

// ApplyObject applies one object read from Stripe's API (the backfill), as
// if the event named by typ had delivered it at observed (unix seconds). An
// object that breaks a rule is recorded as rejected, as a webhook would be.
func (in *Ingester) ApplyObject(ctx context.Context, typ string, raw []byte, observed int64) (Outcome, error) {
	var outcome Outcome
	now := in.Clock.Now().Unix()
	obj, err := parseObject(typ, raw)
	if err == nil {
		err = in.inTx(ctx, "sync:"+typ+":"+objectID(raw), func(tx *store.Tx) error {
			a := &applier{in: in, tx: tx, eventCreated: observed, now: now}
			if err := a.prepare(ctx, obj, raw); err != nil {
				return err
			}
			var err error
			if outcome, err = a.apply(ctx, obj); err != nil {
				return err
			}
			return a.forgetLate(ctx, "")
		})
	}
	if rej, ok := rejection(err); ok {
		obj := objectID(raw)
		return in.rejected(ctx, rej, store.Rejection{ID: "sync:" + typ + ":" + obj, EventType: typ, ObjectID: obj,
			Created: observed, ReceivedAt: now}, nil, raw)
	}
	if err != nil {
		return "", fmt.Errorf("apply %s: %w", typ, err)
	}
	return outcome, nil
}

// rejected records a rejection — with its event, when there is one — in a
// transaction of its own, the one that applied it having been rolled back.
// The event is stored without personal details when it concerns an erased
// supporter, as an applied one would be.
func (in *Ingester) rejected(ctx context.Context, rej *Rejection, r store.Rejection, ev *store.StripeEvent, raw []byte) (Outcome, error) {
	r.Rule, r.Reason = rej.Rule, rej.Reason
	outcome := Rejected
	err := in.inTx(ctx, r.ID, func(tx *store.Tx) error {
		if ev != nil {
			erased, err := concernsErased(ctx, tx, raw)
			if err != nil {
				return err
			}
			row, err := (&applier{erased: erased}).scrubbed(*ev)
			if err != nil {
				return err
			}
			fresh, err := tx.InsertEvent(ctx, row)
			if err != nil {
				return err
			}
			if !fresh { // a concurrent delivery of the same event got there first
				outcome = Duplicate
				return nil
			}
		}
		return tx.InsertRejection(ctx, r)
	})
	if err != nil {
		return "", fmt.Errorf("record rejection of %s: %w", r.ID, err)
	}
	if outcome == Rejected {
		in.Log.Warn("stripe event rejected: the ledger is unchanged", "stripe_event", r.ID, "type", r.EventType, "rule", r.Rule)
		if in.Metrics != nil {
			in.Metrics.StripeRejections.WithLabelValues(r.Rule).Inc()
		}
	}
	return outcome, nil
}

// objectID is the data object's id when it is a valid Stripe id, else "".
func objectID(raw []byte) string {
	var o struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &o) != nil || !validID(o.ID) {
		return ""
	}
	return o.ID
}

// Types lists the event types impactd acts on; every other type is stored and ignored.
var Types = []string{
	"charge.succeeded", "charge.updated", "charge.captured", "charge.refunded",
	"charge.refund.updated", "refund.created", "refund.updated",
	"payment_intent.succeeded",
	"checkout.session.completed", "checkout.session.async_payment_succeeded",
	"invoice.paid", "invoice.payment_succeeded",
	"charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
	"customer.created", "customer.updated", "customer.deleted",
	"customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
}

// apply applies a parsed object; prepare has taken the locks.
func (a *applier) apply(ctx context.Context, p parsed) (Outcome, error) {
	var err error
	var ok bool
	switch v := p.v.(type) {
	case *stripe.Charge:
		ok, err = a.charge(ctx, v)
	case *stripe.Refund:
		ok, err = a.refund(ctx, v)
	case *stripe.PaymentIntent:
		ok, err = a.paymentIntent(ctx, v)
	case *stripe.CheckoutSession:
		ok, err = a.checkoutSession(ctx, v)
	case *stripe.Invoice:
		ok, err = a.invoice(ctx, v)
	case *stripe.Dispute:
		ok, err = a.dispute(ctx, v)
	case *stripe.Customer:
		ok, err = a.customer(ctx, v, p.typ == "customer.deleted")
	case *stripe.Subscription:
		ok, err = a.subscription(ctx, v)
	default:
		return Ignored, nil
	}
	if err != nil {
		return "", err
	}
	if !ok {
		return Ignored, nil
	}
	return Applied, nil
}

// applier applies one event inside one transaction.
type applier struct {
	in           *Ingester
	tx           *store.Tx
	eventCreated int64
	now          int64
	held         map[string]bool // the supporter lock keys prepare took
	// erased: the event concerns an erased donor. erasedBefore: prepare
	// knew it before anything was stored; when only a donor read later
	// reveals it, forgetLate cleans up what was stored meanwhile.
	erased, erasedBefore bool
	hinted               []string // payment intents whose hints this event wrote
}

// scrubbed is the event as it is stored: without personal details when it
// concerns an erased supporter.
func (a *applier) scrubbed(ev store.StripeEvent) (store.StripeEvent, error) {
	if !a.erased {
		return ev, nil
	}
	out, _, err := store.ScrubPayload(ev.Payload, nil)
	if err != nil {
		return ev, err
	}
	ev.Payload = out
	return ev, nil
}

// forgetLate removes what was stored of an erased supporter's details when
// prepare did not see that the event concerns them (a safety net: prepare
// reads every id the apply functions look donors up by).
func (a *applier) forgetLate(ctx context.Context, eventID string) error {
	if !a.erased || a.erasedBefore {
		return nil
	}
	a.in.Log.Error("an event was found to concern an erased donor only while it was applied; its details are removed now", "stripe_event", eventID)
	if eventID != "" {
		if err := a.tx.ScrubEvent(ctx, eventID); err != nil {
			return err
		}
	}
	for _, pi := range a.hinted {
		if err := a.tx.ForgetPaymentHint(ctx, pi); err != nil {
			return err
		}
	}
	return nil
}

// formatAddress is a postal address as stored: cleaned lines of at most
// textclean.AddressLineMax characters, joined by "\n".
func formatAddress(a *stripe.Address) string {
	if a == nil {
		return ""
	}
	var lines []string
	for _, l := range []string{a.Line1, a.Line2, a.City + " " + a.PostalCode, a.State, a.Country} {
		if l = textclean.Line(l, textclean.AddressLineMax); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// cardKeys are removed from every stored payload: impactd never keeps card
// data, nor phone numbers, which it never uses.
var cardKeys = map[string]bool{
	"payment_method_details": true, "source": true, "card": true, "last4": true, "fingerprint": true,
	"exp_month": true, "exp_year": true, "iin": true, "dynamic_last4": true,
	"phone": true, "customer_phone": true,
}

// redact returns the JSON with card details and phone numbers removed at
// every depth. Numbers are kept exactly as sent (a float64 round trip would
// change 9223372036854775807), and <, > and & are not escaped, so that the
// stored text says what Stripe said and erasure can find it.
func redact(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	strip(v)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, errors.New("re-encode payload")
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
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
