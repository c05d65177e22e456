package ingest

import (
	"context"
	"fmt"
	"strings"

	"github.com/stripe/stripe-go/v76"

	"impactd/internal/domain"
	"impactd/internal/store"
	"impactd/internal/textclean"
)

// gift is what one object says about a gift. Whichever object reveals the
// charge id first creates the donation; the others fill in what it lacked.
type gift struct {
	chargeID, paymentIntentID, invoiceID, subscriptionID string
	amount                                               int64
	currency                                             string
	created                                              int64
	customerID, email, name, address                     string
	designation                                          string
	metadata                                             map[string]string
	prices                                               []string
	settledAmount                                        int64
	settledCurrency                                      string
	// refunds seen on the object; refundsKnown is false when the object
	// does not list them (then only amountRefunded is known).
	refunds        []*stripe.Refund
	refundsKnown   bool
	amountRefunded int64
	// benefitDescription and benefitValue are what the donor received in
	// exchange, read from metadata by gift (see benefit.go).
	benefitDescription string
	benefitValue       int64
}

// checkIDs refuses a gift whose ids are not Stripe ids.
func (g *gift) checkIDs() error {
	return checkIDs("charge", g.chargeID, "payment intent", g.paymentIntentID, "invoice", g.invoiceID,
		"subscription", g.subscriptionID, "customer", g.customerID)
}

// chargeGift is what a charge says about its gift.
func chargeGift(ch *stripe.Charge) gift {
	g := gift{
		chargeID: ch.ID, amount: ch.Amount, currency: string(ch.Currency), created: ch.Created,
		metadata: ch.Metadata, email: NormaliseEmail(ch.ReceiptEmail), amountRefunded: ch.AmountRefunded,
	}
	if ch.PaymentIntent != nil {
		g.paymentIntentID = ch.PaymentIntent.ID
	}
	if ch.Invoice != nil {
		g.invoiceID = ch.Invoice.ID
	}
	if ch.Customer != nil {
		g.customerID = ch.Customer.ID
	}
	if b := ch.BillingDetails; b != nil {
		g.name, g.address = cleanName(b.Name), formatAddress(b.Address)
		if e := NormaliseEmail(b.Email); e != "" {
			g.email = e
		}
	}
	return g
}

func (a *applier) charge(ctx context.Context, ch *stripe.Charge) (bool, error) {
	if ch.ID == "" {
		return false, reject(RuleID, "charge without id")
	}
	if ch.Status != stripe.ChargeStatusSucceeded {
		return false, nil // pending and failed charges are not gifts
	}
	for _, v := range []int64{ch.Amount, ch.AmountCaptured, ch.AmountRefunded} {
		if err := checkAmount("charge", ch.ID, v); err != nil {
			return false, err
		}
	}
	g := chargeGift(ch)
	if bt := ch.BalanceTransaction; bt != nil && bt.Currency != "" {
		if err := checkAmount("balance transaction of charge", ch.ID, bt.Amount); err != nil {
			return false, err
		}
		c, err := checkCurrency("balance transaction of charge", ch.ID, string(bt.Currency))
		if err != nil {
			return false, err
		}
		g.settledAmount, g.settledCurrency = bt.Amount, c
	}
	if ch.Refunds != nil && ch.Refunds.Data != nil {
		g.refunds, g.refundsKnown = ch.Refunds.Data, true
	}
	return a.gift(ctx, &g)
}

// paymentIntentGift is what a payment intent says about its gift, but for
// its charge (which it may not have yet).
func paymentIntentGift(pi *stripe.PaymentIntent) gift {
	g := gift{paymentIntentID: pi.ID, amount: pi.AmountReceived, currency: string(pi.Currency), created: pi.Created,
		metadata: pi.Metadata, email: NormaliseEmail(pi.ReceiptEmail)}
	if pi.Customer != nil {
		g.customerID = pi.Customer.ID
	}
	if pi.Invoice != nil {
		g.invoiceID = pi.Invoice.ID
	}
	return g
}

func (a *applier) paymentIntent(ctx context.Context, pi *stripe.PaymentIntent) (bool, error) {
	if pi.ID == "" || pi.Status != stripe.PaymentIntentStatusSucceeded {
		return false, nil
	}
	if err := checkAmount("payment intent", pi.ID, pi.AmountReceived); err != nil {
		return false, err
	}
	g := paymentIntentGift(pi)
	if err := g.checkIDs(); err != nil {
		return false, err
	}
	if err := a.hint(ctx, &g); err != nil {
		return false, err
	}
	if pi.LatestCharge == nil || pi.LatestCharge.ID == "" {
		return true, nil // the charge event will make the donation
	}
	g.chargeID = pi.LatestCharge.ID
	if pi.LatestCharge.Created != 0 {
		g.created = pi.LatestCharge.Created
	}
	return a.gift(ctx, &g)
}

