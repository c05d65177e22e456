package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"impactd/internal/domain"
	"impactd/internal/searchkey"
)

// StripeEvent is one verified webhook event as stored.
type StripeEvent struct {
	ID         string `db:"id"`
	Type       string `db:"type"`
	APIVersion string `db:"api_version"`
	Created    int64  `db:"created"`
	Livemode   int    `db:"livemode"`
	Payload    string `db:"payload"`
	ReceivedAt int64  `db:"received_at"`
}

// InsertEvent records a Stripe event once. It reports false, and changes
// nothing, when the event id is already stored: a redelivery.
func (q Q) InsertEvent(ctx context.Context, ev StripeEvent) (bool, error) {
	res, err := q.exec(ctx, `INSERT INTO stripe_events (id, type, api_version, created, livemode, payload, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		ev.ID, ev.Type, ev.APIVersion, ev.Created, ev.Livemode, ev.Payload, ev.ReceivedAt)
	if err != nil {
		return false, fmt.Errorf("insert event: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("insert event: %w", err)
	}
	return n == 1, nil
}

// CountEvents returns how many Stripe events are stored.
func (q Q) CountEvents(ctx context.Context) (int, error) {
	var n int
	if err := q.get(ctx, &n, `SELECT COUNT(*) FROM stripe_events`); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}

const donorCols = `id, name, email, address, status, gift_aid_from, merged_into, letters, marketing_consent, created_at, updated_at, channel`

// Donor returns one donor by id.
func (q Q) Donor(ctx context.Context, id string) (*domain.Donor, error) {
	var d domain.Donor
	if err := q.get(ctx, &d, `SELECT `+donorCols+` FROM donors WHERE id = ?`, id); err != nil {
		return nil, fmt.Errorf("donor: %w", notFound(err, "donor"))
	}
	return &d, nil
}

// DonorByCustomer returns the donor linked to a Stripe customer id.
func (q Q) DonorByCustomer(ctx context.Context, customerID string) (*domain.Donor, error) {
	var d domain.Donor
	err := q.get(ctx, &d, `SELECT d.id, d.name, d.email, d.address, d.status, d.gift_aid_from, d.merged_into, d.letters, d.marketing_consent, d.created_at, d.updated_at, d.channel
		FROM donors d JOIN donor_customers c ON c.donor_id = d.id WHERE c.stripe_customer_id = ?`, customerID)
	if err != nil {
		return nil, fmt.Errorf("donor by customer: %w", notFound(err, "donor"))
	}
	return &d, nil
}

// DonorByEmail returns the donor linked to a normalised email address.
func (q Q) DonorByEmail(ctx context.Context, email string) (*domain.Donor, error) {
	var d domain.Donor
	err := q.get(ctx, &d, `SELECT d.id, d.name, d.email, d.address, d.status, d.gift_aid_from, d.merged_into, d.letters, d.marketing_consent, d.created_at, d.updated_at, d.channel
		FROM donors d JOIN donor_emails e ON e.donor_id = d.id WHERE e.email = ?`, email)
	if err != nil {
		return nil, fmt.Errorf("donor by email: %w", notFound(err, "donor"))
	}
	return &d, nil
}

// CreateDonor inserts a donor; it sets ID when empty.
func (q Q) CreateDonor(ctx context.Context, d *domain.Donor) error {
	if d.ID == "" {
		d.ID = NewID("dnr")
	}
	if d.Status == "" {
		d.Status = domain.DonorActive
	}
	if d.Letters == "" {
		d.Letters = domain.LettersAll
	}
	if d.Channel == "" {
		d.Channel = domain.ChannelEmail
	}
	_, err := q.exec(ctx, `INSERT INTO donors (`+donorCols+`, search_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.Name, d.Email, d.Address, d.Status, d.GiftAidFrom, d.MergedInto, d.Letters, d.MarketingConsent, d.CreatedAt, d.UpdatedAt,
		d.Channel, searchkey.Key(d.Name, d.Email))
	if err != nil {
		return fmt.Errorf("create donor: %w", err)
	}
	return nil
}

// UpdateDonorContact sets a donor's name, email and address.
func (q Q) UpdateDonorContact(ctx context.Context, d *domain.Donor) error {
	_, err := q.exec(ctx, `UPDATE donors SET name = ?, email = ?, address = ?, updated_at = ? WHERE id = ?`,
		d.Name, d.Email, d.Address, d.UpdatedAt, d.ID)
	if err != nil {
		return fmt.Errorf("update donor: %w", err)
	}
	return q.refreshSearchKey(ctx, d.ID)
}

// LinkCustomer links a Stripe customer to a donor; an existing link is kept.
func (q Q) LinkCustomer(ctx context.Context, customerID, donorID string, now int64) error {
	_, err := q.exec(ctx, `INSERT INTO donor_customers (stripe_customer_id, donor_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (stripe_customer_id) DO NOTHING`, customerID, donorID, now)
	if err != nil {
		return fmt.Errorf("link customer: %w", err)
	}
	return nil
}

// LinkEmail links a normalised email address to a donor; an existing link is kept.
func (q Q) LinkEmail(ctx context.Context, email, donorID string, now int64) error {
	res, err := q.exec(ctx, `INSERT INTO donor_emails (email, donor_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (email) DO NOTHING`, email, donorID, now)
	if err != nil {
		return fmt.Errorf("link email: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // already linked: the key has it
	}
	return q.refreshSearchKey(ctx, donorID)
}

// CountDonors returns the number of donors.
func (q Q) CountDonors(ctx context.Context) (int, error) {
	var n int
	if err := q.get(ctx, &n, `SELECT COUNT(*) FROM donors`); err != nil {
		return 0, fmt.Errorf("count donors: %w", err)
	}
	return n, nil
}

const donationCols = `id, donor_id, stripe_charge_id, amount, currency, amount_refunded, status, recurring, designation, created, updated_at,
	amount_disputed, payment_intent_id, invoice_id, subscription_id, settled_amount, settled_currency, benefit_description, benefit_value`

// DonationByChargeForUpdate returns the donation of a Stripe charge, locking
// its row until the transaction ends.
func (q Q) DonationByChargeForUpdate(ctx context.Context, chargeID string) (*domain.Donation, error) {
	var d domain.Donation
	err := q.get(ctx, &d, `SELECT `+donationCols+` FROM donations WHERE stripe_charge_id = ?`+q.forUpdate(), chargeID)
	if err != nil {
		return nil, fmt.Errorf("donation by charge: %w", notFound(err, "donation"))
	}
	return &d, nil
}

// InsertDonation inserts a donation unless one exists for its charge; it
// reports whether it inserted.
func (q Q) InsertDonation(ctx context.Context, d *domain.Donation) (bool, error) {
	if d.ID == "" {
		d.ID = NewID("gift")
	}
	res, err := q.exec(ctx, `INSERT INTO donations (`+donationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (stripe_charge_id) DO NOTHING`,
		d.ID, d.DonorID, d.ChargeID, d.Amount, d.Currency, d.AmountRefunded, d.Status, d.Recurring, d.Designation, d.Created, d.UpdatedAt,
		d.AmountDisputed, d.PaymentIntentID, d.InvoiceID, d.SubscriptionID, d.SettledAmount, d.SettledCurrency, d.BenefitDescription, d.BenefitValue)
	if err != nil {
		return false, fmt.Errorf("insert donation: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("insert donation: %w", err)
	}
	return n == 1, nil
}

// UpdateDonation saves the parts of a donation that later events may change.
func (q Q) UpdateDonation(ctx context.Context, d *domain.Donation) error {
	_, err := q.exec(ctx, `UPDATE donations SET donor_id = ?, amount_refunded = ?, amount_disputed = ?, status = ?, recurring = ?,
		designation = ?, payment_intent_id = ?, invoice_id = ?, subscription_id = ?, settled_amount = ?, settled_currency = ?,
		benefit_description = ?, benefit_value = ?, updated_at = ?
		WHERE id = ?`,
		d.DonorID, d.AmountRefunded, d.AmountDisputed, d.Status, d.Recurring, d.Designation, d.PaymentIntentID, d.InvoiceID,
		d.SubscriptionID, d.SettledAmount, d.SettledCurrency, d.BenefitDescription, d.BenefitValue, d.UpdatedAt, d.ID)
	if err != nil {
		return fmt.Errorf("update donation: %w", err)
	}
	return nil
}

// InsertRefund records a refund once, by its id.
func (q Q) InsertRefund(ctx context.Context, r domain.Refund) error {
	if r.Kind == "" {
		r.Kind = domain.RefundKindRefund
	}
	_, err := q.exec(ctx, `INSERT INTO refunds (id, donation_id, amount, currency, created, kind, synthetic) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, r.ID, r.DonationID, r.Amount, r.Currency, r.Created, r.Kind, r.Synthetic)
	if err != nil {
		return fmt.Errorf("insert refund: %w", err)
	}
	return nil
}

// SumRefunds returns the total of the refunds (not disputes) recorded for a donation.
func (q Q) SumRefunds(ctx context.Context, donationID string) (int64, error) {
	var n int64
	if err := q.get(ctx, &n, `SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE donation_id = ? AND kind = 'refund'`, donationID); err != nil {
		return 0, fmt.Errorf("sum refunds: %w", err)
	}
	return n, nil
}

// RefundLines returns the refund lines (not disputes) of a donation, oldest first.
func (q Q) RefundLines(ctx context.Context, donationID string) ([]domain.Refund, error) {
	var rs []domain.Refund
	err := q.selectAll(ctx, &rs, `SELECT id, donation_id, amount, currency, created, kind, synthetic FROM refunds
		WHERE donation_id = ? AND kind = 'refund' ORDER BY created, id`, donationID)
	if err != nil {
		return nil, fmt.Errorf("refund lines: %w", err)
	}
	return rs, nil
}

// DeleteRefund removes one refund line (a synthetic one that real refunds replaced).
func (q Q) DeleteRefund(ctx context.Context, id string) error {
	if _, err := q.exec(ctx, `DELETE FROM refunds WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete refund: %w", err)
	}
	return nil
}

// DonationsForDonor returns a donor's donations made in [from, to), oldest first.
func (q Q) DonationsForDonor(ctx context.Context, donorID string, from, to int64) ([]domain.Donation, error) {
	var ds []domain.Donation
	err := q.selectAll(ctx, &ds, `SELECT `+donationCols+` FROM donations
		WHERE donor_id = ? AND created >= ? AND created < ? ORDER BY created, id`, donorID, from, to)
	if err != nil {
		return nil, fmt.Errorf("donations for donor: %w", err)
	}
	return ds, nil
}

// RefundWithGift is a refund together with the date of the gift it returns.
type RefundWithGift struct {
	domain.Refund
	GiftCreated int64 `db:"gift_created"`
}

// RefundsForDonor returns the refunds made in [from, to) of a donor's gifts,
// whenever those gifts were made, oldest first.
func (q Q) RefundsForDonor(ctx context.Context, donorID string, from, to int64) ([]RefundWithGift, error) {
	var rs []RefundWithGift
	err := q.selectAll(ctx, &rs, `SELECT r.id, r.donation_id, r.amount, r.currency, r.created, r.kind, r.synthetic, d.created AS gift_created
		FROM refunds r JOIN donations d ON d.id = r.donation_id
		WHERE d.donor_id = ? AND r.created >= ? AND r.created < ? ORDER BY r.created, r.id`, donorID, from, to)
	if err != nil {
		return nil, fmt.Errorf("refunds for donor: %w", err)
	}
	return rs, nil
}

// RefundsOfGifts returns the refunds and lost disputes, made up to madeBy
// (unix seconds, inclusive), of the donor's gifts made in [from, to),
// oldest first: the annual statement's record of what came back of the
// year's gifts, whenever it came back, as known when the statement is made.
func (q Q) RefundsOfGifts(ctx context.Context, donorID string, from, to, madeBy int64) ([]RefundWithGift, error) {
	var rs []RefundWithGift
	err := q.selectAll(ctx, &rs, `SELECT r.id, r.donation_id, r.amount, r.currency, r.created, r.kind, r.synthetic, d.created AS gift_created
		FROM refunds r JOIN donations d ON d.id = r.donation_id
		WHERE d.donor_id = ? AND d.created >= ? AND d.created < ? AND r.created <= ? ORDER BY r.created, r.id`, donorID, from, to, madeBy)
	if err != nil {
		return nil, fmt.Errorf("refunds of gifts: %w", err)
	}
	return rs, nil
}

// DonorsWithActivity returns the donors who gave, or were refunded, in
// [from, to), ordered by id, whatever their status: the caller decides who
// is skipped and counts why.
func (q Q) DonorsWithActivity(ctx context.Context, from, to int64) ([]domain.Donor, error) {
	var ds []domain.Donor
	err := q.selectAll(ctx, &ds, `SELECT `+donorCols+` FROM donors WHERE id IN (
			SELECT donor_id FROM donations WHERE created >= ? AND created < ?
			UNION
			SELECT d.donor_id FROM refunds r JOIN donations d ON d.id = r.donation_id WHERE r.created >= ? AND r.created < ?
		) ORDER BY id`, from, to, from, to)
	if err != nil {
		return nil, fmt.Errorf("donors with activity: %w", err)
	}
	return ds, nil
}

// CurrencyTotal is the sum of donations in one currency.
type CurrencyTotal struct {
	Currency string `db:"currency"`
	Gross    int64  `db:"gross"`
	Refunded int64  `db:"refunded"`
	Count    int    `db:"n"`
}

// TotalsBetween sums the donations made in [from, to) per currency.
func (q Q) TotalsBetween(ctx context.Context, from, to int64) ([]CurrencyTotal, error) {
	var ts []CurrencyTotal
	err := q.selectAll(ctx, &ts, `SELECT currency, COALESCE(SUM(amount), 0) AS gross, COALESCE(SUM(amount_refunded + amount_disputed), 0) AS refunded, COUNT(*) AS n
		FROM donations WHERE created >= ? AND created < ? GROUP BY currency ORDER BY currency`, from, to)
	if err != nil {
		return nil, fmt.Errorf("totals: %w", err)
	}
	return ts, nil
}

// CountDonorsBetween counts the distinct donors who gave in [from, to).
func (q Q) CountDonorsBetween(ctx context.Context, from, to int64) (int, error) {
	var n int
	if err := q.get(ctx, &n, `SELECT COUNT(DISTINCT donor_id) FROM donations WHERE created >= ? AND created < ?`, from, to); err != nil {
		return 0, fmt.Errorf("count donors: %w", err)
	}
	return n, nil
}

// SetDonorLetters sets which series a live donor receives
// (domain.Letters*) and reports the preference it had; an erased or merged
// donor is left as it is (ENOTFOUND).
func (q Q) SetDonorLetters(ctx context.Context, id, letters string, now int64) (string, error) {
	if _, err := domain.ParseLetters(letters); err != nil {
		return "", err
	}
	var was string
	if err := q.get(ctx, &was, `SELECT letters FROM donors WHERE id = ? AND status = ?`, id, domain.DonorActive); err != nil {
		return "", fmt.Errorf("set donor letters: %w", notFound(err, "donor"))
	}
	if _, err := q.exec(ctx, `UPDATE donors SET letters = ?, updated_at = ? WHERE id = ? AND status = ?`, letters, now, id, domain.DonorActive); err != nil {
		return "", fmt.Errorf("set donor letters: %w", err)
	}
	return was, nil
}

// SetMarketingConsent records what a Stripe customer's metadata says about
// marketing (domain.ConsentYes, domain.ConsentNo) on a live donor.
func (q Q) SetMarketingConsent(ctx context.Context, id, consent string, now int64) error {
	if consent != domain.ConsentYes && consent != domain.ConsentNo {
		return domain.Errorf(domain.EINVALID, "marketing consent %q: want yes or no", consent)
	}
	if _, err := q.exec(ctx, `UPDATE donors SET marketing_consent = ?, updated_at = ? WHERE id = ? AND status = ? AND marketing_consent <> ?`,
		consent, now, id, domain.DonorActive, consent); err != nil {
		return fmt.Errorf("set marketing consent: %w", err)
	}
	return nil
}

// SetDonorStatus moves a donor from one status to another; a donor in any
// other status (already unsubscribed, erased) is left as it is.
func (q Q) SetDonorStatus(ctx context.Context, id, from, to string, now int64) error {
	if _, err := q.exec(ctx, `UPDATE donors SET status = ?, updated_at = ? WHERE id = ? AND status = ?`, to, now, id, from); err != nil {
		return fmt.Errorf("set donor status: %w", err)
	}
	return nil
}

// DonorsByEmail returns the live donors linked to a normalised email address.
func (q Q) DonorsByEmail(ctx context.Context, email string) ([]domain.Donor, error) {
	var ds []domain.Donor
	err := q.selectAll(ctx, &ds, `SELECT d.id, d.name, d.email, d.address, d.status, d.gift_aid_from, d.merged_into, d.letters, d.marketing_consent, d.created_at, d.updated_at, d.channel
		FROM donors d WHERE d.merged_into = '' AND (d.email = ? OR d.id IN (SELECT donor_id FROM donor_emails WHERE email = ?)) ORDER BY d.id`, email, email)
	if err != nil {
		return nil, fmt.Errorf("donors by email: %w", err)
	}
	return ds, nil
}

// DeleteDonor removes a donor created in the same transaction that turned out
// to be a duplicate (a concurrent event created the same supporter first).
func (q Q) DeleteDonor(ctx context.Context, id string) error {
	if _, err := q.exec(ctx, `DELETE FROM donors WHERE id = ? AND id NOT IN (SELECT donor_id FROM donations)`, id); err != nil {
		return fmt.Errorf("delete donor: %w", err)
	}
	return nil
}

// Rejection is a Stripe event or backfilled object that broke a rule of the
// ledger and so changed nothing.
type Rejection struct {
	ID         string `db:"id" json:"id"` // event id, or "sync:TYPE:OBJECT"
	EventType  string `db:"event_type" json:"event_type"`
	ObjectID   string `db:"object_id" json:"object_id"`
	Rule       string `db:"rule" json:"rule"`
	Reason     string `db:"reason" json:"reason"`
	Created    int64  `db:"created" json:"created"`
	ReceivedAt int64  `db:"received_at" json:"received_at"`
}

// InsertRejection records a rejection once; a redelivery changes nothing.
func (q Q) InsertRejection(ctx context.Context, r Rejection) error {
	_, err := q.exec(ctx, `INSERT INTO stripe_rejections (id, event_type, object_id, rule, reason, created, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		r.ID, r.EventType, r.ObjectID, r.Rule, r.Reason, r.Created, r.ReceivedAt)
	if err != nil {
		return fmt.Errorf("insert rejection: %w", err)
	}
	return nil
}

// Rejections returns the newest rejections first, at most limit.
func (q Q) Rejections(ctx context.Context, limit int) ([]Rejection, error) {
	rs := []Rejection{}
	err := q.selectAll(ctx, &rs, `SELECT id, event_type, object_id, rule, reason, created, received_at
		FROM stripe_rejections ORDER BY received_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("rejections: %w", err)
	}
	return rs, nil
}

// LockKeys holds, until the transaction ends, a lock on each key ("email:…",
// "customer:…", "pi:…", "charge:…"), so that two events about one supporter
// or one payment on two connections take turns: two first gifts of one
// person cannot both find no donor and both create one, the second waits and
// then finds the first's. On PostgreSQL these are transaction-scoped advisory
// locks on a 64-bit hash of each key, taken in sorted order; a hash collision
// only makes two strangers' events wait in turn. SQLite needs none: its
// transactions start IMMEDIATE, one writer at a time.
//
// Sorting orders one call. A transaction that calls LockKeys more than once
// must do so in a fixed order of groups, and must take no row lock before
// its last call: otherwise two transactions can each hold what the other
// waits for, and PostgreSQL ends one of them with a deadlock error. Ingest
// keeps to that (see internal/ingest/locks.go).
func (q Q) LockKeys(ctx context.Context, keys ...string) error {
	return q.lockKeys(ctx, "", keys)
}

// keyKind is the part of a lock key before its colon: errors name the kind
// of key, never the email address in it.
func keyKind(k string) string {
	kind, _, _ := strings.Cut(k, ":")
	return kind
}

// erasureKey is the advisory lock that keeps ingest and erasure apart.
const erasureKey = "erasure"

// BlockErasure holds off erasure until the transaction ends: it waits for
// an erasure under way to finish, and no erasure starts until it commits.
// Every transaction that stores what a Stripe event says takes it first, and
// so either sees a donor erased or is seen by the erasure (a shared advisory
// lock on PostgreSQL, which never keeps two of these from running together;
// on SQLite there is one writer at a time). Then, in the same round trip, it
// locks keys as LockKeys does.
func (q Q) BlockErasure(ctx context.Context, keys ...string) error {
	return q.lockKeys(ctx, erasureKey, keys)
}

// lockKeys takes the shared lock of key shared, unless it is "", then the
// locks of keys, sorted, in one statement.
func (q Q) lockKeys(ctx context.Context, shared string, keys []string) error {
	if q.dialect != Postgres {
		return nil
	}
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	if len(sorted) > 0 && sorted[0] == "" {
		sorted = sorted[1:]
	}
	if shared != "" {
		sorted = append([]string{shared}, sorted...)
	}
	if len(sorted) == 0 {
		return nil
	}
	// The rows of unnest … WITH ORDINALITY come, and their select list is
	// evaluated, in the order of the array (ORDER BY n costs no sort).
	_, err := q.exec(ctx, `SELECT CASE WHEN k = ? THEN pg_advisory_xact_lock_shared(hashtextextended(k, 0))
			ELSE pg_advisory_xact_lock(hashtextextended(k, 0)) END
		FROM unnest(?::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n`, shared, sorted)
	if err != nil {
		return fmt.Errorf("lock %s: %w", keyKind(sorted[len(sorted)-1]), err)
	}
	return nil
}

// lockForErasure waits until no transaction holds BlockErasure, and keeps
// new ones waiting until the erasure commits.
func (q Q) lockForErasure(ctx context.Context) error {
	if q.dialect != Postgres {
		return nil
	}
	if _, err := q.exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, erasureKey); err != nil {
		return fmt.Errorf("lock for erasure: %w", err)
	}
	return nil
}
