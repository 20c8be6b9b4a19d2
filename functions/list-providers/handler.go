package main

import (
	"context"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
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

// Handle answers one request.
func (h *Handler) Handle(ctx context.Context, req api.Request) (api.Response, error) {
	caller, err := api.CallerFrom(req)
	if err != nil {
		return api.Response{}, err
	}
	limit, cursor, details := api.PageParams(req.QueryStringParameters)
	if len(details) > 0 {
		return api.Response{}, api.InvalidQuery(details)
	}
	page, err := h.Store.ListProvidersPage(ctx, caller.AccountID, limit, cursor)
	if err != nil {
		return api.Response{}, err
	}
	out := api.ProviderPage{Providers: make([]provider.View, len(page.Providers)), NextCursor: page.Next, Skipped: page.Skipped}
	for i := range page.Providers {
		out.Providers[i] = page.Providers[i].View()
	}
	return api.JSON(req, api.StatusOK, out), nil
}
