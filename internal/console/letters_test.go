package console_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"impactd/internal/domain"
	"impactd/internal/store/storetest"
	"impactd/internal/webtest"
)

// TestDonorLettersForm: an operator sets a donor's letters on the donor
// page to each of the three choices, with a reason; the page and the audit
// log say it; a viewer cannot, and an unknown choice changes nothing.
func TestDonorLettersForm(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		b := webtest.Setup(t, dbURL, webtest.Options{})
		ctx := context.Background()
		alice := b.Donors["alice"]
		viewer := webtest.Client(t)
		b.SignIn(t, viewer, webtest.Viewer)
		if page := plain(b.Get(t, viewer, "/console/donors/"+alice.ID).Body); strings.Contains(page, "Letters they receive") {
			t.Errorf("a viewer is offered the letters form: %s", page)
		}
		op := webtest.Client(t)
		csrf := b.SignIn(t, op, webtest.Operator)
		page := b.Get(t, op, "/console/donors/"+alice.ID).Body
		for _, l := range domain.AllLetters {
			if !strings.Contains(page, `value="`+l+`"`) || !strings.Contains(page, domain.LettersLabel(l)) {
				t.Fatalf("the form lacks the choice %q:\n%s", l, page)
			}
		}
		words := map[string]string{
			domain.LettersAnnual: "Receives the annual statement only",
			domain.LettersNone:   "Asked for no more letters",
			domain.LettersAll:    "Receives the impact letters and the annual statement",
		}
		for _, l := range []string{domain.LettersAnnual, domain.LettersNone, domain.LettersAll} {
			r := b.Post(t, op, "/console/donors/"+alice.ID+"/letters", url.Values{"csrf": {csrf}, "letters": {l}, "reason": {"asked by phone"}, "confirm": {"yes"}})
			if r.Status != 303 {
				t.Fatalf("set %s: %d %s", l, r.Status, plain(r.Body))
			}
			if page := plain(b.Get(t, op, "/console/donors/"+alice.ID).Body); !strings.Contains(page, words[l]) {
				t.Fatalf("after setting %s the page says: %s", l, page)
			}
			if d, _ := b.App.Store.Donor(ctx, alice.ID); d.Letters != l {
				t.Fatalf("set %s: stored %q", l, d.Letters)
			}
		}
		if r := b.Post(t, op, "/console/donors/"+alice.ID+"/letters", url.Values{"csrf": {csrf}, "letters": {"impact"}, "reason": {"x"}, "confirm": {"yes"}}); r.Status != 400 {
			t.Fatalf("an unknown choice: %d", r.Status)
		}
		if r := b.Post(t, viewer, "/console/donors/"+alice.ID+"/letters", url.Values{"letters": {domain.LettersNone}, "reason": {"x"}, "confirm": {"yes"}}); r.Status != 403 {
			t.Fatalf("a viewer set letters: %d", r.Status)
		}
		if d, _ := b.App.Store.Donor(ctx, alice.ID); d.Letters != domain.LettersAll {
			t.Fatalf("letters after refused posts: %q", d.Letters)
		}
		audit := plain(b.Get(t, op, "/console/audit").Body)
		if !strings.Contains(audit, "set the letters of Alice Example to “The annual statement only” (was “Impact letters and the annual statement”). Reason: “asked by phone”") {
			t.Errorf("audit log: %s", audit)
		}
	})
}
