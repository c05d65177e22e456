package giftaid

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"impactd/internal/domain"
	"impactd/internal/money"
	"impactd/internal/store"
)

// Service makes, lists and marks Gift Aid claims: the one entry the
// command line, the console and the API share.
type Service struct {
	Store    *store.Store
	Clock    domain.Clock
	Location *time.Location // the organisation's time zone: gift dates are its days
	// Country is the organisation's (IMPACTD_ORG_COUNTRY); Gift Aid is for
	// UK charities only, so any other refuses to claim. "" is not checked.
	Country string
}

// Request asks for a claim.
type Request struct {
	To        string // YYYY-MM-DD: gifts made up to and including this day
	Aggregate bool   // add small donations together (HMRC's aggregated donations)
	DryRun    bool   // make the schedule and record nothing
	Actor     string // who makes it: "cli:USER", "staff:EMAIL"
}

// Result is a claim made (Claim nil for a dry run) and its schedule.
type Result struct {
	Claim    *store.GiftAidClaim
	Schedule *Schedule
}

// end returns the instant after the day to (YYYY-MM-DD) ends.
func (s *Service) end(to string) (time.Time, error) {
	if s.Country != "" && s.Country != domain.CountryGB {
		return time.Time{}, domain.Errorf(domain.EINVALID, "Gift Aid is HMRC's scheme for UK charities, and IMPACTD_ORG_COUNTRY is %s", s.Country)
	}
	d, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(to), s.Location)
	if err != nil {
		return time.Time{}, domain.Errorf(domain.EINVALID, "the claim's end date %q is not a date: write it YYYY-MM-DD, e.g. 2026-09-30", to)
	}
	return d.AddDate(0, 0, 1), nil
}

// Preview makes the schedule a claim up to to would have now, recording nothing.
func (s *Service) Preview(ctx context.Context, to string, aggregate bool) (*Schedule, error) {
	return s.preview(ctx, s.Store.Q, to, aggregate)
}

func (s *Service) preview(ctx context.Context, q store.Q, to string, aggregate bool) (*Schedule, error) {
	end, err := s.end(to)
	if err != nil {
		return nil, err
	}
	cands, err := q.GiftAidCandidates(ctx, end.Unix())
	if err != nil {
		return nil, err
	}
	decls, err := q.GiftAidDeclarations(ctx)
	if err != nil {
		return nil, err
	}
	windows := map[string][]Window{}
	for _, d := range decls {
		windows[d.DonorID] = append(windows[d.DonorID], Window{From: d.From, Until: d.Until})
	}
	// The claim is sent today at the earliest, whatever day it ends on.
	ref := end.Add(-time.Second)
	if now := s.Clock.Now(); now.After(ref) {
		ref = now
	}
	rules := Rules{Oldest: OldestClaimable(ref.In(s.Location)), Location: s.Location}
	var lines []Line
	var exceptions []Exception
	for _, c := range cands {
		l, ex := Check(Gift{Donation: c.Donation, DonorName: c.DonorName, DonorAddress: c.DonorAddress, DonorStatus: c.DonorStatus,
			Windows: windows[c.DonorID]}, rules)
		switch {
		case l != nil:
			lines = append(lines, *l)
		case ex != nil:
			exceptions = append(exceptions, *ex)
		}
	}
	over, err := q.GiftAidOverclaims(ctx)
	if err != nil {
		return nil, err
	}
	var adjustments []Adjustment
	for _, o := range over {
		was, err := money.Add(o.Claimed, o.Adjusted)
		if err != nil {
			return nil, fmt.Errorf("gift aid adjustment: %w", err)
		}
		net := max(o.Net, 0)
		adjustments = append(adjustments, Adjustment{DonationID: o.DonationID, DonorID: o.DonorID, OriginalClaimID: o.ClaimID,
			Created: o.Created, Amount: net - was, NetAfter: net})
	}
	sch, err := Build(lines, exceptions, adjustments, aggregate, s.Location)
	if err != nil {
		return nil, err
	}
	sch.To = to
	return sch, nil
}

