package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	// Deadline is how long the wait for Owner access may last.
	Deadline time.Duration
	// Warning is how long before the deadline the representatives are
	// reminded. It must exceed the longest wait between checks (24 h), or
	// the checks may step over the window.
	Warning time.Duration
	Now     func() time.Time
}

// Handle runs one check.
func (h *Handler) Handle(ctx context.Context, in workflow.OwnershipInput) (workflow.OwnershipOutput, error) {
	if err := in.Validate(); err != nil {
		return workflow.OwnershipOutput{}, err
	}
	log := logging.From(ctx).With("provider_id", in.ProviderID, "execution_arn", in.ExecutionARN)
	ctx = logging.With(ctx, log)
	p, err := h.Store.GetProvider(ctx, in.AccountID, in.ProviderID)
	if err != nil {
		return workflow.OwnershipOutput{}, workflow.Named(err)
	}
	if p.Status.Terminal() {
		return workflow.OwnershipOutput{}, &workflow.InvalidInput{Reason: fmt.Sprintf("provider is %s", p.Status)}
	}
	tenant := in.TenantID
	if tenant == "" {
		tenant = p.TenantID
	}
	if tenant == "" {
		return workflow.OwnershipOutput{}, &workflow.InvalidInput{Reason: "no tenant recorded for the provider"}
	}
	now := h.Now()
	if w := p.OwnershipWait; w != nil && !now.Before(w.Deadline) {
		return workflow.OwnershipOutput{}, &workflow.OwnershipDeadlineExceeded{Reason: "Owner access was not granted on every subscription before the deadline of " + w.Deadline.UTC().Format("2 January 2006") + "."}
	}

	requested := make([]string, 0, len(p.Subscriptions))
	if !p.SubscriptionsDiscovered {
		for _, s := range p.Subscriptions {
			requested = append(requested, s.ID)
		}
	}
	res, err := h.Checker.Check(ctx, tenant, p.OwnerPrincipal, requested)
	switch {
	case errors.Is(err, ownership.ErrConsentRevoked):
		return workflow.OwnershipOutput{}, &workflow.ConsentRevoked{Reason: "The customer tenant no longer trusts the partner application: consent was revoked or the application removed."}
	case err != nil:
		log.Warn("ownership check failed", "error", err.Error())
		return workflow.OwnershipOutput{}, &workflow.TransientError{Reason: "Azure was unavailable for the ownership check"}
	}

	p, err = h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		return apply(q, res, len(requested) == 0, now, h.Deadline)
	})
	if err != nil {
		return workflow.OwnershipOutput{}, workflow.Named(err)
	}
	log.Info("ownership checked", "subscriptions", len(res.Subscriptions), "all_owned", res.AllOwned())
	if res.AllOwned() {
		return workflow.OwnershipOutput{Subscriptions: p.Subscriptions, CheckedAt: now}, nil
	}
	if err := h.notify(ctx, p, now); err != nil {
		return workflow.OwnershipOutput{}, err
	}
	return workflow.OwnershipOutput{}, &workflow.OwnershipPending{Reason: "Owner access is missing on: " + strings.Join(missingIDs(p), ", ")}
}

