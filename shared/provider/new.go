package provider

import (
	"fmt"
	"time"

	"github.com/partnercloud/azure/shared/logging"
)

// Requester is who asks for a provider: a user of an account, with the name
// and address the emails about it use (both optional).
type Requester struct {
	AccountID string
	UserID    string
	Name      string
	Email     string
}

// By is how the timeline names the requester.
func (r Requester) By() string { return "user:" + r.UserID }

// New is the provider a valid create request makes, by its option: a
// migration waits for the customer's consent, a new customer account is
// provisioned in Partner Center, and an existing account (whose credentials
// the caller proved) is active at once. A migration and a new customer
// carry the start of their workflow in the outbox (NoticeStartWorkflow).
// The store gives it its id unless one is set.
func New(req CreateRequest, r Requester, now time.Time) *Provider {
	p := &Provider{
		AccountID: r.AccountID, Name: req.Name, Type: TypeAzure, Option: req.Option,
		CreatedBy: r.By(), RequesterName: r.Name, RequesterEmail: r.Email, CreatedAt: now, UpdatedAt: now,
	}
	switch req.Option {
	case OptionNew:
		p.newCustomerAccount(req, now)
		p.Enqueue(NoticeStartWorkflow, now)
	case OptionExisting:
		p.newExisting(req, now)
	default:
		p.newMigration(req, now)
		p.Enqueue(NoticeStartWorkflow, now)
	}
	return p
}

// newMigration: option migrate, waiting for the consent email to go out.
func (p *Provider) newMigration(req CreateRequest, now time.Time) {
	p.Status = StatusPendingConsent
	p.AzureAdminEmail = req.AzureAdminEmail
	p.BillingAdminEmail = req.BillingAdminEmail
	p.Subscriptions = make([]Subscription, len(req.SubscriptionIDs))
	for i, id := range req.SubscriptionIDs {
		p.Subscriptions[i] = Subscription{ID: id, State: SubscriptionPending}
	}
	p.Timeline = []Event{{At: now, Status: p.Status, By: p.CreatedBy,
		What: fmt.Sprintf("Provider created; consent email to be sent to %s.", logging.MaskEmail(req.AzureAdminEmail))}}
}

// newCustomerAccount: option new, the customer to be created in Partner Center.
func (p *Provider) newCustomerAccount(req CreateRequest, now time.Time) {
	company := *req.Company
	p.Status = StatusProvisioning
	p.Company = &company
	p.Timeline = []Event{{At: now, Status: p.Status, By: p.CreatedBy,
		What: fmt.Sprintf("Provider created; the new customer account %s.onmicrosoft.com is being created in Partner Center.", company.DomainPrefix)}}
}

// newExisting: option existing, active at once with the customer's own
// application, the customer paying Microsoft directly. The client secret is
// not kept here: the caller stores it and sets CredentialSecretARN.
func (p *Provider) newExisting(req CreateRequest, now time.Time) {
	verified := now
	p.Status = StatusActive
	p.TenantID, p.ClientID = req.TenantID, req.ClientID
	p.Subscriptions = []Subscription{{ID: req.SubscriptionID, State: SubscriptionVerified, ConfirmedAt: &verified}}
	p.Billing = BillingCustomerDirect
	p.Timeline = []Event{{At: now, Status: p.Status, By: p.CreatedBy,
		What: fmt.Sprintf("Provider created with the customer's application %s in tenant %s; its credentials were verified by reading subscription %s. "+
			"The client secret is kept in Secrets Manager. The customer keeps paying Microsoft directly.", req.ClientID, req.TenantID, req.SubscriptionID)}}
}