// Claim makes a claim of every eligible gift made up to req.To that no
// claim has taken yet, with the adjustments of the earlier claims' gifts
// refunded since. Each gift goes into the claim through the database's
// unique key, so that two claims made at once share the gifts out and never
// both take one; the claim and its audit entry are one transaction. A dry
// run records nothing and returns the schedule a claim would have.
func (s *Service) Claim(ctx context.Context, req Request) (*Result, error) {
	if req.DryRun {
		sch, err := s.Preview(ctx, req.To, req.Aggregate)
		if err != nil {
			return nil, err
		}
		return &Result{Schedule: sch}, nil
	}
	if strings.TrimSpace(req.Actor) == "" {
		return nil, domain.Errorf(domain.EINVALID, "say who makes the claim (the actor is recorded with it)")
	}
	var res *Result
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		pre, err := s.preview(ctx, tx.Q, req.To, req.Aggregate)
		if err != nil {
			return err
		}
		if len(pre.Lines) == 0 && len(pre.Adjustments) == 0 {
			return nothingToClaim(req.To, len(pre.Exceptions))
		}
		now := s.Clock.Now().Unix()
		c := &store.GiftAidClaim{ToDate: req.To, Actor: req.Actor, CreatedAt: now}
		if req.Aggregate {
			c.Aggregate = 1
		}
		if err := tx.InsertGiftAidClaim(ctx, c); err != nil {
			return err
		}
		// In one order for every claim, so that two at once never wait on each other in a circle.
		byID := slices.Clone(pre.Lines)
		slices.SortFunc(byID, func(a, b Line) int { return strings.Compare(a.DonationID, b.DonationID) })
		var got []Line
		for _, l := range byID {
			ok, err := tx.ClaimGift(ctx, c.ID, l.DonationID, l.Amount, l.Created)
			if err != nil {
				return err
			}
			if ok {
				got = append(got, l)
			}
		}
		var adjusted []Adjustment
		for _, a := range pre.Adjustments {
			ok, err := tx.InsertGiftAidAdjustment(ctx, &store.GiftAidAdjustment{ClaimID: c.ID, OriginalClaimID: a.OriginalClaimID,
				DonationID: a.DonationID, Amount: a.Amount, NetAfter: a.NetAfter})
			if err != nil {
				return err
			}
			if ok {
				adjusted = append(adjusted, a)
			}
		}
		if len(got) == 0 && len(adjusted) == 0 {
			return nothingToClaim(req.To, len(pre.Exceptions))
		}
		sch, err := Build(got, pre.Exceptions, adjusted, req.Aggregate, s.Location)
		if err != nil {
			return err
		}
		sch.ClaimID, sch.To = c.ID, req.To
		c.Gifts, c.Total, c.Adjustments, c.AdjustmentTotal, c.Earliest = len(got), sch.Total, len(adjusted), sch.AdjustmentTotal, sch.Earliest
		if err := tx.UpdateGiftAidClaimTotals(ctx, c); err != nil {
			return err
		}
		if err := tx.Audit(ctx, &store.AuditEntry{Actor: req.Actor, Action: "giftaid.claim", Subject: c.ID, CreatedAt: now,
			Detail: fmt.Sprintf("up to %s: %d gifts, %s; %d adjustments, %s", req.To, c.Gifts, money.New(c.Total, "GBP"),
				c.Adjustments, money.New(c.AdjustmentTotal, "GBP"))}); err != nil {
			return err
		}
		res = &Result{Claim: c, Schedule: sch}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func nothingToClaim(to string, exceptions int) error {
	msg := fmt.Sprintf("nothing to claim up to %s: every eligible gift is already in a claim and no claimed gift was refunded since", to)
	if exceptions > 0 {
		msg += fmt.Sprintf(" (%d gifts with a declaration are exceptions: see the preview)", exceptions)
	}
	return domain.Errorf(domain.ECONFLICT, "%s", msg)
}

// MaxReference is the longest HMRC reference MarkSubmitted accepts.
const MaxReference = 100

// MarkSubmitted records HMRC's acknowledgment of a claim (its reference),
// once, with an audit entry.
func (s *Service) MarkSubmitted(ctx context.Context, claimID, reference, actor string) (*store.GiftAidClaim, error) {
	reference = strings.TrimSpace(reference)
	if reference == "" {
		return nil, domain.Errorf(domain.EINVALID, "give HMRC's reference for the claim (the acknowledgment's correlation or submission reference)")
	}
	if utf8.RuneCountInString(reference) > MaxReference || strings.ContainsAny(reference, "\r\n") {
		return nil, domain.Errorf(domain.EINVALID, "HMRC's reference is one line of at most %d characters", MaxReference)
	}
	if strings.TrimSpace(actor) == "" {
		return nil, domain.Errorf(domain.EINVALID, "say who marks the claim submitted (recorded with it)")
	}
	var out *store.GiftAidClaim
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		c, err := tx.GiftAidClaim(ctx, claimID)
		if err != nil {
			return err
		}
		if c.SubmittedAt != 0 {
			return domain.Errorf(domain.ECONFLICT, "claim %s was already marked submitted on %s with HMRC reference %s",
				c.ID, time.Unix(c.SubmittedAt, 0).In(s.Location).Format(time.DateOnly), c.HMRCReference)
		}
		now := s.Clock.Now().Unix()
		ok, err := tx.MarkGiftAidSubmitted(ctx, c.ID, reference, actor, now)
		if err != nil {
			return err
		}
		if !ok {
			return domain.Errorf(domain.ECONFLICT, "claim %s was marked submitted at the same time by someone else", c.ID)
		}
		if err := tx.Audit(ctx, &store.AuditEntry{Actor: actor, Action: "giftaid.submitted", Subject: c.ID, CreatedAt: now,
			Detail: "HMRC reference " + reference}); err != nil {
			return err
		}
		c.SubmittedAt, c.SubmittedBy, c.HMRCReference = now, actor, reference
		out = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// List returns the newest claims first.
func (s *Service) List(ctx context.Context, limit int) ([]store.GiftAidClaim, error) {
	return s.Store.GiftAidClaims(ctx, limit)
}

// ErasedError says a stored claim's schedule can no longer be made: some
// of its donors were erased since, and impactd keeps no copy of a name or
// an address (README: "Erased means gone").
type ErasedError struct {
	ClaimID string
	Erased  int
}

func (e *ErasedError) Error() string { return e.Unwrap().Error() }

// Unwrap is the domain error (a conflict) that says it in words.
func (e *ErasedError) Unwrap() error {
	return domain.Errorf(domain.ECONFLICT, "the schedule of claim %s can no longer be made: %d of its gifts are from donors erased "+
		"since it was made, and impactd keeps no copy of a name or an address; the files written when the claim was made are its record",
		e.ClaimID, e.Erased)
}

// Remake makes a stored claim's schedule again, for its files: the gifts
// and amounts recorded with the claim, each donor's name and address as
// they are now. It fails with *ErasedError when a donor was erased.
func (s *Service) Remake(ctx context.Context, claimID string) (*store.GiftAidClaim, *Schedule, error) {
	c, err := s.Store.GiftAidClaim(ctx, claimID)
	if err != nil {
		return nil, nil, err
	}
	gifts, err := s.Store.GiftAidClaimGifts(ctx, claimID)
	if err != nil {
		return nil, nil, err
	}
	erased := 0
	var lines []Line
	var exceptions []Exception
	for _, g := range gifts {
		if g.DonorStatus == domain.DonorErased {
			erased++
			continue
		}
		l := Line{DonationID: g.DonationID, DonorID: g.DonorID, Created: g.Created, Amount: g.Amount}
		var why Reason
		if l.Name, why = SplitName(g.DonorName); why == "" {
			l.Home, why = HomeOf(g.DonorAddress)
		}
		if why != "" {
			// The donor's details changed since the claim: the row is
			// still written with what is left, and listed to look at.
			exceptions = append(exceptions, Exception{DonationID: g.DonationID, DonorID: g.DonorID, Created: g.Created,
				Amount: g.Amount, Currency: "GBP", Reason: why})
		}
		lines = append(lines, l)
	}
	if erased > 0 {
		return c, nil, &ErasedError{ClaimID: c.ID, Erased: erased}
	}
	adj, err := s.Store.GiftAidClaimAdjustments(ctx, claimID)
	if err != nil {
		return nil, nil, err
	}
	var adjustments []Adjustment
	for _, a := range adj {
		adjustments = append(adjustments, Adjustment{DonationID: a.DonationID, DonorID: a.DonorID, OriginalClaimID: a.OriginalClaimID,
			Created: a.Created, Amount: a.Amount, NetAfter: a.NetAfter})
	}
	sch, err := Build(lines, exceptions, adjustments, c.Aggregate == 1, s.Location)
	if err != nil {
		return nil, nil, err
	}
	sch.ClaimID, sch.To = c.ID, c.ToDate
	if sch.Total != c.Total {
		return nil, nil, domain.Errorf(domain.EINTERNAL, "claim %s: its gifts add up to %d pence, its record says %d", c.ID, sch.Total, c.Total)
	}
	return c, sch, nil
}

// FileBase names a claim's files: "giftaid-gac_…", or for a dry run
// "giftaid-dry-run-2026-09-30".
func FileBase(s *Schedule) string {
	if s.ClaimID == "" {
		return "giftaid-dry-run-" + s.To
	}
	return "giftaid-" + s.ClaimID
}
