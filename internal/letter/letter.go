// Package letter renders a statement snapshot as a PDF impact letter. The
// renderer is a pure function of domain.Snapshot: it reads no clock, no
// environment and no database, so the same snapshot always gives the same
// bytes and a letter can be re-rendered on demand instead of being stored.
package letter

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	_ "image/png" // registers the PNG decoder for the logo check in New
	"io"
	"sync"
	"time"

	"github.com/go-pdf/fpdf"

	"impactd/internal/domain"
)

// Options configures a Renderer. The zero value is a complete configuration.
type Options struct {
	// Logo is an optional PNG printed at the top left of the letterhead.
	Logo []byte
	// Signature is an optional PNG of the signatory's signature, printed
	// above their name. Both images are best without an alpha channel:
	// fpdf then copies their pixels as they are instead of recompressing
	// them for every letter.
	Signature []byte
}

// Renderer turns snapshots into PDF letters. All font work (definitions,
// coverage) is done once in New; a Renderer holds only immutable data and is
// safe for concurrent use by many goroutines.
type Renderer struct {
	fonts     *fontSet
	logo      *picture
	signature *picture
}

// picture is a configured PNG. A snapshot shows it only when it names its
// hash, so a re-render of an old letter never shows a newer image.
type picture struct {
	name string
	data []byte
	// hash is the hex SHA-256 of data.
	hash string
	// w and h are its size in pixels, for its aspect ratio.
	w, h int
}

// LogoSHA256 is the hex SHA-256 of the renderer's logo, "" without one. The
// statement builder freezes it into each snapshot (Org.LogoSHA256).
func (r *Renderer) LogoSHA256() string { return r.logo.sha() }

// SignatureSHA256 is the hex SHA-256 of the renderer's signature image, ""
// without one (Org.SignatureSHA256).
func (r *Renderer) SignatureSHA256() string { return r.signature.sha() }

func (p *picture) sha() string {
	if p == nil {
		return ""
	}
	return p.hash
}

// shows reports whether a snapshot that names hash gets this picture.
func (p *picture) shows(hash string) bool { return p != nil && hash == p.hash }

// newPicture checks a PNG.
func newPicture(name string, data []byte) (*picture, error) {
	if len(data) == 0 {
		return nil, nil
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if format != "png" {
		return nil, fmt.Errorf("%s is %s, want png", name, format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%s has no pixels", name)
	}
	sum := sha256.Sum256(data)
	return &picture{name: name, data: bytes.Clone(data), hash: hex.EncodeToString(sum[:]), w: cfg.Width, h: cfg.Height}, nil
}

// New prepares a Renderer: it loads the embedded fonts and checks the
// images, so that Render cannot fail on them later.
func New(opts Options) (*Renderer, error) {
	fonts, err := loadFonts()
	if err != nil {
		return nil, fmt.Errorf("new letter renderer: %w", err)
	}
	r := &Renderer{fonts: fonts}
	if r.logo, err = newPicture("logo", opts.Logo); err != nil {
		return nil, fmt.Errorf("new letter renderer: %w", err)
	}
	if r.signature, err = newPicture("signature", opts.Signature); err != nil {
		return nil, fmt.Errorf("new letter renderer: %w", err)
	}
	// Render one letter now, so that a font or image fpdf cannot use fails
	// at start-up rather than in the middle of a run.
	s := SampleSnapshot()
	s.Org.LogoSHA256, s.Org.SignatureSHA256 = r.LogoSHA256(), r.SignatureSHA256()
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
	if d.annual() {
		d.statement()
	} else {
		d.letter()
	}
	if err := d.pdf.Error(); err != nil {
		return fmt.Errorf("render letter: %w", err)
	}
	raw := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(raw)
	raw.Reset()
	if err := d.pdf.Output(raw); err != nil {
		return fmt.Errorf("render letter: write pdf: %w", err)
	}
	if out, ok := w.(*bytes.Buffer); ok {
		return r.finish(out, raw.Bytes(), contentHash)
	}
	out := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(out)
	out.Reset()
	if err := r.finish(out, raw.Bytes(), contentHash); err != nil {
		return err
	}
	if _, err := w.Write(out.Bytes()); err != nil {
		return fmt.Errorf("render letter: write pdf: %w", err)
	}
	return nil
}

// bufPool holds the buffers fpdf's output passes through on its way to
// finish.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// newFpdf starts a document with everything that makes its bytes
// reproducible: fixed dates from the snapshot, sorted catalogue (fpdf
// otherwise writes its font dictionary in map order), no encryption.
func (r *Renderer) newFpdf(s *domain.Snapshot, issued time.Time) *fpdf.Fpdf {
	size := "A4"
	if s.PaperSize == "Letter" {
		size = "Letter"
	}
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: size})
	pdf.SetCatalogSort(true)
	pdf.SetCreationDate(issued)
	pdf.SetModificationDate(issued)
	pdf.SetProducer("impactd", false)
	pdf.SetCreator("impactd", false)
	// finish compresses the pages, with a zlib writer it keeps.
	pdf.SetCompression(false)
	pdf.AliasNbPages("{nb}")
	return pdf
}

// fontFamily is the family the base block is registered under; the other
// blocks are fontFamily1, fontFamily2, ….
const fontFamily = "NotoSans"
