package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"impactd/internal/domain"
	"impactd/internal/money"
	"impactd/internal/period"
	"impactd/internal/searchkey"
	"impactd/internal/statement"
	"impactd/internal/store"
)

const (
	pageSize   = 50
	runningFor = 5 // seconds between refreshes of a page that shows a running run
)

type runRow struct {
	domain.Run
	Progress Progress
	Percent  int
}

func (c *Console) runRows(ctx context.Context, runs []domain.Run) ([]runRow, bool, error) {
	rows := make([]runRow, 0, len(runs))
	running := false
	for _, r := range runs {
		p, err := c.o.Runs.Progress(ctx, &r)
		if err != nil {
			return nil, false, err
		}
		pct := 0
		if p.Total > 0 {
			pct = p.Done * 100 / p.Total
		}
		running = running || r.Status == domain.RunRunning
		rows = append(rows, runRow{Run: r, Progress: p, Percent: pct})
	}
	return rows, running, nil
}

type dashboardData struct {
	Next        ScheduledRun
	HasNext     bool
	Runs        []runRow
	LastPeriod  string
	PeriodKinds string
}

// Dashboard shows the next scheduled run, a form to start one and the recent runs.
func (c *Console) Dashboard() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs, err := c.o.Store.RecentRuns(r.Context(), 20)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		rows, running, err := c.runRows(r.Context(), runs)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		now := c.o.Clock.Now()
		next, ok := c.o.Schedule.Next(now)
		v := view{Title: "Dashboard", Nav: "dashboard", Data: dashboardData{Next: next, HasNext: ok, Runs: rows,
			LastPeriod: period.LastComplete(now, c.o.PeriodKind, c.o.Location).String()}}
		if running {
			v.Refresh = runningFor
		}
		c.render(w, r, http.StatusOK, "dashboard", v)
	})
}

// formReason returns the trimmed reason and whether the confirmation box was ticked.
func formReason(r *http.Request) (string, error) {
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		return "", domain.Errorf(domain.EINVALID, "Say why: the reason is recorded in the audit log.")
	}
	if len(reason) > 500 {
		return "", domain.Errorf(domain.EINVALID, "Keep the reason under 500 characters.")
	}
	if r.PostFormValue("confirm") != "yes" {
		return "", domain.Errorf(domain.EINVALID, "Tick the confirmation box to go ahead.")
	}
	return reason, nil
}

// StartRun starts a run of a period (operators).
func (c *Console) StartRun() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reason, err := formReason(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		p, err := period.Parse(strings.TrimSpace(r.PostFormValue("period")))
		if err != nil {
			c.fail(w, r, domain.Errorf(domain.EINVALID, "Period: %v", err))
			return
		}
		req := RunRequest{Period: p.String(), Scope: ScopePeriod, Reason: reason, Actor: actor(r.Context()), DryRun: r.PostFormValue("dry_run") == "yes"}
		c.start(w, r, req, "run.start", p.String(), "run-started")
	})
}

func (c *Console) start(w http.ResponseWriter, r *http.Request, req RunRequest, action, subject, done string) {
	run, err := c.o.Runs.Start(r.Context(), req)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	detail, _ := json.Marshal(map[string]any{"period": req.Period, "scope": req.Scope, "donor_id": req.DonorID,
		"statement_id": req.StatementID, "rerun_of": req.RerunOf, "dry_run": req.DryRun, "force": req.Force})
	if run != nil {
		subject = run.ID
	}
	if err := c.audit(r.Context(), c.o.Store.Q, action, subject, req.Reason, string(detail)); err != nil {
		c.fail(w, r, err)
		return
	}
	if run != nil {
		redirect(w, r, "/console/runs/"+run.ID+"?done="+done)
		return
	}
	redirect(w, r, "/console?done="+done)
}

type exception struct {
	Reason string
	Count  int
}

type runData struct {
	Run        runRow
	Exceptions []exception
	Failures   []store.FailedDelivery
}

// RunPage shows one run: counts, exceptions by reason, failed deliveries
// with the mail server's answer, and rerun forms for operators.
func (c *Console) RunPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		run, err := c.o.Store.Run(r.Context(), r.PathValue("id"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		rows, running, err := c.runRows(r.Context(), []domain.Run{*run})
		if err != nil {
			c.fail(w, r, err)
			return
		}
		var ex map[string]int
		_ = json.Unmarshal([]byte(run.Exceptions), &ex) // a malformed report shows as empty
		d := runData{Run: rows[0]}
		for k, n := range ex {
			d.Exceptions = append(d.Exceptions, exception{k, n})
		}
		sort.Slice(d.Exceptions, func(i, j int) bool { return d.Exceptions[i].Reason < d.Exceptions[j].Reason })
		if d.Failures, err = c.o.Store.FailedDeliveries(r.Context(), run.ID, 200); err != nil {
			c.fail(w, r, err)
			return
		}
		v := view{Title: "Run " + run.Period, Nav: "dashboard", Data: d}
		if running {
			v.Refresh = runningFor
		}
		c.render(w, r, http.StatusOK, "run", v)
	})
}

// Rerun reruns a run: all of its period, its failed statements, or one donor (operators).
func (c *Console) Rerun() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		run, err := c.o.Store.Run(r.Context(), r.PathValue("id"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		reason, err := formReason(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		req := RunRequest{Period: run.Period, RerunOf: run.ID, Reason: reason, Actor: actor(r.Context()),
			Scope: r.PostFormValue("scope"), Force: r.PostFormValue("force") == "yes", DryRun: r.PostFormValue("dry_run") == "yes"}
		switch req.Scope {
		case ScopePeriod, ScopeFailed:
		case ScopeDonor:
			req.DonorID = strings.TrimSpace(r.PostFormValue("donor_id"))
			if _, err := c.o.Store.Donor(r.Context(), req.DonorID); err != nil {
				c.fail(w, r, domain.Errorf(domain.EINVALID, "No donor with the id %q.", req.DonorID))
				return
			}
		default:
			c.fail(w, r, domain.Errorf(domain.EINVALID, "Choose what to rerun."))
			return
		}
		c.start(w, r, req, "run.rerun", run.ID, "rerun-started")
	})
}

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
		key := fmt.Sprintf("%s\x00%s\x00%d", s.Period, s.ContentHash, s.DryRun)
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
	case d.Status == domain.DonorUnsubscribed:
		return "Asked for no more letters (from a letter's link or their preferences page); they can restart them the same way. Receipts and statements already sent stay available."
	case d.Email == "":
		return "No email address, so no letter can be emailed; runs count them as having no email."
	case bounced:
		return "Their mail server refused " + d.Email + " for good, so no letter is sent there until the address changes."
	}
	return "Receives the impact letters by email at " + d.Email + "."
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
		servePDF(w, r, "impact-statement-"+strings.ReplaceAll(st.Period, "/", "-")+".pdf", buf.Bytes())
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

// Resend sends a statement again, as it is (operators).
func (c *Console) Resend() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := c.o.Store.Statement(r.Context(), r.PathValue("id"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		reason, err := formReason(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		req := RunRequest{Period: st.Period, Scope: ScopeStatement, StatementID: st.ID, DonorID: st.DonorID, RerunOf: st.RunID,
			Reason: reason, Actor: actor(r.Context()), Force: true}
		c.start(w, r, req, "statement.resend", st.ID, "resent")
	})
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
