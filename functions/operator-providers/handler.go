package main

import (
	"context"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
)

// Lister is what the operators' listing needs from the store.
type Lister interface {
	// ListOperatorProviders returns a page across accounts (see
	// store.OperatorQuery); a cursor it did not make is invalid_request.
	ListOperatorProviders(ctx context.Context, q store.OperatorQuery) (store.OperatorPage, error)
}

// Handler serves GET /operator/providers?status=&health=&stuck=&limit=&cursor=:
// providers across accounts, newest change first, for the partner's
// operators; with stuck=true the stuck ones (waiting on one step longer
// than StuckAfter) first, longest waiting first.
type Handler struct {
	Store Lister
	// OperatorRole is the roles-claim value of operators (OPERATOR_ROLE);
	// "" is api.DefaultOperatorRole.
	OperatorRole string
	// StuckAfter is the stuck threshold (OPERATOR_STUCK_AFTER).
	StuckAfter time.Duration
}

// Handle answers one request.
func (h *Handler) Handle(ctx context.Context, req api.Request) (api.Response, error) {
	caller, err := api.CallerFrom(req)
	if err != nil {
		return api.Response{}, err
	}
	if !caller.IsOperator(h.OperatorRole) {
		return api.Response{}, apperr.New(apperr.OperatorRequired, "Only operators may list providers across accounts.")
	}
	q, err := queryOf(req.QueryStringParameters)
	if err != nil {
		return api.Response{}, err
	}
	q.StuckAfter = h.stuckAfter()
	page, err := h.Store.ListOperatorProviders(ctx, q)
	if err != nil {
		return api.Response{}, err
	}
	// Each provider is its OperatorView: with its account id, stuck and,
	// while open, waitingSince.
	out := api.ProviderPage{Providers: make([]provider.View, len(page.Providers)), NextCursor: page.Next, Skipped: page.Skipped}
	for i := range page.Providers {
		// Judged at the listing's instant, so the flags agree with the
		// order of a stuck listing on every page.
		out.Providers[i] = page.Providers[i].OperatorView(page.AsOf, q.StuckAfter)
	}
	return api.JSON(req, api.StatusOK, out), nil
}

func (h *Handler) stuckAfter() time.Duration {
	if h.StuckAfter <= 0 {
		return DefaultStuckAfter
	}
	return h.StuckAfter
}

// queryOf reads and checks the query string: status (a product status),
// health (ok, attention), stuck (true, false), limit (1..100, default 20)
// and the opaque cursor. Each problem is a detail naming its parameter.
func queryOf(params map[string]string) (store.OperatorQuery, error) {
	var q store.OperatorQuery
	var details []apperr.Detail
	if v, ok := params["status"]; ok {
		q.Status = provider.Status(v)
		if !q.Status.Valid() {
			names := make([]string, len(provider.Statuses))
			for i, s := range provider.Statuses {
				names[i] = string(s)
			}
			details = append(details, apperr.Detail{Field: "status", Code: "invalid", Message: "must be one of " + strings.Join(names, ", ")})
		}
	}
	if v, ok := params["health"]; ok {
		q.Health = provider.HealthStatus(v)
		if !q.Health.Valid() {
			details = append(details, apperr.Detail{Field: "health", Code: "invalid", Message: "must be ok or attention"})
		}
	}
	if v, ok := params["stuck"]; ok {
		switch v {
		case "true":
			q.Stuck = true
		case "false":
		default:
			details = append(details, apperr.Detail{Field: "stuck", Code: "invalid", Message: "must be true or false"})
		}
	}
	var page []apperr.Detail
	q.Limit, q.Cursor, page = api.PageParams(params)
	details = append(details, page...)
	if len(details) > 0 {
		return store.OperatorQuery{}, api.InvalidQuery(details)
	}
	return q, nil
}
