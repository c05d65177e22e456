package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"impactd/internal/domain"
	"impactd/internal/httpapi"
	"impactd/internal/links"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

func TestUnsubscribe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		signer := links.NewSigner("httpapi-test-key-httpapi-test-key-01")
		srv := httptest.NewServer(httpapi.NewServer(httpapi.Deps{
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: s, Webhook: http.NotFoundHandler(),
			Registry: prometheus.NewRegistry(), Links: signer, Clock: domain.SystemClock{},
		}))
		defer srv.Close()
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
			{http.MethodGet, token, 200, "Stop impact statements?"},
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
		for d, want := range map[*domain.Donor]string{victim: domain.DonorUnsubscribed, other: domain.DonorActive} {
			got, err := s.Donor(ctx, d.ID)
			if err != nil || got.Status != want {
				t.Errorf("%s: status %q, want %q (%v)", d.Name, got.Status, want, err)
			}
		}
	})
}