// apply records a check's result on the provider: per-subscription state
// (with when ownership was first confirmed), the wait, the status, and one
// timeline event when anything changed.
func apply(q *provider.Provider, res ownership.Result, discovered bool, now time.Time, deadline time.Duration) error {
	if q.Status.Terminal() {
		return apperr.New(apperr.InvalidState, "provider is "+string(q.Status))
	}
	before := summary(q.Subscriptions)
	prev := map[string]provider.Subscription{}
	for _, s := range q.Subscriptions {
		prev[strings.ToLower(s.ID)] = s
	}
	subs := make([]provider.Subscription, 0, len(res.Subscriptions))
	for _, r := range res.Subscriptions {
		s := provider.Subscription{ID: strings.ToLower(r.ID), State: r.State}
		if old, ok := prev[s.ID]; ok && old.ConfirmedAt != nil && s.State == provider.SubscriptionOwned {
			s.ConfirmedAt = old.ConfirmedAt
		} else if s.State == provider.SubscriptionOwned {
			t := now
			s.ConfirmedAt = &t
		}
		subs = append(subs, s)
	}
	q.Subscriptions = subs
	if discovered {
		q.SubscriptionsDiscovered = true
	}
	q.PrincipalID = res.PrincipalID
	if q.OwnershipWait == nil {
		q.OwnershipWait = &provider.OwnershipWait{StartedAt: now, Deadline: now.Add(deadline)}
	}
	q.OwnershipWait.Checks++
	t := now
	q.OwnershipWait.LastCheckedAt = &t
	changedStatus := q.Status != provider.StatusAwaitingOwnerAccess
	q.Status = provider.StatusAwaitingOwnerAccess
	if after := summary(subs); after != before || changedStatus {
		what := "Ownership checked: " + after + "."
		if len(subs) == 0 {
			what = "Ownership checked: no subscription is visible to the partner principal in the tenant."
		}
		q.AddEvent(provider.Event{At: now, Status: q.Status, Kind: provider.EventOwnershipChecked, What: what, By: "system"})
	}
	return nil
}

func summary(subs []provider.Subscription) string {
	parts := make([]string, 0, len(subs))
	for _, s := range subs {
		parts = append(parts, s.ID+" "+string(s.State))
	}
	return strings.Join(parts, ", ")
}

func missingIDs(p *provider.Provider) []string {
	var ids []string
	for _, s := range p.Subscriptions {
		if s.State != provider.SubscriptionOwned {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) == 0 {
		ids = append(ids, "(no subscription visible)")
	}
	return ids
}

// notify tells the representatives once when the wait begins and once when
// the deadline is near. The flag is set first (a conditional write), so two
// concurrent checks never both send.
func (h *Handler) notify(ctx context.Context, p *provider.Provider, now time.Time) error {
	w := p.OwnershipWait
	var kind string
	switch {
	case !w.NotifiedStart:
		kind = "start"
	case !w.NotifiedDeadline && !now.Before(w.Deadline.Add(-h.Warning)):
		kind = "deadline"
	default:
		return nil
	}
	claimed := false
	p, err := h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		claimed = false
		if kind == "start" && !q.OwnershipWait.NotifiedStart {
			q.OwnershipWait.NotifiedStart, claimed = true, true
			q.AddEvent(provider.Event{At: now, Status: q.Status, What: "The partner's representatives were asked to help the customer grant Owner access.", By: "system"})
		}
		if kind == "deadline" && !q.OwnershipWait.NotifiedDeadline {
			q.OwnershipWait.NotifiedDeadline, claimed = true, true
			q.AddEvent(provider.Event{At: now, Status: q.Status, What: "The partner's representatives were reminded that the deadline is near.", By: "system"})
		}
		return nil
	})
	if err != nil {
		return workflow.Named(err)
	}
	if !claimed {
		return nil
	}
	subject := "Migration waiting for Owner access: " + p.Name
	heading := "A customer's Azure migration is waiting for Owner access"
	if kind == "deadline" {
		subject = "Deadline near: " + subject
		heading = "A customer's Azure migration fails soon unless Owner access is granted"
	}
	msg, err := mail.RenderNotice(h.Representatives, mail.Notice{
		Brand: h.Brand, Subject: subject, Heading: heading,
		Paragraphs: []string{
			fmt.Sprintf("Provider %s (%s) of account %s consented, but the partner principal %s does not yet hold Owner on every subscription to be moved. Please contact the customer's Azure administrator and guide them through granting it.", p.Name, p.ID, p.AccountID, p.PrincipalID),
			"The migration fails on " + p.OwnershipWait.Deadline.UTC().Format("2 January 2006 15:04 MST") + " if this is not done.",
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
		lines = append(lines, s.ID+": "+string(s.State))
	}
	return lines
}
