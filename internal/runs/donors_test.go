package runs_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"impactd/internal/domain"
	"impactd/internal/runs"
	"impactd/internal/store/storetest"
)

// TestFindDonor: a one-donor run finds the person as the donor search does
// — by id, by any of their email addresses, by part of a name or address in
// any case and without accents — and when several match it says which,
// naming ids only, and starts nothing.
func TestFindDonor(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		a := newApp(t, dbURL, nil)
		seed(t, a.Store, 1000) // "Donor 0", donor-0@example.org, and the period's update
		donors := map[string]*domain.Donor{}
		for key, d := range map[string]domain.Donor{
			"ann":    {Name: "Ann Lee", Email: "ann.lee@example.org"},
			"joann":  {Name: "Joann Leeds", Email: "jl@example.net"},
			"lukas":  {Name: "Jan Łukasiewicz", Email: "jan@example.com"},
			"smith1": {Name: "Alex Smith", Email: "alex.smith@example.com"},
			"smith2": {Name: "Sam Smith", Email: "sam@smith.example"},
			"twin1":  {Name: "Pat Twin", Email: "twins@example.org"},
			"twin2":  {Name: "Chris Twin", Email: "twins@example.org"},
			"merged": {Name: "Old Record", Email: "old@example.org"},
		} {
			d.Status, d.CreatedAt, d.UpdatedAt = domain.DonorActive, 1, 1
			if err := a.Store.CreateDonor(ctx, &d); err != nil {
				t.Fatal(err)
			}
			donors[key] = &d
		}
		if err := a.Store.LinkEmail(ctx, "ann@work.example", donors["ann"].ID, 1); err != nil {
			t.Fatal(err)
		}
		if err := a.Store.MergeDonors(ctx, donors["ann"].ID, donors["merged"].ID, 2); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name, who string
			want      string   // the donor found
			several   []string // or the donors offered
			code      string   // or the error's code
			message   string   // and part of its message
		}{
			{name: "id", who: " " + donors["joann"].ID + " ", want: "joann"},
			{name: "email", who: "JAN@example.com", want: "lukas"},
			{name: "a linked email", who: "ann@work.example", want: "ann"},
			{name: "part of an email", who: "alex.smi", want: "smith1"},
			{name: "part of a name, no accents", who: "lukasiew", want: "lukas"},
			{name: "the whole name of one among several matches", who: "ann lee", want: "ann"},
			{name: "one surname, two people", who: "smith", several: []string{"smith1", "smith2"}, code: domain.EINVALID, message: "2 donors match that ("},
			{name: "a shared email", who: "twins@example.org", several: []string{"twin1", "twin2"}, code: domain.EINVALID, message: "several donors have that email address"},
			{name: "nobody", who: "Zebedee", code: domain.ENOTFOUND, message: "no donor's name or email address matches that"},
			{name: "unknown id", who: "dnr_nobody", code: domain.ENOTFOUND, message: `no donor has the id "dnr_nobody"`},
			{name: "merged id", who: donors["merged"].ID, code: domain.EINVALID, message: "was merged into " + donors["ann"].ID},
			{name: "nothing", who: "  ", code: domain.EINVALID, message: "their name, email address or donor id"},
		}
		for _, tt := range tests {
			d, err := a.Runs.FindDonor(ctx, tt.who)
			if tt.want != "" {
				if err != nil || d.ID != donors[tt.want].ID {
					t.Errorf("%s: %+v %v, want %s", tt.name, d, err, tt.want)
				}
				continue
			}
			if domain.ErrorCode(err) != tt.code || !strings.Contains(domain.ErrorMessage(err), tt.message) {
				t.Errorf("%s: %v, want %s with %q", tt.name, err, tt.code, tt.message)
			}
			var many *runs.AmbiguousDonorError
			if len(tt.several) == 0 {
				continue
			}
			if !errors.As(err, &many) || len(many.Donors) != len(tt.several) || many.Total != len(tt.several) {
				t.Errorf("%s: %v, want the %d donors offered", tt.name, err, len(tt.several))
				continue
			}
			for _, key := range tt.several {
				found := false
				for _, c := range many.Donors {
					found = found || c.ID == donors[key].ID
				}
				if !found {
					t.Errorf("%s: %s not offered", tt.name, key)
				}
				if strings.Contains(err.Error(), donors[key].Name) || strings.Contains(err.Error(), donors[key].Email) {
					t.Errorf("%s: the message names a person: %q", tt.name, err)
				}
			}
		}

		// A run by name is that donor's; an ambiguous one starts nothing.
		run, err := a.Runs.Start(ctx, with(quarter, func(r *runs.Request) { r.Scope, r.Donor, r.DryRun = domain.RunScopeDonor, "Łukasiewicz", true }))
		if err != nil || run.DonorID != donors["lukas"].ID {
			t.Fatalf("run by name: %+v %v", run, err)
		}
		before, _ := a.Store.RecentRuns(ctx, 10)
		if _, err := a.Runs.Start(ctx, with(quarter, func(r *runs.Request) { r.Scope, r.Donor = domain.RunScopeDonor, "Smith" })); err == nil {
			t.Fatal("an ambiguous name started a run")
		}
		if after, _ := a.Store.RecentRuns(ctx, 10); len(after) != len(before) {
			t.Errorf("%d runs after an ambiguous start, want %d", len(after), len(before))
		}
	})
}
