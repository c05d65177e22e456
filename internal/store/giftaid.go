package store

import (
	"context"
	"fmt"

	"impactd/internal/domain"
)

// Gift Aid claims: the SQL of internal/giftaid. The guarantee that a gift is
// claimed at most once is giftaid_claim_gifts' UNIQUE donation_id, met by
// ClaimGift's INSERT … ON CONFLICT DO NOTHING: of two claims that take the
// same gift at once, the second waits for the first (PostgreSQL: the
// conflicting row's lock; SQLite: the one writer) and is told it lost it.

// GiftAidClaim is one claim as recorded.
type GiftAidClaim struct {
	ID     string `db:"id" json:"id"`
	ToDate string `db:"to_date" json:"to"` // YYYY-MM-DD: gifts up to and including this day
	// Aggregate is 1 when small donations were added together on lines of their own.
	Aggregate       int    `db:"aggregate" json:"aggregate"`
	Gifts           int    `db:"gifts" json:"gifts"`
	Total           int64  `db:"total" json:"total"` // pence, the donations claimed
	Adjustments     int    `db:"adjustments" json:"adjustments"`
	AdjustmentTotal int64  `db:"adjustment_total" json:"adjustment_total"` // pence, ≤ 0: donations over-claimed before
	Earliest        int64  `db:"earliest" json:"earliest"`                 // unix seconds of the earliest gift; 0 when none
	Actor           string `db:"actor" json:"actor"`
	CreatedAt       int64  `db:"created_at" json:"created_at"`
	SubmittedAt     int64  `db:"submitted_at" json:"submitted_at,omitempty"`
	SubmittedBy     string `db:"submitted_by" json:"submitted_by,omitempty"`
	HMRCReference   string `db:"hmrc_reference" json:"hmrc_reference,omitempty"`
}

const giftAidClaimCols = `id, to_date, aggregate, gifts, total, adjustments, adjustment_total, earliest, actor, created_at,
	submitted_at, submitted_by, hmrc_reference`

// GiftAidCandidate is an unclaimed donation of a donor who has, or had, a
// Gift Aid declaration, with the donor's details.
type GiftAidCandidate struct {
	domain.Donation
	DonorName        string `db:"donor_name"`
	DonorAddress     string `db:"donor_address"`
	DonorStatus      string `db:"donor_status"`
	DonorGiftAidFrom string `db:"donor_gift_aid_from"`
}

// GiftAidDeclaration is a window [From, Until) of a donor's declaration;
// Until is "" for the current, open one.
type GiftAidDeclaration struct {
	DonorID string `db:"donor_id"`
	From    string `db:"from_date"`
	Until   string `db:"until_date"`
}

// RecordWithdrawnDeclaration keeps the window of a declaration the donor withdrew.
func (q Q) RecordWithdrawnDeclaration(ctx context.Context, donorID, from, until string, now int64) error {
	_, err := q.exec(ctx, `INSERT INTO gift_aid_declarations (id, donor_id, from_date, until_date, created_at) VALUES (?, ?, ?, ?, ?)`,
		NewID("gad"), donorID, from, until, now)
	if err != nil {
		return fmt.Errorf("record withdrawn declaration: %w", err)
	}
	return nil
}

// withDeclaration selects the donors with a current or withdrawn declaration.
const withDeclaration = `(dn.gift_aid_from <> '' OR EXISTS (SELECT 1 FROM gift_aid_declarations w WHERE w.donor_id = dn.id))`

// GiftAidCandidates returns the donations made before the unix time before
// that no claim has taken, of every donor with a declaration now or in the
// past, in any currency (a non-GBP gift is an exception the claim lists),
// oldest first.
func (q Q) GiftAidCandidates(ctx context.Context, before int64) ([]GiftAidCandidate, error) {
	var cs []GiftAidCandidate
	err := q.selectAll(ctx, &cs, `SELECT g.id, g.donor_id, g.stripe_charge_id, g.amount, g.currency, g.amount_refunded, g.status,
			g.recurring, g.designation, g.created, g.updated_at, g.amount_disputed, g.payment_intent_id, g.invoice_id,
			g.subscription_id, g.settled_amount, g.settled_currency,
			dn.name AS donor_name, dn.address AS donor_address, dn.status AS donor_status, dn.gift_aid_from AS donor_gift_aid_from
		FROM donations g JOIN donors dn ON dn.id = g.donor_id
		WHERE g.created < ? AND `+withDeclaration+`
			AND NOT EXISTS (SELECT 1 FROM giftaid_claim_gifts c WHERE c.donation_id = g.id)
		ORDER BY g.created, g.id`, before)
	if err != nil {
		return nil, fmt.Errorf("gift aid candidates: %w", err)
	}
	return cs, nil
}

