package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/fakes"
	"github.com/partnercloud/azure/shared/partnercenter"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
	"github.com/partnercloud/azure/shared/workflow"
)

var t0 = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

type fakePC struct {
	addressErr, createErr, orderErr error
	creates, orders, agreements     int
	polls, pollsBeforeSub           int
	// keys are the request keys of the creations and orders asked for.
	keys []string
}

func (f *fakePC) ValidateAddress(context.Context, partnercenter.Address) error { return f.addressErr }
func (f *fakePC) CreateCustomer(_ context.Context, n partnercenter.NewCustomer) (partnercenter.Customer, error) {
	f.keys = append(f.keys, n.RequestKey)
	if f.createErr != nil {
		return partnercenter.Customer{}, f.createErr
	}
	f.creates++
	return partnercenter.Customer{ID: "cust-1", TenantID: "tenant-new", UserName: "admin@" + n.Domain, Password: "initial-P@ss-123"}, nil
}
func (f *fakePC) AcceptAgreement(_ context.Context, id, tpl, fn, ln, email, phone string, _ time.Time) error {
	if id != "cust-1" || tpl == "" || email == "" {
		return fmt.Errorf("bad agreement %s %s %s", id, tpl, email)
	}
	f.agreements++
	return nil
}
func (f *fakePC) OrderAzurePlan(_ context.Context, _, key string) (string, error) {
	f.keys = append(f.keys, key)
	if f.orderErr != nil {
		return "", f.orderErr
	}
	f.orders++
	return "order-1", nil
}
func (f *fakePC) PartnerSubscriptions(_ context.Context, customerID string) ([]partnercenter.AzureEntitlement, error) {
	f.polls++
	if f.polls <= f.pollsBeforeSub || customerID != "cust-1" {
		return nil, nil
	}
	return []partnercenter.AzureEntitlement{{ID: "a0000000-0000-4000-8000-00000000000a", FriendlyName: "Azure plan", Status: "active", PlanID: "plan-1"}}, nil
}

func (f *fakePC) Customer(_ context.Context, tenantID string) (partnercenter.CustomerRelationship, error) {
	return partnercenter.CustomerRelationship{Found: true, TenantID: tenantID, CustomerID: "cust-1", RelationshipToPartner: "Reseller"}, nil
}

