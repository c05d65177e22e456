package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"impactd/internal/console"
	"impactd/internal/domain"
	"impactd/internal/store/storetest"
	"impactd/internal/webtest"
)

func TestRolesAndCSRF(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		b := webtest.Setup(t, dbURL, webtest.Options{})
		upd := b.DraftUpdate(t)
		alice, bob := b.Donors["alice"], b.Donors["bob"]

		clients := map[string]*http.Client{"anon": webtest.Client(t)}
		csrf := map[string]string{"anon": ""}
		for _, who := range []string{webtest.Viewer, webtest.Operator, webtest.Admin} {
			clients[who] = webtest.Client(t)
			csrf[who] = b.SignIn(t, clients[who], who)
		}
		if csrf[webtest.Viewer] == csrf[webtest.Operator] {
			t.Fatal("two sessions share a CSRF token")
		}
		sameSite := map[string]string{"Sec-Fetch-Site": "same-origin"}
		crossSite := map[string]string{"Sec-Fetch-Site": "cross-site"}
		tests := []struct {
			name, who, method, path string
			form                    url.Values
			noCSRF                  bool
			headers                 map[string]string
			status                  int
			body                    string
		}{
			{name: "signed out page", who: "anon", method: "GET", path: "/console", status: 303},
			{name: "signed out post", who: "anon", method: "POST", path: "/console/runs", form: url.Values{"period": {"2026-Q3"}}, status: 401},
			{name: "viewer reads donors", who: webtest.Viewer, method: "GET", path: "/console/donors?q=alice", status: 200, body: "Alice Example"},
			{name: "search by email", who: webtest.Viewer, method: "GET", path: "/console/donors?q=BOB@example.org", status: 200, body: "Bob Sample"},
			{name: "donor page", who: webtest.Viewer, method: "GET", path: "/console/donors/" + alice.ID, status: 200, body: "£25.00"},
			{name: "viewer cannot start a run", who: webtest.Viewer, method: "POST", path: "/console/runs",
				form: url.Values{"period": {"2026-Q3"}, "reason": {"x"}, "confirm": {"yes"}, "dry_run": {"yes"}}, status: 403, body: "operator role"},
			{name: "viewer cannot publish", who: webtest.Viewer, method: "POST", path: "/console/impact/" + upd.ID + "/publish",
				form: url.Values{"approved_by": {"V"}, "confirm": {"yes"}}, status: 403},
			{name: "operator cannot erase", who: webtest.Operator, method: "POST", path: "/console/donors/" + bob.ID + "/erase",
				form: url.Values{"reason": {"x"}, "confirm": {"yes"}, "type_erase": {"ERASE"}}, status: 403, body: "admin role"},
			{name: "missing CSRF token", who: webtest.Operator, method: "POST", path: "/console/impact/" + upd.ID + "/publish",
				form: url.Values{"approved_by": {"O"}, "confirm": {"yes"}}, noCSRF: true, status: 403, body: "did not come from the console"},
			{name: "cross-site post", who: webtest.Operator, method: "POST", path: "/console/impact/" + upd.ID + "/publish",
				form: url.Values{"approved_by": {"O"}, "confirm": {"yes"}}, headers: crossSite, status: 403, body: "another site"},
			{name: "cross-origin Origin header", who: webtest.Operator, method: "POST", path: "/console/impact/" + upd.ID + "/publish",
				form: url.Values{"approved_by": {"O"}, "confirm": {"yes"}}, headers: map[string]string{"Origin": "https://evil.example"}, status: 403},
			{name: "publish needs confirmation", who: webtest.Operator, method: "POST", path: "/console/impact/" + upd.ID + "/publish",
				form: url.Values{"approved_by": {"O"}}, status: 400, body: "Tick the box"},
			{name: "operator publishes", who: webtest.Operator, method: "POST", path: "/console/impact/" + upd.ID + "/publish",
				form: url.Values{"approved_by": {"Head of Programmes"}, "confirm": {"yes"}}, status: 303},
			{name: "publishing twice is a conflict", who: webtest.Operator, method: "POST", path: "/console/impact/" + upd.ID + "/publish",
				form: url.Values{"approved_by": {"Head of Programmes"}, "confirm": {"yes"}}, status: 409},
			{name: "erase must be typed", who: webtest.Admin, method: "POST", path: "/console/donors/" + bob.ID + "/erase",
				form: url.Values{"reason": {"asked us"}, "confirm": {"yes"}, "type_erase": {"erase"}}, status: 400},
			{name: "admin erases", who: webtest.Admin, method: "POST", path: "/console/donors/" + bob.ID + "/erase",
				form: url.Values{"reason": {"supporter asked"}, "confirm": {"yes"}, "type_erase": {"ERASE"}}, status: 303},
			{name: "audit log", who: webtest.Viewer, method: "GET", path: "/console/audit", status: 200, body: "supporter asked"},
			{name: "unknown donor", who: webtest.Viewer, method: "GET", path: "/console/donors/dnr_nobody", status: 404},
		}
		for _, tt := range tests {
			c := clients[tt.who]
			var r webtest.Response
			if tt.method == "GET" {
				r = b.Get(t, c, tt.path)
			} else {
				if !tt.noCSRF && csrf[tt.who] != "" {
					tt.form.Set("csrf", csrf[tt.who])
				}
				h := tt.headers
				if h == nil {
					h = sameSite
				}
				r = b.PostWith(t, c, tt.path, tt.form, h)
			}
			if r.Status != tt.status || !strings.Contains(r.Body, tt.body) {
				t.Errorf("%s: %d, want %d with %q; body %.300q", tt.name, r.Status, tt.status, tt.body, r.Body)
			}
		}
		ctx := context.Background()
		got, err := b.App.Store.PublishedImpactUpdate(ctx, webtest.Period)
		if err != nil || got.ApprovedBy != "Head of Programmes" {
			t.Errorf("published update: %+v %v", got, err)
		}
		erased, err := b.App.Store.Donor(ctx, bob.ID)
		if err != nil || erased.Status != domain.DonorErased || erased.Name != "" {
			t.Errorf("erased donor: %+v %v", erased, err)
		}
		log, err := b.App.Store.AuditLog(ctx, 50)
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]string{}
		for _, e := range log {
			actions[e.Action] = e.Actor
		}
		if actions["impact.publish"] != "staff:"+webtest.Operator || actions["donor.erase"] != "staff:"+webtest.Admin {
			t.Errorf("audit log: %v", actions)
		}
	})
}

