package giftaid

import (
	"fmt"
	"sort"
	"time"

	"impactd/internal/money"
)

// Header is the header row of HMRC's Gift Aid schedule, its columns in
// their order (the template's "Item" column, which numbers the lines, is
// left to the template: rows paste in from its "Title" column).
var Header = []string{"Title", "First name or initial", "Last name", "House name or number", "Postcode",
	"Aggregated donations", "Sponsored event", "Donation date", "Amount"}

// Row is one line of the schedule, each column written as HMRC asks.
type Row struct {
	Title      string
	First      string
	Last       string
	House      string
	Postcode   string
	Aggregated string // a description of the donations added together; "" for one donor's gift
	Sponsored  string // "Yes" for sponsorship; impactd's gifts are never
	Date       string // DD/MM/YY
	Amount     string // "12.34"
	// Day and Pence are the date and amount the text is made from, for the spreadsheet's typed cells.
	Day   string
	Pence int64
}

// Fields returns the row's columns in Header's order.
func (r Row) Fields() []string {
	return []string{r.Title, r.First, r.Last, r.House, r.Postcode, r.Aggregated, r.Sponsored, r.Date, r.Amount}
}

// HMRC's limits for aggregated donations: each donation at most
// AggregateEach, each line at most AggregateLine (README cites the pages).
const (
	AggregateEach int64 = 2000   // £20
	AggregateLine int64 = 100000 // £1,000
)

// Adjustment is an over-claim: a gift claimed before whose net amount has
// since fallen (a refund or a lost dispute), listed with a later claim.
type Adjustment struct {
	DonationID      string `json:"donation_id"`
	DonorID         string `json:"donor_id"`
	OriginalClaimID string `json:"original_claim_id"`
	Created         int64  `json:"created"`
	Amount          int64  `json:"amount"`    // pence, < 0
	NetAfter        int64  `json:"net_after"` // the gift's net amount now
}

// Schedule is a claim's content: its gifts as lines and rows, the
// exceptions, the adjustments and the totals, all in pence.
type Schedule struct {
	ClaimID     string
	To          string // YYYY-MM-DD
	Aggregate   bool
	Lines       []Line
	Rows        []Row
	Exceptions  []Exception
	Adjustments []Adjustment
	// Total is the donations claimed; AdjustmentTotal (≤ 0) the donations
	// over-claimed before, and AdjustmentTax the Gift Aid on them: the
	// figure for the claim form's adjustment box.
	Total           int64
	AdjustmentTotal int64
	AdjustmentTax   int64
	GiftAid         int64 // the Gift Aid on Total
	Earliest        int64 // unix time of the earliest gift; 0 when none
}

// Build makes a schedule of lines and adjustments: rows in date order
// (with small donations added together when aggregate is set) and totals.
func Build(lines []Line, exceptions []Exception, adjustments []Adjustment, aggregate bool, loc *time.Location) (*Schedule, error) {
	s := &Schedule{Aggregate: aggregate, Lines: lines, Exceptions: exceptions, Adjustments: adjustments}
	sort.SliceStable(s.Lines, func(i, j int) bool {
		if s.Lines[i].Created != s.Lines[j].Created {
			return s.Lines[i].Created < s.Lines[j].Created
		}
		return s.Lines[i].DonationID < s.Lines[j].DonationID
	})
	var small []Line
	for _, l := range s.Lines {
		var err error
		if s.Total, err = money.Add(s.Total, l.Amount); err != nil {
			return nil, fmt.Errorf("gift aid total: %w", err)
		}
		if s.Earliest == 0 || l.Created < s.Earliest {
			s.Earliest = l.Created
		}
		if aggregate && l.Amount <= AggregateEach {
			small = append(small, l)
			continue
		}
		day := time.Unix(l.Created, 0).In(loc).Format(time.DateOnly)
		s.Rows = append(s.Rows, Row{Title: l.Name.Title, First: l.Name.First, Last: l.Name.Last, House: l.Home.House,
			Postcode: l.Home.Postcode, Date: FormatDate(l.Created, loc), Amount: FormatAmount(l.Amount), Day: day, Pence: l.Amount})
	}
	s.Rows = append(s.Rows, aggregated(small, loc)...)
	for _, a := range adjustments {
		var err error
		if s.AdjustmentTotal, err = money.Add(s.AdjustmentTotal, a.Amount); err != nil {
			return nil, fmt.Errorf("gift aid adjustments: %w", err)
		}
	}
	var err error
	if s.AdjustmentTax, err = GiftAidOn(s.AdjustmentTotal); err != nil {
		return nil, err
	}
	if s.GiftAid, err = GiftAidOn(s.Total); err != nil {
		return nil, err
	}
	return s, nil
}

// aggregated adds small donations (lines in date order) together, one
// series of lines per UK tax year (HMRC: only donations of one accounting
// period on a line; impactd takes the tax year, a trust's accounting
// period), each line at most AggregateLine, dated with its last donation.
func aggregated(small []Line, loc *time.Location) []Row {
	var rows []Row
	var cur *Row
	year, n := "", 0
	for _, l := range small {
		t := time.Unix(l.Created, 0).In(loc)
		ty := taxYear(t)
		if cur == nil || ty != year || cur.Pence+l.Amount > AggregateLine {
			if ty != year {
				n = 0
			}
			year, n = ty, n+1
			rows = append(rows, Row{Aggregated: fmt.Sprintf("Online donations %s no. %d", ty, n)})
			cur = &rows[len(rows)-1]
		}
		cur.Pence += l.Amount
		cur.Day, cur.Date = t.Format(time.DateOnly), FormatDate(l.Created, loc)
		cur.Amount = FormatAmount(cur.Pence)
	}
	return rows
}

// taxYear names the UK tax year (6 April to 5 April) of t: "2026/27".
func taxYear(t time.Time) string {
	y := t.Year()
	if t.Month() < time.April || (t.Month() == time.April && t.Day() < 6) {
		y--
	}
	return fmt.Sprintf("%d/%02d", y, (y+1)%100)
}
