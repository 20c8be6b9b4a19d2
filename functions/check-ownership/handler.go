package main

import (
	"context"
	"fmt"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/mail"
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

// Mailer sends one email.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) (string, error)
}

// Handler is the CheckOwnership task. While anything is missing it raises
// OwnershipPending (the state machine retries with growing intervals); at
// the deadline it raises OwnershipDeadlineExceeded.
type Handler struct {
	Store   Store
	Checker OwnershipChecker
	Mailer  Mailer
	Brand   mail.Brand
	// Representatives is the partner's representatives' address.
	Representatives string
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
// (every visible one when none was named), records the answer, and tells
// the representatives when a notice is due. Anything missing is
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
		return q.RecordOwnershipCheck(res.Subscriptions, res.PrincipalID, len(requested) == 0, now, h.Deadline)
	})
	if err != nil {
		return workflow.OwnershipOutput{}, err
	}
	pending := p.CheckOwned()
	logging.From(ctx).Info("ownership checked", "subscriptions", len(res.Subscriptions), "all_owned", pending == nil)
	if pending == nil {
		return workflow.OwnershipOutput{Subscriptions: p.Subscriptions, CheckedAt: now}, nil
	}
	if err := h.notify(ctx, p, now); err != nil {
		return workflow.OwnershipOutput{}, err
	}
	return workflow.OwnershipOutput{}, pending
}

// notify tells the representatives once when the wait begins and once when
// the deadline is near. The notice is claimed first (a conditional write),
// so two concurrent checks never both send it.
func (h *Handler) notify(ctx context.Context, p *provider.Provider, now time.Time) error {
	kind := p.DueNotice(now, h.Warning)
	if kind == "" {
		return nil
	}
	claimed := false
	p, err := h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		claimed = q.ClaimNotice(kind, now)
		return nil
	})
	if err != nil {
		return err
	}
	if !claimed {
		return nil
	}
	subject := "Migration waiting for Owner access: " + p.Name
	heading := "A customer's Azure migration is waiting for Owner access"
	if kind == provider.NoticeDeadlineNear {
		subject = "Deadline near: " + subject
		heading = "A customer's Azure migration fails soon unless Owner access is granted"
	}
	msg, err := mail.RenderNotice(h.Representatives, mail.Notice{
		Brand: h.Brand, Subject: subject, Heading: heading,
		Paragraphs: []string{
			fmt.Sprintf("Provider %s (%s) of account %s consented, but the partner principal %s does not yet hold Owner on every subscription to be moved. Please contact the customer's Azure administrator and guide them through granting it.", p.Name, p.ID, p.AccountID, p.OwnerPrincipalLabel()),
			"The migration fails on " + provider.FormatTime(p.OwnershipWait.Deadline) + " if this is not done.",
		},
		Items: subscriptionLines(p),
	})
	if err != nil {
		return fmt.Errorf("render notice: %w", err)
	}
	if _, err := h.Mailer.Send(ctx, msg); err != nil {
		// The flag is already set: a lost notice is logged, not re-sent in a loop.
		logging.From(ctx).Error("representatives notice not sent", "kind", kind, "error", err.Error())
	}
	return nil
}

func subscriptionLines(p *provider.Provider) []string {
	lines := make([]string, 0, len(p.Subscriptions))
	for _, s := range p.Subscriptions {
		lines = append(lines, s.Label()+": "+string(s.State))
	}
	return lines
}
