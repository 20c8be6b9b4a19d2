package main

import (
	"context"
	"errors"
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/secret"
	"github.com/partnercloud/azure/shared/store"
)

// proveTimeout bounds the proof of the credentials, retries included, well
// inside the API's 30-second limit.
const proveTimeout = 15 * time.Second

// discardTimeout bounds the deletion of a secret whose provider was not
// created; it runs even when the request's context has ended.
const discardTimeout = 5 * time.Second

// createExisting creates a provider with the existing option: any member may,
// with no eligibility or terms checks (it is not cloud optimized). The steps,
// ordered so that a refusal or a fault stores nothing:
//
//  1. An idempotent replay answers the provider created before (no new proof).
//  2. The credentials are proved: a token in the tenant, then a read of the
//     subscription. Each refusal is its own 422 code; Azure down is 503.
//  3. The client secret goes to Secrets Manager under the provider's id
//     (chosen now), tagged with the account and the provider.
//  4. The provider, active at once, is created with the secret's ARN. When
//     that fails (name taken, the key used meanwhile, a fault) the secret is
//     deleted again.
//
// A crash between 3 and 4 leaves a secret that no provider references,
// found by its name prefix and tags; never a provider without its secret.
// The secret is never logged, stored in the table, or answered.
func (h *Handler) createExisting(ctx context.Context, req api.Request, caller api.Caller, cr provider.CreateRequest, body []byte, key string, hasKey bool) (api.Response, error) {
	now := h.Now().UTC()
	var idem *store.IdempotencyRecord
	if hasKey {
		idem = idempotencyRecord(key, body, now)
		if p, err := h.replay(ctx, caller.AccountID, idem); p != nil || err != nil {
			return h.answer(ctx, req, p, err)
		}
	}
	log := logging.From(ctx)
	pctx, cancel := context.WithTimeout(ctx, proveTimeout)
	err := h.Prover.Prove(pctx, cr.TenantID, cr.ClientID, cr.ClientSecret, cr.SubscriptionID)
	cancel()
	if err != nil {
		// A refusal says what to fix (422), Azure's unavailability is 503
		// (ownership's errors), anything else internal; the cause, which
		// never holds the secret, is logged.
		return api.Response{}, err
	}
	p := provider.New(cr, caller.Requester(), now)
	p.ID = store.NewProviderID(now)
	arn, err := h.Secrets.Create(ctx, secret.ProviderSecretName(caller.AccountID, p.ID), cr.ClientSecret, secret.ProviderTags(caller.AccountID, p.ID))
	if err != nil {
		return api.Response{}, apperr.Wrap(err, "store the client secret of "+p.ID)
	}
	p.CredentialSecretARN = arn
	if err := h.Store.CreateProvider(ctx, p, idem); err != nil {
		h.discardSecret(ctx, p.ID, arn)
		if errors.Is(err, store.ErrIdempotencyKeyUsed) && idem != nil {
			return h.answerRaceWinner(ctx, req, caller.AccountID, idem, err)
		}
		return api.Response{}, err
	}
	log.Info("provider created", "provider_id", p.ID, "option", p.Option, "tenant_id", p.TenantID, "client_id", p.ClientID)
	return h.answer(ctx, req, p, nil)
}

// discardSecret deletes the secret of a provider that was not created. A
// failure is logged (with the ARN, never the value) and otherwise ignored:
// the request's own error is the answer.
func (h *Handler) discardSecret(ctx context.Context, providerID, arn string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discardTimeout)
	defer cancel()
	if err := h.Secrets.Delete(dctx, arn); err != nil {
		logging.From(ctx).Error("cannot delete the secret of a provider that was not created",
			"provider_id", providerID, "secret_arn", arn, "error", err.Error())
	}
}
