// Package supporter serves the pages a supporter reaches from an email,
// without an account: their statement (signed, expiring link) with its PDF
// and their past statements, a preferences page to choose which letters
// come (impact letters and the annual statement, the annual statement only,
// or nothing), and /verify, where anyone can check a letter's verification code.
//
// The signed token names one statement; every page derives the donor from
// that statement and shows nothing of any other donor. A tampered or expired
// link gets a page that says so and nothing else.
package supporter

import (
	"bytes"
	"embed"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"impactd/internal/domain"
	"impactd/internal/links"
	"impactd/internal/period"
	"impactd/internal/store"
	"impactd/internal/webui"
)

//go:embed templates/*.html
var templateFS embed.FS

// Renderer renders a statement's PDF from its snapshot (internal/letter).
type Renderer interface {
	Render(w io.Writer, s *domain.Snapshot, contentHash string) error
}

// Pages serves the supporter pages.
type Pages struct {
	Store    *store.Store
	Renderer Renderer
	Links    *links.Signer // nil: every statement link is invalid
	Clock    domain.Clock
	Log      *slog.Logger
	Location *time.Location
	OrgName  string
	OrgEmail string
	// CharityNumber and Address are printed at the foot of every page, as
	// on the letter; Logo (PNG) heads it.
	CharityNumber string
	Address       []string
	Logo          []byte
	// PeriodKind is how often letters go out, for the pages' wording.
	PeriodKind period.Kind

	pages map[string]*template.Template
	logo  template.URL
}

// New parses the templates.
func New(p Pages) (*Pages, error) {
	if p.Location == nil {
		p.Location = time.UTC
	}
	if len(p.Logo) > 0 {
		p.logo = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(p.Logo))
	}
	p.pages = map[string]*template.Template{}
	for _, name := range []string{"statement", "preferences", "verify", "message", "unsubscribe"} {
		files := []string{"templates/layout.html", "templates/" + name + ".html"}
		if name == "preferences" {
			files = append(files, "templates/channel.html")
		}
		t, err := template.New("layout.html").Funcs(webui.Funcs(p.Location)).ParseFS(templateFS, files...)
		if err != nil {
			return nil, err
		}
		p.pages[name] = t
	}
	return &p, nil
}

type view struct {
	Title, Body   string
	OrgName       string
	OrgEmail      string
	CharityNumber string
	Address       string
	Logo          template.URL
	Token         string
	// Letters says how often letters come: "quarterly", "monthly", ….
	Letters string
	Data    any
}

func (p *Pages) render(w http.ResponseWriter, status int, name string, v view) {
	v.OrgName, v.OrgEmail, v.CharityNumber, v.Logo = p.OrgName, p.OrgEmail, p.CharityNumber, p.logo
	v.Address = strings.Join(p.Address, ", ")
	v.Letters = Letters(p.PeriodKind)
	var buf bytes.Buffer
	if err := p.pages[name].Execute(&buf, v); err != nil {
		p.Log.Error("supporter template", "page", name, "err", err)
		status, buf = http.StatusInternalServerError, *bytes.NewBufferString("Internal error.")
	}
	webui.SecurityHeaders(w)
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (p *Pages) message(w http.ResponseWriter, status int, title, body string) {
	p.render(w, status, "message", view{Title: title, Body: body})
}

func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := webui.Status(err)
	if status == http.StatusInternalServerError {
		p.Log.Error("supporter page error", "route", r.Pattern, "err", err)
	}
	p.message(w, status, "Something went wrong", "We could not show this page just now. Please try again later.")
}

// badLink is the page for a tampered, truncated or unknown link: it says
// nothing about any statement or donor.
func (p *Pages) badLink(w http.ResponseWriter, result int) {
	if result == links.StatementExpired {
		p.message(w, http.StatusGone, "This link has expired",
			"Links in our emails work for a limited time, to keep your statements private. The link in your most recent email will work, or contact us and we will send your statement again.")
		return
	}
	p.message(w, http.StatusNotFound, "This link is not valid",
		"The link may have been copied incompletely. Please use the link in your most recent email, or contact us.")
}

