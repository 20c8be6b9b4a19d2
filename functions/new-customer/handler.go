package main

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/partnercenter"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/secret"
	"github.com/partnercloud/azure/shared/workflow"
)

// Store is what the new-customer steps read and write.
type Store interface {
	GetProvider(ctx context.Context, accountID, providerID string) (*provider.Provider, error)
	UpdateProvider(ctx context.Context, accountID, providerID string, mutate func(*provider.Provider) error) (*provider.Provider, error)
}

// PartnerCenter is the part of partnercenter.Client the steps use.
type PartnerCenter interface {
	ValidateAddress(ctx context.Context, a partnercenter.Address) error
	CreateCustomer(ctx context.Context, n partnercenter.NewCustomer) (partnercenter.Customer, error)
	AcceptAgreement(ctx context.Context, customerID, templateID, firstName, lastName, email, phone string, at time.Time) error
	OrderAzurePlan(ctx context.Context, customerID, requestKey string) (string, error)
	// PartnerSubscriptions lists the Azure subscriptions active under the
	// customer's Azure plans with the partner (their azureEntitlements).
	PartnerSubscriptions(ctx context.Context, customerID string) ([]partnercenter.AzureEntitlement, error)
	// Customer reads the tenant among the partner's customers: the
	// reseller relationship as Partner Center shows it.
	Customer(ctx context.Context, tenantID string) (partnercenter.CustomerRelationship, error)
}

// SecretStore keeps the initial admin password (secret.Store): created
// once, so a step run again after it stored the secret finds it.
type SecretStore interface {
	CreateOnce(ctx context.Context, name, value string, tags map[string]string) (string, error)
}

// InitialAdminSecretName is the secret holding a new tenant's initial admin
// credentials: partner-cloud/providers/<account>/<provider>/initial-admin.
func InitialAdminSecretName(accountID, providerID string) string {
	return secret.ProviderSecretName(accountID, providerID) + "/initial-admin"
}

// Handler runs one step of the new-customer state machine
// (statemachine/new-customer.asl.json). Every step is idempotent: what it
// created is recorded on the provider and not created again.
type Handler struct {
	Store         Store
	PartnerCenter PartnerCenter
	Secrets       SecretStore
	// AgreementTemplateID is the Microsoft Customer Agreement template id.
	AgreementTemplateID string
	Now                 func() time.Time
}

// Handle runs in.Step, in the task wrapper (input validated, provider
// read, errors named, logs with the provider, execution and step).
func (h *Handler) Handle(ctx context.Context, in workflow.NewCustomerInput) (workflow.NewCustomerOutput, error) {
	return workflow.Run(ctx, in, h.Store, func(ctx context.Context, p *provider.Provider) (workflow.NewCustomerOutput, error) {
		return h.step(ctx, in.Step, p)
	})
}

// step runs one step on an unfinished new-customer provider.
func (h *Handler) step(ctx context.Context, step string, p *provider.Provider) (workflow.NewCustomerOutput, error) {
	if err := p.CheckNewCustomerStep(); err != nil {
		return workflow.NewCustomerOutput{}, err
	}
	out := workflow.NewCustomerOutput{Step: step, TenantID: p.TenantID}
	var err error
	switch step {
	case workflow.StepValidateAddress:
		err = h.PartnerCenter.ValidateAddress(ctx, address(p.Company))
	case workflow.StepCreateCustomer:
		out.TenantID, err = h.createCustomer(ctx, p)
	case workflow.StepAgreement:
		err = h.agreement(ctx, p)
	case workflow.StepOrder:
		err = h.order(ctx, p)
	case workflow.StepWaitSubscription:
		out.Subscriptions, err = h.waitSubscription(ctx, p)
	}
	if err != nil {
		return workflow.NewCustomerOutput{}, err
	}
	logging.From(ctx).Info("step done")
	return out, nil
}

// requestKey names a step's Partner Center request for this provider, the
// same in every run of the step: a task Step Functions runs again (its
// Lambda timed out, crashed, or lost Partner Center's reply) sends the same
// MS-RequestId, and Partner Center answers it with what it already did.
func requestKey(p *provider.Provider, step string) string {
	return "provider/" + p.AccountID + "/" + p.ID + "/" + step
}

func address(c *provider.Company) partnercenter.Address {
	return partnercenter.Address{
		Country: c.Address.Country, Region: c.Address.State, City: c.Address.City, State: c.Address.State,
		AddressLine1: c.Address.Line1, PostalCode: c.Address.PostalCode,
		FirstName: c.Contact.FirstName, LastName: c.Contact.LastName, PhoneNumber: c.Contact.Phone,
	}
}

