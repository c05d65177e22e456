package letter_test

import (
	"bytes"
	"testing"

	"impactd/internal/domain"
	"impactd/internal/letter"
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
	b.ReportMetric(float64(buf.Len()), "bytes/pdf")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "letters/s")
}

// BenchmarkRenderTypical renders the three-gift sample letter.
func BenchmarkRenderTypical(b *testing.B) {
	benchmarkRender(b, MustRenderer(b), letter.SampleSnapshot())
}

// BenchmarkRenderLong renders a letter with 200 gifts.
func BenchmarkRenderLong(b *testing.B) {
	benchmarkRender(b, MustRenderer(b), longSnapshot(200))
}

// BenchmarkRenderTypicalNaive renders the sample letter with the whole
// DejaVu fonts handed to fpdf, for comparison with the optimised renderer.
func BenchmarkRenderTypicalNaive(b *testing.B) {
	r, err := letter.NewUnsubset(letter.Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchmarkRender(b, r, letter.SampleSnapshot())
}

// BenchmarkRenderTypicalParallel renders the sample letter from many
// goroutines sharing one Renderer, as a run does.
func BenchmarkRenderTypicalParallel(b *testing.B) {
	r, s := MustRenderer(b), letter.SampleSnapshot()
	hash := hashOf(b, s)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var buf bytes.Buffer
		for pb.Next() {
			buf.Reset()
			if err := r.Render(&buf, s, hash); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "letters/s")
}
