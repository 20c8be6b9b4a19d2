package api

import (
	"fmt"
	"strconv"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
)

// The page size of the provider listings (GET /providers and GET
// /operator/providers).
const (
	DefaultPageLimit = 20
	MaxPageLimit     = 100
	// maxCursorLen refuses absurd cursors before they reach the store,
	// which judges their content.
	maxCursorLen = 1024
)

// ProviderPage is the body of a provider listing.
type ProviderPage struct {
	Providers  []provider.View `json:"providers"`
	NextCursor string          `json:"nextCursor,omitempty"`
	// Skipped counts the page's providers that could not be read (a stored
	// item the store cannot decode: a fault, logged); absent when none. The
	// page then holds fewer providers than the limit and nextCursor still
	// continues after them.
	Skipped int `json:"skipped,omitempty"`
}

// PageParams reads a listing's limit (an integer from 1 to MaxPageLimit,
// DefaultPageLimit when absent) and opaque cursor from the query string.
// Each one that is not valid is a detail naming it, for the listing's
// InvalidQuery.
func PageParams(q map[string]string) (limit int, cursor string, details []apperr.Detail) {
	limit = DefaultPageLimit
	if s, ok := q["limit"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageLimit {
			details = append(details, apperr.Detail{Field: "limit", Code: "invalid", Message: fmt.Sprintf("must be an integer from 1 to %d", MaxPageLimit)})
		}
		limit = n
	}
	cursor = q["cursor"]
	if len(cursor) > maxCursorLen {
		details = append(details, apperr.Detail{Field: "cursor", Code: "invalid", Message: "use the cursor of a previous page"})
	}
	return limit, cursor, details
}

// InvalidQuery is the invalid_request of a query string with the
// problems in details.
func InvalidQuery(details []apperr.Detail) error {
	return apperr.New(apperr.InvalidRequest, "The query has invalid parameters.", details...)
}
