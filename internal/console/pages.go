package console

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"impactd/internal/domain"
	"impactd/internal/store"
)

const pageSize = 50

type donorsData struct {
	Query  string
	Donors []domain.Donor
}

// Donors searches donors by name, email address or id.
func (c *Console) Donors() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := strings.TrimSpace(r.URL.Query().Get("q"))
		ds, err := c.o.Store.SearchDonors(r.Context(), q, pageSize)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusOK, "donors", view{Title: "Donors", Nav: "donors", Data: donorsData{Query: q, Donors: ds}})
	})
}

type statementRow struct {
	store.DonorStatement
	Code string
}

type donorData struct {
	Donor        *domain.Donor
	Gifts        []domain.Donation
	Totals       []domain.CurrencySummary
	Statements   []statementRow
	GiftAidLabel string
}

// DonorPage shows one donor: gifts, totals per currency, Gift Aid status and
// statements, with resend (operators) and merge and erase (admins).
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
		data := donorData{Donor: d, Gifts: gifts, Totals: domain.Summarise(gifts, d.GiftAidFrom, c.o.Location)}
		for _, s := range sts {
			data.Statements = append(data.Statements, statementRow{DonorStatement: s, Code: domain.VerificationCode(s.ContentHash)})
		}
		data.GiftAidLabel = "No Gift Aid declaration"
		if d.GiftAidFrom != "" {
			data.GiftAidLabel = "Declared: GBP gifts from " + d.GiftAidFrom + " are eligible"
		}
		title := d.Name
		if title == "" {
			title = "Donor " + d.ID
		}
		c.render(w, r, http.StatusOK, "donor", view{Title: title, Nav: "donors", Data: data})
	})
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

// Audit shows the newest audit log entries.
func (c *Console) Audit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		es, err := c.o.Store.AuditLog(r.Context(), 200)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusOK, "audit", view{Title: "Audit log", Nav: "audit", Data: es})
	})
}
