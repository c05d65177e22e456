package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"impactd/internal/domain"
	"impactd/internal/runs"
	"impactd/internal/store/storetest"
	"impactd/internal/webtest"
)

// TestPostalOnTheConsole: a donor set to post on their page (operators,
// audited) gets the run's letter in its print batch; the run page counts
// it, operators download the PDF and the manifest and mark the batch
// posted (audited), which sets the letter posted; viewers can do none of it.
func TestPostalOnTheConsole(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		b := webtest.Setup(t, dbURL, webtest.Options{})
		b.Publish(t, b.DraftUpdate(t))
		op, viewer := webtest.Client(t), webtest.Client(t)
		csrf := b.SignIn(t, op, webtest.Operator)
		vcsrf := b.SignIn(t, viewer, webtest.Viewer)
		alice := b.Donors["alice"]
		d, err := b.App.Store.Donor(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		d.Address = "1 High Street\nLondon SW1A 1AA\nGB"
		if err := b.App.Store.UpdateDonorContact(ctx, d); err != nil {
			t.Fatal(err)
		}
		page := "/console/donors/" + alice.ID
		if r := b.Get(t, op, page); !strings.Contains(r.Body, "Letters by email or by post") {
			t.Fatalf("donor page has no channel form: %.300s", r.Body)
		}
		if r := b.Post(t, viewer, page+"/channel", url.Values{"csrf": {vcsrf}, "channel": {"post"}, "reason": {"x"}, "confirm": {"yes"}}); r.Status != http.StatusForbidden {
			t.Fatalf("viewer set the channel: %d", r.Status)
		}
		if r := b.Post(t, op, page+"/channel", url.Values{"csrf": {csrf}, "channel": {"pigeon"}, "reason": {"x"}, "confirm": {"yes"}}); r.Status != http.StatusBadRequest {
			t.Fatalf("unknown channel: %d", r.Status)
		}
		r := b.Post(t, op, page+"/channel", url.Values{"csrf": {csrf}, "channel": {"post"}, "reason": {"asked on the phone"}, "confirm": {"yes"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("set channel: %d %.300s", r.Status, r.Body)
		}
		if r := b.Get(t, op, page); !strings.Contains(r.Body, "Chose letters by post") {
			t.Errorf("donor page after choosing post: %.3000s", r.Body)
		}
		log, err := b.App.Store.AuditLog(ctx, 20)
		if err != nil {
			t.Fatal(err)
		}
		audited := false
		for _, e := range log {
			audited = audited || (e.Action == "donor.channel" && e.Subject == alice.ID && e.Reason == "asked on the phone" && e.Actor == "staff:"+webtest.Operator)
		}
		if !audited {
			t.Fatalf("the channel change is not audited: %+v", log)
		}

		run, err := b.App.Runs.Run(ctx, runs.Request{Period: webtest.Period, Trigger: "test", Reason: "test"})
		if err != nil || run.Sent != 1 {
			t.Fatalf("run: %+v %v", run, err)
		}
		runPage := "/console/runs/" + run.ID
		if r := b.Get(t, op, runPage); !strings.Contains(r.Body, "Letters by post") || !strings.Contains(r.Body, "Mark the batch posted") {
			t.Fatalf("run page: %.4000s", r.Body)
		}
		if r := b.Get(t, viewer, runPage+"/post.pdf"); r.Status != http.StatusForbidden {
			t.Errorf("viewer downloaded the batch: %d", r.Status)
		}
		if r := b.Get(t, op, runPage+"/post.pdf?download=1"); r.Status != 200 || !strings.HasPrefix(r.Body, "%PDF") {
			t.Errorf("batch PDF: %d %.20q", r.Status, r.Body)
		}
		if r := b.Get(t, op, runPage+"/post.csv"); r.Status != 200 || !strings.Contains(r.Body, "Alice Example,1 High Street") ||
			!strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
			t.Errorf("manifest: %d %q", r.Status, r.Body)
		}
		if r := b.Post(t, op, runPage+"/post/posted", url.Values{"csrf": {csrf}, "reason": {"to the mailing house"}}); r.Status != http.StatusBadRequest {
			t.Errorf("posted without confirming: %d", r.Status)
		}
		if r := b.Post(t, viewer, runPage+"/post/posted", url.Values{"csrf": {vcsrf}, "reason": {"x"}, "confirm": {"yes"}}); r.Status != http.StatusForbidden {
			t.Errorf("viewer marked posted: %d", r.Status)
		}
		r = b.Post(t, op, runPage+"/post/posted", url.Values{"csrf": {csrf}, "reason": {"to the mailing house"}, "confirm": {"yes"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("mark posted: %d %.300s", r.Status, r.Body)
		}
		if in, posted, err := b.App.Store.PostalCounts(ctx, run.ID); in != 0 || posted != 1 || err != nil {
			t.Errorf("postal counts after posting: %d %d %v", in, posted, err)
		}
		if r := b.Get(t, op, runPage); !strings.Contains(r.Body, "Posted ") || strings.Contains(r.Body, "Mark the batch posted") {
			t.Errorf("run page after posting: %.4000s", r.Body)
		}
		if r := b.Get(t, op, "/console/audit"); !strings.Contains(r.Body, "batch") {
			t.Errorf("audit page does not show the posting")
		}
		if r := b.Post(t, op, runPage+"/post/posted", url.Values{"csrf": {csrf}, "reason": {"again"}, "confirm": {"yes"}}); r.Status != http.StatusConflict {
			t.Errorf("posting twice: %d", r.Status)
		}
		sts, _ := b.App.Store.StatementsForDonor(ctx, alice.ID)
		if len(sts) == 0 || sts[0].DeliveryStatus != domain.DeliveryPosted {
			t.Errorf("alice's statements: %+v", sts)
		}
	})
}
