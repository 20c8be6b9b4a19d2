package main

import (
	"context"

	"github.com/partnercloud/azure/shared/consolidate"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/workflow"
)

// Advancer takes one subscription's route a step further
// (consolidate.Consolidator).
type Advancer interface {
	Advance(ctx context.Context, p *provider.Provider, subID, token string) (consolidate.Result, error)
}

// Handler is the AdvanceSubscription task.
type Handler struct {
	Store        workflow.ProviderReader
	Consolidator Advancer
}

// Handle advances the subscription, in the task wrapper (input validated,
// provider read, errors named). The wait itself ends through the task
// token: the run sends success when the route ended, or keeps the token.
func (h *Handler) Handle(ctx context.Context, in workflow.SubscriptionInput) (consolidate.Result, error) {
	return workflow.Run(ctx, in, h.Store, func(ctx context.Context, p *provider.Provider) (consolidate.Result, error) {
		return h.Consolidator.Advance(ctx, p, in.SubscriptionID, in.TaskToken)
	})
}