// checkoutGift is what a checkout session says about the gift it paid.
func checkoutGift(cs *stripe.CheckoutSession) gift {
	g := gift{metadata: cs.Metadata, email: NormaliseEmail(cs.CustomerEmail)}
	if cs.Customer != nil {
		g.customerID = cs.Customer.ID
	}
	if d := cs.CustomerDetails; d != nil {
		g.name, g.address = cleanName(d.Name), formatAddress(d.Address)
		if e := NormaliseEmail(d.Email); e != "" {
			g.email = e
		}
	}
	if cs.Subscription != nil {
		g.subscriptionID = cs.Subscription.ID
	}
	if cs.PaymentIntent != nil {
		g.paymentIntentID = cs.PaymentIntent.ID
	}
	return g
}

func (a *applier) checkoutSession(ctx context.Context, cs *stripe.CheckoutSession) (bool, error) {
	if cs.PaymentStatus != stripe.CheckoutSessionPaymentStatusPaid {
		return false, nil
	}
	g := checkoutGift(cs)
	if err := g.checkIDs(); err != nil {
		return false, err
	}
	if g.subscriptionID != "" {
		donor, err := a.donorFor(ctx, &g)
		if err != nil {
			return false, err
		}
		if err := a.tx.SaveSubscription(ctx, &store.Subscription{ID: g.subscriptionID, DonorID: donor.ID, CustomerID: g.customerID,
			Status: "active", Started: cs.Created, UpdatedAt: a.now}); err != nil {
			return false, err
		}
	}
	if g.paymentIntentID == "" {
		return g.subscriptionID != "", nil
	}
	if err := a.hint(ctx, &g); err != nil {
		return false, err
	}
	// The charge may have arrived first: give its donation what the session knew.
	don, err := a.tx.DonationByPaymentIntentForUpdate(ctx, g.paymentIntentID)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return true, a.fillDonation(ctx, don, &g)
}

// invoiceGift is what an invoice says about its gift, but for its charge.
func invoiceGift(inv *stripe.Invoice) gift {
	g := gift{invoiceID: inv.ID, amount: inv.AmountPaid, currency: string(inv.Currency), created: inv.Created,
		metadata: inv.Metadata, email: NormaliseEmail(inv.CustomerEmail), name: cleanName(inv.CustomerName),
		address: formatAddress(inv.CustomerAddress)}
	if inv.StatusTransitions != nil && inv.StatusTransitions.PaidAt != 0 {
		g.created = inv.StatusTransitions.PaidAt
	}
	if inv.Customer != nil {
		g.customerID = inv.Customer.ID
	}
	if inv.Subscription != nil {
		g.subscriptionID = inv.Subscription.ID
	}
	if inv.PaymentIntent != nil {
		g.paymentIntentID = inv.PaymentIntent.ID
	}
	if inv.Lines != nil {
		for _, l := range inv.Lines.Data {
			if l != nil && l.Price != nil {
				g.prices = append(g.prices, l.Price.ID)
			}
			if g.subscriptionID == "" && l != nil && l.Subscription != nil {
				g.subscriptionID = l.Subscription.ID
			}
		}
	}
	return g
}

func (a *applier) invoice(ctx context.Context, inv *stripe.Invoice) (bool, error) {
	if err := checkAmount("invoice", inv.ID, inv.AmountPaid); err != nil {
		return false, err
	}
	if inv.Status != stripe.InvoiceStatusPaid || inv.AmountPaid <= 0 {
		return false, nil
	}
	g := invoiceGift(inv)
	if err := g.checkIDs(); err != nil {
		return false, err
	}
	if g.paymentIntentID != "" {
		if err := a.hint(ctx, &g); err != nil {
			return false, err
		}
	}
	if g.subscriptionID != "" {
		donor, err := a.donorFor(ctx, &g)
		if err != nil {
			return false, err
		}
		if err := a.tx.SaveSubscription(ctx, &store.Subscription{ID: g.subscriptionID, DonorID: donor.ID, CustomerID: g.customerID,
			Started: g.created, UpdatedAt: a.now}); err != nil {
			return false, err
		}
	}
	if inv.Charge == nil || inv.Charge.ID == "" {
		return true, nil
	}
	g.chargeID = inv.Charge.ID
	return a.gift(ctx, &g)
}