func TestSessionFixationAndRotation(t *testing.T) {
	b := webtest.Setup(t, storetest.SQLiteURL(t), webtest.Options{})
	u, _ := url.Parse(b.URL + "/console")
	planted := &http.Cookie{Name: console.CookieName, Value: "attacker-chose-this-value", Path: "/console"}

	victim := webtest.Client(t)
	victim.Jar.SetCookies(u, []*http.Cookie{planted})
	if r := b.Get(t, victim, "/console"); r.Status != http.StatusSeeOther {
		t.Fatalf("a made-up session was accepted: %d", r.Status)
	}
	victim.Jar.SetCookies(u, []*http.Cookie{planted})
	b.SignIn(t, victim, webtest.Operator)
	var after string
	for _, c := range victim.Jar.Cookies(u) {
		if c.Name == console.CookieName {
			after = c.Value
		}
	}
	if after == "" || after == planted.Value {
		t.Fatalf("session not rotated on sign-in: %q", after)
	}
	attacker := webtest.Client(t)
	attacker.Jar.SetCookies(u, []*http.Cookie{planted})
	if r := b.Get(t, attacker, "/console"); r.Status != http.StatusSeeOther {
		t.Fatalf("the planted cookie became a session: %d", r.Status)
	}

	// Signing in again ends the session the browser had.
	stolen := webtest.Client(t)
	stolen.Jar.SetCookies(u, []*http.Cookie{{Name: console.CookieName, Value: after, Path: "/console"}})
	if r := b.Get(t, stolen, "/console"); r.Status != http.StatusOK {
		t.Fatalf("copy of a live session: %d", r.Status)
	}
	b.SignIn(t, victim, webtest.Operator)
	if r := b.Get(t, stolen, "/console"); r.Status != http.StatusSeeOther {
		t.Fatalf("old session still works after a new sign-in: %d", r.Status)
	}

	// Signing out ends the session.
	csrf := b.CSRF(t, victim)
	if r := b.Post(t, victim, "/console/sign-out", url.Values{"csrf": {csrf}}); r.Status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.Status)
	}
	if r := b.Get(t, victim, "/console"); r.Status != http.StatusSeeOther {
		t.Fatalf("signed out, still in: %d", r.Status)
	}
}

