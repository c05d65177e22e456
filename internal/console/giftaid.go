package console

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"impactd/internal/domain"
	"impactd/internal/giftaid"
	"impactd/internal/period"
	"impactd/internal/store"
)

// The Gift Aid pages (operators: the preview shows names and addresses):
// the claims made, a preview of the next claim (its rows, exceptions,
// adjustments and totals), making it, a claim's page with its files and
// the form that records HMRC's acknowledgment. Everything goes through
// giftaid.Service, as from `impactd giftaid`.

type giftAidData struct {
	Claims    []store.GiftAidClaim
	To        string
	Aggregate bool
	Preview   *giftaid.Schedule
}

// GiftAid lists the claims and, with ?to=YYYY-MM-DD, previews the next one.
func (c *Console) GiftAid() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, err := c.o.GiftAid.List(r.Context(), 50)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d := giftAidData{Claims: claims, To: r.URL.Query().Get("to"), Aggregate: r.URL.Query().Get("aggregate") == "yes"}
		if d.To != "" {
			if d.Preview, err = c.o.GiftAid.Preview(r.Context(), d.To, d.Aggregate); err != nil {
				c.fail(w, r, err)
				return
			}
		} else {
			// The end of the last complete period, the usual end of a claim.
			_, end := period.LastComplete(c.o.Clock.Now(), c.o.PeriodKind, c.o.Location).Bounds(c.o.Location)
			d.To = end.AddDate(0, 0, -1).Format(time.DateOnly)
		}
		c.render(w, r, http.StatusOK, "giftaid", view{Title: "Gift Aid", Nav: "giftaid", Data: d})
	})
}

// MakeGiftAidClaim makes a claim from the form (to, aggregate, confirm).
func (c *Console) MakeGiftAidClaim() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("confirm") != "yes" {
			c.fail(w, r, domain.Errorf(domain.EINVALID, "Tick the confirmation box to make the claim."))
			return
		}
		res, err := c.o.GiftAid.Claim(r.Context(), giftaid.Request{To: strings.TrimSpace(r.PostFormValue("to")),
			Aggregate: r.PostFormValue("aggregate") == "yes", Actor: actor(r.Context())})
		if err != nil {
			c.fail(w, r, err)
			return
		}
		redirect(w, r, "/console/giftaid/claims/"+res.Claim.ID+"?done=claimed")
	})
}

type giftAidClaimData struct {
	Claim    *store.GiftAidClaim
	Schedule *giftaid.Schedule
	// Gone says why the claim's files can no longer be made ("" when they can).
	Gone string
	Tax  int64 // the Gift Aid on the claim's donations
}

// GiftAidClaim shows one claim: totals, adjustments, files, submission.
func (c *Console) GiftAidClaim() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claim, sch, err := c.o.GiftAid.Remake(r.Context(), r.PathValue("id"))
		d := giftAidClaimData{Claim: claim, Schedule: sch}
		var gone *giftaid.ErasedError
		switch {
		case errors.As(err, &gone):
			d.Gone = domain.ErrorMessage(err)
		case err != nil:
			c.fail(w, r, err)
			return
		}
		if d.Tax, err = giftaid.GiftAidOn(claim.Total); err != nil {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusOK, "giftaid_claim", view{Title: "Gift Aid claim " + claim.ID, Nav: "giftaid", Data: d})
	})
}

// GiftAidFile downloads a claim's schedule (CSV or ODS) or its adjustments,
// made again from the claim's record.
func (c *Console) GiftAidFile() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claim, sch, err := c.o.GiftAid.Remake(r.Context(), r.PathValue("id"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		base := giftaid.FileBase(sch)
		var name, ctype string
		var write func() error
		switch r.PathValue("file") {
		case "schedule.csv":
			name, ctype, write = base+".csv", "text/csv; charset=utf-8", func() error { return giftaid.WriteCSV(w, sch.Rows) }
		case "schedule.ods":
			name, ctype, write = base+".ods", "application/vnd.oasis.opendocument.spreadsheet", func() error { return giftaid.WriteODS(w, sch.Rows) }
		case "adjustments.csv":
			name, ctype, write = base+"-adjustments.csv", "text/csv; charset=utf-8",
				func() error { return giftaid.WriteAdjustmentsCSV(w, sch.Adjustments, c.o.Location) }
		default:
			c.fail(w, r, domain.Errorf(domain.ENOTFOUND, "claim %s has no file %q", claim.ID, r.PathValue("file")))
			return
		}
		// The schedule holds names and addresses: who took a copy is recorded.
		if err := c.audit(r.Context(), c.o.Store.Q, "giftaid.download", claim.ID, "", name); err != nil {
			c.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if err := write(); err != nil {
			c.o.Log.Error("gift aid file", "claim_id", claim.ID, "err", err)
		}
	})
}

// MarkGiftAidSubmitted records HMRC's acknowledgment of a claim (reference, confirm).
func (c *Console) MarkGiftAidSubmitted() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("confirm") != "yes" {
			c.fail(w, r, domain.Errorf(domain.EINVALID, "Tick the confirmation box to record the submission."))
			return
		}
		cl, err := c.o.GiftAid.MarkSubmitted(r.Context(), r.PathValue("id"), r.PostFormValue("reference"), actor(r.Context()))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		redirect(w, r, "/console/giftaid/claims/"+cl.ID+"?done=submitted")
	})
}
