package console

import "net/http"

// Exceptions lists the Stripe events that broke a rule of the ledger and so
// changed nothing (internal/ingest.Rejection), newest first.
func (c *Console) Exceptions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs, err := c.o.Store.Rejections(r.Context(), 200)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusOK, "exceptions", view{Title: "Exceptions", Nav: "exceptions", Data: rs})
	})
}
