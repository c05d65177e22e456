// Package webui holds what the staff console, the supporter pages and the
// API share: the one mapping of domain errors to HTTP statuses (Status),
// the embedded stylesheet and the template functions that format money and
// dates. Nothing here is loaded from outside the binary.
package webui

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"

	"impactd/internal/domain"
	"impactd/internal/letter"
	"impactd/internal/money"
)

// CSS is the one stylesheet of every HTML page.
//
//go:embed site.css
var CSS []byte

// StylesheetPath is where Stylesheet is served.
const StylesheetPath = "/assets/site.css"

// FontPath is where Font serves the typeface's files, FontPath + FILE.
const FontPath = "/assets/fonts/"

// FontFamily is the CSS name of the letter's typeface on the pages.
const FontFamily = "Impactd Noto Sans"

// fonts are the letter's typeface as web fonts, loaded once.
var fonts = sync.OnceValues(func() (map[string]letter.WebFont, []byte) {
	list, err := letter.WebFonts()
	if err != nil {
		// The letter renderer loads the same files at start-up and stops
		// impactd if they are broken; the pages then fall back to the
		// system's sans-serif.
		return nil, nil
	}
	byFile := map[string]letter.WebFont{}
	var css bytes.Buffer
	for _, f := range list {
		byFile[f.File] = f
		weight := 400
		if f.Bold {
			weight = 700
		}
		fmt.Fprintf(&css, "@font-face{font-family:%q;src:url(%s%s) format(\"truetype\");font-weight:%d;font-display:swap;unicode-range:%s}\n",
			FontFamily, FontPath, f.File, weight, f.UnicodeRange)
	}
	return byFile, css.Bytes()
})

// Stylesheet serves CSS, with the @font-face rules of the letter's
// typeface before it.
func Stylesheet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, faces := fonts()
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(faces)
		_, _ = w.Write(CSS)
	})
}

// Font serves one file of the typeface, FontPath + {file}.
func Font() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		files, _ := fonts()
		f, ok := files[r.PathValue("file")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "font/ttf")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(f.TTF)
	})
}

// Funcs are the template functions of every page; loc is the organisation's time zone.
func Funcs(loc *time.Location) template.FuncMap {
	return template.FuncMap{
		"money": func(amount int64, currency string) string { return money.New(amount, currency).String() },
		"longDate": func(ymd string) string {
			t, err := time.Parse(time.DateOnly, ymd)
			if err != nil {
				return ymd
			}
			return t.Format("2 January 2006")
		},
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

// ContentSecurityPolicy is the policy of every HTML page: everything is
// served from impactd itself, nothing may frame it.
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

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
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
}
