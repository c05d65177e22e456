package runs

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"impactd/internal/domain"
	"impactd/internal/period"
)

// What a run did, said for people: why a donor got no letter, why a run
// sent nothing at all, and a few of its letters to look at. The command
// line and the console say these sentences and add their own next step
// (a flag, a form).

// skipWords say a skip reason: a label for a table, and a predicate for
// one donor and for several ("2 already have this letter, unchanged").
var skipWords = map[string]struct{ label, one, many string }{
	domain.SkipUnchanged:      {"Already sent, unchanged", "already has this letter, unchanged", "already have this letter, unchanged"},
	domain.SkipAlreadySent:    {"Already sent (the run was for the unsent only)", "was already sent a letter for the period", "were already sent a letter for the period"},
	domain.SkipSentByOtherRun: {"Sent by another run", "is sent this letter by another run", "are sent this letter by another run"},
	domain.SkipUnsubscribed:   {"Unsubscribed", "asked for no more letters", "asked for no more letters"},
	domain.SkipNoEmail:        {"No email address", "has no email address", "have no email address"},
	domain.SkipBounced:        {"Address bounced", "has an address that bounced", "have addresses that bounced"},
	domain.SkipErased:         {"Erased", "was erased", "were erased"},
	domain.SkipMerged:         {"Merged into another donor", "was merged into another donor", "were merged into other donors"},
	domain.SkipNetNotPositive: {"Refunded in full", "was refunded in full, so a letter would thank them for nothing",
		"were refunded in full, so a letter would thank them for nothing"},
	domain.SkipNoConsent: {"No marketing consent", "has no marketing consent recorded, which impact letters need",
		"have no marketing consent recorded, which impact letters need"},
}

// SkipLabel names a skip reason in a few words: "Already sent, unchanged".
func SkipLabel(reason string) string {
	if w, ok := skipWords[reason]; ok {
		return w.label
	}
	return strings.ToUpper(reason[:min(1, len(reason))]) + strings.ReplaceAll(reason[min(1, len(reason)):], "_", " ")
}

// skipPredicate says what n donors left out for reason did or are.
func skipPredicate(reason string, n int) string {
	w, ok := skipWords[reason]
	switch {
	case !ok:
		return "were left out (" + strings.ReplaceAll(reason, "_", " ") + ")"
	case n == 1:
		return w.one
	}
	return w.many
}

// Causes of a run with nothing to show besides the skip reasons (domain.Skip*).
const (
	// EmptyNoDonors: the run considered nobody.
	EmptyNoDonors = "no_donors"
	// EmptyFailed: every letter the run tried failed.
	EmptyFailed = "failed"
)

// Empty says why a finished run sent no letter — or, a dry run, made none.
type Empty struct {
	// Cause is the main reason: a skip reason (domain.Skip*) that most of
	// its donors share, EmptyNoDonors or EmptyFailed.
	Cause string
	// Sentence says why, to follow "nothing was sent: ", e.g. "all 105
	// donors already have this letter, unchanged".
	Sentence string
}

