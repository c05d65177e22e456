package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"impactd/internal/domain"
	"impactd/internal/period"
	"impactd/internal/store"
)

// The audit log reads as sentences: who did what to whom, why and when.
// Entries keep what their writers recorded (an actor such as
// "staff:a@example.org", an action such as "donor.merge", a subject id, a
// reason and a detail that is text or JSON); this file only says them in
// words, with links to the donors, runs, statements and impact updates they
// name. An action it does not know still reads as a sentence, from its name.

// part is a piece of a sentence: text, or text linking to a console page.
type part struct {
	Text string
	Href string
}

// auditLine is one entry, said in words.
type auditLine struct {
	At       int64
	Who      string
	What     []part
	Reason   string
	Trigger  string // who or what started it, when not a person ("schedule", "demo")
	Action   string // the recorded action, for the curious
	Subject  string
	Detailed []string // what else the entry recorded, "key: value"
}

// Audit shows the newest audit log entries as sentences.
func (c *Console) Audit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		es, err := c.o.Store.AuditLog(r.Context(), 200)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		lines, err := c.auditLines(r.Context(), es)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusOK, "audit", view{Title: "Audit log", Nav: "audit", Data: lines})
	})
}

func (c *Console) auditLines(ctx context.Context, es []store.AuditEntry) ([]auditLine, error) {
	// The donors the entries name, in one query, to say them by name.
	var ids []string
	for _, e := range es {
		for _, s := range append(strings.Split(e.Subject, ","), strings.Fields(e.Detail)...) {
			if strings.HasPrefix(strings.Trim(s, `",{}:`), "dnr_") {
				ids = append(ids, strings.Trim(s, `",{}:`))
			}
		}
		if d := detailMap(e.Detail); d != nil {
			if id, _ := d["donor_id"].(string); id != "" {
				ids = append(ids, id)
			}
		}
	}
	names, err := c.o.Store.DonorNames(ctx, ids)
	if err != nil {
		return nil, err
	}
	lines := make([]auditLine, 0, len(es))
	for _, e := range es {
		lines = append(lines, describe(e, names))
	}
	return lines, nil
}

// detailMap is a JSON detail as a map; nil for text.
func detailMap(detail string) map[string]any {
	if !strings.HasPrefix(strings.TrimSpace(detail), "{") {
		return nil
	}
	var m map[string]any
	if json.Unmarshal([]byte(detail), &m) != nil {
		return nil
	}
	return m
}

// who names an actor.
func who(actor string) (name, trigger string) {
	switch {
	case strings.HasPrefix(actor, "staff:"):
		return strings.TrimPrefix(actor, "staff:"), ""
	case strings.HasPrefix(actor, "cli:"):
		return strings.TrimPrefix(actor, "cli:") + " (command line)", ""
	case actor == "cli":
		return "Someone on the command line", ""
	case actor == "supporter":
		return "The supporter", ""
	case actor == "schedule":
		return "The schedule", "schedule"
	case actor == "impactd demo", actor == "demo":
		return "The demo", "demo"
	case actor == "console":
		return "A staff member", ""
	case actor == "impactd":
		return "impactd", ""
	case actor == "":
		return "Someone", ""
	}
	return actor, ""
}

func text(s string) part { return part{Text: s} }

func donorPart(id string, names map[string]string) part {
	if id == "" {
		return text("a donor")
	}
	if n := names[id]; n != "" {
		return part{Text: n, Href: "/console/donors/" + id}
	}
	return part{Text: "donor " + id, Href: "/console/donors/" + id}
}

func runPart(id string) part {
	if !strings.HasPrefix(id, "run_") {
		return text("a run")
	}
	return part{Text: id, Href: "/console/runs/" + id}
}

func periodWords(p string) string {
	if pp, err := period.Parse(p); err == nil {
		return pp.String() + " (" + pp.Label() + ")"
	}
	return p
}

