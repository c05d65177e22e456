// Package letter renders a statement snapshot as a PDF impact letter. The
// renderer is a pure function of domain.Snapshot: it reads no clock, no
// environment and no database, so the same snapshot always gives the same
// bytes and a letter can be re-rendered on demand instead of being stored.
package letter

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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

// Renderer turns snapshots into PDF letters. All font work (definitions,
// coverage) is done once in New; a Renderer holds only immutable data and is
// safe for concurrent use by many goroutines.
type Renderer struct {
	fonts *fontSet
	logo  []byte
	// logoHash is the hex SHA-256 of logo: a snapshot shows the logo only
	// when its Org.LogoSHA256 names this one.
	logoHash string
	// logoW and logoH are the logo's size in pixels, for its aspect ratio.
	logoW, logoH int
}

// LogoSHA256 is the hex SHA-256 of the renderer's logo, "" without one. The
// statement builder freezes it into each snapshot (Org.LogoSHA256).
func (r *Renderer) LogoSHA256() string { return r.logoHash }

// New prepares a Renderer: it loads the embedded fonts and checks the logo,
// so that Render cannot fail on them later.
func New(opts Options) (*Renderer, error) {
	fonts, err := loadFonts()
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
		sum := sha256.Sum256(r.logo)
		r.logoHash = hex.EncodeToString(sum[:])
		r.logoW, r.logoH = cfg.Width, cfg.Height
	}
	// Render one letter now, so that a font or logo fpdf cannot use fails at
	// start-up rather than in the middle of a run.
	s := SampleSnapshot()
	s.Org.LogoSHA256 = r.logoHash
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
	// Fast path: a letter whose every string is in Windows-1252 (after the
	// coverage fallbacks, which follow the embedded fonts on both paths) is
	// drawn with the core fonts, which are not embedded, so there is no font
	// work per letter. Any other letter stops at its first such string and
	// is drawn again with the embedded UTF-8 fonts. The choice depends only
	// on s, so the output stays a pure function of the snapshot.
	d := newDoc(r, s, contentHash, issued, true)
	d.letter()
	if errors.Is(d.pdf.Error(), errNotCP1252) {
		d = newDoc(r, s, contentHash, issued, false)
		d.letter()
	}
	if err := d.pdf.Error(); err != nil {
		return fmt.Errorf("render letter: %w", err)
	}
	// fpdf compresses each page with a new zlib writer (about 1 MB to
	// allocate and clear), which was two thirds of a short core-font
	// letter's time. A short core-font letter is small without it; longer
	// ones, and every embedded-font letter, stay compressed.
	if d.core && d.pdf.PageCount() <= plainPages {
		d.pdf.SetCompression(false)
	}
	if err := d.pdf.Output(w); err != nil {
		return fmt.Errorf("render letter: write pdf: %w", err)
	}
	return nil
}

// newFpdf starts a document with everything that makes its bytes
// reproducible: fixed dates from the snapshot, sorted catalogue (fpdf
// otherwise writes its font dictionary in map order), no encryption.
// With core set it registers no fonts: the core fonts need none.
func (r *Renderer) newFpdf(paper string, issued time.Time, logoHash string, core bool) *fpdf.Fpdf {
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
	if r.showLogo(logoHash) {
		pdf.RegisterImageOptionsReader(logoName, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(r.logo))
	}
	return pdf
}

// showLogo reports whether a snapshot that names the logo with hash gets
// this renderer's logo.
func (r *Renderer) showLogo(hash string) bool { return r.logo != nil && hash == r.logoHash }

// plainPages is the most pages a core-font letter may have and still be
// written without compression: about 8 KB a page of text uncompressed (a
// page of a long gifts table, 12 KB), so such a letter stays well under the
// 60 KB budget.
const plainPages = 3

const (
	fontFamily = "DejaVu"
	// coreFamily is fpdf's Helvetica and Helvetica-Bold: PDF standard fonts,
	// which every reader supplies, in Windows-1252.
	coreFamily = "Helvetica"
	logoName   = "logo"
)