// WhyEmpty says why run, with counts c, sent nothing (a dry run: made
// nothing); ok is false when it sent (made) something or is unfinished.
// A paused run is unfinished: its pause reason says why.
func WhyEmpty(run *domain.Run, c domain.RunCounts) (Empty, bool) {
	if run.Unfinished() || c.Open() > 0 || c.Sent > 0 || (run.DryRun && c.DryRendered > 0) {
		return Empty{}, false
	}
	if c.Jobs == 0 {
		label := run.Period
		if p, err := period.Parse(run.Period); err == nil {
			label = p.String() + " (" + p.Label() + ")"
		}
		s := "nobody gave or was refunded in " + label + ", so the run had no one to write to"
		if run.Scope == domain.RunScopeFailed {
			s = "no letter of " + label + " had failed and stayed undelivered, so there was nothing to rerun"
		}
		return Empty{Cause: EmptyNoDonors, Sentence: s}, true
	}
	type group struct {
		reason string
		n      int
	}
	var gs []group
	for r, n := range c.SkippedBy {
		if n > 0 {
			gs = append(gs, group{r, n})
		}
	}
	slices.SortFunc(gs, func(a, b group) int { return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.reason, b.reason)) })
	var parts []string
	if c.Failed > 0 {
		s := fmt.Sprintf("%d letters failed", c.Failed)
		switch {
		case c.Jobs == 1:
			s = "the letter failed"
		case c.Failed == c.Jobs:
			s = "every letter failed"
		case c.Failed == 1:
			s = "1 letter failed"
		}
		parts = append(parts, s+" (see why below)")
	}
	for _, g := range gs {
		switch {
		case g.n == c.Jobs && c.Jobs == 1:
			parts = append(parts, "the donor "+skipPredicate(g.reason, 1))
		case g.n == c.Jobs:
			parts = append(parts, fmt.Sprintf("all %d donors %s", g.n, skipPredicate(g.reason, g.n)))
		default:
			parts = append(parts, fmt.Sprintf("%d %s", g.n, skipPredicate(g.reason, g.n)))
		}
	}
	e := Empty{Cause: EmptyFailed, Sentence: strings.Join(parts, "; ")}
	if c.Failed == 0 && len(gs) > 0 {
		e.Cause = gs[0].reason
	}
	return e, true
}

// Sample is one of a run's letters, to look at.
type Sample struct {
	Job       domain.JobView
	Statement *domain.Statement
	Snapshot  *domain.Snapshot
	// Why it was picked, when not only for being early in the run: "a
	// correction", "no postal address", "several currencies".
	Why string
	// SameAsSent is when the same letter had been delivered before this
	// one was made (unix seconds): a letter made again by a forced run; 0
	// otherwise.
	SameAsSent int64
}

// sampleScan is how many of a run's first jobs Samples looks among: enough
// to find the kinds of letter worth a look, few enough to read every time a
// run's page is shown.
const sampleScan = 200

// Samples returns up to n of a run's letters to look at — a dry run's
// before anything is sent: among its first letters, a correction, one with
// no postal address and one in several currencies first, then the
// earliest. It reads the stored statements; rendering the PDF is the
// caller's (each is a pure function of its snapshot).
func (s *Service) Samples(ctx context.Context, runID string, n int) ([]Sample, error) {
	jobs, err := s.Store.RunJobs(ctx, runID, "", sampleScan)
	if err != nil {
		return nil, fmt.Errorf("samples: %w", err)
	}
	run, err := s.Store.Run(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("samples: %w", err)
	}
	var picked []Sample
	taken := map[string]bool{}
	pick := func(why string, ok func(j domain.JobView) bool) {
		for _, j := range jobs {
			if len(picked) == n {
				return
			}
			if j.StatementID != "" && !taken[j.ID] && ok(j) {
				taken[j.ID] = true
				picked = append(picked, Sample{Job: j, Why: why})
				if why != "" {
					return
				}
			}
		}
	}
	pick("a correction", func(j domain.JobView) bool { return j.Replaces != "" })
	pick("no postal address", func(j domain.JobView) bool { return j.NoAddress })
	pick("several currencies", func(j domain.JobView) bool { return j.MixedCurrency })
	pick("", func(domain.JobView) bool { return true })
	for i := range picked {
		st, err := s.Store.Statement(ctx, picked[i].Job.StatementID)
		if err != nil {
			return nil, fmt.Errorf("samples: %w", err)
		}
		snap, err := domain.DecodeSnapshot([]byte(st.Snapshot))
		if err != nil {
			return nil, fmt.Errorf("samples: statement %s: %w", st.ID, err)
		}
		picked[i].Statement, picked[i].Snapshot = st, snap
		prev, err := s.Store.LastSentStatement(ctx, st.DonorID, st.Series, st.Period)
		switch {
		case err == nil && run.Force && prev.ID != st.ID && prev.ContentHash == st.ContentHash && prev.SentAt <= st.CreatedAt:
			// Only a forced run makes a letter identical to one delivered;
			// a later send of the same letter does not make this one a repeat.
			picked[i].SameAsSent = prev.SentAt
		case err != nil && domain.ErrorCode(err) != domain.ENOTFOUND:
			return nil, fmt.Errorf("samples: %w", err)
		}
	}
	return picked, nil
}
