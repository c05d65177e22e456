package console

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"impactd/internal/domain"
	"impactd/internal/impact"
	"impactd/internal/period"
	"impactd/internal/statement"
	"impactd/internal/store"
)

// metricRows is how many metric rows the impact update form offers.
const metricRows = 8

// Preview builds a real letter around an impact update, draft or published,
// so that staff see the figures exactly where donors will.
type Preview struct {
	Builder  *statement.Builder
	Renderer Renderer
}

// Letter renders the letter of a period's donor (donorID, or a donor who
// gave in the period, or a fictional supporter when there is none) with u as
// its impact update. The PDF is marked by a hash of nothing real: a preview
// is never a statement.
func (p *Preview) Letter(r *http.Request, u *domain.ImpactUpdate, donorID string) ([]byte, error) {
	ctx := r.Context()
	per, err := period.Parse(u.Period)
	if err != nil {
		return nil, domain.Errorf(domain.EINVALID, "%v", err)
	}
	from, to := per.Bounds(p.Builder.Location)
	var d *domain.Donor
	if donorID != "" {
		d, err = p.Builder.Store.Donor(ctx, donorID)
	} else {
		d, err = p.Builder.Store.SampleDonor(ctx, from.Unix(), to.Unix())
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			d, err = &domain.Donor{ID: "preview", Name: "Sample Supporter", Status: domain.DonorActive}, nil
		}
	}
	if err != nil {
		return nil, err
	}
	n, err := p.Builder.Store.CountDonorsBetween(ctx, from.Unix(), to.Unix())
	if err != nil {
		return nil, err
	}
	snap, err := p.Builder.Build(ctx, &statement.Context{Period: per, Impact: u, Supporters: n}, d, to.AddDate(0, 0, 5))
	if err != nil {
		return nil, err
	}
	enc, err := snap.Encode()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := p.Renderer.Render(&buf, snap, domain.ContentHash(enc)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Updates lists impact updates, every version.
func (c *Console) Updates() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		us, err := c.o.Store.RecentImpactUpdates(r.Context(), 200)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusOK, "updates", view{Title: "Impact updates", Nav: "impact", Data: us})
	})
}

// UpdatePage shows one version of an impact update, with preview and, for
// a draft, the publish form.
func (c *Console) UpdatePage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := c.o.Store.ImpactUpdate(r.Context(), r.PathValue("id"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusOK, "update", view{Title: u.Title, Nav: "impact", Data: u})
	})
}

type updateForm struct {
	U       *domain.ImpactUpdate
	Metrics []domain.Metric // metricRows of them, blanks at the end
	Based   string          // the version this draft starts from
}

func newForm(u *domain.ImpactUpdate, based string) updateForm {
	f := updateForm{U: u, Based: based, Metrics: append([]domain.Metric{}, u.Metrics...)}
	for len(f.Metrics) < metricRows {
		f.Metrics = append(f.Metrics, domain.Metric{})
	}
	return f
}

// UpdateForm shows the form for a new draft: empty, or (?from=ID) filled
// with an existing version to edit. Saving always makes a new version, so
// what was approved is never changed under anyone's feet.
func (c *Console) UpdateForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := &domain.ImpactUpdate{Period: period.LastComplete(c.o.Clock.Now(), c.o.PeriodKind, c.o.Location).String()}
		if from := r.URL.Query().Get("from"); from != "" {
			var err error
			if u, err = c.o.Store.ImpactUpdate(r.Context(), from); err != nil {
				c.fail(w, r, err)
				return
			}
		}
		c.render(w, r, http.StatusOK, "update_form", view{Title: "Draft an impact update", Nav: "impact", Data: newForm(u, u.ID)})
	})
}