func setup(t *testing.T, option provider.Option) (*Handler, *store.Store, *fakePC, *provider.Provider) {
	t.Helper()
	s, _ := storetest.NewTestStore(t)
	s.Now = func() time.Time { return t0 }
	p := &provider.Provider{AccountID: "acct-1", Name: "Fabrikam", Type: provider.TypeAzure, Option: option, Status: provider.StatusProvisioning,
		CreatedBy: "user:u",
		Company: &provider.Company{Name: "Fabrikam", DomainPrefix: "fabrikam", Address: provider.Address{Line1: "1 Main", City: "Redmond", State: "WA", PostalCode: "98052", Country: "US"},
			Contact: provider.Contact{FirstName: "Ada", LastName: "L", Email: "ada@fabrikam.com", Phone: "1"}}}
	if err := s.CreateProvider(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	pc := &fakePC{pollsBeforeSub: 1}
	return &Handler{Store: s, PartnerCenter: pc, Secrets: &fakes.Secrets{}, AgreementTemplateID: "tpl", Now: func() time.Time { return t0 }}, s, pc, p
}

func in(p *provider.Provider, step string) workflow.NewCustomerInput {
	return workflow.NewCustomerInput{Input: workflow.Input{AccountID: p.AccountID, ProviderID: p.ID}, Step: step, ExecutionARN: "arn"}
}

func TestStepsInOrder(t *testing.T) {
	h, s, pc, p := setup(t, provider.OptionNew)
	ctx := context.Background()
	for _, step := range []string{workflow.StepValidateAddress, workflow.StepCreateCustomer, workflow.StepCreateCustomer, workflow.StepAgreement, workflow.StepOrder, workflow.StepOrder} {
		if _, err := h.Handle(ctx, in(p, step)); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	if pc.creates != 1 || pc.orders != 1 || pc.agreements != 1 {
		t.Fatalf("creates %d, orders %d, agreements %d; want 1 each (repeated steps create nothing)", pc.creates, pc.orders, pc.agreements)
	}
	_, err := h.Handle(ctx, in(p, workflow.StepWaitSubscription))
	var pending *workflow.SubscriptionPending
	if !errors.As(err, &pending) || workflow.ErrorName(err) != "SubscriptionPending" {
		t.Fatalf("first poll = %v, want SubscriptionPending", err)
	}
	out, err := h.Handle(ctx, in(p, workflow.StepWaitSubscription))
	if err != nil || len(out.Subscriptions) != 1 || out.Subscriptions[0] != "a0000000-0000-4000-8000-00000000000a" || out.TenantID != "tenant-new" {
		t.Fatalf("second poll = %+v, %v", out, err)
	}
	q, err := s.GetProvider(ctx, p.AccountID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	secrets := h.Secrets.(*fakes.Secrets)
	if v, _ := secrets.Named(InitialAdminSecretName(p.AccountID, p.ID)); !strings.Contains(v, "initial-P@ss-123") || len(secrets.All()) != 1 {
		t.Fatalf("secrets = %v", secrets.All())
	}
	if q.InitialAdmin == nil || q.InitialAdmin.SecretARN == "" || q.InitialAdmin.UserName != "admin@fabrikam.onmicrosoft.com" {
		t.Fatalf("initial admin = %+v", q.InitialAdmin)
	}
	// What Partner Center showed of the relationship is recorded, and is
	// what active lists.
	if r := q.Relationships; r == nil || r.Reseller != "reseller" || r.ResellerObservedAt == nil || !r.ResellerObservedAt.Equal(t0) {
		t.Fatalf("reseller relationship as observed: %+v", q.Relationships)
	}
	q.Activate("", t0)
	if len(q.Permissions) != 2 || q.Permissions[0].Kind != provider.PermissionReseller || q.Permissions[1].Kind != provider.PermissionAzurePlan {
		t.Fatalf("permissions %+v", q.Permissions)
	}
	if raw, _ := json.Marshal(q); strings.Contains(string(raw), "initial-P@ss-123") {
		t.Fatal("the provider holds the password")
	}
	if q.CustomerID != "cust-1" || q.TenantID != "tenant-new" || q.OrderID != "order-1" || len(q.Subscriptions) != 1 {
		t.Fatalf("provider = %+v", q)
	}
	// The Azure subscription Partner Center lists under the plan, by its
	// Resource Manager id (not the plan's Partner Center id), billed by the
	// partner as of that read.
	if sub := q.Subscriptions[0]; sub.ID != "a0000000-0000-4000-8000-00000000000a" || sub.DisplayName != "Azure plan" ||
		sub.State != provider.SubscriptionConsolidated || sub.Route != "already_partner" || sub.Agreement != "csp" ||
		sub.ConsolidatedAt == nil || !sub.ConsolidatedAt.Equal(t0) || !strings.Contains(sub.RouteReason, "plan-1") {
		t.Fatalf("subscription = %+v", sub)
	}
	if p := q.Permissions[1]; p.ID != "a0000000-0000-4000-8000-00000000000a" || p.Scope != "/subscriptions/a0000000-0000-4000-8000-00000000000a" {
		t.Fatalf("Azure plan permission %+v", p)
	}
}

// TestSecretFailure: the customer is recorded even when its password cannot
// be kept (it cannot be created again).
func TestSecretFailure(t *testing.T) {
	h, s, _, p := setup(t, provider.OptionNew)
	h.Secrets.(*fakes.Secrets).CreateErr = errors.New("throttled")
	if _, err := h.Handle(context.Background(), in(p, workflow.StepCreateCustomer)); err != nil {
		t.Fatal(err)
	}
	q, _ := s.GetProvider(context.Background(), p.AccountID, p.ID)
	if q.CustomerID != "cust-1" || q.InitialAdmin == nil || q.InitialAdmin.SecretARN != "" {
		t.Fatalf("provider = %+v", q)
	}
}

// TestCreateCustomerAgainAfterTheSecret: a run that stored the password and
// stopped before recording the customer runs again; Partner Center answers
// the same request with the same customer, and the secret the first run
// stored is recorded, not reported lost.
func TestCreateCustomerAgainAfterTheSecret(t *testing.T) {
	h, s, _, p := setup(t, provider.OptionNew)
	secrets := h.Secrets.(*fakes.Secrets)
	first, err := secrets.Create(context.Background(), InitialAdminSecretName(p.AccountID, p.ID), `{"password":"initial-P@ss-123"}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(context.Background(), in(p, workflow.StepCreateCustomer)); err != nil {
		t.Fatal(err)
	}
	q, _ := s.GetProvider(context.Background(), p.AccountID, p.ID)
	if q.InitialAdmin == nil || q.InitialAdmin.SecretARN != first || len(secrets.All()) != 1 {
		t.Fatalf("initial admin %+v, secrets %v; want the first run's secret %s", q.InitialAdmin, secrets.All(), first)
	}
	if last := q.Timeline[len(q.Timeline)-1].What; strings.Contains(last, "could not be kept") {
		t.Fatalf("the password is said lost: %s", last)
	}
}

func TestErrorsAreNamed(t *testing.T) {
	tests := []struct {
		name string
		pc   fakePC
		step string
		want string
	}{
		{"address refused", fakePC{addressErr: fmt.Errorf("%w: x", partnercenter.ErrInvalidAddress)}, workflow.StepValidateAddress, "AddressInvalid"},
		{"throttled", fakePC{addressErr: fmt.Errorf("%w: 429", partnercenter.ErrUnavailable)}, workflow.StepValidateAddress, "TransientError"},
		{"domain taken", fakePC{createErr: fmt.Errorf("%w: x", partnercenter.ErrDomainTaken)}, workflow.StepCreateCustomer, "DomainTaken"},
		{"rejected", fakePC{createErr: &partnercenter.Error{Status: 400}}, workflow.StepCreateCustomer, "PartnerCenterRejected"},
		{"order before customer", fakePC{}, workflow.StepOrder, "InvalidInput"},
		{"unknown step", fakePC{}, "dance", "InvalidInput"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _, _, p := setup(t, provider.OptionNew)
			pc := tt.pc
			h.PartnerCenter = &pc
			_, err := h.Handle(context.Background(), in(p, tt.step))
			if err == nil || workflow.ErrorName(err) != tt.want {
				t.Fatalf("error = %v (%s), want %s", err, workflow.ErrorName(err), tt.want)
			}
		})
	}
	t.Run("not a new provider", func(t *testing.T) {
		h, _, _, p := setup(t, provider.OptionMigrate)
		if _, err := h.Handle(context.Background(), in(p, workflow.StepValidateAddress)); workflow.ErrorName(err) != "InvalidInput" {
			t.Fatalf("error = %v", err)
		}
	})
}

// TestRequestKeysAreStableAcrossRuns: a step that fails with Partner Center
// unavailable (its reply lost) and runs again asks with the same request
// key, so Partner Center can answer the repeat with what it already did;
// another step or another provider has another key.
func TestRequestKeysAreStableAcrossRuns(t *testing.T) {
	h, _, pc, p := setup(t, provider.OptionNew)
	ctx := context.Background()
	pc.createErr = fmt.Errorf("%w: connection reset", partnercenter.ErrUnavailable)
	if _, err := h.Handle(ctx, in(p, workflow.StepCreateCustomer)); workflow.ErrorName(err) != "TransientError" {
		t.Fatalf("lost reply: %v, want TransientError (retried by the state machine)", err)
	}
	pc.createErr = nil
	if _, err := h.Handle(ctx, in(p, workflow.StepCreateCustomer)); err != nil {
		t.Fatal(err)
	}
	pc.orderErr = fmt.Errorf("%w: timeout", partnercenter.ErrUnavailable)
	if _, err := h.Handle(ctx, in(p, workflow.StepOrder)); workflow.ErrorName(err) != "TransientError" {
		t.Fatalf("lost checkout reply: %v", err)
	}
	pc.orderErr = nil
	if _, err := h.Handle(ctx, in(p, workflow.StepOrder)); err != nil {
		t.Fatal(err)
	}
	k := pc.keys
	if len(k) != 4 || k[0] == "" || k[0] != k[1] || k[2] == "" || k[2] != k[3] || k[0] == k[2] {
		t.Fatalf("request keys %q: want one per step, the same in both runs", k)
	}

	h2, _, pc2, p2 := setup(t, provider.OptionNew)
	if _, err := h2.Handle(ctx, in(p2, workflow.StepCreateCustomer)); err != nil {
		t.Fatal(err)
	}
	if pc2.keys[0] == k[0] || partnercenter.RequestID(pc2.keys[0], "customers") == partnercenter.RequestID(k[0], "customers") {
		t.Fatalf("two providers share a request key: %q", pc2.keys[0])
	}
}