// Letters is the adjective for letters sent once a period of kind k:
// "quarterly", "monthly", "yearly"; "" for an unknown kind.
func Letters(k period.Kind) string {
	switch k {
	case period.Quarter:
		return "quarterly"
	case period.Month:
		return "monthly"
	case period.Year, period.TaxYear:
		return "yearly"
	}
	return ""
}

// Unsubscribe is what the page of an email's unsubscribe link shows.
type Unsubscribe struct {
	// Series is the series whose email carried the link.
	Series domain.Series
	// Form asks to confirm (a GET never changes anything); Done says it is
	// done; Invalid is a link that is not valid, and shows nothing else.
	Form, Done, Invalid bool
	// AlsoAnnual, after an impact letter's unsubscribe, is where the
	// one-click button that stops the annual statement too posts.
	AlsoAnnual string
}

// UnsubscribePage writes the page of the emails' unsubscribe link in the
// pages' look.
func (p *Pages) UnsubscribePage(w http.ResponseWriter, status int, u Unsubscribe) {
	u.Series = u.Series.OrDefault()
	v := view{Title: "Stop impact letters?", Data: u}
	switch {
	case u.Invalid:
		v.Title = "This link is not valid"
	case u.Done:
		v.Title = "You have been unsubscribed"
	case u.Series == domain.SeriesAnnual:
		v.Title = "Stop the annual statement?"
	}
	p.render(w, status, "unsubscribe", v)
}

// donorStatements is what a valid token gives access to: its statement and
// the donor's other statements that were actually emailed.
type donorStatements struct {
	This  store.DonorStatement
	Donor *domain.Donor
	All   []store.DonorStatement // the statements this donor may download, newest first
}

func (d *donorStatements) find(id string) (store.DonorStatement, bool) {
	for _, s := range d.All {
		if s.ID == id {
			return s, true
		}
	}
	return store.DonorStatement{}, false
}

// load checks the token and loads what it gives access to. ok is false when
// a page (bad link) has been written.
func (p *Pages) load(w http.ResponseWriter, r *http.Request) (*donorStatements, bool) {
	id, res := links.CheckStatement(p.Links, r.PathValue("token"), p.Clock.Now())
	if res != links.StatementOK {
		p.badLink(w, res)
		return nil, false
	}
	st, err := p.Store.Statement(r.Context(), id)
	if err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			p.badLink(w, links.StatementInvalid)
		} else {
			p.fail(w, r, err)
		}
		return nil, false
	}
	donor, err := p.Store.Donor(r.Context(), st.DonorID)
	if err != nil {
		p.fail(w, r, err)
		return nil, false
	}
	all, err := p.Store.StatementsForDonor(r.Context(), st.DonorID)
	if err != nil {
		p.fail(w, r, err)
		return nil, false
	}
	d := &donorStatements{Donor: donor}
	for _, s := range all {
		if s.ID == st.ID {
			d.This = s
		}
		if s.ID == st.ID || (s.DryRun == 0 && (s.DeliveryStatus == domain.DeliverySent ||
			s.DeliveryStatus == domain.DeliveryInBatch || s.DeliveryStatus == domain.DeliveryPosted)) {
			d.All = append(d.All, s)
		}
	}
	if d.This.ID == "" { // cannot happen: the statement is the donor's
		p.badLink(w, links.StatementInvalid)
		return nil, false
	}
	return d, true
}

type statementRow struct {
	ID, Period, PeriodLabel, IssuedOn, Code string
	// Noun is what the letter is: "impact statement", "giving statement".
	Noun string
	This bool
	// ReplacedBy is the date of the corrected letter that replaced this
	// one, "" for a current statement; ReplacedByID is that letter's id.
	ReplacedBy, ReplacedByID string
}

// rows lists the donor's statements, newest period first. A series and
// period's newest statement is its current one; an older one of the same
// series and period was replaced by a correction and names it (an impact
// letter and an annual statement of the same period are two letters).
func rows(d *donorStatements) []statementRow {
	var out []statementRow
	current := map[string]statementRow{}
	for _, s := range d.All { // newest first within each period
		row := statementRow{ID: s.ID, Period: s.Period, PeriodLabel: s.Period, Code: domain.VerificationCode(s.ContentHash), This: s.ID == d.This.ID,
			Noun: (&domain.Snapshot{Series: s.Series}).Noun()}
		if snap, err := domain.DecodeSnapshot([]byte(s.Snapshot)); err == nil {
			row.PeriodLabel, row.IssuedOn = snap.PeriodLabel, snap.IssuedOn
		}
		key := string(s.Series.OrDefault()) + "\x00" + s.Period
		if c, ok := current[key]; ok {
			row.ReplacedBy, row.ReplacedByID = c.IssuedOn, c.ID
		} else {
			current[key] = row
		}
		out = append(out, row)
	}
	return out
}

