// Package httpstatus maps domain error codes to HTTP statuses: the one place
// where that mapping lives, shared by the JSON API, the staff console and the
// supporter pages (which cannot import httpapi, because httpapi routes to them).
package httpstatus

import (
	"net/http"

	"impactd/internal/domain"
)

var statuses = map[string]int{
	domain.ECONFLICT: http.StatusConflict, domain.EINVALID: http.StatusBadRequest,
	domain.ENOTFOUND: http.StatusNotFound, domain.EUNAUTHORIZED: http.StatusUnauthorized,
	domain.EFORBIDDEN: http.StatusForbidden, domain.EUNAVAILABLE: http.StatusServiceUnavailable,
}

// Of returns the HTTP status of an error: its domain code's status, or 500
// for an internal error (whose details must be logged, never shown).
func Of(err error) int {
	if s, ok := statuses[domain.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}
