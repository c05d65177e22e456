package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"impactd/internal/auth"
	"impactd/internal/domain"
	"impactd/internal/links"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

func TestUnsubscribe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		signer := links.NewSigner("httpapi-test-key-httpapi-test-key-01")
		srv := newAPI(t, s, signer).srv
		victim := &domain.Donor{Name: "A", Email: "a@example.org"}
		other := &domain.Donor{Name: "B", Email: "b@example.org"}
		for _, d := range []*domain.Donor{victim, other} {
			if err := s.CreateDonor(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		token := signer.Token("unsubscribe", victim.ID)
		tampered := other.ID + token[len(victim.ID):]

		tests := []struct {
			method, token string
			status        int
			body          string
		}{
			{http.MethodGet, token, 200, "Stop impact letters?"},
			{http.MethodPost, tampered, 400, "not valid"},
			{http.MethodPost, "garbage", 400, "not valid"},
			{http.MethodPost, token, 200, "You have been unsubscribed"},
			{http.MethodPost, token, 200, "You have been unsubscribed"}, // repeating is harmless
		}
		for _, tt := range tests {
			req, _ := http.NewRequest(tt.method, srv.URL+"/unsubscribe/"+tt.token, strings.NewReader("List-Unsubscribe=One-Click"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.body) {
				t.Errorf("%s %s: %d %q", tt.method, tt.token, resp.StatusCode, b)
			}
		}
		// The impact letter's link stops impact letters only.
		for d, want := range map[*domain.Donor]string{victim: domain.LettersAnnual, other: domain.LettersAll} {
			got, err := s.Donor(ctx, d.ID)
			if err != nil || got.Letters != want || got.Status != domain.DonorActive {
				t.Errorf("%s: letters %q status %q, want %q (%v)", d.Name, got.Letters, got.Status, want, err)
			}
		}
	})
}

func TestDonorAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := newAPI(t, s, nil)
		donor := &domain.Donor{Name: "Zoë", Email: "zoe@example.org", GiftAidFrom: "2026-01-01"}
		if err := s.CreateDonor(ctx, donor); err != nil {
			t.Fatal(err)
		}
		if err := s.LinkEmail(ctx, "zoe@example.org", donor.ID, 0); err != nil {
			t.Fatal(err)
		}
		jan := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC).Unix()
		for i, g := range []domain.Donation{
			{ChargeID: "ch_a1", Amount: 1000, Currency: "GBP", AmountRefunded: 250, Created: jan},
			{ChargeID: "ch_a2", Amount: 500, Currency: "GBP", Created: jan - 86400*30}, // before the declaration
			{ChargeID: "ch_a3", Amount: 2000, Currency: "USD", Created: jan},
		} {
			g.DonorID, g.Status = donor.ID, domain.DonationSucceeded
			if _, err := s.InsertDonation(ctx, &g); err != nil {
				t.Fatal(i, err)
			}
		}
		tokens := a.tokens
		get := func(path, token string) (int, string) { return a.do(t, http.MethodGet, path, token, "") }
		tests := []struct {
			path, token string
			status      int
			want        []string
		}{
			{"/api/v1/donors?email=zoe@example.org", "", 401, []string{"token is required"}},
			{"/api/v1/donors?email=zoe@example.org", "impd_forged", 401, []string{"unknown or revoked"}},
			{"/api/v1/donors?email=ZOE@example.org", tokens[auth.Viewer], 200, []string{`"net":1250`, `"gift_aid_eligible":750`, `"currency":"USD"`, `"net":2000`}},
			{"/api/v1/donors/" + donor.ID, tokens[auth.Operator], 200, []string{`"gross":1500`, `"refunded":250`}},
			{"/api/v1/donors/dnr_missing", tokens[auth.Viewer], 404, []string{"donor not found"}},
			{"/api/v1/donors", tokens[auth.Viewer], 400, []string{"email"}},
		}
		for _, tt := range tests {
			status, body := get(tt.path, tt.token)
			if status != tt.status {
				t.Errorf("%s: %d %s, want %d", tt.path, status, body, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s: body %s lacks %s", tt.path, body, w)
				}
			}
		}
	})
}
