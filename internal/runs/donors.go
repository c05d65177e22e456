package runs

import (
	"context"
	"fmt"
	"strings"

	"impactd/internal/domain"
	"impactd/internal/ingest"
	"impactd/internal/searchkey"
	"impactd/internal/store"
)

// MaxCandidates is how many donors an AmbiguousDonorError lists.
const MaxCandidates = 10

// AmbiguousDonorError is the answer to a one-donor run whose donor was
// named by something several donors match: a name, part of one, or an
// email address they share. Nothing was started. The person picks one of
// Donors (by id) and asks again. Its message names donor ids only, never
// names or addresses, so that it can be logged; adapters show the
// candidates' names from Donors.
type AmbiguousDonorError struct {
	Donors []domain.Donor // at most MaxCandidates, the likeliest first
	Total  int            // how many match; a lower bound when More is set
	More   bool           // more than store.SearchCountLimit match
	// SharedEmail is set when they were found by an email address they all
	// have (merging them may be what is wanted).
	SharedEmail bool
}

// Error says how many match and which.
func (e *AmbiguousDonorError) Error() string { return e.Unwrap().Error() }

// Unwrap gives the coded error, for domain.ErrorCode and ErrorMessage.
func (e *AmbiguousDonorError) Unwrap() error {
	ids := make([]string, len(e.Donors))
	for i, d := range e.Donors {
		ids[i] = d.ID
	}
	list := strings.Join(ids, ", ")
	if e.Total > len(ids) {
		list += ", …"
	}
	if e.SharedEmail {
		return domain.Errorf(domain.EINVALID, "several donors have that email address (%s): give a donor id", list)
	}
	n := fmt.Sprint(e.Total)
	if e.More {
		n = fmt.Sprintf("more than %d", e.Total)
	}
	return domain.Errorf(domain.EINVALID, "%s donors match that (%s): give a donor id, or more of the name", n, list)
}

// FindDonor finds the one donor that what a person typed names, the way
// the console's donor search finds people: a donor id; an email address
// (every address linked to a donor counts); or part of a name or an
// address, accent-, case- and script-insensitively. A name that exactly one
// of the matches has in full wins over matches that only contain it. When
// several donors match it returns an *AmbiguousDonorError listing them;
// when none does, an ENOTFOUND error. Every one-donor run — command line,
// API, console — is resolved here.
func (s *Service) FindDonor(ctx context.Context, who string) (*domain.Donor, error) {
	return findDonor(ctx, s.Store.Q, who)
}

func findDonor(ctx context.Context, q store.Q, who string) (*domain.Donor, error) {
	who = strings.TrimSpace(who)
	if who == "" {
		return nil, domain.Errorf(domain.EINVALID, "a one-donor run needs the donor: their name, email address or donor id")
	}
	if strings.HasPrefix(who, "dnr_") && !strings.ContainsAny(who, " \t") {
		d, err := q.Donor(ctx, who)
		switch {
		case domain.ErrorCode(err) == domain.ENOTFOUND:
			return nil, domain.Errorf(domain.ENOTFOUND, "no donor has the id %q", who)
		case err != nil:
			return nil, fmt.Errorf("find donor: %w", err)
		case d.MergedInto != "":
			return nil, domain.Errorf(domain.EINVALID, "donor %s was merged into %s, who gets their letters: give %s", d.ID, d.MergedInto, d.MergedInto)
		}
		return d, nil
	}
	if strings.Contains(who, "@") {
		ds, err := q.DonorsByEmail(ctx, ingest.NormaliseEmail(who))
		if err != nil {
			return nil, fmt.Errorf("find donor: %w", err)
		}
		switch {
		case len(ds) == 1:
			return &ds[0], nil
		case len(ds) > 1:
			return nil, &AmbiguousDonorError{Donors: ds[:min(len(ds), MaxCandidates)], Total: len(ds), SharedEmail: true}
		}
		// Part of an address: searched for below.
	}
	res, err := q.SearchDonors(ctx, who, MaxCandidates)
	if err != nil {
		return nil, fmt.Errorf("find donor: %w", err)
	}
	switch {
	case res.Total == 0:
		return nil, domain.Errorf(domain.ENOTFOUND, "no donor's name or email address matches that: search the donors, or give a donor id")
	case res.Total == 1 && len(res.Donors) == 1:
		return &res.Donors[0], nil
	}
	// "Ann Lee" among "Ann Lee" and "Joann Leeds": the one whose whole name
	// it is. Only the first page is looked at; it holds the matches that
	// start words first, and a whole name starts one.
	folded, exact := searchkey.Fold(who), -1
	for i, d := range res.Donors {
		if searchkey.Fold(d.Name) == folded {
			if exact >= 0 {
				exact = -1
				break
			}
			exact = i
		}
	}
	if exact >= 0 {
		return &res.Donors[exact], nil
	}
	return nil, &AmbiguousDonorError{Donors: res.Donors, Total: res.Total, More: res.More}
}
