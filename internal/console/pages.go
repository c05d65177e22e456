package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"impactd/internal/domain"
	"impactd/internal/money"
	"impactd/internal/runs"
	"impactd/internal/searchkey"
	"impactd/internal/statement"
	"impactd/internal/store"
)

const pageSize = 50

type donorsData struct {
	Query  string
	Donors []domain.Donor
	Total  int
	More   bool // more than Total match
	Short  bool // every term under three characters: only the start of names matched
}

// Donors searches donors by part of a name or an email address, or by id.
func (c *Console) Donors() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := strings.TrimSpace(r.URL.Query().Get("q"))
		if len(q) > 200 {
			q = q[:200]
		}
		res, err := c.o.Store.SearchDonors(r.Context(), q, pageSize)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		short := true
		for _, t := range searchkey.Terms(q) {
			short = short && len([]rune(t)) < searchkey.MinTermLen
		}
		c.render(w, r, http.StatusOK, "donors", view{Title: "Donors", Nav: "donors",
			Data: donorsData{Query: q, Donors: res.Donors, Total: res.Total, More: res.More, Short: short && res.Total > 0 && !strings.HasPrefix(q, "dnr_")}})
	})
}

type statementRow struct {
	store.DonorStatement
	Code string
	// Copies counts the statements of the same period with the same
	// content (a rerun that changed nothing): they are one row.
	Copies int
}

type donorData struct {
	Donor      *domain.Donor
	Emails     []string // every address linked to the donor, the main one first
	Address    []string // postal address lines
	Letters    string   // whether and how the letters reach them, in words
	GiftAid    string   // their Gift Aid declaration, in words
	Gifts      []domain.Donation
	Totals     []domain.CurrencySummary
	Statements []statementRow
}

// DonorPage shows one donor: contact details, whether the letters reach
// them, Gift Aid, gifts, totals per currency and statements, with resend
// (operators) and merge and erase (admins).
func (c *Console) DonorPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		d, err := c.o.Store.Donor(ctx, r.PathValue("id"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		gifts, err := c.o.Store.DonationsForDonor(ctx, d.ID, 0, 1<<62)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		sts, err := c.o.Store.StatementsForDonor(ctx, d.ID)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		sums, err := domain.Summarise(gifts, d.GiftAidFrom, c.o.Location)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		emails, err := c.o.Store.DonorEmails(ctx, d.ID)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		bounced := false
		if d.Email != "" {
			if bounced, err = c.o.Store.IsBounced(ctx, d.Email); err != nil {
				c.fail(w, r, err)
				return
			}
		}
		data := donorData{Donor: d, Gifts: gifts, Totals: sums}
		if d.Email != "" {
			data.Emails = append(data.Emails, d.Email)
		}
		for _, e := range emails {
			if e != d.Email {
				data.Emails = append(data.Emails, e)
			}
		}
		for _, line := range strings.Split(d.Address, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				data.Address = append(data.Address, line)
			}
		}
		data.Letters = lettersInWords(d, bounced)
		data.GiftAid = giftAidInWords(d, data.Totals, c.o.Location)
		data.Statements = statementRows(sts)
		title := d.Name
		if title == "" {
			title = "Donor " + d.ID
		}
		c.render(w, r, http.StatusOK, "donor", view{Title: title, Nav: "donors", Data: data})
	})
}

// statementRows lists a donor's statements, newest first, as one row per
// period and content: a rerun that changed nothing stores the same letter
// again, and two identical rows only make staff wonder which was sent.
// The row shown is the newest copy, so its email state is the latest.
func statementRows(sts []store.DonorStatement) []statementRow {
	var rows []statementRow
	seen := map[string]int{}
	for _, s := range sts {
		key := fmt.Sprintf("%s\x00%s\x00%s\x00%d", s.Series.OrDefault(), s.Period, s.ContentHash, s.DryRun)
		if i, ok := seen[key]; ok {
			rows[i].Copies++
			if rows[i].DeliveryStatus == "" && s.DeliveryStatus != "" {
				rows[i].DeliveryStatus, rows[i].DeliveryDetail = s.DeliveryStatus, s.DeliveryDetail
			}
			continue
		}
		seen[key] = len(rows)
		rows = append(rows, statementRow{DonorStatement: s, Code: domain.VerificationCode(s.ContentHash), Copies: 1})
	}
	return rows
}

// lettersInWords says whether the letters reach a donor, and how.
func lettersInWords(d *domain.Donor, bounced bool) string {
	switch {
	case d.MergedInto != "":
		return "Merged into another donor: their letters go to that donor."
	case d.Status == domain.DonorErased:
		return "Erased: their personal data is gone and no letter is made for them."
	case d.Status == domain.DonorUnsubscribed || d.Letters == domain.LettersNone:
		return "Asked for no more letters (from a letter's link or their preferences page); they can restart them the same way. Receipts and statements already sent stay available."
	}
	switch channel, skip := runs.Route(d, bounced, domain.SeriesAnnual, false); { // the annual statement: how letters reach them, whatever the series
	case channel == domain.ChannelPost && d.Channel == domain.ChannelPost:
		return "Chose letters by post: each run puts their letter in its print batch."
	case channel == domain.ChannelPost && d.Email == "":
		return "No email address, so their letters go by post, in each run's print batch."
	case channel == domain.ChannelPost:
		return "Their mail server refused " + d.Email + " for good, so their letters go by post, in each run's print batch, until the address is cleared."
	case skip == domain.SkipPostNoAddress:
		return "Chose letters by post, but has no postal address with its country and postcode: no letter can be sent until one is on their Stripe record."
	}
	switch {
	case d.Email == "":
		return "No email address and no postal address with its country and postcode, so no letter can be emailed or posted; runs count them as having no email."
	case bounced:
		return "Their mail server refused " + d.Email + " for good, so no letter is sent there until the address changes."
	case d.Letters == domain.LettersAnnual:
		return "Receives the annual statement only, by email at " + d.Email + " (they stopped the impact letters)."
	}
	s := "Receives the impact letters and the annual statement by email at " + d.Email + "."
	switch d.MarketingConsent {
	case domain.ConsentYes:
		s += " Their Stripe record says they consented to marketing."
	case domain.ConsentNo:
		s += " Their Stripe record says they refused marketing: no impact letter goes to them while consent is read from Stripe."
	}
	return s
}

