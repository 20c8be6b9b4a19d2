package main

import (
	"context"
	"time"

	"github.com/partnercloud/azure/shared/gdap"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/workflow"
)

// Store is what the request reads and writes.
type Store interface {
	GetProvider(ctx context.Context, accountID, providerID string) (*provider.Provider, error)
	UpdateProvider(ctx context.Context, accountID, providerID string, mutate func(*provider.Provider) error) (*provider.Provider, error)
}

// Graph makes and locks the relationship (gdap.Client).
type Graph interface {
	Ensure(ctx context.Context, req gdap.Request) (gdap.Relationship, error)
	Lock(ctx context.Context, id string) error
	Get(ctx context.Context, id string) (gdap.Relationship, error)
}

// Handler is the RequestRelationship task.
type Handler struct {
	Store Store
	Graph Graph
	Links gdap.Links
	// AccessGroupID is the partner security group given roles once the
	// relationship is active (GDAP_SECURITY_GROUP_ID; "" for none).
	AccessGroupID string
	Now           func() time.Time
}

// Handle runs one request, in the task wrapper.
func (h *Handler) Handle(ctx context.Context, in workflow.RelationshipRequestInput) (workflow.RelationshipRequestOutput, error) {
	return workflow.Run(ctx, in, h.Store, func(ctx context.Context, p *provider.Provider) (workflow.RelationshipRequestOutput, error) {
		return h.request(ctx, p)
	})
}

// request ensures the provider's relationship (found by its display name,
// derived from the provider id, so that a retry or a lost reply finds the
// one an earlier attempt made instead of making a second), locks it for
// approval (idempotent), reads its status and records it with the links.
func (h *Handler) request(ctx context.Context, p *provider.Provider) (workflow.RelationshipRequestOutput, error) {
	if err := p.CheckOpen(); err != nil {
		return workflow.RelationshipRequestOutput{}, err
	}
	rel, err := h.Graph.Ensure(ctx, gdap.Request{DisplayName: gdap.DisplayName(p.ID)})
	if err != nil {
		return workflow.RelationshipRequestOutput{}, err
	}
	if rel.Status == gdap.StatusCreated {
		if err := h.Graph.Lock(ctx, rel.ID); err != nil {
			return workflow.RelationshipRequestOutput{}, err
		}
		if rel, err = h.Graph.Get(ctx, rel.ID); err != nil {
			return workflow.RelationshipRequestOutput{}, err
		}
	}
	req := provider.RelationshipRequest{ID: rel.ID, Status: rel.Status, ApprovalURL: h.Links.Approval(rel.ID), ResellerURL: h.Links.ResellerInvitation(),
		AccessGroupID: h.AccessGroupID, Roles: rel.Roles, AutoExtend: rel.AutoExtend}
	if r := p.Relationships; r != nil && r.GDAPID == req.ID && r.ApprovalURL == req.ApprovalURL && r.ResellerURL == req.ResellerURL && r.RequestedAt != nil {
		logging.From(ctx).Info("admin relationship already recorded", "relationship_id", rel.ID, "status", rel.Status)
		return workflow.RelationshipRequestOutput{RelationshipID: rel.ID, Status: rel.Status}, nil
	}
	if _, err := h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		_, err := q.RecordRelationshipRequest(req, h.Now())
		return err
	}); err != nil {
		return workflow.RelationshipRequestOutput{}, err
	}
	logging.From(ctx).Info("admin relationship requested", "relationship_id", rel.ID, "status", rel.Status)
	return workflow.RelationshipRequestOutput{RelationshipID: rel.ID, Status: rel.Status}, nil
}
