// Package letter renders a statement snapshot as a PDF impact letter. The
// renderer is a pure function of domain.Snapshot: it reads no clock, no
// environment and no database, so the same snapshot always gives the same
// bytes and a letter can be re-rendered on demand instead of being stored.
package letter

import (
	"bytes"
	"fmt"
	"image"
	_ "image/png" // registers the PNG decoder for the logo check in New
	"io"
	"time"

	"github.com/go-pdf/fpdf"

	"impactd/internal/domain"
)

// Options configures a Renderer. The zero value is a complete configuration.
type Options struct {
	// Logo is an optional PNG printed at the top right of the letterhead.
	Logo []byte
}

// Renderer turns snapshots into PDF letters. All font work (parsing, coverage,
// subsetting) is done once in New; a Renderer holds only immutable data and is
// safe for concurrent use by many goroutines.
type Renderer struct {
	fonts *fontSet
	logo  []byte
	// logoW and logoH are the logo's size in pixels, for its aspect ratio.
	logoW, logoH int
}

// New prepares a Renderer: it loads and subsets the embedded fonts and checks
// the logo, so that Render cannot fail on them later.
func New(opts Options) (*Renderer, error) {
	return newRenderer(opts, true)
}

// newRenderer is New with the font subsetting switchable, so that a test can
// compare the optimised renderer with the naive one.
func newRenderer(opts Options, subset bool) (*Renderer, error) {
	fonts, err := loadFonts(subset)
	if err != nil {
		return nil, fmt.Errorf("new letter renderer: %w", err)
	}
	r := &Renderer{fonts: fonts}
	if len(opts.Logo) > 0 {
		cfg, format, err := image.DecodeConfig(bytes.NewReader(opts.Logo))
		if err != nil {
			return nil, fmt.Errorf("new letter renderer: logo: %w", err)
		}
		if format != "png" {
			return nil, fmt.Errorf("new letter renderer: logo is %s, want png", format)
		}
		if cfg.Width <= 0 || cfg.Height <= 0 {
			return nil, fmt.Errorf("new letter renderer: logo has no pixels")
		}
		r.logo = bytes.Clone(opts.Logo)
		r.logoW, r.logoH = cfg.Width, cfg.Height
	}
	// Render one letter now, so that a font or logo fpdf cannot use fails at
	// start-up rather than in the middle of a run.
	s := SampleSnapshot()
	if err := r.Render(io.Discard, s, "0000000000000000000000000000000000000000000000000000000000000000"); err != nil {
		return nil, fmt.Errorf("new letter renderer: trial render: %w", err)
	}
	return r, nil
}

// Render writes the letter for s as a PDF to w. contentHash is
// domain.ContentHash of the snapshot's encoding; its verification code is
// printed on every page. The output depends only on s and contentHash.
func (r *Renderer) Render(w io.Writer, s *domain.Snapshot, contentHash string) error {
	if s == nil {
		return fmt.Errorf("render letter: nil snapshot")
	}
	issued, err := time.Parse(time.DateOnly, s.IssuedOn)
	if err != nil {
		return fmt.Errorf("render letter: issued_on %q: %w", s.IssuedOn, err)
	}
	d := newDoc(r, s, contentHash, issued)
	d.letter()
	if err := d.pdf.Error(); err != nil {
		return fmt.Errorf("render letter: %w", err)
	}
	if err := d.pdf.Output(w); err != nil {
		return fmt.Errorf("render letter: write pdf: %w", err)
	}
	return nil
}

// newFpdf starts a document with everything that makes its bytes
// reproducible: fixed dates from the snapshot, sorted catalogue (fpdf
// otherwise writes its font dictionary in map order), no encryption.
func (r *Renderer) newFpdf(paper string, issued time.Time) *fpdf.Fpdf {
	size := "A4"
	if paper == "Letter" {
		size = "Letter"
	}
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: size})
	pdf.SetCatalogSort(true)
	pdf.SetCreationDate(issued)
	pdf.SetModificationDate(issued)
	pdf.SetProducer("impactd", false)
	pdf.SetCreator("impactd", false)
	pdf.SetCompression(true)
	pdf.AliasNbPages("{nb}")
	pdf.AddUTF8FontFromBytes(fontFamily, "", r.fonts.regular)
	pdf.AddUTF8FontFromBytes(fontFamily, "B", r.fonts.bold)
	if r.logo != nil {
		pdf.RegisterImageOptionsReader(logoName, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(r.logo))
	}
	return pdf
}

const (
	fontFamily = "DejaVu"
	logoName   = "logo"
)
