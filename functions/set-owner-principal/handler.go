package main

import (
	"context"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/msid"
	"github.com/partnercloud/azure/shared/provider"
)

// Store finds a provider by id alone (operators act across accounts) and updates it.
type Store interface {
	FindProvider(ctx context.Context, providerID string) (*provider.Provider, error)
	UpdateProvider(ctx context.Context, accountID, providerID string, mutate func(*provider.Provider) error) (*provider.Provider, error)
}

// Handler serves PUT /providers/{id}/owner-principal: an operator names the
// principal (a partner-generated user, say) that must hold Owner, instead
// of the partner application's service principal. The next ownership check
// uses it.
type Handler struct {
	Store Store
	Now   func() time.Time
	// OperatorRole is the roles-claim value of operators (OPERATOR_ROLE);
	// "" is api.DefaultOperatorRole.
	OperatorRole string
}

type body struct {
	PrincipalID *string `json:"principalId"`
}

// Handle answers one request.
func (h *Handler) Handle(ctx context.Context, req api.Request) (api.Response, error) {
	caller, err := api.CallerFrom(req)
	if err != nil {
		return api.Response{}, err
	}
	if !caller.IsOperator(h.OperatorRole) {
		return api.Response{}, apperr.New(apperr.OperatorRequired, "Only operators may set the owner principal.")
	}
	raw, err := api.LimitedBody(req, 4<<10)
	if err != nil {
		return api.Response{}, err
	}
	var b body
	if err := provider.DecodeStrict(raw, &b); err != nil {
		return api.Response{}, err
	}
	if b.PrincipalID == nil || (*b.PrincipalID != "" && !msid.IsGUID(*b.PrincipalID)) {
		return api.Response{}, apperr.New(apperr.InvalidRequest, "The request has invalid fields.",
			apperr.Detail{Field: "principalId", Code: "invalid", Message: `an object id (GUID), or "" to use the partner application's service principal`})
	}
	principal := strings.ToLower(*b.PrincipalID)
	id := req.PathParameters["id"]
	p, err := h.Store.FindProvider(ctx, id)
	if err != nil {
		return api.Response{}, err
	}
	now := h.Now().UTC()
	p, err = h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		return q.SetOwnerPrincipal(principal, "operator:"+caller.UserID, now)
	})
	if err != nil {
		return api.Response{}, err
	}
	logging.From(ctx).Info("owner principal set", "provider_id", p.ID)
	return api.JSON(req, api.StatusOK, p.View()), nil
}
