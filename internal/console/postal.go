package console

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"impactd/internal/domain"
	"impactd/internal/store"
)

// Letters by post on the console: a run's print batch (counts, the PDF and
// manifest to download, marking it posted) on the run page, and a donor's
// choice of email or post on the donor page. The batch's use cases are
// internal/post's; these handlers only translate.

// postalView is the run page's "Letters by post" section.
type postalView struct {
	RunID   string
	Letters int // the run's jobs that ended in the post
	InBatch int // postal letters not yet posted
	Posted  int
	Batch   *domain.PrintBatch // nil until made
	// CanMake: the run has postal letters, no batch, and nothing left to work.
	CanMake bool
}

// postal gathers the run page's postal section; nil when the run has no
// letter for the post.
func (c *Console) postal(ctx context.Context, run *domain.Run, counts domain.RunCounts) (*postalView, error) {
	inBatch, posted, err := c.o.Store.PostalCounts(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	if counts.Postal == 0 && inBatch+posted == 0 {
		return nil, nil
	}
	v := &postalView{RunID: run.ID, Letters: counts.Postal, InBatch: inBatch, Posted: posted}
	b, err := c.o.Store.BatchForRun(ctx, run.ID)
	switch {
	case err == nil:
		v.Batch = b
	case domain.ErrorCode(err) == domain.ENOTFOUND:
		v.CanMake = counts.Open() == 0 && inBatch > 0
	default:
		return nil, err
	}
	return v, nil
}

// MakeBatch makes a run's print batch now (operators), for a run whose
// batch was not made when it finished.
func (c *Console) MakeBatch() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runID := r.PathValue("id")
		if _, err := c.o.Post.Make(r.Context(), runID); err != nil {
			c.fail(w, r, err)
			return
		}
		redirect(w, r, "/console/runs/"+runID+"?done=batch-made")
	})
}

// BatchFile serves a run's print batch as one PDF or as the mailing
// house's CSV manifest (operators: it holds every postal address of the
// run), made again from the snapshots.
func (c *Console) BatchFile(csv bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := c.o.Store.BatchForRun(r.Context(), r.PathValue("id"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		_, p, err := c.o.Post.Print(r.Context(), b.ID)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if !csv {
			servePDF(w, r, "print-batch-"+b.ID+".pdf", p.PDF)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="print-batch-`+b.ID+`.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Length", strconv.Itoa(len(p.Manifest)))
		_, _ = w.Write(p.Manifest)
	})
}

// MarkPosted records that a run's print batch went to the post (operators,
// with a reason and a confirmation; audited) and sets its letters posted.
func (c *Console) MarkPosted() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runID := r.PathValue("id")
		reason, err := formReason(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		b, err := c.o.Store.BatchForRun(r.Context(), runID)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if _, err := c.o.Post.MarkPosted(r.Context(), b.ID, c.entry(r.Context(), "", "", reason, "")); err != nil {
			c.fail(w, r, err)
			return
		}
		redirect(w, r, "/console/runs/"+runID+"?done=batch-posted")
	})
}

// SetChannel sets how a donor gets their letters, email or post
// (operators; audited with the reason).
func (c *Console) SetChannel() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, channel := r.PathValue("id"), strings.TrimSpace(r.PostFormValue("channel"))
		c.donorChange(w, r, "donor.channel", id, "letters by "+channel, "channel-set",
			func(tx *store.Tx, now int64) error { return tx.SetDonorChannel(r.Context(), id, channel, now) })
	})
}
