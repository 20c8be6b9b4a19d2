package provider

import (
	"fmt"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/agreement"
	"github.com/partnercloud/azure/shared/apperr"
)

// CheckNewCustomerStep refuses (invalid_state) a step of the new-customer
// workflow on a provider that is not an unfinished option new.
func (p *Provider) CheckNewCustomerStep() error {
	switch {
	case p.Option != OptionNew || p.Company == nil:
		return apperr.New(apperr.InvalidState, "the provider is not a new-customer provider")
	case !p.Open():
		return apperr.New(apperr.InvalidState, "the provider is "+string(p.Status))
	}
	return nil
}

// CheckCustomerCreated refuses (invalid_state) a step that needs the
// Partner Center customer before it was created.
func (p *Provider) CheckCustomerCreated() error {
	if p.CustomerID == "" {
		return apperr.New(apperr.InvalidState, "the customer is not created yet")
	}
	return nil
}

// RecordCustomer records, once, the customer Partner Center created: its id,
// its tenant (with domain) and the initial administrator (whose password is
// only in the secret admin.SecretARN names; passwordLost when it could not
// be kept, and must be reset at Microsoft). It reports whether it changed
// anything.
func (p *Provider) RecordCustomer(customerID, tenantID, domain string, admin *InitialAdmin, passwordLost bool, now time.Time) bool {
	if p.CustomerID != "" {
		return false
	}
	p.CustomerID, p.TenantID = customerID, tenantID
	p.InitialAdmin = admin
	what := fmt.Sprintf("Customer created in Partner Center: tenant %s (%s).", tenantID, domain)
	if passwordLost {
		what += " The initial administrator's password could not be kept; reset it at Microsoft."
	}
	p.AddEvent(Event{At: now, Status: p.Status, What: what, By: "system"})
	return true
}

// RecordOrder records, once, the Azure plan's order.
func (p *Provider) RecordOrder(orderID string, now time.Time) bool {
	if p.OrderID != "" {
		return false
	}
	p.OrderID = orderID
	p.AddEvent(Event{At: now, Status: p.Status, What: "Azure plan ordered; waiting for its subscription.", By: "system"})
	return true
}

// PlanSubscription is an Azure subscription Partner Center lists active
// under the new customer's Azure plan with the partner: its Resource
// Manager id and name, and the plan's Partner Center subscription id.
type PlanSubscription struct {
	ID, DisplayName, PlanID string
}

// RecordPlanSubscriptions records the Azure subscriptions Partner Center
// lists active under the customer's Azure plan, as Partner Center showed
// them at now: billed by the partner (route already_partner, consolidated
// as of that read). The Azure plan's own Partner Center id is not an Azure
// subscription and is recorded only in the reason.
func (p *Provider) RecordPlanSubscriptions(subs []PlanSubscription, now time.Time) {
	p.Subscriptions = p.Subscriptions[:0]
	for _, s := range subs {
		t := now
		p.Subscriptions = append(p.Subscriptions, Subscription{
			ID: strings.ToLower(s.ID), DisplayName: s.DisplayName, State: SubscriptionConsolidated,
			ConfirmedAt: &t, ClassifiedAt: &t, ConsolidatedAt: &t,
			Agreement: string(agreement.CSP), Route: string(agreement.AlreadyPartner),
			RouteReason: "Created under the partner's Azure plan " + s.PlanID + "; Partner Center lists it active.",
		})
	}
}
