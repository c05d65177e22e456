// Package webui holds what the staff console, the supporter pages and the
// API share: the one mapping of domain errors to HTTP statuses (Status),
// the embedded stylesheet and the template functions that format money and
// dates. Nothing here is loaded from outside the binary.
package webui

import (
	_ "embed"
	"html/template"
	"net/http"
	"strings"
	"time"

	"impactd/internal/domain"
	"impactd/internal/money"
)

// CSS is the one stylesheet of every HTML page.
//
//go:embed site.css
var CSS []byte

// StylesheetPath is where Stylesheet is served.
const StylesheetPath = "/assets/site.css"

// Stylesheet serves CSS.
func Stylesheet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(CSS)
	})
}

// Funcs are the template functions of every page; loc is the organisation's time zone.
func Funcs(loc *time.Location) template.FuncMap {
	return template.FuncMap{
		"money": func(amount int64, currency string) string { return money.New(amount, currency).String() },
		"date": func(unix int64) string {
			if unix == 0 {
				return "—"
			}
			return time.Unix(unix, 0).In(loc).Format("2 Jan 2006")
		},
		"datetime": func(unix int64) string {
			if unix == 0 {
				return "—"
			}
			return time.Unix(unix, 0).In(loc).Format("2 Jan 2006 15:04")
		},
		"code":       domain.VerificationCode,
		"stylesheet": func() string { return StylesheetPath },
		"title":      func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	}
}

// SecurityHeaders sets the headers every HTML page carries: no framing, no
// content sniffing, a strict content security policy (everything is served
// from impactd itself) and no caching of personal pages.
func SecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
}