// hint records what g says about the payment intent's gift, for a charge
// that arrives later (or has arrived). The hint of an erased supporter's
// payment keeps its ids and Erased for an email.
func (a *applier) hint(ctx context.Context, g *gift) error {
	a.forget(g)
	isDonation := 0
	if a.in.Rule.Matches(g.metadata, g.prices) {
		isDonation = 1
	}
	h := &store.PaymentHint{
		PaymentIntentID: g.paymentIntentID, CustomerID: g.customerID, Email: g.email, Name: g.name, Address: g.address,
		SubscriptionID: g.subscriptionID, Designation: designation(g.metadata), IsDonation: isDonation, UpdatedAt: a.now,
	}
	if a.erased {
		h.Email = erasedMark
	}
	a.hinted = append(a.hinted, g.paymentIntentID)
	return a.tx.SavePaymentHint(ctx, h)
}

// gift creates or completes the donation of a charge.
func (a *applier) gift(ctx context.Context, g *gift) (bool, error) {
	if err := g.checkIDs(); err != nil {
		return false, err
	}
	if g.amount <= 0 {
		return false, reject(RuleAmount, "gift %s without an amount", g.chargeID)
	}
	if err := checkAmount("gift", g.chargeID, g.amount); err != nil {
		return false, err
	}
	currency, err := checkCurrency("gift", g.chargeID, g.currency)
	if err != nil {
		return false, err
	}
	g.currency = currency
	if err := checkAmount("refunds of charge", g.chargeID, g.amountRefunded); err != nil {
		return false, err
	}
	if g.amountRefunded > g.amount {
		return false, reject(RuleExceeds, "charge %s: amount_refunded %d exceeds the amount %d", g.chargeID, g.amountRefunded, g.amount)
	}
	if g.benefitDescription, g.benefitValue, err = benefit(g.chargeID, g.amount, g.metadata); err != nil {
		return false, err
	}
	isDonation := a.in.Rule.Matches(g.metadata, g.prices)
	if g.paymentIntentID != "" {
		h, err := a.tx.PaymentHint(ctx, g.paymentIntentID)
		if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
			return false, err
		}
		if h != nil {
			if h.Email == erasedMark {
				a.erased = true // prepare knew: ConcernsErased reads the mark
			} else {
				g.email = fill(g.email, h.Email)
				g.name = fill(g.name, h.Name)
				g.address = fill(g.address, h.Address)
			}
			g.customerID = fill(g.customerID, h.CustomerID)
			g.subscriptionID = fill(g.subscriptionID, h.SubscriptionID)
			g.designation = fill(g.designation, h.Designation)
			isDonation = isDonation || h.IsDonation == 1
		}
	}
	a.forget(g)
	don, err := a.tx.DonationByChargeForUpdate(ctx, g.chargeID)
	if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
		return false, err
	}
	if don == nil {
		if !isDonation {
			return false, nil // not a gift under the configured rule: merchandise, tickets …
		}
		donor, err := a.donorFor(ctx, g)
		if err != nil {
			return false, err
		}
		recurring := 0
		if g.invoiceID != "" || g.subscriptionID != "" {
			recurring = 1
		}
		if _, err := a.tx.InsertDonation(ctx, &domain.Donation{
			DonorID: donor.ID, ChargeID: g.chargeID, Amount: g.amount, Currency: g.currency,
			Status: domain.DonationSucceeded, Recurring: recurring, Designation: fill(designation(g.metadata), g.designation),
			Created: g.created, UpdatedAt: a.now, PaymentIntentID: g.paymentIntentID, InvoiceID: g.invoiceID,
			SubscriptionID: g.subscriptionID, SettledAmount: g.settledAmount, SettledCurrency: g.settledCurrency,
			BenefitDescription: g.benefitDescription, BenefitValue: g.benefitValue,
		}); err != nil {
			return false, err
		}
		if don, err = a.tx.DonationByChargeForUpdate(ctx, g.chargeID); err != nil {
			return false, err
		}
		if err := a.applyDisputes(ctx, don); err != nil {
			return false, err
		}
	} else {
		if don.Currency != g.currency {
			return false, reject(RuleCurrency, "charge %s: currency %s now, %s when first seen", g.chargeID, g.currency, don.Currency)
		}
		if err := a.fillDonation(ctx, don, g); err != nil {
			return false, err
		}
	}
	return true, a.applyRefunds(ctx, don, g)
}