// describe says an entry in words.
func describe(e store.AuditEntry, names map[string]string) auditLine {
	l := auditLine{At: e.CreatedAt, Reason: strings.TrimSpace(e.Reason), Action: e.Action, Subject: e.Subject}
	l.Who, l.Trigger = who(e.Actor)
	d := detailMap(e.Detail)
	str := func(k string) string { s, _ := d[k].(string); return s }
	flag := func(k string) bool { b, _ := d[k].(bool); return b }
	used := map[string]bool{}
	take := func(keys ...string) {
		for _, k := range keys {
			used[k] = true
		}
	}
	switch e.Action {
	case "run.start", "run.rerun":
		take("series", "period", "scope", "donor_id", "statement_id", "dry_run", "force", "trigger", "jobs", "rerun_of")
		kind := "a run"
		if flag("dry_run") {
			kind = "a dry run (nothing sent)"
		}
		switch str("series") {
		case string(domain.SeriesImpact):
			kind = "an impact letter " + strings.TrimPrefix(kind, "a ")
		case string(domain.SeriesAnnual):
			kind = "an annual statement " + strings.TrimPrefix(kind, "a ")
		}
		verb := "started "
		if e.Action == "run.rerun" || str("rerun_of") != "" {
			verb = "started a rerun: "
		}
		l.What = append(l.What, text(verb+kind))
		if p := str("period"); p != "" {
			l.What = append(l.What, text(" of "+periodWords(p)))
		}
		switch str("scope") {
		case "failed":
			l.What = append(l.What, text(", only the letters that failed"))
		case "donor":
			l.What = append(l.What, text(", for "), donorPart(str("donor_id"), names), text(" only"))
		case "statement":
			l.What = append(l.What, text(", one statement"))
		}
		switch {
		case flag("force") && flag("dry_run"):
			l.What = append(l.What, text(", making again what was already sent"))
		case flag("force"):
			l.What = append(l.What, text(", sending again what was already sent"))
		}
		if id := e.Subject; strings.HasPrefix(id, "run_") {
			l.What = append(l.What, text(": "), runPart(id))
		}
		if of := str("rerun_of"); of != "" && of != e.Subject {
			l.What = append(l.What, text(", a rerun of "), runPart(of))
		}
		if n, ok := d["jobs"].(float64); ok {
			s := "s"
			if n == 1 {
				s = ""
			}
			l.What = append(l.What, text(fmt.Sprintf(", %d supporter%s to consider", int(n), s)))
		}
		switch t := str("trigger"); {
		case t == "cli" && !strings.HasSuffix(l.Who, "(command line)"):
			l.Who += " (command line)"
		case t == "api":
			l.Who += " (API)"
		case t != "" && t != "console" && t != "cli" && t != e.Actor && l.Trigger == "":
			l.Trigger = t
		}
	case "run.pause":
		take("worker", "taken_back")
		l.What = append(l.What, text("paused "), runPart(e.Subject), text(": its remaining letters wait until someone resumes it"))
		if n, ok := d["taken_back"].(float64); ok && n > 0 {
			a := "address"
			if n != 1 {
				a = "addresses"
			}
			l.What = append(l.What, text(fmt.Sprintf(", and unmarked the %d %s it had marked bounced for the same fault", int(n), a)))
		}
		if l.Reason != "" {
			l.What = append(l.What, text(". Why: "+l.Reason))
			l.Reason = ""
		}
	case "run.resume":
		take("paused_for")
		l.What = append(l.What, text("resumed "), runPart(e.Subject))
		if p := str("paused_for"); p != "" {
			l.What = append(l.What, text(", which had paused because "+p))
		}
	case "bounce.clear":
		l.What = append(l.What, text("cleared the bounce of the address of "))
		ids := strings.Split(e.Subject, ",")
		for i, id := range ids {
			if i > 0 {
				l.What = append(l.What, text(" and "))
			}
			l.What = append(l.What, donorPart(strings.TrimSpace(id), names))
		}
		l.What = append(l.What, text(": letters go to it again"))
	case "statement.resend":
		take("series", "period", "scope", "donor_id", "statement_id", "dry_run", "force", "rerun_of")
		l.What = append(l.What, text("sent a statement again"))
		if p := str("period"); p != "" {
			l.What = append(l.What, text(" ("+periodWords(p)+")"))
		}
		if id := str("donor_id"); id != "" {
			l.What = append(l.What, text(" to "), donorPart(id, names))
		}
		l.What = append(l.What, text(", as it was"))
	case "donor.merge":
		other := strings.TrimSpace(strings.TrimPrefix(e.Detail, "merged "))
		other, _, _ = strings.Cut(other, " into ")
		l.What = append(l.What, text("merged "), donorPart(other, names), text(" into "), donorPart(e.Subject, names),
			text(": gifts, addresses and statements moved"))
		take("*")
	case "donor.erase":
		l.What = append(l.What, text("erased the personal data of "), donorPart(e.Subject, names), text(" (amounts kept)"))
	case "donor.letters":
		take("from", "to", "series")
		l.What = append(l.What, text("set the letters of "), donorPart(e.Subject, names), text(" to “"+domain.LettersLabel(str("to"))+"”"))
		if from := str("from"); from != "" {
			l.What = append(l.What, text(" (was “"+domain.LettersLabel(from)+"”)"))
		}
	case "donor.letters_stopped":
		l.What = append(l.What, text("stopped the letters of "), donorPart(e.Subject, names))
	case "donor.letters_restarted":
		l.What = append(l.What, text("restarted the letters of "), donorPart(e.Subject, names))
	case "staff.sign_in":
		l.What = append(l.What, text("signed in to the console"))
	case "staff.add":
		role, email, _ := strings.Cut(e.Detail, " ")
		l.What = append(l.What, text(fmt.Sprintf("added a staff account for %s with the %s role", email, role)))
		take("*")
	case "staff.password":
		l.What = append(l.What, text("set a new password for staff account "+e.Subject))
	case "token.create":
		role, name, _ := strings.Cut(e.Detail, " ")
		s := "created an API token with the " + role + " role"
		if name = strings.TrimSpace(name); name != "" {
			s += " for “" + name + "”"
		}
		l.What = append(l.What, text(s))
		take("*")
	case "impact.draft":
		l.What = append(l.What, text("saved a draft impact update: "), part{Text: e.Detail, Href: "/console/impact/" + e.Subject})
		take("*")
	case "impact.publish":
		l.What = append(l.What, text("published "), part{Text: "impact update " + e.Subject, Href: "/console/impact/" + e.Subject})
		if by, ok := strings.CutPrefix(l.Reason, "approved by "); ok {
			l.What = append(l.What, text(", approved by "+by))
			l.Reason = ""
		}
	default:
		l.What = append(l.What, text(strings.NewReplacer(".", " ", "_", " ").Replace(e.Action)))
		if e.Subject != "" {
			if strings.HasPrefix(e.Subject, "dnr_") {
				l.What = append(l.What, text(" "), donorPart(e.Subject, names))
			} else {
				l.What = append(l.What, text(" "+e.Subject))
			}
		}
	}
	if !used["*"] {
		if d == nil && strings.TrimSpace(e.Detail) != "" {
			l.Detailed = append(l.Detailed, e.Detail)
		}
		var keys []string
		for k := range d {
			if !used[k] {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			if v := fmt.Sprint(d[k]); v != "" && v != "false" {
				l.Detailed = append(l.Detailed, strings.ReplaceAll(k, "_", " ")+": "+v)
			}
		}
	}
	return l
}
