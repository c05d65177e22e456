// Package console is the staff console at /console: server-rendered pages
// (html/template, embedded) where fundraising staff sign in, watch runs,
// find donors, preview and resend statements, publish impact updates and
// read the audit log. Every action is a plain HTML form, so everything works
// without JavaScript; every route checks the staff member's role on the
// server (see internal/httpapi/routes.go for the list).
//
// Work that starts, reruns or resumes statement runs goes through the runs
// service (internal/runs), as it does from the command line and the API;
// the next scheduled run comes from the Schedule interface.
package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"time"

	"impactd/internal/auth"
	"impactd/internal/domain"
	"impactd/internal/period"
	"impactd/internal/runs"
	"impactd/internal/store"
	"impactd/internal/webui"
)

//go:embed templates/*.html
var templateFS embed.FS

// Renderer renders a statement's PDF from its snapshot (internal/letter).
type Renderer interface {
	Render(w io.Writer, s *domain.Snapshot, contentHash string) error
}

// Options are what the console needs.
type Options struct {
	Store    *store.Store
	Renderer Renderer
	Runs     *runs.Service
	Schedule Schedule
	// Preview builds the letter that shows an impact update (draft or
	// published) for a sample supporter; see NewPreview.
	Preview    *Preview
	Clock      domain.Clock
	Log        *slog.Logger
	Location   *time.Location
	PeriodKind period.Kind // the impact letter's
	// AnnualPeriodKind is the annual statement's period kind; "" is the
	// UK tax year.
	AnnualPeriodKind period.Kind
	// CookieSecure marks the session cookie Secure; turn it off only for
	// local plain-http use (IMPACTD_COOKIE_SECURE=false).
	CookieSecure bool
	SessionTTL   time.Duration // default 12h
	// SignInEvery and SignInBurst limit sign-in attempts per client address
	// and per email address: Burst at once, then one per SignInEvery.
	SignInEvery time.Duration // default 20s
	SignInBurst int           // default 5
}

// Console serves the staff pages.
type Console struct {
	o       Options
	pages   map[string]*template.Template
	limiter *limiter
	// dummyHash is compared against when an email is unknown, so that a
	// sign-in takes as long for a stranger as for a staff member.
	dummyHash []byte
}

// New parses the templates and returns the console.
func New(o Options) (*Console, error) {
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.SignInEvery <= 0 {
		o.SignInEvery = 20 * time.Second
	}
	if o.SignInBurst <= 0 {
		o.SignInBurst = 5
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Schedule == nil {
		o.Schedule = NoSchedule{}
	}
	if o.AnnualPeriodKind == "" {
		o.AnnualPeriodKind = period.TaxYear
	}
	c := &Console{o: o, pages: map[string]*template.Template{}, limiter: newLimiter(o.SignInEvery, o.SignInBurst, o.Clock)}
	funcs := webui.Funcs(o.Location)
	funcs["seriesLabel"] = seriesLabel
	funcs["lettersChoices"] = lettersChoices
	funcs["allows"] = func(r auth.Role, needs string) bool { return r.Allows(auth.Role(needs)) }
	funcs["isotime"] = func(unix int64) string { return time.Unix(unix, 0).In(o.Location).Format(time.RFC3339) }
	for _, name := range []string{"signin", "dashboard", "run", "bounces", "donors", "donor", "updates", "update", "update_form", "audit", "exceptions", "error"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console templates: %w", err)
		}
		c.pages[name] = t
	}
	var err error
	if c.dummyHash, err = hashPassword("not a password of anyone's, only for timing"); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	return c, nil
}

// view is what every page template receives.
type view struct {
	Title   string
	Nav     string // which navigation entry is current
	Staff   *store.Staff
	Role    auth.Role
	CSRF    string
	Flash   string
	Error   string
	Refresh int // seconds; a running run refreshes the page without JavaScript
	Data    any
}

// render writes a page. It renders into a buffer first, so that a template
// error becomes a clean 500 and not half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	if s, ok := staffFrom(r.Context()); ok {
		v.Staff, v.Role, v.CSRF = s.staff, auth.Role(s.staff.Role), s.csrf
	}
	if v.Flash == "" {
		v.Flash = flashes[r.URL.Query().Get("done")]
	}
	var buf bytes.Buffer
	if err := c.pages[name].Execute(&buf, v); err != nil {
		c.o.Log.Error("console template", "page", name, "err", err)
		status, buf = http.StatusInternalServerError, *bytes.NewBufferString("Internal error.")
	}
	webui.SecurityHeaders(w)
	// same-origin, not no-referrer: with no-referrer a browser sends
	// "Origin: null" with the console's own forms, and where it sends no
	// Sec-Fetch-Site either (plain http to any host but loopback) the
	// cross-origin check must refuse them, sign-in included. same-origin
	// still gives other sites no Referer, so no console URL (a donor id,
	// a search) leaves impactd.
	w.Header().Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// flashes are the confirmations shown after a form redirects (?done=…);
// only these fixed sentences can appear, never text from the URL.
var flashes = map[string]string{
	"run-started":    "The run has started. It appears below; this page refreshes while it runs.",
	"in-progress":    "A run of this period is already in progress, so nothing new was started: here it is. Rerun once it has finished.",
	"resumed":        "The run is resumed: its remaining letters are being sent.",
	"bounce-cleared": "The address is no longer marked bounced: the next run writes to it again.",
	"rerun-started":  "The rerun has started.",
	"resent":         "The statement is being sent again.",
	"merged":         "The donors were merged.",
	"erased":         "The donor's personal data was erased.",
	"draft-saved":    "The draft was saved.",
	"published":      "The impact update is published: letters from now on use it.",
	"signed-in":      "",
	"nothing-to-see": "",
}

// fail shows an error page: the domain error's message and status, or a
// generic sentence for internal errors, which are logged.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := webui.Status(err)
	if status == http.StatusInternalServerError {
		c.o.Log.Error("console error", "method", r.Method, "route", r.Pattern, "err", err)
	}
	v := view{Title: http.StatusText(status), Error: domain.ErrorMessage(err)}
	var noUpdate *runs.NoImpactUpdateError
	if errors.As(err, &noUpdate) {
		v.Data = []part{text("Publish the figures for " + noUpdate.Period + " on "), {Text: "Impact updates", Href: "/console/impact"},
			text(" (a draft is published from its page), then start the run again.")}
	}
	c.render(w, r, status, "error", v)
}

// audit records a staff action.
func (c *Console) audit(ctx context.Context, q store.Q, action, subject, reason, detail string) error {
	return q.Audit(ctx, c.entry(ctx, action, subject, reason, detail))
}

// entry is an audit entry by the signed-in staff member.
func (c *Console) entry(ctx context.Context, action, subject, reason, detail string) *store.AuditEntry {
	return &store.AuditEntry{Actor: actor(ctx), Action: action, Subject: subject, Reason: reason, Detail: detail,
		CreatedAt: c.o.Clock.Now().Unix()}
}

// actor names the signed-in staff member, for run requests.
func actor(ctx context.Context) string {
	if s, ok := staffFrom(ctx); ok {
		return "staff:" + s.staff.Email
	}
	return "console"
}

func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}
