package main

import (
	"context"

	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/workflow"
)

// Classifier records the subscriptions' routes (consolidate.Consolidator).
type Classifier interface {
	Classify(ctx context.Context, p *provider.Provider) ([]string, error)
}

// Handler is the ClassifySubscriptions task.
type Handler struct {
	Store        workflow.ProviderReader
	Consolidator Classifier
}

// Handle classifies, in the task wrapper (input validated, provider read,
// errors named: a fault of Microsoft or the store is TransientError,
// retried by the state machine).
func (h *Handler) Handle(ctx context.Context, in workflow.ClassifyInput) (workflow.ClassifyOutput, error) {
	return workflow.Run(ctx, in, h.Store, func(ctx context.Context, p *provider.Provider) (workflow.ClassifyOutput, error) {
		ids, err := h.Consolidator.Classify(ctx, p)
		if err != nil {
			return workflow.ClassifyOutput{}, err
		}
		return workflow.ClassifyOutput{Subscriptions: ids}, nil
	})
}
