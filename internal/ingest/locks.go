package ingest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"impactd/internal/domain"
	"impactd/internal/store"
)

// An event's transaction takes every lock it needs before it reads or
// writes a row, in one fixed order, so that no two events can deadlock on
// PostgreSQL (which would end one of them with a 500 and a retry by Stripe):
//
//  1. BlockErasure (shared): an erasure is either done or not yet begun.
//  2. The payments the object names ("charge:…", "pi:…"), sorted. Every
//     writer of a payment intent's hint holds its "pi:" key, so the hint
//     read next cannot change until the transaction ends.
//  3. The supporters ("customer:…", "email:…"), sorted: those the object
//     names and those its payment intent's hint names.
//
// Every transaction takes its locks in increasing order of (step, key), so
// none waits for a lock while holding a later one, and no row is locked
// before the last advisory lock: two events of one supporter take turns
// instead of each holding half of what the other needs. Before, a
// customer.updated locked its customer's row and then waited for the
// supporter lock that a new charge of the customer held while waiting for
// that row; a payment intent wrote its hint before its supporter lock, a
// subscription checkout after.

// parsed is a Stripe object read as the type its event names; v is nil for
// an event type impactd does not act on.
type parsed struct {
	typ string
	v   any
}

// parseObject reads raw as the object of an event of type typ.
func parseObject(typ string, raw []byte) (parsed, error) {
	var v any
	switch typ {
	case "charge.succeeded", "charge.updated", "charge.captured", "charge.refunded":
		v = new(stripe.Charge)
	case "charge.refund.updated", "refund.created", "refund.updated":
		v = new(stripe.Refund)
	case "payment_intent.succeeded":
		v = new(stripe.PaymentIntent)
	case "checkout.session.completed", "checkout.session.async_payment_succeeded":
		v = new(stripe.CheckoutSession)
	case "invoice.paid", "invoice.payment_succeeded":
		v = new(stripe.Invoice)
	case "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed":
		v = new(stripe.Dispute)
	case "customer.created", "customer.updated", "customer.deleted":
		v = new(stripe.Customer)
	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted":
		v = new(stripe.Subscription)
	default:
		return parsed{typ: typ}, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return parsed{}, reject(RuleParse, "%s: object does not parse: %v", typ, err)
	}
	return parsed{typ: typ, v: v}, nil
}

// subject is what one object names, for locking: the payments (step 2),
// the payment intents whose hints apply reads, and the supporters (step 3).
type subject struct {
	payments, paymentIntents, customers, emails []string
}

func (s *subject) payment(kind, id string) {
	if validID(id) {
		s.payments = append(s.payments, kind+":"+id)
	}
}

// gift adds what apply will look a gift's donor up by, and its payments.
func (s *subject) gift(g *gift) {
	s.payment("charge", g.chargeID)
	s.payment("pi", g.paymentIntentID)
	if validID(g.paymentIntentID) {
		s.paymentIntents = append(s.paymentIntents, g.paymentIntentID)
	}
	s.supporter(g.customerID, g.email)
}

func (s *subject) supporter(customerID, email string) {
	if validID(customerID) {
		s.customers = append(s.customers, customerID)
	}
	if email != "" && email != erasedMark {
		s.emails = append(s.emails, email)
	}
}

// subjectOf is what the object of an event names. The gifts come from the
// same functions the apply functions build theirs with, so the two agree.
func subjectOf(p parsed) subject {
	var s subject
	switch v := p.v.(type) {
	case *stripe.Charge:
		g := chargeGift(v)
		s.gift(&g)
	case *stripe.Refund:
		if v.Charge != nil {
			s.payment("charge", v.Charge.ID)
		}
	case *stripe.PaymentIntent:
		g := paymentIntentGift(v)
		s.gift(&g)
		if v.LatestCharge != nil {
			s.payment("charge", v.LatestCharge.ID)
		}
	case *stripe.CheckoutSession:
		g := checkoutGift(v)
		s.gift(&g)
	case *stripe.Invoice:
		g := invoiceGift(v)
		s.gift(&g)
		if v.Charge != nil {
			s.payment("charge", v.Charge.ID)
		}
	case *stripe.Dispute:
		if v.Charge != nil {
			s.payment("charge", v.Charge.ID)
		}
	case *stripe.Customer:
		g := customerGift(v)
		s.gift(&g)
	case *stripe.Subscription:
		if v.Customer != nil {
			s.supporter(v.Customer.ID, "")
		}
	}
	return s
}

