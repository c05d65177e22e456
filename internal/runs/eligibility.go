package runs

import (
	"context"
	"fmt"
	"time"

	"impactd/internal/domain"
	"impactd/internal/statement"
	"impactd/internal/store"
)

// Exclusion says why a donor gets no letter of a series now, or "" when
// they may get one. bounced is whether their address was refused for good;
// requireConsent whether the impact letter, direct marketing, needs the
// donor's recorded marketing consent (IMPACTD_MARKETING_CONSENT_METADATA is
// set). This is the one place that decides it: a run asks it for every
// donor when their job is worked (not when the run is planned), so a donor
// who unsubscribes or is erased in between is left out all the same.
func Exclusion(d *domain.Donor, bounced bool, series domain.Series, requireConsent bool) string {
	switch {
	case d.Status == domain.DonorErased:
		return domain.SkipErased
	case d.Status == domain.DonorMerged || d.MergedInto != "":
		return domain.SkipMerged
	case d.Status == domain.DonorUnsubscribed || !domain.Receives(d.Letters, series):
		return domain.SkipUnsubscribed
	case series.OrDefault() == domain.SeriesImpact && requireConsent && d.MarketingConsent != domain.ConsentYes:
		return domain.SkipNoConsent
	case d.Email == "":
		return domain.SkipNoEmail
	case bounced:
		return domain.SkipBounced
	}
	return ""
}

// SkipStored says why a stored statement must not be sent (again), or "":
// a letter whose period's net is zero or less in every currency thanks the
// donor for nothing, and no one may force it out.
func SkipStored(snap *domain.Snapshot) string {
	if !domain.NetPositive(snap) {
		return domain.SkipNetNotPositive
	}
	return ""
}

// skipSentences explain skip reasons in messages to people.
var skipSentences = map[string]string{
	domain.SkipNetNotPositive: "its net for the period is zero or less, so it would thank the donor for nothing",
}

// Policy decides what letter, if any, a donor gets in a run: a first
// letter, a correction of the one they were sent, the same letter again
// (forced), or nothing new. Workers ask it for every job.
type Policy struct {
	Store   *store.Store
	Builder *statement.Builder
	Clock   domain.Clock
	// RequireConsent sends impact letters only to donors whose marketing
	// consent is recorded as yes (IMPACTD_MARKETING_CONSENT_METADATA set).
	RequireConsent bool
}

// Exclusion says why the donor gets no letter in the run, or "": Exclusion
// with the run's series and the policy's consent rule.
func (p *Policy) Exclusion(run *domain.Run, d *domain.Donor, bounced bool) string {
	return Exclusion(d, bounced, run.Series, p.RequireConsent)
}

// Letter is a policy's answer for one donor.
type Letter struct {
	// Skip, when not "", says why the donor gets no letter; the rest is unset.
	Skip      string
	Statement *domain.Statement // to store; ID unset
	Snapshot  *domain.Snapshot
	// Key is the letter's domain.LetterKey: what the database's one-letter
	// rule compares.
	Key string
}

// Letter builds the donor's statement for the run, or says why there is
// none. A donor already sent the period's letter gets nothing unless it
// changed (then a correction, dated today, that says what it corrects and
// with the difference recorded) or the run is forced (then the same letter
// again). A letter whose net is zero or less is never made, forced or not.
func (p *Policy) Letter(ctx context.Context, run *domain.Run, sc *statement.Context, d *domain.Donor) (*Letter, error) {
	now := p.Clock.Now()
	prev, err := p.Store.LastSentStatement(ctx, d.ID, run.Series, run.Period)
	if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
		return nil, fmt.Errorf("letter: %w", err)
	}
	if prev != nil && run.Scope == domain.RunScopeUnsent && !run.Force {
		return &Letter{Skip: domain.SkipAlreadySent}, nil
	}
	issued := now
	var old *domain.Snapshot
	if prev != nil {
		// Rebuild with the earlier letter's date: if nothing else differs,
		// the hash matches and the donor is not written to twice.
		if old, err = domain.DecodeSnapshot([]byte(prev.Snapshot)); err != nil {
			return nil, fmt.Errorf("letter: %w", err)
		}
		if t, err := time.ParseInLocation(time.DateOnly, old.IssuedOn, p.Builder.Location); err == nil {
			issued = t
		}
	}
	snap, err := p.Builder.Build(ctx, sc, d, issued)
	if err != nil {
		return nil, fmt.Errorf("letter: %w", err)
	}
	if skip := SkipStored(snap); skip != "" {
		return &Letter{Skip: skip}, nil
	}
	enc, err := snap.Encode()
	if err != nil {
		return nil, fmt.Errorf("letter: %w", err)
	}
	hash := domain.ContentHash(enc)
	st := &domain.Statement{RunID: run.ID, DonorID: d.ID, Series: run.Series.OrDefault(), Period: run.Period, CreatedAt: now.Unix()}
	if prev != nil {
		if prev.ContentHash == hash && !run.Force {
			return &Letter{Skip: domain.SkipUnchanged}, nil
		}
		if prev.ContentHash != hash {
			if snap, err = p.Builder.Build(ctx, sc, d, now); err != nil {
				return nil, fmt.Errorf("letter: %w", err)
			}
			if prev.SentAt != 0 {
				snap.Corrects = time.Unix(prev.SentAt, 0).In(p.Builder.Location).Format("2 January 2006")
			}
			if enc, err = snap.Encode(); err != nil {
				return nil, fmt.Errorf("letter: %w", err)
			}
			hash = domain.ContentHash(enc)
			st.Replaces = prev.ID
			st.Diff = Diff(old, snap)
		}
	}
	st.Snapshot, st.ContentHash = string(enc), hash
	key, err := domain.LetterKey(snap)
	if err != nil {
		return nil, fmt.Errorf("letter: %w", err)
	}
	return &Letter{Statement: st, Snapshot: snap, Key: key}, nil
}
