package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"impactd/internal/domain"
	"impactd/internal/money"
	"impactd/internal/runs"
)

// What the run page says beyond the counts: why a run sent nothing and what
// to do next, the reasons donors were left out in words, a few of the run's
// letters to look at, and the rerun form as it was filled in (or as a next
// step fills it). The sentences come from internal/runs; the console adds
// its own next steps, which name its forms and pages.

// samplesShown is how many of a run's letters its page shows.
const samplesShown = 3

// exception is a skip reason with its count, in words.
type exception struct {
	Reason string
	Label  string
	Count  int
	Next   []part
}

// emptyRun is why a finished run sent (a dry run: made) nothing.
type emptyRun struct {
	Sentence string
	Next     []part
}

// sampleLetter is one of a run's letters as its page describes it.
type sampleLetter struct {
	StatementID string
	DonorID     string
	Name        string // "" when erased since
	Why         string // why this one was picked, if for more than being early
	Corrects    string // the date of the letter it corrects, or ""
	SameAsSent  int64  // when the same letter was delivered before (a forced run), or 0
	Diff        []string
	Totals      []string // "£25.00 (1 gift)", per currency
	Code        string   // the verification code printed on it
	Status      string   // the job's: rendered (dry run), sent, failed
}

// rerunForm is the rerun form's values: its defaults, what a next step
// fills in, or what was posted when the form is shown again.
type rerunForm struct {
	Scope  string // "failed", "period" or "donor"
	Donor  string
	Force  bool
	DryRun bool
	Reason string
	// Query and Candidates are set when the donor typed matches several:
	// the form lists them to pick from.
	Query      string
	Candidates []domain.Donor
	More       int // matches not listed
}

// nextSteps are the console's next step for donors left out for a reason;
// again is the run page's link that fills the rerun form to send again.
func nextSteps(reason string, run *domain.Run, again string) []part {
	switch reason {
	case domain.SkipUnchanged:
		if run.DryRun {
			return []part{text("To look at these letters anyway, "), {Text: "rerun as a dry run with “Send again” ticked", Href: again},
				text(": they are made again and nothing is sent.")}
		}
		return []part{text("To send again anyway, "), {Text: "tick “Send again” in Rerun", Href: again}, text(" and say why.")}
	case domain.SkipAlreadySent:
		return []part{text("This run was for the unsent only. To send corrections of letters that changed, rerun the whole period.")}
	case domain.SkipSentByOtherRun:
		return []part{text("Nothing to do: another run has this letter, sent or sending.")}
	case domain.SkipUnsubscribed:
		return []part{text("Nothing to do: they asked for no more letters, and can restart them from their preferences page.")}
	case domain.SkipNoConsent:
		return []part{text("Nothing to do here: impact letters are marketing, and go only to supporters whose Stripe record says they consented.")}
	case domain.SkipNoEmail:
		return []part{text("A letter can be emailed once their Stripe record has an email address; until then nothing can be sent.")}
	case domain.SkipBounced:
		return []part{text("Once the supporter's mailbox works again, clear the address on "), {Text: "Bounces", Href: "/console/bounces"},
			text(", then rerun.")}
	case domain.SkipErased, domain.SkipMerged:
		return []part{text("Nothing to do: erased and merged donors get no letter of their own.")}
	case domain.SkipNetNotPositive:
		return []part{text("Nothing to do: a letter never thanks someone for nothing.")}
	case runs.EmptyNoDonors:
		if run.Scope == domain.RunScopeFailed {
			return []part{text("Nothing to do.")}
		}
		return []part{text("Check the period: letters go to the supporters who gave, or were refunded, in it.")}
	case runs.EmptyFailed:
		return []part{text("Fix what the failures below say, then rerun “Only the failed emails”.")}
	}
	return nil
}

// againLink is the run page with the rerun form filled to send the run's
// letters again (forced), as a dry run if the run was one.
func againLink(run *domain.Run) string {
	return "/console/runs/" + run.ID + "?again=1#rerun-h"
}