type lettersChoice struct{ Value, Label string }

// lettersChoices are the three preferences a donor can have, as the forms
// offer them.
func lettersChoices() []lettersChoice {
	var out []lettersChoice
	for _, l := range domain.AllLetters {
		out = append(out, lettersChoice{Value: l, Label: domain.LettersLabel(l)})
	}
	return out
}

// SetLetters sets which letters a donor receives, as they asked staff to
// (operators): impact letters and the annual statement, the annual
// statement only, or nothing. The reason is recorded.
func (c *Console) SetLetters() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		letters, err := domain.ParseLetters(r.PostFormValue("letters"))
		if err != nil {
			c.fail(w, r, domain.Errorf(domain.EINVALID, "Choose which letters they receive."))
			return
		}
		d, err := c.o.Store.Donor(r.Context(), id)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		detail, _ := json.Marshal(map[string]string{"from": d.Letters, "to": letters})
		c.donorChange(w, r, "donor.letters", id, string(detail), "letters",
			func(tx *store.Tx, now int64) error {
				_, err := tx.SetDonorLetters(r.Context(), id, letters, now)
				return err
			})
	})
}

// giftAidInWords says a donor's Gift Aid declaration and what it covers.
func giftAidInWords(d *domain.Donor, totals []domain.CurrencySummary, loc *time.Location) string {
	if d.GiftAidFrom == "" {
		return "No Gift Aid declaration: none of their gifts can be claimed."
	}
	from := d.GiftAidFrom
	if t, err := time.ParseInLocation(time.DateOnly, d.GiftAidFrom, loc); err == nil {
		from = t.Format("2 January 2006")
	}
	s := "Declared: their GBP gifts from " + from + " on are eligible for Gift Aid"
	for _, t := range totals {
		if t.Currency == "GBP" && t.GiftAidEligible > 0 {
			s += "; " + money.New(t.GiftAidEligible, "GBP").String() + " so far, worth " + money.New(statement.GiftAidUplift(t.GiftAidEligible), "GBP").String() + " to the charity"
		}
	}
	return s + "."
}

// StatementPDF re-renders a statement's PDF from its snapshot, for preview
// and download by staff.
func (c *Console) StatementPDF() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := c.o.Store.Statement(r.Context(), r.PathValue("id"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		snap, err := domain.DecodeSnapshot([]byte(st.Snapshot))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		var buf bytes.Buffer
		if err := c.o.Renderer.Render(&buf, snap, st.ContentHash); err != nil {
			c.fail(w, r, err)
			return
		}
		servePDF(w, r, snap.FileName(), buf.Bytes())
	})
}

func servePDF(w http.ResponseWriter, r *http.Request, name string, b []byte) {
	disp := "inline"
	if r.URL.Query().Get("download") == "1" {
		disp = "attachment"
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", disp+`; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// Merge merges another donor into this one (admins).
func (c *Console) Merge() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keep, other := r.PathValue("id"), strings.TrimSpace(r.PostFormValue("other"))
		c.donorChange(w, r, "donor.merge", keep, "merged "+other+" into "+keep, "merged",
			func(tx *store.Tx, now int64) error { return tx.MergeDonors(r.Context(), keep, other, now) })
	})
}

// Erase erases a donor's personal data (admins). The form asks the admin to
// type ERASE, because this cannot be undone.
func (c *Console) Erase() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("type_erase") != "ERASE" {
			c.fail(w, r, domain.Errorf(domain.EINVALID, "Type ERASE in capitals to confirm: erasing cannot be undone."))
			return
		}
		id := r.PathValue("id")
		c.donorChange(w, r, "donor.erase", id, "", "erased",
			func(tx *store.Tx, now int64) error { return tx.EraseDonor(r.Context(), id, now) })
	})
}

// donorChange applies an admin's change to a donor together with its audit
// entry (the form's reason is required), then returns to the donor's page.
func (c *Console) donorChange(w http.ResponseWriter, r *http.Request, action, donorID, detail, done string, change func(tx *store.Tx, now int64) error) {
	reason, err := formReason(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	now := c.o.Clock.Now().Unix()
	err = c.o.Store.Audited(r.Context(), *c.entry(r.Context(), action, donorID, reason, detail),
		func(tx *store.Tx) error { return change(tx, now) })
	if err != nil {
		c.fail(w, r, err)
		return
	}
	redirect(w, r, "/console/donors/"+donorID+"?done="+done)
}
