package ingest

import (
	"bytes"
	"context"
	"encoding/json"

	"impactd/internal/store"
)

// After an erasure Stripe still knows the supporter, and their later events
// keep coming: a monthly gift, a customer.updated, a dispute, a checkout
// session for a new payment. Each is applied for the accounts, but nothing
// personal of it is stored: prepare finds out before the event or a hint is
// written, in the same transaction and under BlockErasure, whether any id
// in the object is the erased supporter's; then the stored event loses its
// contact keys, hints keep only ids (their email Erased), and no donor is
// created, completed or linked by email with their details.

// erasedMark is what a payment hint holds for an email once its supporter is erased.
const erasedMark = store.Erased

// idKeys are the keys under which a Stripe object names another object
// (or, "id", itself); refsIn collects their values at every depth.
var idKeys = map[string]bool{
	"id": true, "customer": true, "charge": true, "latest_charge": true, "payment_intent": true,
	"invoice": true, "subscription": true,
}

// maxRefs bounds the ids read from one object; Stripe's name a handful.
const maxRefs = 1000

// refsIn returns the Stripe ids an object names, at every depth: its own,
// its customer's, its charges', payment intents', invoices' and
// subscriptions', whether as strings or as expanded objects. It reads the
// JSON itself rather than the parsed object, so it also serves an event
// that broke a rule or did not parse.
func refsIn(raw []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	seen := map[string]bool{}
	var refs []string
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, child := range t {
				if s, ok := child.(string); ok && idKeys[k] && validID(s) && !seen[s] && len(refs) < maxRefs {
					seen[s] = true
					refs = append(refs, s)
				}
				walk(child)
			}
		case []any:
			for _, child := range t {
				walk(child)
			}
		}
	}
	walk(v)
	return refs
}

// forget removes a gift's contact details when the event concerns an
// erased supporter; its ids stay.
func (a *applier) forget(g *gift) {
	if a.erased {
		g.email, g.name, g.address, g.benefitDescription = "", "", "", ""
	}
}

// concernsErased reports whether an event's object names an erased
// supporter, for an event stored on its own (a rejected one): under
// BlockErasure, like prepare.
func concernsErased(ctx context.Context, tx *store.Tx, raw []byte) (bool, error) {
	if err := tx.BlockErasure(ctx); err != nil {
		return false, err
	}
	return tx.ConcernsErased(ctx, refsIn(raw))
}
