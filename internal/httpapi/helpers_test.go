package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"impactd/internal/auth"
	"impactd/internal/domain"
	"impactd/internal/httpapi"
	"impactd/internal/links"
	"impactd/internal/store"
)

// api is a real server on a test database with one API token per role.
type api struct {
	srv    *httptest.Server
	tokens map[auth.Role]string
}

// newAPI starts the server; signer may be nil (no supporter links).
func newAPI(t *testing.T, s *store.Store, signer *links.Signer) *api {
	t.Helper()
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Deps{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: s, Webhook: http.NotFoundHandler(),
		Registry: prometheus.NewRegistry(), Links: signer, Clock: domain.SystemClock{}, Location: time.UTC,
	}))
	t.Cleanup(srv.Close)
	a := &api{srv: srv, tokens: map[auth.Role]string{}}
	for _, role := range []auth.Role{auth.Viewer, auth.Operator} {
		tok := auth.NewToken()
		if err := s.CreateToken(context.Background(), &store.APIToken{Hash: auth.HashToken(tok), Role: string(role), Name: "api-" + string(role)}); err != nil {
			t.Fatal(err)
		}
		a.tokens[role] = tok
	}
	return a
}

// do sends a request with token (none when ""), returning status and body.
func (a *api) do(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if method == http.MethodPost && !strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
