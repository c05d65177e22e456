package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"impactd/internal/domain"
)

// IsDataError reports whether the database refused a value itself (on
// PostgreSQL, SQLSTATE class 22: a NUL byte in text, a number out of range
// …) as opposed to being unreachable or in conflict. Such an error will
// recur on every retry, so ingest records the event as rejected instead of
// asking Stripe to retry it for three days.
func IsDataError(err error) bool { return DataErrorCode(err) != "" }

// DataErrorCode is the SQLSTATE of a data error, "" for any other error.
func DataErrorCode(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && len(pg.Code) == 5 && pg.Code[:2] == "22" {
		return pg.Code
	}
	return ""
}

// IsRetryable reports whether PostgreSQL ended the transaction to break a
// deadlock (SQLSTATE 40P01) or a serialisation conflict (40001): nothing of
// it was kept, and running it again from the start can succeed.
func IsRetryable(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40P01" || pg.Code == "40001")
}

// PaymentHint is what a checkout session, payment intent or invoice said
// about the gift that its charge is, kept for when the charge arrives.
type PaymentHint struct {
	PaymentIntentID string `db:"payment_intent_id"`
	CustomerID      string `db:"customer_id"`
	Email           string `db:"email"`
	Name            string `db:"name"`
	Address         string `db:"address"`
	SubscriptionID  string `db:"subscription_id"`
	Designation     string `db:"designation"`
	IsDonation      int    `db:"is_donation"` // 1 matched the donation rule, 0 did not
	UpdatedAt       int64  `db:"updated_at"`
}

// PaymentHint returns the hint for a payment intent.
func (q Q) PaymentHint(ctx context.Context, paymentIntentID string) (*PaymentHint, error) {
	var h PaymentHint
	err := q.get(ctx, &h, `SELECT payment_intent_id, customer_id, email, name, address, subscription_id, designation, is_donation, updated_at
		FROM payment_hints WHERE payment_intent_id = ?`, paymentIntentID)
	if err != nil {
		return nil, fmt.Errorf("payment hint: %w", notFound(err, "payment hint"))
	}
	return &h, nil
}

// SavePaymentHint stores a hint, filling in what an earlier one lacked. A
// hint whose email is Erased — its supporter was erased — keeps no contact
// details: saving h with Email Erased removes them, and once a hint is
// Erased no later h brings them back.
func (q Q) SavePaymentHint(ctx context.Context, h *PaymentHint) error {
	erased := `(excluded.email = '` + Erased + `' OR payment_hints.email = '` + Erased + `')`
	_, err := q.exec(ctx, `INSERT INTO payment_hints (payment_intent_id, customer_id, email, name, address, subscription_id, designation, is_donation, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (payment_intent_id) DO UPDATE SET
			customer_id = CASE WHEN payment_hints.customer_id = '' THEN excluded.customer_id ELSE payment_hints.customer_id END,
			email = CASE WHEN `+erased+` THEN '`+Erased+`' WHEN payment_hints.email = '' THEN excluded.email ELSE payment_hints.email END,
			name = CASE WHEN `+erased+` THEN '' WHEN payment_hints.name = '' THEN excluded.name ELSE payment_hints.name END,
			address = CASE WHEN `+erased+` THEN '' WHEN payment_hints.address = '' THEN excluded.address ELSE payment_hints.address END,
			subscription_id = CASE WHEN payment_hints.subscription_id = '' THEN excluded.subscription_id ELSE payment_hints.subscription_id END,
			designation = CASE WHEN payment_hints.designation = '' THEN excluded.designation ELSE payment_hints.designation END,
			is_donation = CASE WHEN excluded.is_donation = 1 THEN 1 ELSE payment_hints.is_donation END,
			updated_at = excluded.updated_at`,
		h.PaymentIntentID, h.CustomerID, h.Email, h.Name, h.Address, h.SubscriptionID, h.Designation, h.IsDonation, h.UpdatedAt)
	if err != nil {
		return fmt.Errorf("save payment hint: %w", err)
	}
	return nil
}

// DonationByPaymentIntentForUpdate returns the donation paid through a payment intent, locked.
func (q Q) DonationByPaymentIntentForUpdate(ctx context.Context, paymentIntentID string) (*domain.Donation, error) {
	var d domain.Donation
	err := q.get(ctx, &d, `SELECT `+donationCols+` FROM donations WHERE payment_intent_id = ? ORDER BY created LIMIT 1`+q.forUpdate(), paymentIntentID)
	if err != nil {
		return nil, fmt.Errorf("donation by payment intent: %w", notFound(err, "donation"))
	}
	return &d, nil
}