// supporterKeys are the lock keys of a supporter's customer and email.
func supporterKeys(customerID, email string) []string {
	var keys []string
	if customerID != "" {
		keys = append(keys, "customer:"+customerID)
	}
	if email != "" {
		keys = append(keys, "email:"+email)
	}
	return keys
}

// prepare takes the transaction's locks (steps 1–3 above) and finds out,
// before anything of the event is stored, whether it concerns an erased
// supporter. raw is the object as Stripe sent it: every id in it counts.
func (a *applier) prepare(ctx context.Context, p parsed, raw []byte) error {
	tx := a.tx
	s := subjectOf(p)
	if err := tx.BlockErasure(ctx, s.payments...); err != nil {
		return err
	}
	refs := refsIn(raw)
	for _, pi := range slices.Compact(slices.Sorted(slices.Values(s.paymentIntents))) {
		h, err := tx.PaymentHint(ctx, pi)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			continue
		}
		if err != nil {
			return err
		}
		s.supporter(h.CustomerID, h.Email)
		refs = append(refs, h.CustomerID)
	}
	var keys []string
	for _, c := range s.customers {
		keys = append(keys, supporterKeys(c, "")...)
	}
	for _, e := range s.emails {
		keys = append(keys, supporterKeys("", e)...)
	}
	if err := tx.LockKeys(ctx, keys...); err != nil {
		return err
	}
	a.held = map[string]bool{}
	for _, k := range keys {
		a.held[k] = true
	}
	erased, err := tx.ConcernsErased(ctx, refs)
	if err != nil {
		return err
	}
	a.erased, a.erasedBefore = erased, erased
	return nil
}

// lockSupporter makes sure the supporter's keys are held. prepare took them
// all, unless subjectOf has fallen behind an apply function: then they are
// taken now, out of order, and a deadlock becomes possible again, so it is
// logged as the bug it is (by kind of key: never an email address).
func (a *applier) lockSupporter(ctx context.Context, g *gift) error {
	var late []string
	for _, k := range supporterKeys(g.customerID, g.email) {
		if !a.held[k] {
			late = append(late, k)
		}
	}
	if len(late) == 0 {
		return nil
	}
	kind, _, _ := strings.Cut(late[0], ":")
	a.in.Log.Error("supporter lock taken after other locks; subjectOf misses a key of this event type", "key", kind)
	if err := a.tx.LockKeys(ctx, late...); err != nil {
		return err
	}
	for _, k := range late {
		a.held[k] = true
	}
	return nil
}

// txAttempts bounds how often one event's transaction runs.
const txAttempts = 3

// inTx runs fn in a transaction, again from the start if PostgreSQL ends it
// as a deadlock or a serialisation failure, at most txAttempts times. The
// lock order above leaves no deadlock between events; this is for one the
// order does not foresee (a console merge meeting an event, say), which
// would otherwise be a 500 for a signed event. Each retry is logged and
// counted, so that a gap in the order shows.
func (in *Ingester) inTx(ctx context.Context, eventID string, fn func(tx *store.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := in.Store.InTx(ctx, fn)
		if !store.IsRetryable(err) || attempt == txAttempts {
			return err
		}
		in.Log.Warn("stripe event transaction ended by the database; running it again", "stripe_event", eventID, "attempt", attempt, "err", err)
		if in.Metrics != nil {
			in.Metrics.StripeRetries.Inc()
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 10 * time.Millisecond):
		}
	}
}
