package domain

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"impactd/internal/money"
)

// SnapshotVersion is the layout version of Snapshot. Bump it when a field's
// meaning changes, so that old statements can still be read and rendered.
const SnapshotVersion = 1

// Snapshot is everything one letter shows, frozen when the statement is made.
// The PDF is a pure function of it: the renderer reads nothing else, and the
// same snapshot always gives the same bytes. It holds no maps, so its JSON
// encoding — and therefore its hash — is canonical.
type Snapshot struct {
	Version         int    `json:"version"`
	TemplateVersion string `json:"template_version"`
	IssuedOn        string `json:"issued_on"`  // YYYY-MM-DD, the letter's date
	PaperSize       string `json:"paper_size"` // "A4" or "Letter"

	Org   Org           `json:"org"`
	Donor SnapshotDonor `json:"donor"`

	Period      string `json:"period"`       // "2026-Q3"
	PeriodLabel string `json:"period_label"` // "July to September 2026"
	PeriodStart string `json:"period_start"` // YYYY-MM-DD, first day
	PeriodEnd   string `json:"period_end"`   // YYYY-MM-DD, last day

	// Gifts made in the period, oldest first.
	Gifts []Gift `json:"gifts"`
	// Refunds made in the period, oldest first, whenever the gift was made.
	Refunds []RefundLine `json:"refunds"`
	// Totals for the period per currency, in currency order; never summed across currencies.
	Totals []Total `json:"totals"`

	// Paragraphs is the letter's copy, already rendered from the templates.
	Greeting   string   `json:"greeting"`
	Paragraphs []string `json:"paragraphs"`
	SignOff    []string `json:"sign_off"`
	Footer     []string `json:"footer"`

	Impact *ImpactSection `json:"impact,omitempty"`
}

// Org is the letterhead.
type Org struct {
	Name          string   `json:"name"`
	CharityNumber string   `json:"charity_number,omitempty"`
	Address       []string `json:"address,omitempty"`
	Website       string   `json:"website,omitempty"`
	Email         string   `json:"email,omitempty"`
}

// SnapshotDonor is the donor as the letter addresses them.
type SnapshotDonor struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Address []string `json:"address,omitempty"`
}

// Gift is one line of the gifts table.
type Gift struct {
	Date        string      `json:"date"` // YYYY-MM-DD in the organisation's time zone
	Amount      money.Money `json:"amount"`
	Recurring   bool        `json:"recurring"`
	Designation string      `json:"designation,omitempty"`
}

// RefundLine is one refund shown on the letter.
type RefundLine struct {
	Date     string      `json:"date"`
	Amount   money.Money `json:"amount"` // positive: the amount returned
	GiftDate string      `json:"gift_date"`
}

// Total is the period's giving in one currency.
type Total struct {
	Currency string `json:"currency"`
	Gross    int64  `json:"gross"`
	Refunded int64  `json:"refunded"`
	Net      int64  `json:"net"`
}

// ImpactSection is the published impact update as the letter shows it.
type ImpactSection struct {
	UpdateID  string   `json:"update_id"`
	Version   int      `json:"version"`
	Title     string   `json:"title"`
	Narrative string   `json:"narrative"`
	Source    string   `json:"source"`
	AsOf      string   `json:"as_of"`
	DemoData  bool     `json:"demo_data"`
	Metrics   []Metric `json:"metrics"`
}

// Encode returns the canonical JSON of the snapshot.
func (s *Snapshot) Encode() ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode snapshot: %w", err)
	}
	return b, nil
}

// DecodeSnapshot reads a snapshot stored by Encode.
func DecodeSnapshot(b []byte) (*Snapshot, error) {
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	return &s, nil
}

// ContentHash is the hex SHA-256 of the snapshot's canonical JSON.
func ContentHash(encoded []byte) string {
	sum := sha256.Sum256(encoded)
	return hex.EncodeToString(sum[:])
}

// VerificationCode is the short code printed on a letter, derived from the
// content hash: ten base32 characters in two groups, e.g. "K7QX2-M4RTA".
func VerificationCode(contentHash string) string {
	raw, err := hex.DecodeString(contentHash)
	if err != nil || len(raw) < 7 {
		return ""
	}
	s := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw[:7])[:10]
	return s[:5] + "-" + s[5:]
}

// NormaliseVerificationCode upper-cases a code typed by a person and restores its dash.
func NormaliseVerificationCode(code string) string {
	c := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	if len(c) != 10 {
		return c
	}
	return c[:5] + "-" + c[5:]
}
