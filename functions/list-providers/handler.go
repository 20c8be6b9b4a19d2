package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
)

// Page size of GET /providers.
const (
	DefaultLimit = 20
	MaxLimit     = 100
	// maxCursorLen refuses absurd cursors before they reach the store.
	maxCursorLen = 1024
)

// ProviderLister is what GET /providers needs from the store.
type ProviderLister interface {
	// ListProvidersPage returns a page newest first, the next page's cursor
	// ("" on the last page) and how many of the page's items could not be
	// read (left out and logged); a cursor it did not make is
	// invalid_request.
	ListProvidersPage(ctx context.Context, accountID string, limit int, cursor string) (store.ProviderPage, error)
}

// Handler serves GET /providers?limit=&cursor=: the caller's account's
// providers, newest first.
type Handler struct {
	Store ProviderLister
}

type listResponse struct {
	Providers  []provider.View `json:"providers"`
	NextCursor string          `json:"nextCursor,omitempty"`
	// Skipped counts the page's providers that could not be read (a stored
	// item the store cannot decode: a fault, logged); absent when none. The
	// page then holds fewer providers than the limit and nextCursor still
	// continues after them.
	Skipped int `json:"skipped,omitempty"`
}

// Handle answers one request.
func (h *Handler) Handle(ctx context.Context, req api.Request) (api.Response, error) {
	caller, err := api.CallerFrom(req)
	if err != nil {
		return api.Response{}, err
	}
	limit, cursor, err := pageOf(req.QueryStringParameters)
	if err != nil {
		return api.Response{}, err
	}
	page, err := h.Store.ListProvidersPage(ctx, caller.AccountID, limit, cursor)
	if err != nil {
		return api.Response{}, err
	}
	out := listResponse{Providers: make([]provider.View, len(page.Providers)), NextCursor: page.Next, Skipped: page.Skipped}
	for i := range page.Providers {
		out.Providers[i] = page.Providers[i].View()
	}
	return api.JSON(req, api.StatusOK, out), nil
}

// pageOf reads limit (default 20, 1..100) and the opaque cursor.
func pageOf(q map[string]string) (int, string, error) {
	limit := DefaultLimit
	if s, ok := q["limit"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return 0, "", apperr.New(apperr.InvalidRequest, "The query parameter \"limit\" is invalid.",
				apperr.Detail{Field: "limit", Code: "invalid", Message: fmt.Sprintf("must be an integer from 1 to %d", MaxLimit)})
		}
		limit = n
	}
	cursor := q["cursor"]
	if len(cursor) > maxCursorLen {
		return 0, "", apperr.New(apperr.InvalidRequest, "The cursor is not valid; start again from the first page.",
			apperr.Detail{Field: "cursor", Code: "invalid", Message: "use the cursor of a previous page"})
	}
	return limit, cursor, nil
}