// createCustomer creates the customer once and records its id and tenant.
// The initial admin password Partner Center returns is not kept.
func (h *Handler) createCustomer(ctx context.Context, p *provider.Provider) (string, error) {
	if p.CustomerID != "" {
		return p.TenantID, nil
	}
	domain := p.Company.DomainPrefix + ".onmicrosoft.com"
	c, err := h.PartnerCenter.CreateCustomer(ctx, partnercenter.NewCustomer{
		CompanyName: p.Company.Name, Domain: domain, Email: p.Company.Contact.Email, Address: address(p.Company),
		RequestKey: requestKey(p, workflow.StepCreateCustomer),
	})
	if err != nil {
		return "", err
	}
	// The initial admin password goes to Secrets Manager only; the
	// requester gets a single-use link to it with the completion email. If
	// it cannot be stored the customer is still recorded (creating it again
	// is impossible), and the requester resets the password at Microsoft.
	admin := &provider.InitialAdmin{UserName: c.UserName}
	lost := false
	if c.Password != "" {
		value, _ := json.Marshal(map[string]string{"userName": c.UserName, "password": c.Password})
		arn, serr := h.Secrets.CreateOnce(ctx, InitialAdminSecretName(p.AccountID, p.ID), string(value), secret.ProviderTags(p.AccountID, p.ID))
		if serr != nil {
			logging.From(ctx).Error("initial admin password not stored", "error", serr.Error())
			lost = true
		} else {
			admin.SecretARN = arn
		}
	}
	c.Password = ""
	now := h.Now().UTC()
	_, err = h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		q.RecordCustomer(c.ID, c.TenantID, domain, admin, lost, now)
		return nil
	})
	if err != nil {
		return "", err
	}
	logging.From(ctx).Info("customer created", "tenant_id", c.TenantID)
	return c.TenantID, nil
}

func (h *Handler) agreement(ctx context.Context, p *provider.Provider) error {
	if err := p.CheckCustomerCreated(); err != nil {
		return err
	}
	ct := p.Company.Contact
	return h.PartnerCenter.AcceptAgreement(ctx, p.CustomerID, h.AgreementTemplateID, ct.FirstName, ct.LastName, ct.Email, ct.Phone, h.Now())
}

// order orders the Azure plan once and records the order id.
func (h *Handler) order(ctx context.Context, p *provider.Provider) error {
	if err := p.CheckCustomerCreated(); err != nil {
		return err
	}
	if p.OrderID != "" {
		return nil
	}
	id, err := h.PartnerCenter.OrderAzurePlan(ctx, p.CustomerID, requestKey(p, workflow.StepOrder))
	if err != nil {
		return err
	}
	now := h.Now().UTC()
	_, err = h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		q.RecordOrder(id, now)
		return nil
	})
	return err
}

// waitSubscription lists the Azure subscriptions Partner Center shows
// active under the customer's Azure plan: none yet is SubscriptionPending
// (the state machine lists again later; the plan's Azure subscription is
// provisioned after the order); otherwise they are recorded on the
// provider by their Resource Manager ids.
func (h *Handler) waitSubscription(ctx context.Context, p *provider.Provider) ([]string, error) {
	if err := p.CheckCustomerCreated(); err != nil {
		return nil, err
	}
	entitlements, err := h.PartnerCenter.PartnerSubscriptions(ctx, p.CustomerID)
	if err != nil {
		return nil, err
	}
	var ids []string
	var subs []provider.PlanSubscription
	for _, e := range entitlements {
		ids = append(ids, e.ID)
		subs = append(subs, provider.PlanSubscription{ID: e.ID, DisplayName: e.FriendlyName, PlanID: e.PlanID})
	}
	if len(ids) == 0 {
		return nil, apperr.New(apperr.SubscriptionPending, "the Azure plan's subscription has not appeared yet")
	}
	// What active records is what Partner Center shows, nothing assumed:
	// the customer's relationship to the partner, read now.
	rel, err := h.PartnerCenter.Customer(ctx, p.TenantID)
	if err != nil {
		return nil, err
	}
	relationshipToPartner := "none"
	if rel.Found {
		relationshipToPartner = strings.ToLower(rel.RelationshipToPartner)
	}
	now := h.Now().UTC()
	_, err = h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		q.RecordPlanSubscriptions(subs, now)
		q.RecordCustomerRelationship(relationshipToPartner, now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}
