package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"impactd/internal/auth"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
	"impactd/internal/webtest"
)

// declareAlice gives the test donor Alice a Gift Aid declaration and a UK
// home address, so that her £25 gift of 3 July 2026 can be claimed.
func declareAlice(t *testing.T, b *webtest.Bundle) {
	t.Helper()
	ctx := context.Background()
	alice := *b.Donors["alice"]
	alice.Address = "12 High Street\nLondon SE1 7TP\nGB"
	if err := b.App.Store.UpdateDonorContact(ctx, &alice); err != nil {
		t.Fatal(err)
	}
	if err := b.App.Store.SetGiftAid(ctx, alice.ID, "2026-07-01", 1); err != nil {
		t.Fatal(err)
	}
}

var claimLink = regexp.MustCompile(`^/console/giftaid/claims/(gac_[0-9a-f]+)\?done=claimed$`)

// TestGiftAidPages: operators preview, make, download and mark a claim
// submitted, each step audited; viewers see none of it; the API reads the
// claims; after an erasure the claim says its files can no longer be made.
func TestGiftAidPages(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		b := webtest.Setup(t, dbURL, webtest.Options{})
		declareAlice(t, b)
		op, viewer, admin := webtest.Client(t), webtest.Client(t), webtest.Client(t)
		csrf := b.SignIn(t, op, webtest.Operator)
		vcsrf := b.SignIn(t, viewer, webtest.Viewer)
		acsrf := b.SignIn(t, admin, webtest.Admin)

		if r := b.Get(t, viewer, "/console/giftaid"); r.Status != http.StatusForbidden {
			t.Errorf("viewer sees the Gift Aid page: %d", r.Status)
		}
		if r := b.Get(t, viewer, "/console"); strings.Contains(r.Body, `href="/console/giftaid"`) {
			t.Error("a viewer's navigation offers Gift Aid")
		}
		if r := b.Post(t, viewer, "/console/giftaid/claims", url.Values{"csrf": {vcsrf}, "to": {"2026-09-30"}, "confirm": {"yes"}}); r.Status != http.StatusForbidden {
			t.Errorf("viewer makes a claim: %d", r.Status)
		}
		page := b.Get(t, op, "/console/giftaid?to=2026-09-30")
		for _, want := range []string{"Claim up to 2026-09-30", "<td data-label=\"First name\">Alice</td>", "SE1 7TP", "03/07/26", "25.00", "Make the claim"} {
			if !strings.Contains(page.Body, want) {
				t.Errorf("preview lacks %q", want)
			}
		}
		if r := b.Post(t, op, "/console/giftaid/claims", url.Values{"to": {"2026-09-30"}, "confirm": {"yes"}}); r.Status != http.StatusForbidden {
			t.Errorf("a claim without the CSRF token: %d", r.Status)
		}
		if r := b.Post(t, op, "/console/giftaid/claims", url.Values{"csrf": {csrf}, "to": {"2026-09-30"}}); r.Status != http.StatusBadRequest {
			t.Errorf("a claim without the confirmation: %d", r.Status)
		}
		r := b.Post(t, op, "/console/giftaid/claims", url.Values{"csrf": {csrf}, "to": {"2026-09-30"}, "confirm": {"yes"}})
		m := claimLink.FindStringSubmatch(r.Location)
		if r.Status != http.StatusSeeOther || m == nil {
			t.Fatalf("make claim: %d %q %s", r.Status, r.Location, r.Body)
		}
		id := m[1]
		if r := b.Post(t, op, "/console/giftaid/claims", url.Values{"csrf": {csrf}, "to": {"2026-09-30"}, "confirm": {"yes"}}); r.Status != http.StatusConflict ||
			!strings.Contains(r.Body, "nothing to claim") {
			t.Errorf("a second claim of the same gifts: %d", r.Status)
		}
		cp := b.Get(t, op, r.Location)
		for _, want := range []string{"Gift Aid claim " + id, "£25.00", "Mark submitted", id + "/schedule.ods"} {
			if !strings.Contains(cp.Body, want) {
				t.Errorf("claim page lacks %q", want)
			}
		}
		csv := b.Get(t, op, "/console/giftaid/claims/"+id+"/schedule.csv")
		want := "Title,First name or initial,Last name,House name or number,Postcode,Aggregated donations,Sponsored event,Donation date,Amount\n" +
			",Alice,Example,12,SE1 7TP,,,03/07/26,25.00\n"
		if csv.Status != http.StatusOK || csv.Body != want || !strings.Contains(csv.Header.Get("Content-Disposition"), "giftaid-"+id+".csv") {
			t.Errorf("schedule.csv: %d %q %q", csv.Status, csv.Header.Get("Content-Disposition"), csv.Body)
		}
		if ods := b.Get(t, op, "/console/giftaid/claims/"+id+"/schedule.ods"); ods.Status != http.StatusOK || !strings.HasPrefix(ods.Body, "PK") ||
			!strings.Contains(ods.Body, "mimetypeapplication/vnd.oasis.opendocument.spreadsheet") {
			t.Errorf("schedule.ods: %d", ods.Status)
		}
		if r := b.Get(t, viewer, "/console/giftaid/claims/"+id+"/schedule.csv"); r.Status != http.StatusForbidden {
			t.Errorf("viewer downloads the schedule: %d", r.Status)
		}
		r = b.Post(t, op, "/console/giftaid/claims/"+id+"/submitted", url.Values{"csrf": {csrf}, "reference": {"CHARITY-ACK-42"}, "confirm": {"yes"}})
		if r.Status != http.StatusSeeOther || !strings.HasSuffix(r.Location, "?done=submitted") {
			t.Fatalf("mark submitted: %d %q %s", r.Status, r.Location, r.Body)
		}
		if r := b.Post(t, op, "/console/giftaid/claims/"+id+"/submitted", url.Values{"csrf": {csrf}, "reference": {"AGAIN"}, "confirm": {"yes"}}); r.Status != http.StatusConflict {
			t.Errorf("marked twice: %d", r.Status)
		}
		if cp := b.Get(t, op, "/console/giftaid/claims/"+id); !strings.Contains(cp.Body, "CHARITY-ACK-42") || strings.Contains(cp.Body, "Mark submitted") {
			t.Error("the claim page does not show the submission")
		}
		log, err := b.App.Store.AuditLog(ctx, 20)
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]string{}
		for _, e := range log {
			if e.Subject == id {
				actions[e.Action] = e.Actor
			}
		}
		if actions["giftaid.claim"] != "staff:"+webtest.Operator || actions["giftaid.submitted"] != "staff:"+webtest.Operator ||
			actions["giftaid.download"] != "staff:"+webtest.Operator {
			t.Errorf("audit %v", actions)
		}

		// The API, read only.
		tok := auth.NewToken()
		if err := b.App.Store.CreateToken(ctx, &store.APIToken{Hash: auth.HashToken(tok), Role: "viewer", Name: "books"}); err != nil {
			t.Fatal(err)
		}
		get := func(path string) (int, map[string]json.RawMessage) {
			req, _ := http.NewRequest(http.MethodGet, b.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var v map[string]json.RawMessage
			_ = json.NewDecoder(resp.Body).Decode(&v)
			return resp.StatusCode, v
		}
		if code, v := get("/api/v1/giftaid/claims"); code != http.StatusOK || !strings.Contains(string(v["claims"]), `"hmrc_reference":"CHARITY-ACK-42"`) {
			t.Errorf("API list: %d %s", code, v["claims"])
		}
		code, v := get("/api/v1/giftaid/claims/" + id)
		if code != http.StatusOK || !strings.Contains(string(v["gifts"]), `"amount":2500`) || strings.Contains(string(v["gifts"]), "Alice") {
			t.Errorf("API claim: %d %s", code, v["gifts"])
		}
		if code, _ := get("/api/v1/giftaid/claims/gac_missing"); code != http.StatusNotFound {
			t.Errorf("API unknown claim: %d", code)
		}

		// Erased means gone: the claim stays, its rows cannot be made again.
		if r := b.Post(t, admin, "/console/donors/"+b.Donors["alice"].ID+"/erase", url.Values{"csrf": {acsrf}, "reason": {"asked to be forgotten"},
			"confirm": {"yes"}, "type_erase": {"ERASE"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("erase: %d %s", r.Status, r.Body)
		}
		if cp := b.Get(t, op, "/console/giftaid/claims/"+id); !strings.Contains(cp.Body, "can no longer be made") || strings.Contains(cp.Body, "schedule.ods") {
			t.Errorf("after erasure the claim page does not say its files are gone:\n%s", cp.Body)
		}
		if r := b.Get(t, op, "/console/giftaid/claims/"+id+"/schedule.csv"); r.Status != http.StatusConflict || strings.Contains(r.Body, "Alice") {
			t.Errorf("schedule after erasure: %d", r.Status)
		}
	})
}
