package main

import (
	"context"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/provider"
)

// ProviderGetter is what GET /providers/{id} needs from the store.
type ProviderGetter interface {
	// GetProvider returns not_found for an unknown or malformed id, and for
	// another account's provider.
	GetProvider(ctx context.Context, accountID, providerID string) (*provider.Provider, error)
}

// Handler serves GET /providers/{id}: status, timeline, subscriptions and the
// next step for the user.
type Handler struct {
	Store ProviderGetter
}

// Handle answers one request.
func (h *Handler) Handle(ctx context.Context, req api.Request) (api.Response, error) {
	caller, err := api.CallerFrom(req)
	if err != nil {
		return api.Response{}, err
	}
	p, err := h.Store.GetProvider(ctx, caller.AccountID, req.PathParameters["id"])
	if err != nil {
		return api.Response{}, err
	}
	return api.JSON(req, api.StatusOK, p.View()), nil
}