type statementData struct {
	This statementRow
	// Current is the letter that replaced This, when it was replaced.
	Current     *statementRow
	Past        []statementRow
	Unsubscribe bool
	Letters     string // the donor's domain.Letters* choice
	ByPost      bool   // their letters come by post
}

// StatementPage shows the statement the link names, with a download button,
// and the donor's other current statements; a replaced statement says which
// corrected letter replaced it.
func (p *Pages) StatementPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := p.load(w, r)
		if !ok {
			return
		}
		data := statementData{Unsubscribe: d.Donor.Status == domain.DonorUnsubscribed || d.Donor.Letters == domain.LettersNone,
			Letters: d.Donor.Letters, ByPost: d.Donor.Channel == domain.ChannelPost}
		all := rows(d)
		for _, row := range all {
			switch {
			case row.This:
				data.This = row
			case row.ReplacedBy == "":
				data.Past = append(data.Past, row)
			}
		}
		if data.This.ReplacedByID != "" {
			for i, row := range data.Past {
				if row.ID == data.This.ReplacedByID {
					cur := row
					data.Current = &cur
					data.Past = append(data.Past[:i:i], data.Past[i+1:]...)
					break
				}
			}
		}
		p.render(w, http.StatusOK, "statement", view{Title: "Your " + data.This.Noun, Token: r.PathValue("token"), Data: data})
	})
}

// StatementPDF downloads the statement the link names or, with {id}, one of
// the same donor's past statements. An id of anyone else's statement gets
// the same page as an unknown one.
func (p *Pages) StatementPDF() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := p.load(w, r)
		if !ok {
			return
		}
		want := r.PathValue("id")
		if want == "" {
			want = d.This.ID
		}
		st, ok := d.find(want)
		if !ok {
			p.message(w, http.StatusNotFound, "Statement not found", "There is no such statement among yours.")
			return
		}
		snap, err := domain.DecodeSnapshot([]byte(st.Snapshot))
		if err != nil {
			p.fail(w, r, err)
			return
		}
		var buf bytes.Buffer
		if err := p.Renderer.Render(&buf, snap, st.ContentHash); err != nil {
			p.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", `attachment; filename="`+snap.FileName()+`"`)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
		_, _ = buf.WriteTo(w)
	})
}

type prefsData struct {
	Status  string // the donor's status: active, erased, merged
	Letters string // domain.Letters*
	Choices []prefsChoice
	Done    bool
	// Channel is the email-or-post choice (channel.go).
	Channel channelData
}

type prefsChoice struct{ Value, Label, Hint string }

// prefsChoices are the three preferences the page offers, in order.
func prefsChoices() []prefsChoice {
	hints := map[string]string{
		domain.LettersAll:    "Each period's impact letter, with your gifts and what they helped achieve, and once a year the statement of your gifts for your tax affairs.",
		domain.LettersAnnual: "Only the yearly statement of your gifts, for your tax affairs: no impact letters.",
		domain.LettersNone:   "No letters from us, by email or by post. Your gifts are not affected.",
	}
	var out []prefsChoice
	for _, l := range domain.AllLetters {
		out = append(out, prefsChoice{Value: l, Label: domain.LettersLabel(l), Hint: hints[l]})
	}
	return out
}

// prefsFor is the page's data; channelDone is the channel just chosen
// ("email" or "post"), or "".
func prefsFor(d *domain.Donor, done bool, channelDone string) prefsData {
	letters := d.Letters
	if d.Status == domain.DonorUnsubscribed {
		letters = domain.LettersNone
	}
	return prefsData{Status: d.Status, Letters: letters, Choices: prefsChoices(), Done: done, Channel: channelOf(d, channelDone)}
}

