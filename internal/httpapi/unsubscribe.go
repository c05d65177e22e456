package httpapi

import (
	"html/template"
	"net/http"

	"impactd/internal/domain"
	"impactd/internal/links"
	"impactd/internal/store"
	"impactd/internal/supporter"
	"impactd/internal/webui"
)

var unsubscribePage = template.Must(template.New("u").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title>
<link rel="stylesheet" href="{{.Stylesheet}}">
</head><body><main><h1>{{.Title}}</h1><p>{{.Body}}</p>
{{if .Form}}<form method="post"><button type="submit">{{.Button}}</button></form>{{end}}
{{if .AlsoAnnual}}<form method="post" action="{{.AlsoAnnual}}"><button type="submit">Stop the annual statement too</button></form>{{end}}
</main></body></html>`))

type page struct {
	Title, Body, Button string
	Form                bool
	AlsoAnnual          string
	Stylesheet          string
}

// renderUnsubscribe writes the unsubscribe page in the supporter pages' look
// (which names how often letters come) when they are served, or as the
// plain page.
func renderUnsubscribe(w http.ResponseWriter, d Deps, status int, u supporter.Unsubscribe) {
	if d.Supporter != nil {
		d.Supporter.UnsubscribePage(w, status, u)
		return
	}
	p := page{Title: "This link is not valid", Body: "The link may have been copied incompletely. Please use the link in your most recent email, or contact us and we will stop the letters for you."}
	switch {
	case u.Invalid:
	case u.Done && u.Series == domain.SeriesImpact:
		p = page{Title: "You have been unsubscribed", Body: "You will not receive further impact letters. Your annual statement of gifts continues; you can stop that too.",
			AlsoAnnual: u.AlsoAnnual}
	case u.Done:
		p = page{Title: "You have been unsubscribed", Body: "You will not receive the annual statement or any other letter from us. Thank you for everything you have given."}
	case u.Series == domain.SeriesImpact:
		p = page{Title: "Stop impact letters?", Body: "You will no longer receive impact letters by email. Your annual statement of gifts continues. Your gifts are not affected.",
			Button: "Stop impact letters", Form: true}
	default:
		p = page{Title: "Stop the annual statement?", Body: "You will no longer receive the annual statement of your gifts, nor any other letter from us. Your gifts are not affected.",
			Button: "Stop the annual statement", Form: true}
	}
	webui.SecurityHeaders(w)
	p.Stylesheet = webui.StylesheetPath
	w.WriteHeader(status)
	_ = unsubscribePage.Execute(w, p)
}

// handleUnsubscribePage shows a confirmation button: a GET never changes
// anything, because mail scanners follow links.
func handleUnsubscribePage(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.Links == nil {
			renderUnsubscribe(w, d, http.StatusNotFound, supporter.Unsubscribe{Invalid: true})
			return
		}
		_, series, ok := links.CheckUnsubscribe(d.Links, r.PathValue("token"))
		if !ok {
			renderUnsubscribe(w, d, http.StatusBadRequest, supporter.Unsubscribe{Invalid: true})
			return
		}
		renderUnsubscribe(w, d, http.StatusOK, supporter.Unsubscribe{Series: series, Form: true})
	})
}

// handleUnsubscribe is the RFC 8058 one-click unsubscribe: a POST with the
// signed token, no session needed. The token names the series whose email
// carried it: the impact letter's stops impact letters only (the annual
// statement continues, and the page offers to stop it too); the annual
// statement's stops it, and so every letter. Repeating it is harmless.
func handleUnsubscribe(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.Links == nil {
			renderUnsubscribe(w, d, http.StatusNotFound, supporter.Unsubscribe{Invalid: true})
			return
		}
		donorID, series, ok := links.CheckUnsubscribe(d.Links, r.PathValue("token"))
		if !ok {
			renderUnsubscribe(w, d, http.StatusBadRequest, supporter.Unsubscribe{Invalid: true})
			return
		}
		now := d.Clock.Now().Unix()
		err := d.Store.InTx(r.Context(), func(tx *store.Tx) error {
			donor, err := tx.Donor(r.Context(), donorID)
			if err != nil {
				return err
			}
			to := domain.WithoutSeries(donor.Letters, series)
			if to == donor.Letters {
				return nil
			}
			if _, err := tx.SetDonorLetters(r.Context(), donorID, to, now); err != nil {
				return err
			}
			return tx.Audit(r.Context(), &store.AuditEntry{Actor: "supporter", Action: "donor.letters", Subject: donorID,
				Reason: "one-click unsubscribe from the " + series.Label(),
				Detail: `{"from":"` + donor.Letters + `","to":"` + to + `","series":"` + string(series) + `"}`, CreatedAt: now})
		})
		if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
			Error(w, r, d.Log, err)
			return
		}
		d.Log.Info("donor unsubscribed", "donor_id", donorID, "series", series)
		u := supporter.Unsubscribe{Series: series, Done: true}
		if series == domain.SeriesImpact {
			u.AlsoAnnual = "/unsubscribe/" + links.UnsubscribeToken(d.Links, donorID, domain.SeriesAnnual)
		}
		renderUnsubscribe(w, d, http.StatusOK, u)
	})
}
