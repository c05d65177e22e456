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

func benchmarkRender(b *testing.B, r *letter.Renderer, s *domain.Snapshot, wantEmbedded bool) {
	hash := hashOf(b, s)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := r.Render(&buf, s, hash); err != nil {
			b.Fatal(err)
		}
	}
	if embedsFonts(buf.Bytes()) != wantEmbedded {
		b.Fatalf("letter took the wrong path: embedded fonts = %v", !wantEmbedded)
	}
	b.ReportMetric(float64(buf.Len()), "bytes/pdf")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "letters/s")
}

// BenchmarkRenderTypical renders the three-gift sample letter on each path:
// "fast" for a donor whose name is in Windows-1252 (core fonts), "full" for
// the sample's Polish donor (embedded UTF-8 fonts).
func BenchmarkRenderTypical(b *testing.B) {
	b.Run("fast", func(b *testing.B) { benchmarkRender(b, MustRenderer(b), fastSnapshot(), false) })
	b.Run("full", func(b *testing.B) { benchmarkRender(b, MustRenderer(b), letter.SampleSnapshot(), true) })
}

// BenchmarkRenderLong renders a letter with 200 gifts on each path.
func BenchmarkRenderLong(b *testing.B) {
	b.Run("fast", func(b *testing.B) { benchmarkRender(b, MustRenderer(b), longSnapshot(200), false) })
	b.Run("full", func(b *testing.B) { benchmarkRender(b, MustRenderer(b), longFullSnapshot(200), true) })
}

// demoSnapshots is the sample letter for each supporter of the demo's
// synthetic history (internal/synthetic, 200 supporters with names in many
// scripts), greeted by their first name, and how many take the fast path.
func demoSnapshots(tb testing.TB) (snaps []*domain.Snapshot, hashes []string, fast int) {
	tb.Helper()
	h := synthetic.Make(200, period.MustParse("2026-Q3"), time.UTC)
	seen := map[string]bool{}
	r := MustRenderer(tb)
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
		if !embedsFonts(MustRender(tb, r, s)) {
			fast++
		}
	}
	return snaps, hashes, fast
}

// BenchmarkRenderDemoMix renders the typical letter for each demo
// supporter in turn: the realistic mix of the two paths.
func BenchmarkRenderDemoMix(b *testing.B) {
	r := MustRenderer(b)
	snaps, hashes, fast := demoSnapshots(b)
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
	b.ReportMetric(100*float64(fast)/float64(len(snaps)), "%fast")
}

// BenchmarkRenderTypicalParallel renders the sample letter on each path
// from many goroutines sharing one Renderer, as a run does.
func BenchmarkRenderTypicalParallel(b *testing.B) {
	for _, c := range []struct {
		name string
		s    *domain.Snapshot
	}{{"fast", fastSnapshot()}, {"full", letter.SampleSnapshot()}} {
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
