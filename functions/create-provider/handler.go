package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
)

// MaxIdempotencyKeyLen bounds the Idempotency-Key header.
const MaxIdempotencyKeyLen = 128

// ProviderCreator is what POST /providers needs from the store.
type ProviderCreator interface {
	GetAccount(ctx context.Context, accountID string) (*account.Account, error)
	TermsAccepted(ctx context.Context, accountID string) ([]account.Acceptance, error)
	RecordAcceptances(ctx context.Context, accountID string, acc []account.Acceptance) error
	GetIdempotency(ctx context.Context, accountID, key string) (*store.IdempotencyRecord, error)
	// CreateProvider fills the provider's id; it returns store.ErrIdempotencyKeyUsed
	// when the key's record exists, name_taken when the name is in use.
	CreateProvider(ctx context.Context, p *provider.Provider, idem *store.IdempotencyRecord) error
	GetProvider(ctx context.Context, accountID, providerID string) (*provider.Provider, error)
	// UpdateProvider applies mutate under optimistic locking; an error from
	// mutate aborts the write and is returned as is.
	UpdateProvider(ctx context.Context, accountID, providerID string, mutate func(*provider.Provider) error) (*provider.Provider, error)
}

// CredentialProver proves the credentials of a customer's own application
// (ownership.CustomerCredentials): a token in the tenant, then a read of the
// subscription. Its errors wrap the ownership.Err* refusals, or
// ownership.ErrUnavailable.
type CredentialProver interface {
	Prove(ctx context.Context, tenantID, clientID, secret, subscriptionID string) error
}

// SecretStore keeps the client secret of an existing provider (secret.Store).
type SecretStore interface {
	// Create stores value as a new tagged secret and returns its ARN.
	Create(ctx context.Context, name, value string, tags map[string]string) (string, error)
	// Delete deletes a secret at once; an absent secret is not an error.
	Delete(ctx context.Context, arn string) error
}

// DomainChecker checks in Partner Center that a new customer's
// onmicrosoft.com domain prefix is free (partnercenter.Client).
type DomainChecker interface {
	CheckDomainAvailable(ctx context.Context, prefix string) (bool, error)
}

// Handler serves POST /providers.
type Handler struct {
	Store ProviderCreator
	// Domains checks option new's domain prefix before the provider is
	// created.
	Domains DomainChecker
	// Prover and Secrets serve the existing option.
	Prover  CredentialProver
	Secrets SecretStore
	Terms   account.Terms
	// Contact is the address an ineligible account is told to write to.
	Contact string
	Now     func() time.Time
}

// Handle answers one request. The checks run in the contract's order:
// 401, 413, 400, 403, 422, 428, then idempotency and the create itself.
func (h *Handler) Handle(ctx context.Context, req api.Request) (api.Response, error) {
	caller, err := api.CallerFrom(req)
	if err != nil {
		return api.Response{}, err
	}
	body, err := api.LimitedBody(req, provider.MaxBodyBytes)
	if err != nil {
		return api.Response{}, err
	}
	cr, err := provider.ParseCreateRequest(body)
	if err != nil {
		return api.Response{}, err
	}
	key, hasKey, err := idempotencyKey(req)
	if err != nil {
		return api.Response{}, err
	}
	if err := provider.CheckPick(cr.Option, caller.IsAdmin()); err != nil {
		return api.Response{}, err
	}
	if cr.Option == provider.OptionExisting {
		return h.createExisting(ctx, req, caller, cr, body, key, hasKey)
	}
	add, err := h.checkAccount(ctx, caller.AccountID, cr.AcceptedTerms)
	if err != nil {
		return api.Response{}, err
	}

	now := h.Now().UTC()
	if cr.Option == provider.OptionNew {
		// The domain must be free (409 domain_taken otherwise), checked
		// before anything is recorded; a replay is answered first, as its
		// domain is now the provider's own.
		if hasKey {
			if p, err := h.replay(ctx, caller.AccountID, idempotencyRecord(key, body, now)); p != nil || err != nil {
				return h.answer(ctx, req, p, err)
			}
		}
		if err := h.checkDomain(ctx, cr.Company.DomainPrefix); err != nil {
			return api.Response{}, err
		}
	}
	if len(add) > 0 {
		acc := make([]account.Acceptance, len(add))
		for i, tv := range add {
			acc[i] = account.Acceptance{Document: tv.Document, Version: tv.Version, AcceptedBy: caller.UserID, AcceptedAt: now}
		}
		if err := h.Store.RecordAcceptances(ctx, caller.AccountID, acc); err != nil {
			return api.Response{}, err
		}
	}

	var idem *store.IdempotencyRecord
	if hasKey {
		idem = idempotencyRecord(key, body, now)
		if p, err := h.replay(ctx, caller.AccountID, idem); p != nil || err != nil {
			return h.answer(ctx, req, p, err)
		}
	}

	p := provider.New(cr, caller.Requester(), now)
	err = h.Store.CreateProvider(ctx, p, idem)
	if errors.Is(err, store.ErrIdempotencyKeyUsed) && idem != nil {
		return h.answerRaceWinner(ctx, req, caller.AccountID, idem, err)
	}
	if err != nil {
		return api.Response{}, err
	}
	logging.From(ctx).Info("provider created", "provider_id", p.ID, "option", p.Option,
		"subscriptions", len(p.Subscriptions), "azure_admin", logging.MaskEmail(p.AzureAdminEmail))
	return h.answer(ctx, req, p, nil)
}