// CreateUpdate saves the form as a new draft version (operators).
func (c *Console) CreateUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := parseUpdate(r)
		if err != nil {
			c.render(w, r, http.StatusBadRequest, "update_form", view{Title: "Draft an impact update", Nav: "impact",
				Error: domain.ErrorMessage(err), Data: newForm(u, r.PostFormValue("based"))})
			return
		}
		stored, _, err := impact.Import(r.Context(), c.o.Store, u, c.o.Clock.Now())
		if err != nil {
			if domain.ErrorCode(err) == domain.EINVALID {
				c.render(w, r, http.StatusBadRequest, "update_form", view{Title: "Draft an impact update", Nav: "impact",
					Error: domain.ErrorMessage(err), Data: newForm(u, r.PostFormValue("based"))})
				return
			}
			c.fail(w, r, err)
			return
		}
		if err := c.audit(r.Context(), c.o.Store.Q, "impact.draft", stored.ID, "", stored.Period+" version "+strconv.Itoa(stored.Version)); err != nil {
			c.fail(w, r, err)
			return
		}
		redirect(w, r, "/console/impact/"+stored.ID+"?done=draft-saved")
	})
}

// parseUpdate reads the form; it returns what it could read even on error,
// so that the form is shown again as it was typed.
func parseUpdate(r *http.Request) (*domain.ImpactUpdate, error) {
	f := r.PostFormValue
	u := &domain.ImpactUpdate{Period: strings.TrimSpace(f("period")), Title: f("title"), Narrative: f("narrative"),
		Source: f("source"), AsOf: strings.TrimSpace(f("as_of")), CorrectionReason: f("correction_reason"), CreatedBy: actor(r.Context())}
	if f("demo_data") == "yes" {
		u.DemoData = true
	}
	var problems []string
	num := func(name, v string) *int64 {
		v = strings.ReplaceAll(strings.TrimSpace(v), ",", "")
		if v == "" {
			return nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			problems = append(problems, name+": "+strconv.Quote(v)+" is not a whole number")
			return nil
		}
		return &n
	}
	for i := range metricRows {
		p := "m" + strconv.Itoa(i) + "_"
		m := domain.Metric{Key: strings.TrimSpace(f(p + "key")), Label: strings.TrimSpace(f(p + "label")),
			CumulativeSince: strings.TrimSpace(f(p + "since")), Unit: strings.TrimSpace(f(p + "unit"))}
		m.Period, m.Cumulative = num(p+"period", f(p+"period")), num(p+"cumulative", f(p+"cumulative"))
		if m.Key == "" && m.Label == "" && m.Period == nil && m.Cumulative == nil {
			continue
		}
		u.Metrics = append(u.Metrics, m)
	}
	if len(problems) > 0 {
		return u, domain.Errorf(domain.EINVALID, "%s", strings.Join(problems, "; "))
	}
	return u, nil
}

// UpdatePreview renders the letter with this version of the update.
func (c *Console) UpdatePreview() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := c.o.Store.ImpactUpdate(r.Context(), r.PathValue("id"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		b, err := c.o.Preview.Letter(r, u, r.URL.Query().Get("donor"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		servePDF(w, r, "preview-"+strings.ReplaceAll(u.Period, "/", "-")+"-v"+strconv.Itoa(u.Version)+".pdf", b)
	})
}

// PublishUpdate publishes a draft (operators). The form names who approved
// the figures and asks for a confirmation that they were checked against the
// source; both are recorded.
func (c *Console) PublishUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		approver := strings.TrimSpace(r.PostFormValue("approved_by"))
		if approver == "" {
			c.fail(w, r, domain.Errorf(domain.EINVALID, "Name who approved these figures."))
			return
		}
		if r.PostFormValue("confirm") != "yes" {
			c.fail(w, r, domain.Errorf(domain.EINVALID, "Tick the box to confirm the figures were checked against the source."))
			return
		}
		err := c.o.Store.Audited(r.Context(), *c.entry(r.Context(), "impact.publish", id, "approved by "+approver, ""),
			func(tx *store.Tx) error {
				return tx.PublishImpactUpdate(r.Context(), id, approver, c.o.Clock.Now().Unix())
			})
		if err != nil {
			c.fail(w, r, err)
			return
		}
		redirect(w, r, "/console/impact/"+id+"?done=published")
	})
}
