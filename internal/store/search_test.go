package store_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"testing"

	"impactd/internal/domain"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

// TestSearchDonors: people are found as people type them, the same on
// every database, and the key follows the donor's name and addresses.
func TestSearchDonors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ids := map[string]string{}
		add := func(label, name, email string) *domain.Donor {
			t.Helper()
			d := &domain.Donor{Name: name, Email: email, CreatedAt: 1, UpdatedAt: 1}
			if err := s.CreateDonor(ctx, d); err != nil {
				t.Fatal(err)
			}
			if email != "" {
				if err := s.LinkEmail(ctx, email, d.ID, 1); err != nil {
					t.Fatal(err)
				}
			}
			ids[label] = d.ID
			return d
		}
		zoe := add("zoe", "Zoë Łukasiewicz", "zoe.l@example.org")
		add("asa", "Åsa Øvergaard", "asa@example.net")
		add("natalya", "Наталья Иванова", "n.ivanova@example.org")
		add("ngoc", "Ngọc Ánh Nguyễn", "ngoc@example.org")
		add("guest", "", "anh.tran@example.com")
		add("jurgen", "Jürgen Straße", "")
		add("siobhan", "Siobhán O’Brien", "siobhan@example.org")
		add("dang", "Đặng Văn Lâm", "lam@example.org")
		add("socrates", "Σωκράτης Παπαδόπουλος", "")

		find := func(q string) []string {
			t.Helper()
			res, err := s.SearchDonors(ctx, q, 50)
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			if res.Total != len(res.Donors) {
				t.Fatalf("search %q: %d donors, total %d", q, len(res.Donors), res.Total)
			}
			var got []string
			for _, d := range res.Donors {
				for label, id := range ids {
					if id == d.ID {
						got = append(got, label)
					}
				}
			}
			sort.Strings(got)
			return got
		}
		for q, want := range map[string][]string{
			"lukas":                {"zoe"},
			"ŁUKASIEWICZ":          {"zoe"},
			"Łukasiewicz":          {"zoe"},
			"zoe":                  {"zoe"},
			"Åsa":                  {"asa"},
			"overg":                {"asa"},
			"Øvergaard":            {"asa"},
			"натал":                {"natalya"},
			"НАТАЛЬЯ":              {"natalya"},
			"Nguyen":               {"ngoc"},
			"Ngu":                  {"ngoc"},
			"ngoc anh":             {"ngoc"},
			"Ánh Nguyễn":           {"ngoc"}, // any word order
			"anh":                  {"guest", "ngoc"},
			"tran@exa":             {"guest"},
			"anh.tran@example.com": {"guest"}, // looked up by its local part, checked whole
			"zoe.l@example.org":    {"zoe"},
			"lukasiXiewicz":        {}, // both ends of the name, but not the name
			"lukasiewicz":          {"zoe"},
			"example.org":          {"dang", "natalya", "ngoc", "siobhan", "zoe"},
			"strasse":              {"jurgen"},
			"STRASSE":              {"jurgen"},
			"obrien":               {"siobhan"},
			"o'brien":              {"siobhan"},
			"dang":                 {"dang"},
			"σωκράτης":             {"socrates"},
			"ΣΩΚΡΆΤΗΣ":             {"socrates"},
			"ng":                   {"ngoc"}, // under three letters: the start of the name
			"z":                    {"zoe"},
			"Ø":                    {},
			"nobody":               {},
			"%":                    {},
			"_":                    {},
			zoe.ID:                 {"zoe"},
			"lukas    example.org": {"zoe"},
		} {
			if got := find(q); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Errorf("search %q = %v, want %v", q, got, want)
			}
		}

		// The key follows changes of the name and of the addresses.
		zoe.Name, zoe.UpdatedAt = "Zoë Kowalska", 2
		if err := s.UpdateDonorContact(ctx, zoe); err != nil {
			t.Fatal(err)
		}
		if got := find("lukas"); len(got) != 0 {
			t.Errorf("the old name still finds her: %v", got)
		}
		if got := find("kowal"); !reflect.DeepEqual(got, []string{"zoe"}) {
			t.Errorf("the new name: %v", got)
		}
		if err := s.LinkEmail(ctx, "zk@new.example", zoe.ID, 2); err != nil {
			t.Fatal(err)
		}
		if got := find("new.exam"); !reflect.DeepEqual(got, []string{"zoe"}) {
			t.Errorf("a newly linked address: %v", got)
		}

		// A merged-away donor is found only as the donor it became.
		if err := s.MergeDonors(ctx, ids["ngoc"], ids["guest"], 3); err != nil {
			t.Fatal(err)
		}
		if got := find("tran@exa"); !reflect.DeepEqual(got, []string{"ngoc"}) {
			t.Errorf("the merged guest's address: %v", got)
		}

		// Erased means gone, from the key too.
		if err := s.EraseDonor(ctx, zoe.ID, 4); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"kowal", "zk@new", "zoe", "z"} {
			if got := find(q); len(got) != 0 {
				t.Errorf("search %q finds the erased donor: %v", q, got)
			}
		}
		var key string
		if err := s.DB().Get(&key, s.DB().Rebind(`SELECT search_key FROM donors WHERE id = ?`), zoe.ID); err != nil || key != "" {
			t.Errorf("erased donor's search key %q, %v", key, err)
		}
	})
}

// TestSearchDonorsCounts: a page says how many match in all, in the order
// of the folded names.
func TestSearchDonorsCounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		err := s.InTx(ctx, func(tx *store.Tx) error {
			for i := range 60 {
				if err := tx.CreateDonor(ctx, &domain.Donor{Name: fmt.Sprintf("Person %02d Example", 59-i)}); err != nil {
					return err
				}
			}
			return tx.CreateDonor(ctx, &domain.Donor{Name: "Someone Else"})
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"person", "pe"} {
			res, err := s.SearchDonors(ctx, q, 50)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Donors) != 50 || res.Total != 60 {
				t.Fatalf("%q: %d donors of %d, want 50 of 60", q, len(res.Donors), res.Total)
			}
			if res.Donors[0].Name != "Person 00 Example" || res.Donors[49].Name != "Person 49 Example" {
				t.Errorf("%q: order %q … %q", q, res.Donors[0].Name, res.Donors[49].Name)
			}
		}
	})
}
