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
//
// Version 2 added year-to-date and lifetime giving, the eight-quarter chart,
// Gift Aid, the US acknowledgment, the monthly-since date, the logo's hash
// and per-figure demonstration flags. Every new field is optional, so a
// version 1 snapshot still decodes and renders (without those sections).
const SnapshotVersion = 2

// Snapshot is everything one letter shows, frozen when the statement is made.
// The PDF is a pure function of it: the renderer reads nothing else, and the
// same snapshot always gives the same bytes. It holds no maps, so its JSON
// encoding — and therefore its hash — is canonical.
type Snapshot struct {
	Version         int    `json:"version"`
	TemplateVersion string `json:"template_version"`
	IssuedOn        string `json:"issued_on"` // YYYY-MM-DD, the letter's date
	// Corrects is set on a corrected statement: the date ("5 October 2026")
	// the statement it replaces was sent. The letter says so at the top.
	Corrects  string `json:"corrects,omitempty"`
	PaperSize string `json:"paper_size"` // "A4" or "Letter"
	// Series is the kind of letter; empty (every snapshot made before
	// there were series) is the impact letter. Renderer and email
	// templates choose their layout by it.
	Series Series `json:"series,omitempty"`

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

	// YearToDate and Lifetime are the donor's giving per currency from
	// YearStart (and from their first gift) up to PeriodEnd, net of refunds
	// recorded by IssuedOn.
	YearStart  string  `json:"year_start,omitempty"` // YYYY-MM-DD
	YearToDate []Total `json:"year_to_date,omitempty"`
	Lifetime   []Total `json:"lifetime,omitempty"`
	// FirstGiftOn is the date of the donor's first gift, YYYY-MM-DD.
	FirstGiftOn string `json:"first_gift_on,omitempty"`
	// MonthlySince is when the donor's first monthly gift began, YYYY-MM-DD;
	// empty for a donor who never gave monthly.
	MonthlySince string `json:"monthly_since,omitempty"`
	// Chart is the donor's giving over the last eight quarters.
	Chart *GivingChart `json:"chart,omitempty"`

	// GiftAid is set for a UK organisation when some of the period's gifts
	// are Gift Aid eligible; Gift.GiftAid marks those gifts.
	GiftAid *GiftAidSummary `json:"gift_aid,omitempty"`
	// Acknowledgment is the US "no goods or services" statement, printed when
	// the organisation is a US charity and a gift of $250 or more was made
	// (on the annual statement: always, as its written acknowledgment).
	Acknowledgment string `json:"acknowledgment,omitempty"`
	// Disclosure is the annual statement's US quid-pro-quo disclosure, set
	// when a payment of more than $75 was partly for goods or services.
	Disclosure string `json:"disclosure,omitempty"`
	// Pointer is the annual statement's one neutral line pointing to the
	// impact letters; empty on impact letters.
	Pointer string `json:"pointer,omitempty"`

	// Paragraphs is the letter's copy, already rendered from the templates.
	Greeting   string   `json:"greeting"`
	Paragraphs []string `json:"paragraphs"`
	// Collective is the sentence under the impact figures that sets the
	// supporter's gift among everyone's (version 3).
	Collective string   `json:"collective,omitempty"`
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
	// Country is "GB" or "US": it decides Gift Aid or the US acknowledgment.
	Country string `json:"country,omitempty"`
	// LogoSHA256 is the hex SHA-256 of the letterhead logo (PNG). The logo's
	// bytes are configuration, not part of the snapshot; the renderer prints
	// its logo only when its hash matches, so a re-render of an old letter
	// never shows a newer logo.
	LogoSHA256 string `json:"logo_sha256,omitempty"`
	// Signatory and SignatoryRole sign the letter ("Grace Whitfield", "Head
	// of Supporter Care"); SignatureSHA256 names their signature image the
	// way LogoSHA256 names the logo (version 3).
	Signatory       string `json:"signatory,omitempty"`
	SignatoryRole   string `json:"signatory_role,omitempty"`
	SignatureSHA256 string `json:"signature_sha256,omitempty"`
}