func TestSignIn(t *testing.T) {
	b := webtest.Setup(t, storetest.SQLiteURL(t), webtest.Options{SignInBurst: 3})
	c := webtest.Client(t)
	tests := []struct {
		email, password string
		status          int
		body            string
	}{
		{webtest.Operator, "wrong password!!", 401, "do not match"},
		{"nobody@example.org", webtest.Password, 401, "do not match"},
		{webtest.Operator, "wrong password!!", 401, "do not match"},
		{webtest.Operator, webtest.Password, 429, "Too many"}, // the fourth try from this address, even with the right password
	}
	for i, tt := range tests {
		r := b.Post(t, c, "/console/sign-in", url.Values{"email": {tt.email}, "password": {tt.password}})
		if r.Status != tt.status || !strings.Contains(r.Body, tt.body) {
			t.Errorf("%d: %d, want %d %q", i, r.Status, tt.status, tt.body)
		}
	}
	// The limit is per client address too: another account from the same address waits as well.
	if r := b.Post(t, webtest.Client(t), "/console/sign-in", url.Values{"email": {webtest.Admin}, "password": {webtest.Password}}); r.Status != 429 {
		t.Errorf("the address limit did not apply: %d", r.Status)
	}
	// A cross-site sign-in post (login CSRF) is refused.
	r := b.PostWith(t, webtest.Client(t), "/console/sign-in", url.Values{"email": {webtest.Viewer}, "password": {webtest.Password}},
		map[string]string{"Sec-Fetch-Site": "cross-site"})
	if r.Status != http.StatusForbidden {
		t.Errorf("cross-site sign-in: %d", r.Status)
	}
	// An open redirect through ?next= is not possible.
	ok := webtest.Setup(t, storetest.SQLiteURL(t), webtest.Options{})
	r = ok.Post(t, webtest.Client(t), "/console/sign-in", url.Values{"email": {webtest.Viewer}, "password": {webtest.Password}, "next": {"//evil.example/x"}})
	if r.Status != http.StatusSeeOther || r.Location != "/console" {
		t.Errorf("next: %d %q", r.Status, r.Location)
	}
	if !strings.Contains(r.Header.Get("Set-Cookie"), "HttpOnly") || !strings.Contains(r.Header.Get("Set-Cookie"), "SameSite=Lax") {
		t.Errorf("cookie attributes: %q", r.Header.Get("Set-Cookie"))
	}
}

func TestImpactDraftForm(t *testing.T) {
	b := webtest.Setup(t, storetest.SQLiteURL(t), webtest.Options{})
	c := webtest.Client(t)
	csrf := b.SignIn(t, c, webtest.Operator)
	form := url.Values{"csrf": {csrf}, "period": {"2026-Q3"}, "title": {"Our quarter"}, "narrative": {"Together."},
		"source": {"Annual report"}, "as_of": {"2026-10-01"}, "m0_key": {"safe"}, "m0_label": {"Children brought to safety"}, "m0_period": {"1,234"}}
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("m0_period", "lots")
	if r := b.Post(t, c, "/console/impact", bad); r.Status != 400 || !strings.Contains(r.Body, "not a whole number") || !strings.Contains(r.Body, "Our quarter") {
		t.Fatalf("bad number: %d", r.Status)
	}
	r := b.Post(t, c, "/console/impact", form)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/console/impact/upd_") {
		t.Fatalf("draft: %d %q %.200s", r.Status, r.Location, r.Body)
	}
	id := strings.TrimPrefix(strings.Split(r.Location, "?")[0], "/console/impact/")
	u, err := b.App.Store.ImpactUpdate(context.Background(), id)
	if err != nil || u.Status != domain.UpdateDraft || *u.Metrics[0].Period != 1234 {
		t.Fatalf("stored draft: %+v %v", u, err)
	}
	pdf := b.Get(t, c, "/console/impact/"+id+"/preview.pdf")
	if pdf.Status != 200 || !strings.HasPrefix(pdf.Body, "%PDF") {
		t.Fatalf("preview: %d %.100q", pdf.Status, pdf.Body)
	}
}