// fillDonation completes a donation, and its donor's contact details, with
// what a later object knows.
func (a *applier) fillDonation(ctx context.Context, don *domain.Donation, g *gift) error {
	donor, err := a.live(ctx, don.DonorID)
	if err != nil {
		return err
	}
	if err := a.fillContact(ctx, donor, g); err != nil {
		return err
	}
	before := *don
	don.PaymentIntentID = fill(don.PaymentIntentID, g.paymentIntentID)
	don.InvoiceID = fill(don.InvoiceID, g.invoiceID)
	don.SubscriptionID = fill(don.SubscriptionID, g.subscriptionID)
	don.Designation = fill(don.Designation, fill(designation(g.metadata), g.designation))
	if don.InvoiceID != "" || don.SubscriptionID != "" {
		don.Recurring = 1
	}
	// A benefit named by a later object (the payment intent after the
	// charge) fills in one the donation lacks; one it has is kept.
	if don.BenefitDescription == "" && g.benefitDescription != "" {
		if g.benefitValue > don.Amount {
			return reject(RuleAmount, "charge %s: %s %d exceeds the gift's amount %d", don.ChargeID, BenefitValueKey, g.benefitValue, don.Amount)
		}
		don.BenefitDescription, don.BenefitValue = g.benefitDescription, g.benefitValue
	}
	if don.SettledCurrency == "" && g.settledCurrency != "" {
		don.SettledAmount, don.SettledCurrency = g.settledAmount, g.settledCurrency
	}
	if *don == before {
		return nil
	}
	don.UpdatedAt = a.now
	return a.tx.UpdateDonation(ctx, don)
}

// applyRefunds brings a donation's refunds up to what g shows. Real refund
// objects are recorded by id; an increase of amount_refunded that no refund
// object explains is recorded as one synthetic line, dated by the event, and
// replaced when the real refunds arrive. The refunded amount never shrinks.
func (a *applier) applyRefunds(ctx context.Context, don *domain.Donation, g *gift) error {
	for _, r := range g.refunds {
		if r == nil {
			continue
		}
		if err := checkIDs("refund", r.ID); err != nil {
			return err
		}
		if err := checkAmount("refund", r.ID, r.Amount); err != nil {
			return err
		}
		if r.Currency != "" && !strings.EqualFold(string(r.Currency), don.Currency) {
			return reject(RuleCurrency, "refund %s of charge %s: currency %q, the charge's is %s", r.ID, don.ChargeID,
				textclean.Cut(textclean.Line(string(r.Currency), 0), 12), don.Currency)
		}
		if r.ID == "" || r.Amount <= 0 || (r.Status != "" && r.Status != stripe.RefundStatusSucceeded) {
			continue
		}
		created := r.Created
		if created == 0 {
			created = a.eventCreated
		}
		if err := a.tx.InsertRefund(ctx, domain.Refund{ID: r.ID, DonationID: don.ID, Amount: r.Amount, Currency: don.Currency, Created: created}); err != nil {
			return err
		}
	}
	lines, err := a.tx.RefundLines(ctx, don.ID)
	if err != nil {
		return err
	}
	var real, synthetic int64
	var synth []domain.Refund
	for _, l := range lines {
		if l.Synthetic == 1 {
			synthetic, err = sum(don.ChargeID, synthetic, l.Amount)
			synth = append(synth, l)
		} else {
			real, err = sum(don.ChargeID, real, l.Amount)
		}
		if err != nil {
			return err
		}
	}
	target := max(don.AmountRefunded, g.amountRefunded, real)
	returned, err := sum(don.ChargeID, target, don.AmountDisputed)
	if err != nil {
		return err
	}
	if returned > don.Amount {
		return reject(RuleExceeds, "charge %s: refunds %d and lost disputes %d exceed the amount %d", don.ChargeID, target, don.AmountDisputed, don.Amount)
	}
	// Drop synthetic lines, newest first, that real refunds now explain.
	for i := len(synth) - 1; i >= 0 && real+synthetic > target; i-- { // no overflow: both ≤ target ≤ the amount
		if err := a.tx.DeleteRefund(ctx, synth[i].ID); err != nil {
			return err
		}
		synthetic -= synth[i].Amount
	}
	if gap := target - real - synthetic; gap > 0 {
		if err := a.tx.InsertRefund(ctx, domain.Refund{
			ID: fmt.Sprintf("%s:refunded:%d", don.ChargeID, target), DonationID: don.ID,
			Amount: gap, Currency: don.Currency, Created: a.eventCreated, Synthetic: 1,
		}); err != nil {
			return err
		}
	}
	if target == don.AmountRefunded {
		return nil
	}
	don.AmountRefunded = target
	don.Settle()
	don.UpdatedAt = a.now
	return a.tx.UpdateDonation(ctx, don)
}

