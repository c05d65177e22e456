package console_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"impactd/internal/ingest"
	"impactd/internal/store/storetest"
	"impactd/internal/webtest"
)

// TestExceptionsPage: an event the ledger refused is listed for staff, with
// its rule and reason.
func TestExceptionsPage(t *testing.T) {
	b := webtest.Setup(t, storetest.SQLiteURL(t), webtest.Options{})
	reject(t, b, "evt_bad_currency", ingest.Charge{ID: "ch_xyz", Email: "x@example.org", Amount: 1000, Currency: "xyz", Created: time.Now()})
	viewer := webtest.Client(t)
	b.SignIn(t, viewer, webtest.Viewer)
	r := b.Get(t, viewer, "/console/exceptions")
	for _, want := range []string{"evt_bad_currency", "ch_xyz", "currency", "not an ISO 4217 currency"} {
		if r.Status != 200 || !strings.Contains(r.Body, want) {
			t.Fatalf("exceptions page (%d) lacks %q:\n%s", r.Status, want, r.Body)
		}
	}
	if r := b.Get(t, webtest.Client(t), "/console/exceptions"); r.Status != http.StatusSeeOther {
		t.Fatalf("signed out: %d", r.Status)
	}
}
