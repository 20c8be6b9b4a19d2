package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/gdap"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/partnercenter"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/relationship/check"
	"github.com/partnercloud/azure/shared/store"
)

// Verifier authenticates Partner Center's signed requests
// (partnercenter.Verifier).
type Verifier interface {
	Verify(ctx context.Context, h http.Header, body []byte) (partnercenter.Event, error)
}

// Store finds the provider an event is about.
type Store interface {
	// TenantHolderOf is the provider whose sign-in proved the tenant.
	TenantHolderOf(ctx context.Context, tenantID string) (store.TenantHolder, bool, error)
	GetProvider(ctx context.Context, accountID, providerID string) (*provider.Provider, error)
	// FindProvider finds a provider by id alone.
	FindProvider(ctx context.Context, providerID string) (*provider.Provider, error)
}

// Relationships reads a GDAP relationship (gdap.Client).
type Relationships interface {
	Get(ctx context.Context, id string) (gdap.Relationship, error)
}

// Checker is the relationship check (check.Checker).
type Checker interface {
	Check(ctx context.Context, p *provider.Provider, token string) (check.Result, error)
}

// Handler serves POST /webhooks/partner-center: Partner Center's events
// that a customer accepted the reseller relationship or approved an admin
// relationship. An event only says where to look: the provider is found
// (by the tenant record for the reseller event, by the relationship's
// display name for the GDAP one) and the same check as the workflow's wait
// reads Microsoft and, when everything is confirmed, ends the wait at once.
// An event about nothing of ours, or repeated, changes nothing more.
type Handler struct {
	Verifier      Verifier
	Store         Store
	Relationships Relationships
	Checker       Checker
	// Timeout bounds the check: Partner Center expects a quick answer, and
	// the workflow's polling remains the fallback.
	Timeout time.Duration
}

// Answer is the webhook's JSON answer.
type Answer struct {
	// Outcome is ignored (not a product event, or no open migration of
	// ours), or the check's outcome: pending, confirmed or failed.
	Outcome string `json:"outcome"`
}

// Handle serves one request in the JSON route wrapper: a request that is
// not Partner Center's is 401 and changes nothing.
func (h *Handler) Handle(ctx context.Context, req api.Request) (api.Response, error) {
	return api.Handle(h.serve)(ctx, req)
}

func (h *Handler) serve(ctx context.Context, req api.Request) (api.Response, error) {
	body, err := api.LimitedBody(req, partnercenter.MaxEventBody)
	if err != nil {
		return api.Response{}, err
	}
	header := http.Header{}
	for k, v := range req.Headers {
		header.Set(k, v)
	}
	ev, err := h.Verifier.Verify(ctx, header, body)
	if err != nil {
		return api.Response{}, err
	}
	log := logging.From(ctx).With("event", ev.EventName)
	ctx = logging.With(ctx, log)
	p, err := h.provider(ctx, ev)
	if err != nil {
		return api.Response{}, err
	}
	if p == nil || !p.Open() || p.Option != provider.OptionMigrate {
		log.Info("webhook event ignored")
		return api.JSON(req, api.StatusOK, Answer{Outcome: "ignored"}), nil
	}
	log = log.With("provider_id", p.ID)
	ctx = logging.With(ctx, log)
	if h.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.Timeout)
		defer cancel()
	}
	res, err := h.Checker.Check(ctx, p, "")
	if apperr.Is(err, apperr.InvalidState) {
		// Ended meanwhile, or no relationship requested yet.
		log.Info("webhook event ignored", "reason", err.Error())
		return api.JSON(req, api.StatusOK, Answer{Outcome: "ignored"}), nil
	}
	if err != nil {
		// Partner Center delivers an event again when it is not accepted;
		// the workflow's own checks go on meanwhile.
		return api.Response{}, unavailable(err)
	}
	log.Info("webhook event checked", "outcome", string(res.Outcome), "resumed", res.Resumed)
	return api.JSON(req, api.StatusOK, Answer{Outcome: string(res.Outcome)}), nil
}

// provider is the open migration an event is about; nil when none.
func (h *Handler) provider(ctx context.Context, ev partnercenter.Event) (*provider.Provider, error) {
	id := ev.ResourceID()
	if id == "" {
		return nil, nil
	}
	switch ev.EventName {
	case partnercenter.EventResellerRelationshipAccepted:
		holder, found, err := h.Store.TenantHolderOf(ctx, strings.ToLower(id))
		if err != nil || !found {
			return nil, err
		}
		return h.found(h.Store.GetProvider(ctx, holder.AccountID, holder.ProviderID))
	case partnercenter.EventGranularAdminRelationshipApproved:
		rel, err := h.Relationships.Get(ctx, id)
		if errors.Is(err, gdap.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, unavailable(err)
		}
		providerID, ok := strings.CutPrefix(rel.DisplayName, gdap.DisplayNamePrefix)
		if !ok {
			return nil, nil // not a relationship the product requested
		}
		p, err := h.found(h.Store.FindProvider(ctx, providerID))
		if err != nil || p == nil || !strings.EqualFold(p.GDAPRelationshipID(), rel.ID) {
			return nil, err
		}
		return p, nil
	}
	return nil, nil
}

// found turns not_found into no provider.
func (h *Handler) found(p *provider.Provider, err error) (*provider.Provider, error) {
	if apperr.Is(err, apperr.NotFound) {
		return nil, nil
	}
	return p, err
}

// unavailable is a fault worth a redelivery, without its detail.
func unavailable(err error) error {
	if apperr.Is(err, apperr.Unavailable) || apperr.Is(err, apperr.AzureUnavailable) {
		return &apperr.Error{Code: apperr.AzureUnavailable, Message: "Microsoft could not be reached; deliver the event again later.", Cause: err}
	}
	return err
}