func (a *applier) refund(ctx context.Context, r *stripe.Refund) (bool, error) {
	if r.Charge == nil || r.Charge.ID == "" {
		return false, nil
	}
	if err := checkIDs("refund", r.ID, "charge", r.Charge.ID); err != nil {
		return false, err
	}
	if err := checkAmount("refund", r.ID, r.Amount); err != nil {
		return false, err
	}
	don, err := a.tx.DonationByChargeForUpdate(ctx, r.Charge.ID)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return false, nil // the charge event will list it, or the sync will
	}
	if err != nil {
		return false, err
	}
	g := &gift{chargeID: don.ChargeID, refunds: []*stripe.Refund{r}, refundsKnown: true}
	return true, a.applyRefunds(ctx, don, g)
}

func (a *applier) dispute(ctx context.Context, d *stripe.Dispute) (bool, error) {
	if d.ID == "" || d.Charge == nil || d.Charge.ID == "" {
		return false, reject(RuleID, "dispute without id or charge")
	}
	if err := checkIDs("dispute", d.ID, "charge", d.Charge.ID); err != nil {
		return false, err
	}
	if err := checkAmount("dispute", d.ID, d.Amount); err != nil {
		return false, err
	}
	currency, err := checkCurrency("dispute", d.ID, string(d.Currency))
	if err != nil {
		return false, err
	}
	changed, err := a.tx.SaveDispute(ctx, &store.Dispute{ID: d.ID, ChargeID: d.Charge.ID, Amount: d.Amount,
		Currency: currency, Status: cleanStatus(string(d.Status)), Created: d.Created, EventCreated: a.eventCreated})
	if err != nil || !changed {
		return changed, err
	}
	don, err := a.tx.DonationByChargeForUpdate(ctx, d.Charge.ID)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return true, nil // applied when the gift arrives
	}
	if err != nil {
		return false, err
	}
	return true, a.applyDisputes(ctx, don)
}

// applyDisputes sets the amount a donation lost to disputes, with a dated
// line for each lost dispute.
func (a *applier) applyDisputes(ctx context.Context, don *domain.Donation) error {
	lost, err := a.tx.LostDisputes(ctx, don.ChargeID)
	if err != nil {
		return err
	}
	var total int64
	for _, d := range lost {
		if d.Currency != don.Currency {
			return reject(RuleCurrency, "dispute %s of charge %s: currency %s, the charge's is %s", d.ID, don.ChargeID, d.Currency, don.Currency)
		}
		if total, err = sum(don.ChargeID, total, d.Amount); err != nil {
			return err
		}
		if err := a.tx.InsertRefund(ctx, domain.Refund{ID: d.ID, DonationID: don.ID, Amount: d.Amount, Currency: don.Currency,
			Created: d.EventCreated, Kind: domain.RefundKindDispute}); err != nil {
			return err
		}
	}
	if total == don.AmountDisputed {
		return nil
	}
	returned, err := sum(don.ChargeID, total, don.AmountRefunded)
	if err != nil {
		return err
	}
	if returned > don.Amount {
		return reject(RuleExceeds, "charge %s: lost disputes %d and refunds %d exceed the amount %d", don.ChargeID, total, don.AmountRefunded, don.Amount)
	}
	don.AmountDisputed = total
	don.Settle()
	don.UpdatedAt = a.now
	return a.tx.UpdateDonation(ctx, don)
}

// designationKeys are the metadata keys read, in order, as a gift's fund or programme.
var designationKeys = []string{"designation", "fund", "programme", "program"}

func designation(md map[string]string) string {
	for _, k := range designationKeys {
		if v := textclean.Line(md[k], textclean.DesignationMax); v != "" {
			return v
		}
	}
	return ""
}

func fill(have, got string) string {
	if have != "" {
		return have
	}
	return got
}
