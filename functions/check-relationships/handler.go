package main

import (
	"context"

	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/relationship/check"
	"github.com/partnercloud/azure/shared/workflow"
)

// Checker is the relationship check (check.Checker).
type Checker interface {
	Check(ctx context.Context, p *provider.Provider, token string) (check.Result, error)
}

// Handler is the AwaitRelationships task.
type Handler struct {
	Store   workflow.ProviderReader
	Checker Checker
}

// Handle runs one check, in the task wrapper (input validated, provider
// read, errors named: a fault of Microsoft or the store is TransientError,
// retried by the state machine). The wait itself ends through the task
// token: the check sends success or the named failure, or keeps the token.
func (h *Handler) Handle(ctx context.Context, in workflow.RelationshipsInput) (workflow.RelationshipsOutput, error) {
	return workflow.Run(ctx, in, h.Store, func(ctx context.Context, p *provider.Provider) (workflow.RelationshipsOutput, error) {
		res, err := h.Checker.Check(ctx, p, in.TaskToken)
		if err != nil {
			return workflow.RelationshipsOutput{}, err
		}
		return workflow.RelationshipsOutput{Outcome: string(res.Outcome), Missing: res.Missing}, nil
	})
}
