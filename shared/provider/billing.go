package provider

import (
	"fmt"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/agreement"
	"github.com/partnercloud/azure/shared/apperr"
)

// How each subscription's billing comes under the partner: its route (by
// its agreement, package agreement), and where it is on that route. A
// subscription is consolidated only when Microsoft confirms it: the partner
// transfer Completed, every approved resource group's move finished, or
// Partner Center listing it under the partner.

// The states a subscription moves through on its route, beside the Owner
// states (pending, owned, missing_owner, not_found).
const (
	SubscriptionValidating       SubscriptionState = "validating"
	SubscriptionAwaitingApproval SubscriptionState = "awaiting_approval"
	SubscriptionMoving           SubscriptionState = "moving"
	SubscriptionTransferPending  SubscriptionState = "transfer_pending"
	SubscriptionConsolidated     SubscriptionState = "consolidated"
	SubscriptionNotMovable       SubscriptionState = "not_movable"
	SubscriptionFailed           SubscriptionState = "failed"
)

// Final reports whether a subscription's route has ended: consolidated,
// not movable or failed.
func (s SubscriptionState) Final() bool {
	return s == SubscriptionConsolidated || s == SubscriptionNotMovable || s == SubscriptionFailed
}

// Billing arrangements of an active migration where some subscriptions could
// not come under the partner.
const BillingPartiallyConsolidated = "partially_consolidated"

// Transfer is a partner transfer request as Azure billing last reported it.
type Transfer struct {
	Name       string     `json:"name" dynamodbav:"name"`
	Status     string     `json:"status" dynamodbav:"status"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty" dynamodbav:"expiresAt,omitempty"`
	ObservedAt time.Time  `json:"observedAt" dynamodbav:"observedAt"`
	// NotMoved are the products that did not move (CompletedWithErrors),
	// each with Microsoft's code and message.
	NotMoved []string `json:"notMoved,omitempty" dynamodbav:"notMoved,omitempty"`
	// Link is where the recipient accepts it (the Azure portal).
	Link string `json:"link,omitempty" dynamodbav:"link,omitempty"`
}

// Transfer statuses as Azure billing reports them.
const (
	TransferPending             = "Pending"
	TransferInProgress          = "InProgress"
	TransferCompleted           = "Completed"
	TransferCompletedWithErrors = "CompletedWithErrors"
	TransferDeclined            = "Declined"
	TransferExpired             = "Expired"
	TransferFailed              = "Failed"
	TransferCanceled            = "Canceled"
)

// subscription returns the subscription of that id, or nil.
func (p *Provider) subscription(id string) *Subscription {
	for i := range p.Subscriptions {
		if strings.EqualFold(p.Subscriptions[i].ID, id) {
			return &p.Subscriptions[i]
		}
	}
	return nil
}

// RecordRoute records how a subscription's billing comes under the partner,
// once (a route recorded stays: a retry does not reclassify). A subscription
// already billed by the partner is consolidated at once; one that cannot
// move is not_movable, which never blocks the others. It reports whether
// anything changed; an unknown subscription is invalid_request.
func (p *Provider) RecordRoute(subID, quotaID string, d agreement.Decision, now time.Time) (bool, error) {
	s := p.subscription(subID)
	if s == nil {
		return false, apperr.New(apperr.InvalidRequest, "no subscription "+subID+" on the provider")
	}
	if s.Route != "" {
		return false, nil
	}
	t := now
	s.Agreement, s.QuotaID, s.Route, s.RouteReason, s.CustomerAction, s.ClassifiedAt = string(d.Agreement), quotaID, string(d.Route), d.Reason, d.CustomerAction, &t
	switch d.Route {
	case agreement.AlreadyPartner:
		s.State, s.ConsolidatedAt = SubscriptionConsolidated, &t
	case agreement.NotMovable:
		s.State = SubscriptionNotMovable
	}
	p.AddEvent(Event{At: now, Status: p.Status, By: "system",
		What: fmt.Sprintf("Subscription %s: %s (%s). %s", s.Label(), routeWords(d.Route), d.Agreement, d.Reason)})
	return true, nil
}

func routeWords(r agreement.Route) string {
	switch r {
	case agreement.BillingTransfer:
		return "billing transfer to the partner"
	case agreement.MoveResources:
		return "resources move to a subscription under the partner"
	case agreement.AlreadyPartner:
		return "already billed by the partner"
	}
	return "cannot come under the partner"
}

// RecordTransfer records a partner transfer request as Azure billing
// reported it: pending while Pending or InProgress, consolidated on
// Completed (and CompletedWithErrors, listing what did not move), failed
// with the reason on Declined, Expired, Failed or Canceled. It reports
// whether the subscription's state changed.
func (p *Provider) RecordTransfer(subID string, t Transfer, now time.Time) (bool, error) {
	s := p.subscription(subID)
	if s == nil || s.Route != string(agreement.BillingTransfer) {
		return false, apperr.New(apperr.InvalidState, "subscription "+subID+" is not on the billing transfer route")
	}
	if s.State.Final() {
		return false, nil
	}
	before := s.State
	s.observeTransfer(t, now)
	if s.State == before {
		return false, nil
	}
	what := fmt.Sprintf("Subscription %s: the billing transfer request is %s.", s.Label(), t.Status)
	if s.State == SubscriptionConsolidated {
		what = fmt.Sprintf("Subscription %s: Azure billing reports the transfer %s; billed by the partner from now.", s.Label(), t.Status)
		if len(t.NotMoved) > 0 {
			what += " Not moved: " + strings.Join(t.NotMoved, "; ") + "."
		}
	}
	p.AddEvent(Event{At: now, Status: p.Status, By: "system", What: what})
	return true, nil
}

// observeTransfer records the transfer request as Azure billing reported
// it at now, and the subscription's state that its status means:
// consolidated on Completed or CompletedWithErrors, failed with the reason
// on Declined, Expired, Failed or Canceled, else waiting for it.
func (s *Subscription) observeTransfer(t Transfer, now time.Time) {
	t.ObservedAt = now
	s.Transfer = &t
	switch t.Status {
	case TransferCompleted, TransferCompletedWithErrors:
		at := now
		s.State, s.ConsolidatedAt = SubscriptionConsolidated, &at
	case TransferDeclined, TransferExpired, TransferFailed, TransferCanceled:
		s.State, s.FailureReason = SubscriptionFailed, transferFailure(t.Status)
	default:
		s.State = SubscriptionTransferPending
	}
}

func transferFailure(status string) string {
	switch status {
	case TransferDeclined:
		return "The customer's billing administrator declined the billing transfer request."
	case TransferExpired:
		return "The billing transfer request expired before the customer's billing administrator accepted it."
	case TransferCanceled:
		return "The billing transfer request was cancelled."
	}
	return "Azure billing reports the transfer failed."
}
