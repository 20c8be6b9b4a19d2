package main

import (
	"context"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/workflow"
)

// Store is what the ownership check reads and writes.
type Store interface {
	GetProvider(ctx context.Context, accountID, providerID string) (*provider.Provider, error)
	UpdateProvider(ctx context.Context, accountID, providerID string, mutate func(*provider.Provider) error) (*provider.Provider, error)
}

// OwnershipChecker checks Owner access in a customer tenant.
type OwnershipChecker interface {
	Check(ctx context.Context, tenantID, principalID string, subscriptionIDs []string) (ownership.Result, error)
}

// Handler is the CheckOwnership task. While anything is missing it raises
// OwnershipPending (the state machine retries with growing intervals); at
// the deadline it raises OwnershipDeadlineExceeded.
type Handler struct {
	Store   Store
	Checker OwnershipChecker
	// AppName is the partner application's display name (PARTNER_APP_NAME),
	// recorded on the provider so that its principal is named with it.
	AppName string
	// Deadline is how long the wait for Owner access may last.
	Deadline time.Duration
	// Warning is how long before the deadline the representatives are
	// reminded. It must exceed the longest wait between checks (24 h), or
	// the checks may step over the window.
	Warning time.Duration
	Now     func() time.Time
}

// Handle runs one check, in the task wrapper (input validated, provider
// read, errors named, logs with the provider and execution).
func (h *Handler) Handle(ctx context.Context, in workflow.OwnershipInput) (workflow.OwnershipOutput, error) {
	return workflow.Run(ctx, in, h.Store, func(ctx context.Context, p *provider.Provider) (workflow.OwnershipOutput, error) {
		return h.check(ctx, in, p)
	})
}

// check asks Azure whether the principal holds Owner on each subscription
// (every visible one when none was named), records the answer, and, in the
// same write, the representatives' notice when one is due. Anything missing is
// ownership_pending, the deadline passed ownership_deadline_exceeded.
func (h *Handler) check(ctx context.Context, in workflow.OwnershipInput, p *provider.Provider) (workflow.OwnershipOutput, error) {
	if err := p.CheckOpen(); err != nil {
		return workflow.OwnershipOutput{}, err
	}
	tenant := in.TenantID
	if tenant == "" {
		tenant = p.TenantID
	}
	if tenant == "" {
		return workflow.OwnershipOutput{}, apperr.New(apperr.InvalidRequest, "no tenant recorded for the provider")
	}
	now := h.Now()
	if err := p.CheckOwnershipDeadline(now); err != nil {
		return workflow.OwnershipOutput{}, err
	}
	requested := make([]string, 0, len(p.Subscriptions))
	if !p.SubscriptionsDiscovered {
		for _, s := range p.Subscriptions {
			requested = append(requested, s.ID)
		}
	}
	// The checker looks for the operator's principal when one is set, else
	// for the partner application's service principal (its token's oid).
	res, err := h.Checker.Check(ctx, tenant, p.OwnerPrincipal, requested)
	if err != nil {
		if !apperr.Is(err, apperr.ConsentRevoked) {
			logging.From(ctx).Warn("ownership check failed", "error", err.Error())
		}
		return workflow.OwnershipOutput{}, err
	}
	p, err = h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		q.RecordPartnerApp(h.AppName)
		if err := q.RecordOwnershipCheck(res.Subscriptions, res.PrincipalID, len(requested) == 0, now, h.Deadline); err != nil {
			return err
		}
		// A notice due is claimed in the same conditional write: the
		// outbox relay sends it (provider.ClaimNotice).
		if q.CheckOwned() != nil {
			q.ClaimNotice(q.DueNotice(now, h.Warning), now)
		}
		return nil
	})
	if err != nil {
		return workflow.OwnershipOutput{}, err
	}
	pending := p.CheckOwned()
	logging.From(ctx).Info("ownership checked", "subscriptions", len(res.Subscriptions), "all_owned", pending == nil)
	if pending == nil {
		return workflow.OwnershipOutput{Subscriptions: p.Subscriptions, CheckedAt: now}, nil
	}
	return workflow.OwnershipOutput{}, pending
}
