package main

import (
	"context"
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/provider"
)

// Store reads and writes a provider of the caller's account (store.Store).
type Store interface {
	// GetProvider returns not_found for an unknown id and for another
	// account's provider.
	GetProvider(ctx context.Context, accountID, providerID string) (*provider.Provider, error)
	UpdateProvider(ctx context.Context, accountID, providerID string, mutate func(*provider.Provider) error) (*provider.Provider, error)
}

// Handler serves POST /providers/{id}/move-plan/approve. Only organization
// administrators approve; the body names the version of the move report
// they read, and a report that changed since (another version) is 409
// invalid_state, so nobody approves what they did not see. The approval and
// the request to resume each waiting subscription's workflow are one
// conditional write (Provider.ApproveMovePlanBy): the outbox relay resumes
// the waits, and the moves start. Approving the approved version again
// changes nothing and answers the same.
type Handler struct {
	Store Store
	Now   func() time.Time
}

type body struct {
	Version *int `json:"version"`
}

// Handle answers one request.
func (h *Handler) Handle(ctx context.Context, req api.Request) (api.Response, error) {
	caller, err := api.CallerFrom(req)
	if err != nil {
		return api.Response{}, err
	}
	if !caller.IsAdmin() {
		return api.Response{}, apperr.New(apperr.AdminRequired, "Only organization administrators may approve a move plan.")
	}
	raw, err := api.LimitedBody(req, 4<<10)
	if err != nil {
		return api.Response{}, err
	}
	var b body
	if err := provider.DecodeStrict(raw, &b); err != nil {
		return api.Response{}, err
	}
	if b.Version == nil || *b.Version < 1 {
		return api.Response{}, apperr.New(apperr.InvalidRequest, "The request has invalid fields.",
			apperr.Detail{Field: "version", Code: "invalid", Message: "the move plan's version (a positive integer), as GET /providers/{id} shows it"})
	}
	p, err := h.Store.GetProvider(ctx, caller.AccountID, req.PathParameters["id"])
	if err != nil {
		return api.Response{}, err
	}
	if err := p.CheckOpen(); err != nil {
		return api.Response{}, err
	}
	now := h.Now()
	by := caller.Requester().By()
	p, err = h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		if err := q.CheckOpen(); err != nil {
			return err
		}
		_, err := q.ApproveMovePlanBy(*b.Version, by, now)
		return err
	})
	if err != nil {
		return api.Response{}, err
	}
	logging.From(ctx).Info("move plan approved", "provider_id", p.ID, "version", *b.Version)
	return api.JSON(req, api.StatusAccepted, p.View()), nil
}