// exceptions are a run's skip reasons, most common first, in words.
func exceptions(run *domain.Run, by map[string]int) []exception {
	var ex []exception
	for reason, n := range by {
		if n > 0 {
			ex = append(ex, exception{Reason: reason, Label: runs.SkipLabel(reason), Count: n, Next: nextSteps(reason, run, againLink(run))})
		}
	}
	sort.Slice(ex, func(i, j int) bool {
		if ex[i].Count != ex[j].Count {
			return ex[i].Count > ex[j].Count
		}
		return ex[i].Reason < ex[j].Reason
	})
	return ex
}

// whyEmpty says why a finished run sent nothing, or nil.
func whyEmpty(run *domain.Run, c domain.RunCounts) *emptyRun {
	e, ok := runs.WhyEmpty(run, c)
	if !ok {
		return nil
	}
	lead := "This run sent nothing: "
	if run.DryRun {
		lead = "This dry run made no letter to look at: "
	}
	return &emptyRun{Sentence: lead + e.Sentence + ".", Next: nextSteps(e.Cause, run, againLink(run))}
}

// samples describes a few of a run's letters.
func (c *Console) samples(ctx context.Context, runID string) ([]sampleLetter, error) {
	ss, err := c.o.Runs.Samples(ctx, runID, samplesShown)
	if err != nil {
		return nil, err
	}
	out := make([]sampleLetter, 0, len(ss))
	for _, s := range ss {
		l := sampleLetter{StatementID: s.Statement.ID, DonorID: s.Statement.DonorID, Name: s.Snapshot.Donor.Name, Why: s.Why,
			Corrects: s.Snapshot.Corrects, Code: domain.VerificationCode(s.Statement.ContentHash), Status: s.Job.Status, SameAsSent: s.SameAsSent}
		if s.Statement.Replaces != "" && l.Corrects == "" {
			l.Corrects = "an earlier date"
		}
		for _, line := range strings.Split(s.Statement.Diff, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				l.Diff = append(l.Diff, line)
			}
		}
		gifts := map[string]int{}
		for _, g := range s.Snapshot.Gifts {
			gifts[g.Amount.Currency]++
		}
		for _, t := range s.Snapshot.Totals {
			n := gifts[t.Currency]
			plural := "s"
			if n == 1 {
				plural = ""
			}
			l.Totals = append(l.Totals, fmt.Sprintf("%s net (%d gift%s)", money.New(t.Net, t.Currency), n, plural))
		}
		out = append(out, l)
	}
	return out, nil
}

// formFrom reads the rerun form as posted, to show it again; a donor
// picked from a list of matches stands for the one typed.
func formFrom(r *http.Request) rerunForm {
	f := rerunForm{Scope: r.PostFormValue("scope"), Donor: strings.TrimSpace(r.PostFormValue("donor")), Force: r.PostFormValue("force") == "yes",
		DryRun: r.PostFormValue("dry_run") == "yes", Reason: r.PostFormValue("reason")}
	if pick := r.PostFormValue("donor_pick"); pick != "" {
		f.Donor = pick
	}
	return f
}

// defaultForm is the rerun form as the run page first shows it: the failed
// emails; or, after a next step's link (?again=1), the run's letters sent
// (or made, for a dry run) again.
func defaultForm(run *domain.Run, q url.Values) rerunForm {
	f := rerunForm{Scope: domain.RunScopeFailed}
	if q.Get("again") == "1" {
		f.Scope, f.Force, f.DryRun = domain.RunScopePeriod, true, run.DryRun
		if run.Scope == domain.RunScopeDonor {
			f.Scope, f.Donor = domain.RunScopeDonor, run.DonorID
		}
	}
	return f
}

// runDonorName names the donor of a one-donor run, for its heading.
func (c *Console) runDonorName(ctx context.Context, run *domain.Run) (string, error) {
	if run.DonorID == "" {
		return "", nil
	}
	names, err := c.o.Store.DonorNames(ctx, []string{run.DonorID})
	if err != nil {
		return "", err
	}
	return names[run.DonorID], nil
}
