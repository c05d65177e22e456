package httpapi

import (
	"context"
	"net/http"
	"strings"

	"impactd/internal/auth"
	"impactd/internal/domain"
	"impactd/internal/ingest"
)

type ctxKey int

const callerKey ctxKey = 1

// Caller is who made an API request.
type Caller struct {
	TokenID, Name string
	Role          auth.Role
}

// CallerFrom returns the authenticated caller of a request.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey).(Caller)
	return c, ok
}

// requireRole admits requests with a Bearer token of at least the role.
func requireRole(d Deps, role auth.Role, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="impactd"`)
			Error(w, r, d.Log, domain.Errorf(domain.EUNAUTHORIZED, "an API token is required (Authorization: Bearer …)"))
			return
		}
		t, err := d.Store.TokenByHash(r.Context(), auth.HashToken(strings.TrimSpace(token)))
		if err != nil {
			if domain.ErrorCode(err) == domain.ENOTFOUND {
				err = domain.Errorf(domain.EUNAUTHORIZED, "unknown or revoked API token")
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="impactd", error="invalid_token"`)
			Error(w, r, d.Log, err)
			return
		}
		if !auth.Role(t.Role).Allows(role) {
			Error(w, r, d.Log, domain.Errorf(domain.EFORBIDDEN, "this needs the %s role", role))
			return
		}
		if err := d.Store.TouchToken(r.Context(), t.ID, d.Clock.Now().Unix()); err != nil {
			d.Log.Warn("token last-used not recorded", "err", err)
		}
		ctx := context.WithValue(r.Context(), callerKey, Caller{TokenID: t.ID, Name: t.Name, Role: auth.Role(t.Role)})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// donorView is a donor with their gifts and totals, as the API shows them.
type donorView struct {
	domain.Donor
	MonthlySince int64                    `json:"monthly_since,omitempty"`
	Totals       []domain.CurrencySummary `json:"totals"`
	Gifts        []domain.Donation        `json:"gifts"`
}

func (d Deps) donorView(ctx context.Context, donor *domain.Donor) (*donorView, error) {
	gifts, err := d.Store.DonationsForDonor(ctx, donor.ID, 0, 1<<62)
	if err != nil {
		return nil, err
	}
	since, err := d.Store.MonthlySince(ctx, donor.ID)
	if err != nil {
		return nil, err
	}
	if gifts == nil {
		gifts = []domain.Donation{}
	}
	sums, err := domain.Summarise(gifts, donor.GiftAidFrom, d.Location)
	if err != nil {
		return nil, err
	}
	return &donorView{Donor: *donor, MonthlySince: since, Totals: sums, Gifts: gifts}, nil
}

func handleDonorsByEmail(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email := ingest.NormaliseEmail(r.URL.Query().Get("email"))
		if email == "" {
			Error(w, r, d.Log, domain.Errorf(domain.EINVALID, "give ?email=…"))
			return
		}
		donors, err := d.Store.DonorsByEmail(r.Context(), email)
		if err != nil {
			Error(w, r, d.Log, err)
			return
		}
		out := []*donorView{}
		for i := range donors {
			v, err := d.donorView(r.Context(), &donors[i])
			if err != nil {
				Error(w, r, d.Log, err)
				return
			}
			out = append(out, v)
		}
		writeJSON(w, http.StatusOK, map[string]any{"donors": out})
	})
}

func handleDonor(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		donor, err := d.Store.Donor(r.Context(), r.PathValue("id"))
		if err != nil {
			Error(w, r, d.Log, err)
			return
		}
		v, err := d.donorView(r.Context(), donor)
		if err != nil {
			Error(w, r, d.Log, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}