// answerRaceWinner answers as the concurrent request with the same
// Idempotency-Key that won the race did.
func (h *Handler) answerRaceWinner(ctx context.Context, req api.Request, accountID string, idem *store.IdempotencyRecord, cause error) (api.Response, error) {
	replayed, err := h.replay(ctx, accountID, idem)
	if replayed == nil && err == nil {
		err = apperr.Wrap(cause, "idempotency record vanished after a conflict")
	}
	return h.answer(ctx, req, replayed, err)
}

// answer answers 202 with the provider (and where to read it again), for a
// new provider and for every idempotent replay. A migration's or new
// customer's workflow is not started here: the provider carries its start
// in the outbox, written with it, and the outbox relay starts it
// (provider.NoticeStartWorkflow). A replay finding that start still
// pending long after the create re-arms it (rearm), so a client's retry
// with the same key still repairs a start that the relay gave up on.
func (h *Handler) answer(ctx context.Context, req api.Request, p *provider.Provider, err error) (api.Response, error) {
	if err != nil {
		return api.Response{}, err
	}
	resp := api.JSON(req, api.StatusAccepted, p.View())
	resp.Headers["Location"] = "/providers/" + p.ID
	return resp, nil
}

// errNotStalled aborts the re-arming write when the start is no longer
// stalled.
var errNotStalled = errors.New("workflow start not stalled")

// rearm writes a replayed provider whose workflow start has been pending
// longer than provider.WorkflowStartStall again, unchanged but for its
// version: the table's stream wakes the outbox relay once more.
func (h *Handler) rearm(ctx context.Context, p *provider.Provider) (*provider.Provider, error) {
	now := h.Now().UTC()
	if !p.WorkflowStartStalled(now) {
		return p, nil
	}
	q, err := h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		if !q.WorkflowStartStalled(now) {
			return errNotStalled
		}
		return nil
	})
	switch {
	case errors.Is(err, errNotStalled):
		return p, nil
	case err != nil:
		return nil, apperr.Wrap(err, "re-arm the workflow start of "+p.ID)
	}
	logging.From(ctx).Warn("workflow start was still pending; re-armed", "provider_id", p.ID)
	return q, nil
}

// idempotencyRecord is the record of a request's key and body.
func idempotencyRecord(key string, body []byte, now time.Time) *store.IdempotencyRecord {
	sum := sha256.Sum256(body)
	return &store.IdempotencyRecord{Key: key, BodyHash: hex.EncodeToString(sum[:]), CreatedAt: now}
}

// idempotencyKey returns the Idempotency-Key header when present: 1 to 128
// printable ASCII characters.
func idempotencyKey(req api.Request) (string, bool, error) {
	key, ok := api.LookupHeader(req, "Idempotency-Key")
	if !ok {
		return "", false, nil
	}
	valid := len(key) >= 1 && len(key) <= MaxIdempotencyKeyLen
	for i := 0; valid && i < len(key); i++ {
		valid = key[i] >= 0x20 && key[i] <= 0x7e
	}
	if !valid {
		return "", false, apperr.New(apperr.InvalidRequest, "The Idempotency-Key header is invalid.",
			apperr.Detail{Field: "Idempotency-Key", Code: "invalid", Message: fmt.Sprintf("must be 1 to %d printable ASCII characters", MaxIdempotencyKeyLen)})
	}
	return key, true, nil
}

// checkAccount applies the eligibility (422) and terms (428) rules of the
// cloud-optimized options and returns the terms versions the request accepts.
func (h *Handler) checkAccount(ctx context.Context, accountID string, inRequest *provider.AcceptedTerms) ([]account.TermsVersion, error) {
	acct, err := h.Store.GetAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if reasons := account.Ineligibility(acct); len(reasons) > 0 {
		return nil, account.IneligibleError(reasons, h.Contact)
	}
	accepted, err := h.Store.TermsAccepted(ctx, accountID)
	if err != nil {
		return nil, err
	}
	given := map[account.Document]string{}
	if inRequest != nil {
		given[account.PartnerTerms] = inRequest.Partner
		given[account.MicrosoftTerms] = inRequest.Microsoft
	}
	return h.Terms.CheckRequest(account.AcceptedVersions(accepted), given)
}

// replay returns the provider an earlier request with the same key and body
// created, idempotency_key_reused when the body differs, or nil, nil when the
// key is new.
func (h *Handler) replay(ctx context.Context, accountID string, idem *store.IdempotencyRecord) (*provider.Provider, error) {
	rec, err := h.Store.GetIdempotency(ctx, accountID, idem.Key)
	if err != nil || rec == nil {
		return nil, err
	}
	if rec.BodyHash != idem.BodyHash {
		return nil, apperr.New(apperr.IdempotencyConflict, "This Idempotency-Key was already used with a different request body; use a new key for a new request.")
	}
	p, err := h.Store.GetProvider(ctx, accountID, rec.ProviderID)
	if err != nil {
		return nil, err
	}
	logging.From(ctx).Info("idempotent replay", "provider_id", p.ID)
	return h.rearm(ctx, p)
}

// checkDomain answers 409 domain_taken when <prefix>.onmicrosoft.com is in
// use, 503 when Partner Center cannot tell.
func (h *Handler) checkDomain(ctx context.Context, prefix string) error {
	ok, err := h.Domains.CheckDomainAvailable(ctx, prefix)
	if err != nil {
		logging.From(ctx).Warn("domain check failed", "error", err.Error())
		return apperr.New(apperr.AzureUnavailable, "Partner Center could not check the domain; try again in a few minutes.")
	}
	if !ok {
		return apperr.New(apperr.DomainTaken, fmt.Sprintf("The domain %s.onmicrosoft.com is already in use; choose another domain prefix.", prefix),
			apperr.Detail{Field: "company.domainPrefix", Code: "taken", Message: "choose another domain prefix"})
	}
	return nil
}
