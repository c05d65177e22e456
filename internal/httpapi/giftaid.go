package httpapi

import (
	"net/http"

	"impactd/internal/store"
)

// The Gift Aid claims, read only: ids, dates, totals in pence, and each
// claim's gifts and adjustments by donation id — no name or address (the
// schedule itself is a console download, for operators).

func handleGiftAidClaims(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs, err := d.Store.GiftAidClaims(r.Context(), 100)
		if err != nil {
			Error(w, r, d.Log, err)
			return
		}
		if cs == nil {
			cs = []store.GiftAidClaim{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"claims": cs})
	})
}

// giftAidGift is a claimed gift as the API shows it.
type giftAidGift struct {
	DonationID string `json:"donation_id"`
	DonorID    string `json:"donor_id"`
	Created    int64  `json:"created"`
	Amount     int64  `json:"amount"`
}

func handleGiftAidClaim(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := d.Store.GiftAidClaim(r.Context(), r.PathValue("id"))
		if err != nil {
			Error(w, r, d.Log, err)
			return
		}
		gs, err := d.Store.GiftAidClaimGifts(r.Context(), c.ID)
		if err != nil {
			Error(w, r, d.Log, err)
			return
		}
		as, err := d.Store.GiftAidClaimAdjustments(r.Context(), c.ID)
		if err != nil {
			Error(w, r, d.Log, err)
			return
		}
		gifts := make([]giftAidGift, 0, len(gs))
		for _, g := range gs {
			gifts = append(gifts, giftAidGift{DonationID: g.DonationID, DonorID: g.DonorID, Created: g.Created, Amount: g.Amount})
		}
		if as == nil {
			as = []store.GiftAidAdjustment{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"claim": c, "gifts": gifts, "adjustments": as})
	})
}
