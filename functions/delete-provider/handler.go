package main

import (
	"context"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/provider"
)

// Store is what DELETE /providers/{id} reads and deletes.
type Store interface {
	// GetProvider returns the account's provider; not_found for an unknown
	// id and for another account's provider.
	GetProvider(ctx context.Context, accountID, providerID string) (*provider.Provider, error)
	// DeleteProvider deletes the provider and its name claim if check
	// accepts the provider as stored (re-read on a concurrent change);
	// not_found when it is gone.
	DeleteProvider(ctx context.Context, accountID, providerID string, check func(*provider.Provider) error) error
}

// SecretDeleter deletes a provider's credential secret at once
// (secret.Store); an absent secret is not an error.
type SecretDeleter interface {
	Delete(ctx context.Context, arn string) error
}

// Handler serves DELETE /providers/{id}.
//
// A provider may be deleted when it is finished (active, declined, expired,
// failed) or cancelled, whatever its option; an unfinished migration is 409
// invalid_state (cancel it first). A member may delete a provider of the
// existing option, which any member may create; the providers of the
// administrators' options (migrate, new) need an administrator (403).
//
// The steps, each idempotent, in this order: the provider's credential
// secret is deleted (without a recovery window), then the provider and its
// name claim in one transaction. A failure between the two (500) leaves the
// provider without its secret, and a retried DELETE completes the deletion.
type Handler struct {
	Store   Store
	Secrets SecretDeleter
}

// Handle answers one request: 204 when the provider is gone.
func (h *Handler) Handle(ctx context.Context, req api.Request) (api.Response, error) {
	caller, err := api.CallerFrom(req)
	if err != nil {
		return api.Response{}, err
	}
	id := req.PathParameters["id"]
	p, err := h.Store.GetProvider(ctx, caller.AccountID, id)
	if err != nil {
		return api.Response{}, err
	}
	if err := p.CheckDelete(caller.IsAdmin()); err != nil {
		return api.Response{}, err
	}
	log := logging.From(ctx).With("provider_id", p.ID)
	if arn := p.CredentialSecretARN; arn != "" {
		if err := h.Secrets.Delete(ctx, arn); err != nil {
			return api.Response{}, apperr.Wrap(err, "delete the credential secret of "+p.ID)
		}
		log.Info("credential secret deleted", "secret_arn", arn)
	}
	// A new customer's initial admin secret, when its link was never used.
	if ia := p.InitialAdmin; ia != nil && ia.SecretARN != "" && ia.ViewedAt == nil {
		if err := h.Secrets.Delete(ctx, ia.SecretARN); err != nil {
			return api.Response{}, apperr.Wrap(err, "delete the initial admin secret of "+p.ID)
		}
		log.Info("initial admin secret deleted", "secret_arn", ia.SecretARN)
	}
	err = h.Store.DeleteProvider(ctx, caller.AccountID, p.ID, (*provider.Provider).CheckDeletable)
	switch {
	case apperr.Is(err, apperr.NotFound):
		log.Info("provider deleted meanwhile by another request")
	case err != nil:
		return api.Response{}, err
	default:
		log.Info("provider deleted", "option", p.Option, "status", p.Status, "by", caller.Requester().By())
	}
	return api.NoContent(req), nil
}
