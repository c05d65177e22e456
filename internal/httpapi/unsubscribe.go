package httpapi

import (
	"html/template"
	"net/http"

	"impactd/internal/domain"
	"impactd/internal/links"
	"impactd/internal/webui"
)

var unsubscribePage = template.Must(template.New("u").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title>
<link rel="stylesheet" href="{{.Stylesheet}}">
</head><body><main><h1>{{.Title}}</h1><p>{{.Body}}</p>
{{if .Form}}<form method="post"><button type="submit">Stop impact statements</button></form>{{end}}
</main></body></html>`))

type page struct {
	Title, Body string
	Form, Done  bool
	Stylesheet  string
}

// renderUnsubscribe writes p in the supporter pages' look (which names how
// often letters come) when they are served, or as the plain page.
func renderUnsubscribe(w http.ResponseWriter, d Deps, status int, p page) {
	if d.Supporter != nil {
		d.Supporter.UnsubscribePage(w, status, p.Form, p.Done, p == badLink)
		return
	}
	renderPage(w, status, p)
}

// renderPage writes the page with the security headers of every HTML page
// (no inline style: the content security policy allows none).
func renderPage(w http.ResponseWriter, status int, p page) {
	webui.SecurityHeaders(w)
	p.Stylesheet = webui.StylesheetPath
	w.WriteHeader(status)
	_ = unsubscribePage.Execute(w, p)
}

var badLink = page{Title: "This link is not valid", Body: "The link may have been copied incompletely. Please use the link in your most recent email, or contact us and we will stop the letters for you."}

// handleUnsubscribePage shows a confirmation button: a GET never changes
// anything, because mail scanners follow links.
func handleUnsubscribePage(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.Links == nil {
			renderUnsubscribe(w, d, http.StatusNotFound, badLink)
			return
		}
		if _, ok := d.Links.Check(links.PurposeUnsubscribe, r.PathValue("token")); !ok {
			renderUnsubscribe(w, d, http.StatusBadRequest, badLink)
			return
		}
		renderUnsubscribe(w, d, http.StatusOK, page{Title: "Stop impact statements?", Body: "You will no longer receive impact statements by email. Your gifts are not affected.", Form: true})
	})
}

// handleUnsubscribe is the RFC 8058 one-click unsubscribe: a POST with the
// signed token, no session needed. Repeating it is harmless.
func handleUnsubscribe(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.Links == nil {
			renderUnsubscribe(w, d, http.StatusNotFound, badLink)
			return
		}
		donorID, ok := d.Links.Check(links.PurposeUnsubscribe, r.PathValue("token"))
		if !ok {
			renderUnsubscribe(w, d, http.StatusBadRequest, badLink)
			return
		}
		err := d.Store.SetDonorStatus(r.Context(), donorID, domain.DonorActive, domain.DonorUnsubscribed, d.Clock.Now().Unix())
		if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
			Error(w, r, d.Log, err)
			return
		}
		d.Log.Info("donor unsubscribed", "donor_id", donorID)
		renderUnsubscribe(w, d, http.StatusOK, page{Title: "You have been unsubscribed", Body: "You will not receive further impact statements. Thank you for everything you have given.", Done: true})
	})
}