// GiftAidDeclarations returns every donor's declaration windows: the
// current ones (Until "") and the withdrawn ones.
func (q Q) GiftAidDeclarations(ctx context.Context) ([]GiftAidDeclaration, error) {
	var ds []GiftAidDeclaration
	err := q.selectAll(ctx, &ds, `SELECT id AS donor_id, gift_aid_from AS from_date, '' AS until_date FROM donors WHERE gift_aid_from <> ''
		UNION ALL SELECT donor_id, from_date, until_date FROM gift_aid_declarations ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("gift aid declarations: %w", err)
	}
	return ds, nil
}

// GiftAidOverclaim is a claimed gift whose net amount is now below what was
// claimed on it, less the adjustments already made.
type GiftAidOverclaim struct {
	ClaimID    string `db:"claim_id"`
	DonationID string `db:"donation_id"`
	DonorID    string `db:"donor_id"`
	Claimed    int64  `db:"claimed"`
	Adjusted   int64  `db:"adjusted"` // ≤ 0
	Net        int64  `db:"net"`
	Created    int64  `db:"created"`
}

// GiftAidOverclaims lists the claimed gifts refunded or lost to a dispute
// (in part or whole) since their claim and its adjustments.
func (q Q) GiftAidOverclaims(ctx context.Context) ([]GiftAidOverclaim, error) {
	var out []GiftAidOverclaim
	err := q.selectAll(ctx, &out, `SELECT claim_id, donation_id, donor_id, claimed, adjusted, net, created FROM (
			SELECT c.claim_id, c.donation_id, g.donor_id, c.amount AS claimed, g.created,
				COALESCE((SELECT SUM(a.amount) FROM giftaid_adjustments a WHERE a.donation_id = c.donation_id), 0) AS adjusted,
				g.amount - g.amount_refunded - g.amount_disputed AS net
			FROM giftaid_claim_gifts c JOIN donations g ON g.id = c.donation_id
			WHERE g.amount - g.amount_refunded - g.amount_disputed < c.amount) o
		WHERE net < claimed + adjusted ORDER BY created, donation_id`)
	if err != nil {
		return nil, fmt.Errorf("gift aid overclaims: %w", err)
	}
	return out, nil
}

// InsertGiftAidClaim records a new claim (its totals are set by UpdateGiftAidClaimTotals).
func (q Q) InsertGiftAidClaim(ctx context.Context, c *GiftAidClaim) error {
	if c.ID == "" {
		c.ID = NewID("gac")
	}
	_, err := q.exec(ctx, `INSERT INTO giftaid_claims (`+giftAidClaimCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.ToDate, c.Aggregate, c.Gifts, c.Total, c.Adjustments, c.AdjustmentTotal, c.Earliest, c.Actor, c.CreatedAt,
		c.SubmittedAt, c.SubmittedBy, c.HMRCReference)
	if err != nil {
		return fmt.Errorf("insert gift aid claim: %w", err)
	}
	return nil
}

// UpdateGiftAidClaimTotals saves a claim's counts and totals.
func (q Q) UpdateGiftAidClaimTotals(ctx context.Context, c *GiftAidClaim) error {
	_, err := q.exec(ctx, `UPDATE giftaid_claims SET gifts = ?, total = ?, adjustments = ?, adjustment_total = ?, earliest = ? WHERE id = ?`,
		c.Gifts, c.Total, c.Adjustments, c.AdjustmentTotal, c.Earliest, c.ID)
	if err != nil {
		return fmt.Errorf("update gift aid claim: %w", err)
	}
	return nil
}

// ClaimGift puts a donation in a claim, unless a claim already has it; it
// reports whether this claim got it.
func (q Q) ClaimGift(ctx context.Context, claimID, donationID string, amount, created int64) (bool, error) {
	res, err := q.exec(ctx, `INSERT INTO giftaid_claim_gifts (claim_id, donation_id, amount, created) VALUES (?, ?, ?, ?)
		ON CONFLICT (donation_id) DO NOTHING`, claimID, donationID, amount, created)
	if err != nil {
		return false, fmt.Errorf("claim gift: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim gift: %w", err)
	}
	return n == 1, nil
}

// GiftAidAdjustment is an over-claim of an earlier claim, listed with a later one.
type GiftAidAdjustment struct {
	ID              string `db:"id" json:"id"`
	ClaimID         string `db:"claim_id" json:"claim_id"`
	OriginalClaimID string `db:"original_claim_id" json:"original_claim_id"`
	DonationID      string `db:"donation_id" json:"donation_id"`
	Amount          int64  `db:"amount" json:"amount"` // pence, < 0
	NetAfter        int64  `db:"net_after" json:"net_after"`
	// DonorID and Created (the gift's) are read with the adjustment, not stored with it.
	DonorID string `db:"donor_id" json:"donor_id"`
	Created int64  `db:"created" json:"created"`
}

// InsertGiftAidAdjustment records an adjustment once per fall of the gift's
// net amount; it reports whether this call recorded it.
func (q Q) InsertGiftAidAdjustment(ctx context.Context, a *GiftAidAdjustment) (bool, error) {
	if a.ID == "" {
		a.ID = NewID("gaj")
	}
	res, err := q.exec(ctx, `INSERT INTO giftaid_adjustments (id, claim_id, original_claim_id, donation_id, amount, net_after)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (donation_id, net_after) DO NOTHING`,
		a.ID, a.ClaimID, a.OriginalClaimID, a.DonationID, a.Amount, a.NetAfter)
	if err != nil {
		return false, fmt.Errorf("insert gift aid adjustment: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("insert gift aid adjustment: %w", err)
	}
	return n == 1, nil
}

// GiftAidClaims returns the newest claims first.
func (q Q) GiftAidClaims(ctx context.Context, limit int) ([]GiftAidClaim, error) {
	var cs []GiftAidClaim
	if err := q.selectAll(ctx, &cs, `SELECT `+giftAidClaimCols+` FROM giftaid_claims ORDER BY created_at DESC, id DESC LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("gift aid claims: %w", err)
	}
	return cs, nil
}

// GiftAidClaim returns one claim.
func (q Q) GiftAidClaim(ctx context.Context, id string) (*GiftAidClaim, error) {
	var c GiftAidClaim
	if err := q.get(ctx, &c, `SELECT `+giftAidClaimCols+` FROM giftaid_claims WHERE id = ?`+q.forUpdate(), id); err != nil {
		return nil, fmt.Errorf("gift aid claim: %w", notFound(err, "Gift Aid claim "+id))
	}
	return &c, nil
}

// GiftAidClaimGift is a gift of a stored claim with its donor's details,
// from which the schedule's row is made again.
type GiftAidClaimGift struct {
	DonationID   string `db:"donation_id"`
	Amount       int64  `db:"amount"`
	Created      int64  `db:"created"`
	DonorID      string `db:"donor_id"`
	DonorName    string `db:"donor_name"`
	DonorAddress string `db:"donor_address"`
	DonorStatus  string `db:"donor_status"`
}

// GiftAidClaimGifts returns a claim's gifts, oldest first.
func (q Q) GiftAidClaimGifts(ctx context.Context, claimID string) ([]GiftAidClaimGift, error) {
	var gs []GiftAidClaimGift
	err := q.selectAll(ctx, &gs, `SELECT c.donation_id, c.amount, c.created, g.donor_id, dn.name AS donor_name, dn.address AS donor_address,
			dn.status AS donor_status
		FROM giftaid_claim_gifts c JOIN donations g ON g.id = c.donation_id JOIN donors dn ON dn.id = g.donor_id
		WHERE c.claim_id = ? ORDER BY c.created, c.donation_id`, claimID)
	if err != nil {
		return nil, fmt.Errorf("gift aid claim gifts: %w", err)
	}
	return gs, nil
}

// GiftAidClaimAdjustments returns the adjustments listed with a claim.
func (q Q) GiftAidClaimAdjustments(ctx context.Context, claimID string) ([]GiftAidAdjustment, error) {
	var as []GiftAidAdjustment
	err := q.selectAll(ctx, &as, `SELECT a.id, a.claim_id, a.original_claim_id, a.donation_id, a.amount, a.net_after, g.donor_id, g.created
		FROM giftaid_adjustments a JOIN donations g ON g.id = a.donation_id
		WHERE a.claim_id = ? ORDER BY g.created, a.donation_id, a.net_after DESC`, claimID)
	if err != nil {
		return nil, fmt.Errorf("gift aid claim adjustments: %w", err)
	}
	return as, nil
}

// MarkGiftAidSubmitted records HMRC's acknowledgment of a claim, once: it
// reports false, changing nothing, when the claim was already marked.
func (q Q) MarkGiftAidSubmitted(ctx context.Context, id, reference, by string, at int64) (bool, error) {
	res, err := q.exec(ctx, `UPDATE giftaid_claims SET submitted_at = ?, submitted_by = ?, hmrc_reference = ? WHERE id = ? AND submitted_at = 0`,
		at, by, reference, id)
	if err != nil {
		return false, fmt.Errorf("mark gift aid claim submitted: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("mark gift aid claim submitted: %w", err)
	}
	return n == 1, nil
}