// Organisation countries.
const (
	CountryGB = "GB"
	CountryUS = "US"
)

// SnapshotDonor is the donor as the letter addresses them.
type SnapshotDonor struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Address is the postal address below the name, one line each, as the
	// envelope window shows it (version 3: formatted for the country).
	Address []string `json:"address,omitempty"`
}

// Gift is one line of the gifts table.
type Gift struct {
	Date        string      `json:"date"` // YYYY-MM-DD in the organisation's time zone
	Amount      money.Money `json:"amount"`
	Recurring   bool        `json:"recurring"`
	Designation string      `json:"designation,omitempty"`
	// GiftAid marks a Gift Aid eligible gift (UK organisations only).
	GiftAid bool `json:"gift_aid,omitempty"`
	// GiftAidTax is the tax, in pence, the charity reclaims on this gift:
	// 25% of what is left of it after its refunds (annual statement only).
	GiftAidTax int64 `json:"gift_aid_tax,omitempty"`
	// Benefit is what the donor received in exchange for the gift, when the
	// payment recorded one (annual statement only; the US acknowledgment
	// describes it and its value).
	Benefit *Benefit `json:"benefit,omitempty"`
}

// Benefit is goods or services given in exchange for a gift: a
// description and the organisation's good-faith estimate of their value, in
// the gift's currency.
type Benefit struct {
	Description string      `json:"description"`
	Value       money.Money `json:"value"`
}

// GiftAidSummary is the period's Gift Aid: the net amount of eligible gifts
// and the 25% the charity may reclaim on them, in GBP.
type GiftAidSummary struct {
	Eligible money.Money `json:"eligible"`
	Uplift   money.Money `json:"uplift"`
	Note     string      `json:"note"` // the copy, from the templates
	// DeclaredFrom is the date (YYYY-MM-DD) from which the donor's Gift Aid
	// declaration makes their gifts eligible (annual statement only).
	DeclaredFrom string `json:"declared_from,omitempty"`
}

// GivingChart is the donor's net giving per quarter in one currency, oldest
// first; gifts in other currencies are counted in OtherCurrencies.
type GivingChart struct {
	Currency        string     `json:"currency"`
	Bars            []ChartBar `json:"bars"`
	OtherCurrencies []string   `json:"other_currencies,omitempty"`
}

// ChartBar is one quarter of the chart.
type ChartBar struct {
	Period string `json:"period"` // 2026-Q3
	Label  string `json:"label"`  // "Q3 2026"
	Amount int64  `json:"amount"` // net, minor units of GivingChart.Currency
}

// RefundLine is one refund shown on the letter.
type RefundLine struct {
	Date     string      `json:"date"`
	Amount   money.Money `json:"amount"` // positive: the amount returned
	GiftDate string      `json:"gift_date"`
	// Kind is RefundKindDispute for money a lost card dispute took back;
	// empty for a refund (the annual statement sets it).
	Kind string `json:"kind,omitempty"`
}

// Total is the period's giving in one currency.
type Total struct {
	Currency string `json:"currency"`
	Gross    int64  `json:"gross"`
	Refunded int64  `json:"refunded"`
	Net      int64  `json:"net"`
	// Benefits is the value of goods or services given in exchange for the
	// gifts (annual statement only).
	Benefits int64 `json:"benefits,omitempty"`
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

// Noun names the kind of letter in a sentence: "impact statement" or
// "giving statement" (pages, emails, the verification page).
func (s *Snapshot) Noun() string {
	if s.Series == SeriesAnnual {
		return "giving statement"
	}
	return "impact statement"
}

// FileName is the name a letter's PDF is attached and downloaded under:
// "impact-statement-2026-Q3.pdf", "giving-statement-2025-26.pdf".
func (s *Snapshot) FileName() string {
	return strings.ReplaceAll(s.Noun(), " ", "-") + "-" + strings.ReplaceAll(s.Period, "/", "-") + ".pdf"
}
