package letter_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/letter"
	"impactd/internal/period"
	"impactd/internal/synthetic"
)

func benchmarkRender(b *testing.B, r *letter.Renderer, s *domain.Snapshot) {
	hash := hashOf(b, s)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := r.Render(&buf, s, hash); err != nil {
			b.Fatal(err)
		}
	}
	if !embedsFonts(buf.Bytes()) {
		b.Fatalf("letter does not embed its fonts")
	}
	b.ReportMetric(float64(buf.Len()), "bytes/pdf")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "letters/s")
}

// BenchmarkRenderTypical renders the three-gift sample letter: "western"
// for a donor whose name is in Windows-1252 (the base block alone), "polish"
// for the sample's Polish donor (the base block and Latin Extended-A).
// Every letter embeds its fonts.
func BenchmarkRenderTypical(b *testing.B) {
	b.Run("western", func(b *testing.B) { benchmarkRender(b, MustRenderer(b), westernSnapshot()) })
	b.Run("polish", func(b *testing.B) { benchmarkRender(b, MustRenderer(b), letter.SampleSnapshot()) })
}

// BenchmarkRenderLong renders a letter with 200 gifts (eight pages).
func BenchmarkRenderLong(b *testing.B) {
	benchmarkRender(b, MustRenderer(b), longSnapshot(200))
}

// BenchmarkRenderAnnual renders the annual giving statement: the UK tax
// year's (sixteen gifts, Gift Aid, a refund and a dispute), the US one (a
// benefit, the acknowledgment and disclosure) and a 200-gift one.
func BenchmarkRenderAnnual(b *testing.B) {
	b.Run("gb", func(b *testing.B) { benchmarkRender(b, MustRenderer(b), letter.AnnualSampleSnapshot(domain.CountryGB)) })
	b.Run("us", func(b *testing.B) { benchmarkRender(b, MustRenderer(b), letter.AnnualSampleSnapshot(domain.CountryUS)) })
	b.Run("long", func(b *testing.B) { benchmarkRender(b, MustRenderer(b), letter.AnnualLongSampleSnapshot(200)) })
}

// demoSnapshots is the sample letter for each supporter of the demo's
// synthetic history (internal/synthetic, 200 supporters with names in many
// scripts), greeted by their first name.
func demoSnapshots(tb testing.TB) (snaps []*domain.Snapshot, hashes []string) {
	tb.Helper()
	h := synthetic.Make(200, period.MustParse("2026-Q3"), time.UTC)
	seen := map[string]bool{}
	for _, ev := range h.Events {
		if ev.Type != "charge.succeeded" {
			continue
		}
		bd, _ := ev.Object["billing_details"].(map[string]any)
		name, _ := bd["name"].(string)
		key, _ := bd["email"].(string)
		if key == "" {
			key = name
		}
		if name == "" || seen[key] {
			continue
		}
		seen[key] = true
		s := letter.SampleSnapshot()
		s.Donor.Name = name
		s.Greeting = "Dear " + strings.Fields(name)[0] + ","
		snaps = append(snaps, s)
		hashes = append(hashes, hashOf(tb, s))
	}
	return snaps, hashes
}

// BenchmarkRenderDemoMix renders the typical letter for each demo
// supporter in turn: the realistic mix of scripts and blocks.
func BenchmarkRenderDemoMix(b *testing.B) {
	r := MustRenderer(b)
	snaps, hashes := demoSnapshots(b)
	var buf bytes.Buffer
	total := 0
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf.Reset()
		k := i % len(snaps)
		i++
		if err := r.Render(&buf, snaps[k], hashes[k]); err != nil {
			b.Fatal(err)
		}
		total += buf.Len()
	}
	b.ReportMetric(float64(total)/float64(b.N), "bytes/pdf")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "letters/s")
}

// BenchmarkRenderTypicalParallel renders the sample letters from many
// goroutines sharing one Renderer, as a run does.
func BenchmarkRenderTypicalParallel(b *testing.B) {
	for _, c := range []struct {
		name string
		s    *domain.Snapshot
	}{{"western", westernSnapshot()}, {"polish", letter.SampleSnapshot()}} {
		b.Run(c.name, func(b *testing.B) {
			r := MustRenderer(b)
			hash := hashOf(b, c.s)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var buf bytes.Buffer
				for pb.Next() {
					buf.Reset()
					if err := r.Render(&buf, c.s, hash); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "letters/s")
		})
	}
}
