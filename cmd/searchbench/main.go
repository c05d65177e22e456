// Command searchbench measures donor search as the console runs it (the
// count and the first page of 50) on a database of many donors, SQLite or
// PostgreSQL, and prints latency percentiles per kind of query.
//
//	go run ./cmd/searchbench --donors 1000000                          # SQLite in a temp dir
//	go run ./cmd/searchbench --donors 1000000 --keep /tmp/search.db    # keep (or reuse) the SQLite file
//	go run ./cmd/searchbench --donors 1000000 --postgres URL           # a fresh schema on URL, dropped after
//	go run ./cmd/searchbench --donors 1000000 --postgres URL --schema searchbench   # keep (or reuse) that schema
//
// Names follow a long-tailed (Zipf) distribution over a few thousand given
// names and tens of thousands of family names in Latin (with and without
// accents), Cyrillic, Greek and Vietnamese, so that a common surname
// matches thousands of donors, as in a real list, and a rare one a handful.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"impactd/internal/domain"
	"impactd/internal/store"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "searchbench:", err)
		os.Exit(1)
	}
}

func run() error {
	donors := flag.Int("donors", 100000, "donors in the database")
	pg := flag.String("postgres", "", "PostgreSQL URL; default SQLite")
	schema := flag.String("schema", "", "with --postgres: use (and keep) this schema instead of a temporary one")
	keep := flag.String("keep", "", "SQLite: use (and keep) this file instead of a temporary one")
	queries := flag.Int("queries", 100, "queries of each kind")
	flag.Parse()
	ctx := context.Background()

	dbURL, cleanup, err := database(ctx, *pg, *schema, *keep)
	if err != nil {
		return err
	}
	defer cleanup()
	s, err := store.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		return err
	}
	have, err := s.CountDonors(ctx)
	if err != nil {
		return err
	}
	g := newNames()
	if have < *donors {
		t0 := time.Now()
		if err := seed(ctx, s, g, have, *donors); err != nil {
			return err
		}
		fmt.Printf("seeded %d donors in %s\n", *donors-have, time.Since(t0).Round(time.Second))
		if s.Dialect() == store.Postgres {
			if _, err := s.DB().ExecContext(ctx, `VACUUM (ANALYZE) donors`); err != nil {
				return err
			}
		}
	}
	n, _ := s.CountDonors(ctx)
	fmt.Printf("database   %s, %d donors\n", s.Dialect(), n)

	rng := rand.New(rand.NewPCG(7, 11))
	kinds := queryKinds(g, rng, min(n, *donors))
	// Warm the caches as a running server has them.
	for _, k := range kinds {
		for _, q := range k.queries[:min(5, len(k.queries))] {
			if _, err := s.SearchDonors(ctx, q, 50); err != nil {
				return err
			}
		}
	}
	fmt.Printf("%-34s %7s %8s %8s %8s %8s %9s\n", "query kind (example)", "queries", "p50", "p95", "p99", "max", "matches")
	var all []time.Duration
	for _, k := range kinds {
		var lat []time.Duration
		total := 0
		for _, q := range k.queries[:min(*queries, len(k.queries))] {
			t0 := time.Now()
			res, err := s.SearchDonors(ctx, q, 50)
			if err != nil {
				return fmt.Errorf("%q: %w", q, err)
			}
			lat = append(lat, time.Since(t0))
			total += res.Total
		}
		all = append(all, lat...)
		fmt.Printf("%-34s %7d %8s %8s %8s %8s %9.0f\n", k.name+" ("+k.queries[0]+")", len(lat), pct(lat, 50), pct(lat, 95), pct(lat, 99), pct(lat, 100),
			float64(total)/float64(len(lat)))
	}
	fmt.Printf("%-34s %7d %8s %8s %8s %8s\n", "all", len(all), pct(all, 50), pct(all, 95), pct(all, 99), pct(all, 100))
	return nil
}

func pct(d []time.Duration, p int) string {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	i = min(max(i-1, 0), len(s)-1)
	return fmt.Sprintf("%.1fms", float64(s[i].Microseconds())/1000)
}

func database(ctx context.Context, pg, schema, keep string) (string, func(), error) {
	if pg == "" {
		if keep != "" {
			return "sqlite:" + keep, func() {}, nil
		}
		dir, err := os.MkdirTemp("", "searchbench")
		if err != nil {
			return "", nil, err
		}
		return "sqlite:" + filepath.Join(dir, "search.db"), func() { os.RemoveAll(dir) }, nil
	}
	admin, err := store.Open(ctx, pg)
	if err != nil {
		return "", nil, err
	}
	drop := schema == ""
	if drop {
		schema = fmt.Sprintf("searchbench_%d", time.Now().UnixNano())
	}
	if _, err := admin.DB().ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
		admin.Close()
		return "", nil, err
	}
	u, err := url.Parse(pg)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		if drop {
			_, _ = admin.DB().ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		}
		admin.Close()
	}, nil
}

// names makes donors' names and addresses.
type names struct {
	given, family []string
}