// Dispute is a Stripe dispute of a charge.
type Dispute struct {
	ID           string `db:"id"`
	ChargeID     string `db:"charge_id"`
	Amount       int64  `db:"amount"`
	Currency     string `db:"currency"`
	Status       string `db:"status"`
	Created      int64  `db:"created"`
	EventCreated int64  `db:"event_created"`
}

// SaveDispute stores a dispute's state unless a newer state is already stored.
// It reports whether it changed anything.
func (q Q) SaveDispute(ctx context.Context, d *Dispute) (bool, error) {
	res, err := q.exec(ctx, `INSERT INTO disputes (id, charge_id, amount, currency, status, created, event_created) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET amount = excluded.amount, status = excluded.status, event_created = excluded.event_created
		WHERE disputes.event_created <= excluded.event_created AND disputes.status NOT IN ('won', 'lost')`,
		d.ID, d.ChargeID, d.Amount, d.Currency, d.Status, d.Created, d.EventCreated)
	if err != nil {
		return false, fmt.Errorf("save dispute: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("save dispute: %w", err)
	}
	return n > 0, nil
}

// LostDisputes returns the lost disputes of a charge.
func (q Q) LostDisputes(ctx context.Context, chargeID string) ([]Dispute, error) {
	var ds []Dispute
	err := q.selectAll(ctx, &ds, `SELECT id, charge_id, amount, currency, status, created, event_created FROM disputes
		WHERE charge_id = ? AND status = 'lost' ORDER BY id`, chargeID)
	if err != nil {
		return nil, fmt.Errorf("lost disputes: %w", err)
	}
	return ds, nil
}

// Subscription links a recurring gift to its donor.
type Subscription struct {
	ID         string `db:"id"`
	DonorID    string `db:"donor_id"`
	CustomerID string `db:"customer_id"`
	Status     string `db:"status"`
	Started    int64  `db:"started"`
	UpdatedAt  int64  `db:"updated_at"`
}

// SaveSubscription records a subscription; an earlier start date is kept.
func (q Q) SaveSubscription(ctx context.Context, s *Subscription) error {
	_, err := q.exec(ctx, `INSERT INTO subscriptions (id, donor_id, customer_id, status, started, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			status = CASE WHEN excluded.status = '' THEN subscriptions.status ELSE excluded.status END,
			started = CASE WHEN excluded.started < subscriptions.started THEN excluded.started ELSE subscriptions.started END,
			updated_at = excluded.updated_at`,
		s.ID, s.DonorID, s.CustomerID, s.Status, s.Started, s.UpdatedAt)
	if err != nil {
		return fmt.Errorf("save subscription: %w", err)
	}
	return nil
}

// MonthlySince returns when the donor's earliest subscription started, or 0.
func (q Q) MonthlySince(ctx context.Context, donorID string) (int64, error) {
	var n int64
	if err := q.get(ctx, &n, `SELECT COALESCE(MIN(started), 0) FROM subscriptions WHERE donor_id = ?`, donorID); err != nil {
		return 0, fmt.Errorf("monthly since: %w", err)
	}
	return n, nil
}

// CustomerLink is a Stripe customer's link to a donor.
type CustomerLink struct {
	CustomerID   string `db:"stripe_customer_id"`
	DonorID      string `db:"donor_id"`
	EventCreated int64  `db:"event_created"`
	Deleted      int    `db:"deleted"`
}

// CustomerLink returns the link of a Stripe customer.
func (q Q) CustomerLink(ctx context.Context, customerID string) (*CustomerLink, error) {
	var l CustomerLink
	err := q.get(ctx, &l, `SELECT stripe_customer_id, donor_id, event_created, deleted FROM donor_customers WHERE stripe_customer_id = ?`+q.forUpdate(), customerID)
	if err != nil {
		return nil, fmt.Errorf("customer link: %w", notFound(err, "customer"))
	}
	return &l, nil
}

// TouchCustomerLink records the time of the newest customer event applied, and deletion.
func (q Q) TouchCustomerLink(ctx context.Context, customerID string, eventCreated int64, deleted int) error {
	_, err := q.exec(ctx, `UPDATE donor_customers SET event_created = ?, deleted = ? WHERE stripe_customer_id = ?`, eventCreated, deleted, customerID)
	if err != nil {
		return fmt.Errorf("touch customer: %w", err)
	}
	return nil
}

// SetGiftAid sets the date from which a donor's GBP gifts are Gift Aid eligible ("" for none).
func (q Q) SetGiftAid(ctx context.Context, donorID, from string, now int64) error {
	if _, err := q.exec(ctx, `UPDATE donors SET gift_aid_from = ?, updated_at = ? WHERE id = ?`, from, now, donorID); err != nil {
		return fmt.Errorf("set gift aid: %w", err)
	}
	return nil
}

// strictness orders letters preferences from the most letters to the fewest.
var strictness = map[string]int{domain.LettersAll: 0, domain.LettersAnnual: 1, domain.LettersNone: 2}

// MergeDonors moves everything of donor other onto donor keep — gifts,
// customers, email addresses, subscriptions, statements — and marks other
// as merged. Contact details keep's has win; other's fill the gaps.
func (q Q) MergeDonors(ctx context.Context, keep, other string, now int64) error {
	if keep == other {
		return domain.Errorf(domain.EINVALID, "cannot merge a donor into itself")
	}
	k, err := q.Donor(ctx, keep)
	if err != nil {
		return fmt.Errorf("merge donors: %w", err)
	}
	o, err := q.Donor(ctx, other)
	if err != nil {
		return fmt.Errorf("merge donors: %w", err)
	}
	if k.MergedInto != "" || o.MergedInto != "" {
		return domain.Errorf(domain.ECONFLICT, "donor already merged")
	}
	for _, stmt := range []string{
		`UPDATE donations SET donor_id = ? WHERE donor_id = ?`,
		`UPDATE donor_customers SET donor_id = ? WHERE donor_id = ?`,
		`UPDATE donor_emails SET donor_id = ? WHERE donor_id = ?`,
		`UPDATE subscriptions SET donor_id = ? WHERE donor_id = ?`,
		`UPDATE statements SET donor_id = ? WHERE donor_id = ?`,
	} {
		if _, err := q.exec(ctx, stmt, keep, other); err != nil {
			return fmt.Errorf("merge donors: %w", err)
		}
	}
	fill := func(a, b string) string {
		if a != "" {
			return a
		}
		return b
	}
	giftAid := k.GiftAidFrom
	if o.GiftAidFrom != "" && (giftAid == "" || o.GiftAidFrom < giftAid) {
		giftAid = o.GiftAidFrom
	}
	// The stricter preference and a refusal of marketing survive: either
	// record's "stop" was the person's.
	letters := k.Letters
	if strictness[o.Letters] > strictness[letters] {
		letters = o.Letters
	}
	consent := fill(k.MarketingConsent, o.MarketingConsent)
	if o.MarketingConsent == domain.ConsentNo {
		consent = domain.ConsentNo
	}
	_, err = q.exec(ctx, `UPDATE donors SET name = ?, email = ?, address = ?, gift_aid_from = ?, letters = ?, marketing_consent = ?, updated_at = ? WHERE id = ?`,
		fill(k.Name, o.Name), fill(k.Email, o.Email), fill(k.Address, o.Address), giftAid, fill(letters, domain.LettersAll), consent, now, keep)
	if err != nil {
		return fmt.Errorf("merge donors: %w", err)
	}
	_, err = q.exec(ctx, `UPDATE donors SET status = 'merged', merged_into = ?, name = '', email = '', address = '', updated_at = ? WHERE id = ?`,
		keep, now, other)
	if err != nil {
		return fmt.Errorf("merge donors: %w", err)
	}
	if err := q.refreshSearchKey(ctx, other); err != nil {
		return fmt.Errorf("merge donors: %w", err)
	}
	if err := q.refreshSearchKey(ctx, keep); err != nil {
		return fmt.Errorf("merge donors: %w", err)
	}
	return nil
}

// AuditEntry is one line of the audit log: who did what, to what, and why.
type AuditEntry struct {
	ID        string `db:"id" json:"id"`
	Actor     string `db:"actor" json:"actor"`
	Action    string `db:"action" json:"action"`
	Subject   string `db:"subject" json:"subject"`
	Reason    string `db:"reason" json:"reason"`
	Detail    string `db:"detail" json:"detail"`
	CreatedAt int64  `db:"created_at" json:"created_at"`
}

// Audit appends to the audit log.
func (q Q) Audit(ctx context.Context, e *AuditEntry) error {
	if e.ID == "" {
		e.ID = NewID("aud")
	}
	_, err := q.exec(ctx, `INSERT INTO audit_log (id, actor, action, subject, reason, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.Actor, e.Action, e.Subject, e.Reason, e.Detail, e.CreatedAt)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditLog returns the newest entries first.
func (q Q) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	var es []AuditEntry
	if err := q.selectAll(ctx, &es, `SELECT id, actor, action, subject, reason, detail, created_at FROM audit_log ORDER BY created_at DESC, id DESC LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return es, nil
}

// CountCustomers counts the Stripe customers linked to a donor.
func (q Q) CountCustomers(ctx context.Context, donorID string) (int, error) {
	var n int
	if err := q.get(ctx, &n, `SELECT COUNT(*) FROM donor_customers WHERE donor_id = ?`, donorID); err != nil {
		return 0, fmt.Errorf("count customers: %w", err)
	}
	return n, nil
}

// APIToken is a stored API token (its hash, never the token).
type APIToken struct {
	ID         string `db:"id" json:"id"`
	Hash       string `db:"hash" json:"-"`
	Role       string `db:"role" json:"role"`
	Name       string `db:"name" json:"name"`
	CreatedAt  int64  `db:"created_at" json:"created_at"`
	LastUsedAt int64  `db:"last_used_at" json:"last_used_at"`
	RevokedAt  int64  `db:"revoked_at" json:"revoked_at"`
}

// CreateToken stores a token's hash; it sets ID.
func (q Q) CreateToken(ctx context.Context, t *APIToken) error {
	t.ID = NewID("tok")
	_, err := q.exec(ctx, `INSERT INTO api_tokens (id, hash, role, name, created_at) VALUES (?, ?, ?, ?, ?)`,
		t.ID, t.Hash, t.Role, t.Name, t.CreatedAt)
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

// TokenByHash returns the live (not revoked) token with this hash.
func (q Q) TokenByHash(ctx context.Context, hash string) (*APIToken, error) {
	var t APIToken
	err := q.get(ctx, &t, `SELECT id, hash, role, name, created_at, last_used_at, revoked_at FROM api_tokens WHERE hash = ? AND revoked_at = 0`, hash)
	if err != nil {
		return nil, fmt.Errorf("token: %w", notFound(err, "token"))
	}
	return &t, nil
}

// TouchToken records that a token was used, at most once a minute per token.
func (q Q) TouchToken(ctx context.Context, id string, now int64) error {
	if _, err := q.exec(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND last_used_at < ?`, now, id, now-60); err != nil {
		return fmt.Errorf("touch token: %w", err)
	}
	return nil
}

// SyncState is where a Stripe sync of one resource stands.
type SyncState struct {
	Resource  string `db:"resource"`
	Cursor    string `db:"cursor"`
	Since     int64  `db:"since"`
	Done      int    `db:"done"`
	Objects   int64  `db:"objects"`
	UpdatedAt int64  `db:"updated_at"`
}

// SyncState returns the state of a resource's sync (not found when it never ran).
func (q Q) SyncState(ctx context.Context, resource string) (*SyncState, error) {
	var s SyncState
	err := q.get(ctx, &s, `SELECT resource, cursor, since, done, objects, updated_at FROM sync_state WHERE resource = ?`, resource)
	if err != nil {
		return nil, fmt.Errorf("sync state: %w", notFound(err, "sync state"))
	}
	return &s, nil
}

// SaveSyncState records a resource's sync position.
func (q Q) SaveSyncState(ctx context.Context, s *SyncState) error {
	_, err := q.exec(ctx, `INSERT INTO sync_state (resource, cursor, since, done, objects, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (resource) DO UPDATE SET cursor = excluded.cursor, since = excluded.since, done = excluded.done,
			objects = excluded.objects, updated_at = excluded.updated_at`,
		s.Resource, s.Cursor, s.Since, s.Done, s.Objects, s.UpdatedAt)
	if err != nil {
		return fmt.Errorf("save sync state: %w", err)
	}
	return nil
}

// Audited runs change and records entry in one transaction: a change staff
// cannot account for never lands, and an entry never describes a change
// that failed.
func (s *Store) Audited(ctx context.Context, entry AuditEntry, change func(tx *Tx) error) error {
	// The entry is written first, so that a change can see it: erasure
	// removes the person's name from the reason staff typed for it.
	return s.InTx(ctx, func(tx *Tx) error {
		if err := tx.Audit(ctx, &entry); err != nil {
			return err
		}
		return change(tx)
	})
}
