package webui

import (
	"net/http"

	"impactd/internal/domain"
)

// statuses is the one mapping of domain error codes to HTTP statuses, used
// by the JSON API, the staff console and the supporter pages alike: it lives
// here, below all three, so that none imports a sibling for it.
var statuses = map[string]int{
	domain.ECONFLICT: http.StatusConflict, domain.EINVALID: http.StatusBadRequest,
	domain.ENOTFOUND: http.StatusNotFound, domain.EUNAUTHORIZED: http.StatusUnauthorized,
	domain.EFORBIDDEN: http.StatusForbidden, domain.EUNAVAILABLE: http.StatusServiceUnavailable,
}

// Status returns the HTTP status of an error: its domain code's status, or
// 500 for an internal error (whose details must be logged, never shown).
func Status(err error) int {
	if s, ok := statuses[domain.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}