// PreferencesPage shows which letters the donor receives, with the three
// choices: impact letters and the annual statement, the annual statement
// only, or nothing.
func (p *Pages) PreferencesPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := p.load(w, r)
		if !ok {
			return
		}
		p.render(w, http.StatusOK, "preferences", view{Title: "Your letter preferences", Token: r.PathValue("token"),
			Data: prefsFor(d.Donor, false, "")})
	})
}

// SetPreferences sets which letters the donor receives (letters=all,
// annual or none). The signed link is the authority: no session, and so no
// CSRF token either, since a forger would need the link itself.
func (p *Pages) SetPreferences() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := p.load(w, r)
		if !ok {
			return
		}
		letters, err := domain.ParseLetters(r.PostFormValue("letters"))
		if err != nil || d.Donor.Status != domain.DonorActive {
			p.message(w, http.StatusBadRequest, "Choose an option", "Please choose one of the options on the preferences page.")
			return
		}
		now := p.Clock.Now().Unix()
		err = p.Store.InTx(r.Context(), func(tx *store.Tx) error {
			was, err := tx.SetDonorLetters(r.Context(), d.Donor.ID, letters, now)
			if err != nil || was == letters {
				return err
			}
			return tx.Audit(r.Context(), &store.AuditEntry{Actor: "supporter", Action: "donor.letters", Subject: d.Donor.ID,
				Reason: "preferences page", Detail: `{"from":"` + was + `","to":"` + letters + `"}`, CreatedAt: now})
		})
		if err != nil {
			p.fail(w, r, err)
			return
		}
		p.Log.Info("supporter preferences", "donor_id", d.Donor.ID, "letters", letters)
		donor, err := p.Store.Donor(r.Context(), d.Donor.ID)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		p.render(w, http.StatusOK, "preferences", view{Title: "Your letter preferences", Token: r.PathValue("token"),
			Data: prefsFor(donor, true, "")})
	})
}

type verifyData struct {
	Code        string
	Checked     bool
	Genuine     bool
	PeriodLabel string
	IssuedOn    string
	Initials    string
	Noun        string // "impact statement", "giving statement"
}

// Verify checks a verification code. A genuine code shows only the period,
// the letter's date and the donor's initials.
func (p *Pages) Verify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := strings.TrimSpace(r.URL.Query().Get("code"))
		data := verifyData{Code: raw}
		if raw != "" {
			data.Checked = true
			code := domain.NormaliseVerificationCode(raw)
			prefix, ok := hashPrefix(code)
			if ok {
				sts, err := p.Store.StatementsByHashPrefix(r.Context(), prefix, 20)
				if err != nil {
					p.fail(w, r, err)
					return
				}
				for _, st := range sts {
					if domain.VerificationCode(st.ContentHash) != code {
						continue
					}
					run, err := p.Store.Run(r.Context(), st.RunID)
					if err != nil {
						p.fail(w, r, err)
						return
					}
					snap, err := domain.DecodeSnapshot([]byte(st.Snapshot))
					if run.DryRun || err != nil {
						continue // a dry run's letter was never sent
					}
					data.Genuine, data.PeriodLabel, data.IssuedOn, data.Initials = true, snap.PeriodLabel, snap.IssuedOn, Initials(snap.Donor.Name)
					data.Noun = snap.Noun()
					data.Code = code
					break
				}
			}
		}
		p.render(w, http.StatusOK, "verify", view{Title: "Check a letter", Data: data})
	})
}

// hashPrefix turns a verification code (ten base32 characters, 50 bits of
// the content hash) into the first twelve hex digits of the hash (48 bits).
func hashPrefix(code string) (string, bool) {
	c := strings.ReplaceAll(code, "-", "")
	if len(c) != 10 {
		return "", false
	}
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(c + "AAAAAA")
	if err != nil || len(b) < 6 {
		return "", false
	}
	return hex.EncodeToString(b[:6]), true
}

// Initials returns "Z. Ł." for "Zoë Łukasiewicz", at most three; "—" for no name.
func Initials(name string) string {
	var parts []string
	for _, f := range strings.Fields(name) {
		for _, r := range f {
			if unicode.IsLetter(r) {
				parts = append(parts, string(unicode.ToUpper(r))+".")
			}
			break
		}
		if len(parts) == 3 {
			break
		}
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, " ")
}
