package main

import (
	"context"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
)

// TermsReader is what GET /terms needs from the store.
type TermsReader interface {
	TermsAccepted(ctx context.Context, accountID string) ([]account.Acceptance, error)
}

// Handler serves GET /terms: the current terms versions and whether the
// caller's account accepted them.
type Handler struct {
	Store TermsReader
	Terms account.Terms
}

type termsResponse struct {
	Terms []account.TermsStatus `json:"terms"`
}

// Handle answers one request.
func (h *Handler) Handle(ctx context.Context, req api.Request) (api.Response, error) {
	caller, err := api.CallerFrom(req)
	if err != nil {
		return api.Response{}, err
	}
	acc, err := h.Store.TermsAccepted(ctx, caller.AccountID)
	if err != nil {
		return api.Response{}, err
	}
	return api.JSON(req, api.StatusOK, termsResponse{Terms: h.Terms.Status(acc)}), nil
}