var (
	onsets = []string{"b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "h", "j", "k", "kl", "l", "m", "n", "p", "pr", "r", "s", "sh", "st", "t", "tr", "v", "w", "z"}
	vowels = []string{"a", "e", "i", "o", "u", "a", "e", "o", "ä", "é", "ó", "ø", "å", "ü", "ł", "ą", "ś"}
	codas  = []string{"", "", "n", "r", "s", "l", "k", "m", "nd", "rt", "sk", "wicz", "son", "sen", "ez", "ov", "ski", "ová", "ides"}
	// Real names of several scripts, also in the pools, so that queries for
	// them mean something.
	realGiven  = []string{"Olivia", "James", "Amelia", "Mohammed", "Priya", "Zoë", "Łucja", "Małgorzata", "Søren", "Åsa", "Chloé", "José", "Siobhán", "Ngọc Ánh", "Thị Hương", "Дмитрий", "Наталья", "Олександр", "Γιώργος", "Ελένη", "Ayşe", "Kwame"}
	realFamily = []string{"Smith", "Jones", "Taylor", "Brown", "Williams", "Patel", "Khan", "O'Brien", "Nguyễn", "Trần", "Phạm", "Łukasiewicz", "Wiśniewska", "Müller", "Schäfer", "Dvořák", "Núñez", "Øvergaard", "Соколов", "Иванова", "Шевченко", "Παπαδόπουλος", "Οικονόμου", "Yılmaz", "Okonkwo"}
	domains    = []string{"example.org", "example.com", "example.net", "mail.example", "post.example", "inbox.example"}
)

func newNames() *names {
	rng := rand.New(rand.NewPCG(2011, 1000000))
	word := func(parts int) string {
		var b strings.Builder
		for range parts {
			b.WriteString(onsets[rng.IntN(len(onsets))])
			b.WriteString(vowels[rng.IntN(len(vowels))])
		}
		b.WriteString(codas[rng.IntN(len(codas))])
		w := b.String()
		r, size := utf8.DecodeRuneInString(w)
		return strings.ToUpper(string(r)) + w[size:]
	}
	g := &names{}
	g.given = append(g.given, realGiven...)
	for len(g.given) < 3000 {
		g.given = append(g.given, word(1+rng.IntN(2)))
	}
	g.family = append(g.family, realFamily...)
	for len(g.family) < 60000 {
		g.family = append(g.family, word(2+rng.IntN(2)))
	}
	return g
}

// person is donor i's name and email address, the same every time.
func (g *names) person(i int) (name, email string) {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	zg := rand.NewZipf(r, 1.1, 4, uint64(len(g.given)-1))
	zf := rand.NewZipf(r, 1.05, 8, uint64(len(g.family)-1))
	given, family := g.given[zg.Uint64()], g.family[zf.Uint64()]
	local := strings.ToLower(strings.NewReplacer(" ", ".", "'", "").Replace(given + "." + family))
	return given + " " + family, fmt.Sprintf("%s%d@%s", local, i%1000, domains[i%len(domains)])
}

func seed(ctx context.Context, s *store.Store, g *names, from, to int) error {
	const batch = 5000
	for lo := from; lo < to; lo += batch {
		err := s.InTx(ctx, func(tx *store.Tx) error {
			for i := lo; i < min(lo+batch, to); i++ {
				name, email := g.person(i)
				if i%10 == 0 {
					name = "" // a guest known only by email
				}
				if err := tx.CreateDonor(ctx, &domain.Donor{Name: name, Email: email, CreatedAt: 1, UpdatedAt: 1}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if (lo/batch)%20 == 19 {
			fmt.Printf("  %d donors…\n", lo+batch)
		}
	}
	return nil
}

type kind struct {
	name    string
	queries []string
}

// queryKinds are what staff type: the start of a surname (3 to 6 letters,
// as when typing), a whole name, a piece of an email address, one or two
// letters, and names nobody has.
func queryKinds(g *names, rng *rand.Rand, n int) []kind {
	prefix := func(s string, k int) string {
		r := []rune(s)
		return string(r[:min(k, len(r))])
	}
	var ks []kind
	add := func(name string, f func(i int) string) {
		k := kind{name: name}
		for i := range 200 {
			k.queries = append(k.queries, f(i))
		}
		ks = append(ks, k)
	}
	someone := func() (string, string) {
		i := rng.IntN(n)
		if i%10 == 0 {
			i++ // a guest has no name to type
		}
		return g.person(i)
	}
	family := func(name string) string { f := strings.Fields(name); return f[len(f)-1] }
	add("surname, 3 letters", func(int) string { n, _ := someone(); return strings.ToLower(prefix(family(n), 3)) })
	add("surname, 4 letters", func(int) string { n, _ := someone(); return prefix(family(n), 4) })
	add("surname, 6 letters", func(int) string { n, _ := someone(); return prefix(family(n), 6) })
	add("whole name", func(int) string { n, _ := someone(); return n })
	add("common surname", func(i int) string { return realFamily[i%8] })
	add("email, part", func(int) string { _, e := someone(); l, _, _ := strings.Cut(e, "@"); return prefix(l, 8) })
	add("email, whole", func(int) string { _, e := someone(); return e })
	add("1–2 letters", func(i int) string { n, _ := someone(); return prefix(n, 1+i%2) })
	add("no such name", func(i int) string { return fmt.Sprintf("qxz%dvw", i) })
	return ks
}
