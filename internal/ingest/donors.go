package ingest

import (
	"context"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"impactd/internal/domain"
	"impactd/internal/store"
)

// donorFor finds the donor of a gift — by Stripe customer, then by email —
// or creates one. A guest checkout is a donor known only by email; a customer
// whose email matches a guest donor becomes that donor.
//
// Every key of the supporter is locked (by prepare, before any row), for
// the rest of the transaction: the lookups below and the insert that follows
// them are then one step for anyone else with the same email or customer.
//
// For an event about an erased supporter g has no contact details left: the
// donor is found by customer only, and one that must be made for the gift is
// made erased, so that it holds the amounts and never gets a letter.
func (a *applier) donorFor(ctx context.Context, g *gift) (*domain.Donor, error) {
	tx := a.tx
	a.forget(g)
	if err := a.lockSupporter(ctx, g); err != nil {
		return nil, err
	}
	var donor *domain.Donor
	linked := false
	if g.customerID != "" {
		link, err := tx.CustomerLink(ctx, g.customerID)
		if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
			return nil, err
		}
		if link != nil {
			if donor, err = a.live(ctx, link.DonorID); err != nil {
				return nil, err
			}
			linked = true
		}
	}
	if donor == nil && g.email != "" {
		d, err := tx.DonorByEmail(ctx, g.email)
		if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
			return nil, err
		}
		if d != nil {
			if donor, err = a.live(ctx, d.ID); err != nil {
				return nil, err
			}
		}
	}
	created := false
	if donor == nil {
		donor = &domain.Donor{Name: g.name, Email: g.email, Address: g.address, CreatedAt: a.now, UpdatedAt: a.now}
		if a.erased {
			donor.Status = domain.DonorErased
		}
		if err := tx.CreateDonor(ctx, donor); err != nil {
			return nil, err
		}
		created = true
	} else if err := a.fillContact(ctx, donor, g); err != nil {
		return nil, err
	}
	if g.customerID != "" && !linked {
		if err := tx.LinkCustomer(ctx, g.customerID, donor.ID, a.now); err != nil {
			return nil, err
		}
		// Two first events of one new customer may race on PostgreSQL: the
		// link that won decides the donor.
		link, err := tx.CustomerLink(ctx, g.customerID)
		if err != nil {
			return nil, err
		}
		if link.DonorID != donor.ID {
			if created {
				if err := tx.DeleteDonor(ctx, donor.ID); err != nil {
					return nil, err
				}
				created = false
			}
			if donor, err = a.live(ctx, link.DonorID); err != nil {
				return nil, err
			}
		}
	}
	if g.email != "" && donor.Status != domain.DonorErased {
		if err := tx.LinkEmail(ctx, g.email, donor.ID, a.now); err != nil {
			return nil, err
		}
		// Likewise two first gifts of one new guest: the email link decides.
		if created && g.customerID == "" {
			owner, err := tx.DonorByEmail(ctx, g.email)
			if err != nil {
				return nil, err
			}
			if owner.ID != donor.ID {
				if err := tx.DeleteDonor(ctx, donor.ID); err != nil {
					return nil, err
				}
				return a.live(ctx, owner.ID)
			}
		}
	}
	return donor, nil
}

// fillContact completes a donor's missing contact details from g.
func (a *applier) fillContact(ctx context.Context, donor *domain.Donor, g *gift) error {
	if a.erased || donor.Status == domain.DonorErased ||
		!((donor.Name == "" && g.name != "") || (donor.Email == "" && g.email != "") || (donor.Address == "" && g.address != "")) {
		return nil
	}
	donor.Name, donor.Email, donor.Address = fill(donor.Name, g.name), fill(donor.Email, g.email), fill(donor.Address, g.address)
	donor.UpdatedAt = a.now
	return a.tx.UpdateDonorContact(ctx, donor)
}

// live follows merges to the donor that holds the gifts now.
func (a *applier) live(ctx context.Context, id string) (*domain.Donor, error) {
	for range 10 {
		d, err := a.tx.Donor(ctx, id)
		if err != nil {
			return nil, err
		}
		if d.MergedInto == "" {
			a.erased = a.erased || d.Status == domain.DonorErased
			return d, nil
		}
		id = d.MergedInto
	}
	return nil, domain.Errorf(domain.EINTERNAL, "donor merge chain too long at %s", id)
}

// Gift Aid declarations are read from customer metadata.
const (
	GiftAidKey     = "gift_aid"          // "yes"/"true"/"1" declared; "no"/"false"/"0" withdrawn
	GiftAidDateKey = "gift_aid_declared" // YYYY-MM-DD; default: the date of the event
)

// customerGift is what a customer object says about the supporter.
func customerGift(c *stripe.Customer) gift {
	return gift{customerID: c.ID, email: NormaliseEmail(c.Email), name: cleanName(c.Name), address: formatAddress(c.Address)}
}

