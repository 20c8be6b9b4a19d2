package main

import (
	"context"
	"errors"
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/workflow"
)

// Store is what POST /providers/{id}/cancel reads and writes.
type Store interface {
	// UpdateProvider applies mutate under optimistic locking (conditional on
	// the version read, re-read and re-applied on a lost race); an error from
	// mutate aborts the write and is returned as is. not_found for an unknown
	// id and for another account's provider.
	UpdateProvider(ctx context.Context, accountID, providerID string, mutate func(*provider.Provider) error) (*provider.Provider, error)
	// CloseInvitation closes an open invitation record; invalid_state when
	// it is closed already or absent.
	CloseInvitation(ctx context.Context, hash string, to consent.Status, tenantID string) (*consent.Record, error)
	// GetInvitation returns the record; not_found when there is none.
	GetInvitation(ctx context.Context, hash string) (*consent.Record, error)
	// PutInvitation writes a record; invalid_state when a closed one exists.
	PutInvitation(ctx context.Context, r consent.Record) error
}

// ExecutionStopper stops a provider's migration (stepfunctions.Executions); an
// execution that ended or never existed is not an error.
type ExecutionStopper interface {
	Stop(ctx context.Context, executionARN, cause string) error
}

// Handler serves POST /providers/{id}/cancel.
//
// Only organization administrators may cancel (403 admin_required, checked
// before the provider is read so it reveals nothing): starting a migration is
// an administrator's decision, and so is abandoning one.
//
// The steps, each idempotent, in this order: the status becomes cancelled
// (a conditional write: of concurrent cancels exactly one records the
// event), the invitation link is closed, the execution is stopped. A provider
// already cancelled answers 200 and runs the last two steps again, so a
// cancel that failed after the status change (500) is completed by a retry.
// Other ended migrations (active, declined, expired, failed) are 409.
type Handler struct {
	Store           Store
	Executions      ExecutionStopper
	StateMachineARN string
	Now             func() time.Time
}

// Handle answers one request.
func (h *Handler) Handle(ctx context.Context, req api.Request) (api.Response, error) {
	caller, err := api.CallerFrom(req)
	if err != nil {
		return api.Response{}, err
	}
	if err := provider.CheckCancelBy(caller.IsAdmin()); err != nil {
		return api.Response{}, err
	}
	id := req.PathParameters["id"]
	now := h.Now().UTC()
	by := caller.Requester().By()

	var current *provider.Provider
	p, err := h.Store.UpdateProvider(ctx, caller.AccountID, id, func(q *provider.Provider) error {
		current = q
		return q.Cancel(by, now)
	})
	log := logging.From(ctx).With("provider_id", id)
	ctx = logging.With(ctx, log)
	switch {
	case errors.Is(err, provider.ErrAlreadyCancelled):
		p = current
		log.Info("provider already cancelled; closing its link and stopping its execution again")
	case err != nil:
		return api.Response{}, err
	default:
		log.Info("provider cancelled", "by", by)
	}

	if err := h.closeInvitation(ctx, p, now); err != nil {
		return api.Response{}, err
	}
	if err := h.Executions.Stop(ctx, workflow.ExecutionARN(h.StateMachineARN, p.ID), "Cancelled by user"); err != nil {
		return api.Response{}, apperr.Wrap(err, "stop the execution of "+p.ID)
	}
	return api.JSON(req, api.StatusOK, p.View()), nil
}

// closeInvitation makes the consent link stop working. An invitation closed
// already (consented, declined, expired or cancelled) is fine. When the
// provider has a link but its record is not written yet (the invitation task
// is between making the nonce and storing the record), a cancelled record is
// written so that the task can never open it.
func (h *Handler) closeInvitation(ctx context.Context, p *provider.Provider, now time.Time) error {
	inv := p.Invitation
	if inv == nil || inv.Hash == "" {
		return nil
	}
	_, err := h.Store.CloseInvitation(ctx, inv.Hash, consent.StatusCancelled, "")
	if err == nil || !apperr.Is(err, apperr.InvalidState) {
		return err
	}
	if _, err := h.Store.GetInvitation(ctx, inv.Hash); !apperr.Is(err, apperr.NotFound) {
		return err // nil: closed already
	}
	expires := now
	if inv.ExpiresAt != nil {
		expires = *inv.ExpiresAt
	}
	err = h.Store.PutInvitation(ctx, consent.Record{Hash: inv.Hash, AccountID: p.AccountID, ProviderID: p.ID,
		Status: consent.StatusCancelled, ExpiresAt: expires, UpdatedAt: now})
	if apperr.Is(err, apperr.InvalidState) {
		return nil // closed meanwhile
	}
	return err
}
