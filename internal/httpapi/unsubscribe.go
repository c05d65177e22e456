package httpapi

import (
	"html/template"
	"net/http"

	"impactd/internal/domain"
	"impactd/internal/links"
)

var unsubscribePage = template.Must(template.New("u").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,Arial,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}
button{font-size:1rem;padding:.6rem 1.2rem;background:#00395d;color:#fff;border:0;border-radius:4px;cursor:pointer}</style>
</head><body><main><h1>{{.Title}}</h1><p>{{.Body}}</p>
{{if .Form}}<form method="post"><button type="submit">Stop impact statements</button></form>{{end}}
</main></body></html>`))

type page struct {
	Title, Body string
	Form        bool
}

func renderPage(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = unsubscribePage.Execute(w, p)
}

var badLink = page{Title: "This link is not valid", Body: "The link may have been copied incompletely. Please use the link in your most recent email, or contact us and we will stop the letters for you."}

// handleUnsubscribePage shows a confirmation button: a GET never changes
// anything, because mail scanners follow links.
func handleUnsubscribePage(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.Links == nil {
			renderPage(w, http.StatusNotFound, badLink)
			return
		}
		if _, ok := d.Links.Check(links.PurposeUnsubscribe, r.PathValue("token")); !ok {
			renderPage(w, http.StatusBadRequest, badLink)
			return
		}
		renderPage(w, http.StatusOK, page{Title: "Stop impact statements?", Body: "You will no longer receive quarterly impact statements by email. Your gifts are not affected.", Form: true})
	})
}

// handleUnsubscribe is the RFC 8058 one-click unsubscribe: a POST with the
// signed token, no session needed. Repeating it is harmless.
func handleUnsubscribe(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.Links == nil {
			renderPage(w, http.StatusNotFound, badLink)
			return
		}
		donorID, ok := d.Links.Check(links.PurposeUnsubscribe, r.PathValue("token"))
		if !ok {
			renderPage(w, http.StatusBadRequest, badLink)
			return
		}
		err := d.Store.SetDonorStatus(r.Context(), donorID, domain.DonorActive, domain.DonorUnsubscribed, d.Clock.Now().Unix())
		if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
			Error(w, r, d.Log, err)
			return
		}
		d.Log.Info("donor unsubscribed", "donor_id", donorID)
		renderPage(w, http.StatusOK, page{Title: "You have been unsubscribed", Body: "You will not receive further impact statements. Thank you for everything you have given."})
	})
}