func (a *applier) customer(ctx context.Context, c *stripe.Customer, deleted bool) (bool, error) {
	if c.ID == "" {
		return false, reject(RuleID, "customer without id")
	}
	if err := checkIDs("customer", c.ID); err != nil {
		return false, err
	}
	tx := a.tx
	link, err := tx.CustomerLink(ctx, c.ID)
	if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
		return false, err
	}
	if link != nil && a.eventCreated < link.EventCreated {
		return false, nil // older than what is applied: never roll back
	}
	if deleted {
		if link == nil {
			return false, nil
		}
		// The donor and their gifts stay: the accounts need them, and
		// deleting a Stripe customer is not a request to forget a supporter.
		return true, tx.TouchCustomerLink(ctx, c.ID, a.eventCreated, 1)
	}
	g := customerGift(c)
	donor, err := a.donorFor(ctx, &g)
	if err != nil {
		return false, err
	}
	if !a.erased && donor.Status != domain.DonorErased {
		// The customer record is the donor's own word on their details.
		changed := false
		if g.name != "" && g.name != donor.Name {
			donor.Name, changed = g.name, true
		}
		if g.email != "" && g.email != donor.Email {
			donor.Email, changed = g.email, true
		}
		if g.address != "" && g.address != donor.Address {
			donor.Address, changed = g.address, true
		}
		if changed {
			donor.UpdatedAt = a.now
			if err := tx.UpdateDonorContact(ctx, donor); err != nil {
				return false, err
			}
		}
		if err := a.mergeGuest(ctx, donor, g.email); err != nil {
			return false, err
		}
		if err := a.giftAid(ctx, donor, c.Metadata); err != nil {
			return false, err
		}
		if err := a.marketingConsent(ctx, donor, c.Metadata); err != nil {
			return false, err
		}
	}
	return true, tx.TouchCustomerLink(ctx, c.ID, a.eventCreated, 0)
}

// mergeGuest folds a guest donor (no Stripe customer) with the same email
// into donor, so one supporter gets one letter.
func (a *applier) mergeGuest(ctx context.Context, donor *domain.Donor, email string) error {
	if email == "" {
		return nil
	}
	other, err := a.tx.DonorByEmail(ctx, email)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	if other.ID == donor.ID || other.MergedInto != "" {
		return nil
	}
	customers, err := a.tx.CountCustomers(ctx, other.ID)
	if err != nil || customers > 0 {
		return err
	}
	return a.tx.MergeDonors(ctx, donor.ID, other.ID, a.now)
}

func (a *applier) giftAid(ctx context.Context, donor *domain.Donor, md map[string]string) error {
	v, ok := md[GiftAidKey]
	if !ok {
		return nil
	}
	from := ""
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "true", "1", "y":
		from = time.Unix(a.eventCreated, 0).UTC().Format(time.DateOnly)
		if d := strings.TrimSpace(md[GiftAidDateKey]); d != "" {
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				a.in.Log.Warn("gift aid declaration date is not YYYY-MM-DD; using the event date", "donor_id", donor.ID)
			} else {
				from = d
			}
		}
	case "no", "false", "0", "n", "":
	default:
		a.in.Log.Warn("gift_aid metadata not understood; declaration left unchanged", "donor_id", donor.ID)
		return nil
	}
	if from == donor.GiftAidFrom {
		return nil
	}
	return a.tx.SetGiftAid(ctx, donor.ID, from, a.now)
}

// marketingConsent records what the customer's metadata says about
// marketing under the configured key: yes/true/1 is consent, no/false/0 is
// none. A missing key changes nothing; a value that is neither is logged
// (by donor id) and changes nothing either, so that a typo in Stripe never
// turns consent on.
func (a *applier) marketingConsent(ctx context.Context, donor *domain.Donor, md map[string]string) error {
	if a.in.ConsentKey == "" {
		return nil
	}
	v, ok := md[a.in.ConsentKey]
	if !ok {
		return nil
	}
	consent, known := ParseConsent(v)
	if !known {
		a.in.Log.Warn("marketing consent metadata not understood; consent left unchanged", "donor_id", donor.ID)
		return nil
	}
	if consent == donor.MarketingConsent {
		return nil
	}
	return a.tx.SetMarketingConsent(ctx, donor.ID, consent, a.now)
}

// ParseConsent reads a marketing consent value from Stripe metadata:
// domain.ConsentYes for yes/true/1, domain.ConsentNo for no/false/0; known
// is false for anything else.
func ParseConsent(v string) (consent string, known bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "true", "1":
		return domain.ConsentYes, true
	case "no", "false", "0":
		return domain.ConsentNo, true
	}
	return "", false
}

func (a *applier) subscription(ctx context.Context, s *stripe.Subscription) (bool, error) {
	if s.ID == "" || s.Customer == nil || s.Customer.ID == "" {
		return false, reject(RuleID, "subscription without id or customer")
	}
	if err := checkIDs("subscription", s.ID, "customer", s.Customer.ID); err != nil {
		return false, err
	}
	donor, err := a.donorFor(ctx, &gift{customerID: s.Customer.ID})
	if err != nil {
		return false, err
	}
	started := s.StartDate
	if started == 0 {
		started = s.Created
	}
	return true, a.tx.SaveSubscription(ctx, &store.Subscription{ID: s.ID, DonorID: donor.ID, CustomerID: s.Customer.ID,
		Status: cleanStatus(string(s.Status)), Started: started, UpdatedAt: a.now})
}
