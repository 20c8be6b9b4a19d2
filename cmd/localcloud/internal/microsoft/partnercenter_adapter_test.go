package microsoft

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/partnercloud/azure/shared/partnercenter"
)

// The product's Partner Center client (shared/partnercenter, option new)
// against this double: an app-only azidentity token in the partner tenant,
// over TLS.
func newPartnerCenter(t *testing.T, e *env) *partnercenter.Client {
	t.Helper()
	return &partnercenter.Client{
		Credential: e.credential(t, partnerTenant, partnerApp, partnerSecret),
		Endpoint:   e.url,
		HTTP:       e.client,
		MaxRetries: 2,
		Sleep:      func(ctx context.Context, d time.Duration) error { return nil },
	}
}

func TestPartnerCenterAdapter(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	pc := newPartnerCenter(t, e)
	ctx := context.Background()
	addr := partnercenter.Address{Country: "US", City: "Redmond", State: "WA", AddressLine1: "1 Main St", PostalCode: "98052", FirstName: "Ada", LastName: "Lovelace", PhoneNumber: "+1 425 555 0100"}

	if ok, err := pc.CheckDomainAvailable(ctx, "contoso"); err != nil || ok {
		t.Fatalf("contoso available = %v, %v; want taken", ok, err)
	}
	if ok, err := pc.CheckDomainAvailable(ctx, "fabrikamnew"); err != nil || !ok {
		t.Fatalf("fabrikamnew available = %v, %v; want available", ok, err)
	}
	if err := pc.ValidateAddress(ctx, addr); err != nil {
		t.Fatalf("ValidateAddress: %v", err)
	}
	bad := addr
	bad.City = ""
	if err := pc.ValidateAddress(ctx, bad); !errors.Is(err, partnercenter.ErrInvalidAddress) {
		t.Fatalf("ValidateAddress without a city = %v, want ErrInvalidAddress", err)
	}
	if _, err := pc.CreateCustomer(ctx, partnercenter.NewCustomer{CompanyName: "Contoso", Domain: "contoso.onmicrosoft.com", Email: "a@contoso.com", Address: addr}); !errors.Is(err, partnercenter.ErrDomainTaken) {
		t.Fatalf("CreateCustomer on a taken domain = %v, want ErrDomainTaken", err)
	}

	// One 429 on customer creation is retried.
	if err := e.srv.SetFault(Fault{Call: CallPartnerCenter, Status: 429, RetryAfter: 1, Count: 1}); err != nil {
		t.Fatal(err)
	}
	c, err := pc.CreateCustomer(ctx, partnercenter.NewCustomer{CompanyName: "Fabrikam New", Domain: "fabrikamnew.onmicrosoft.com", Email: "ada@fabrikam.com", Address: addr})
	if err != nil {
		t.Fatalf("CreateCustomer after one 429: %v", err)
	}
	if c.ID == "" || c.TenantID == "" || c.UserName == "" || c.Password == "" {
		t.Fatalf("customer = %+v", c)
	}
	if calls := e.srv.Calls()[CallPartnerCenterCustomers]; calls != 3 {
		t.Errorf("customer calls = %d, want 3 (taken, 429, created)", calls)
	}
	if ok, _ := pc.CheckDomainAvailable(ctx, "fabrikamnew"); ok {
		t.Error("the new customer's domain is still available")
	}
	if err := pc.AcceptAgreement(ctx, c.ID, "117a69e3-2a16-4c1d-9d5e-6bd0e7b8c1a0", "Ada", "Lovelace", "ada@fabrikam.com", "+1 425 555 0100", time.Now()); err != nil {
		t.Fatalf("AcceptAgreement: %v", err)
	}
	order, err := pc.OrderAzurePlan(ctx, c.ID, "")
	if err != nil || order == "" {
		t.Fatalf("OrderAzurePlan = %q, %v", order, err)
	}
	for i := 0; i < SubscriptionPolls; i++ {
		subs, err := pc.Subscriptions(ctx, c.ID)
		if err != nil || len(subs) != 0 {
			t.Fatalf("poll %d: subscriptions = %v, %v; want none yet", i, subs, err)
		}
	}
	subs, err := pc.Subscriptions(ctx, c.ID)
	if err != nil || len(subs) != 1 || subs[0].OrderID != order || subs[0].Status != "active" {
		t.Fatalf("subscriptions = %+v, %v; want the Azure plan", subs, err)
	}
	// The plan's Azure subscription is a new Resource Manager subscription
	// in the new tenant, billed by the partner, with its own id.
	custs := e.srv.PartnerCenterCustomers()
	st := e.srv.State()
	found := false
	for _, tn := range st.Tenants {
		if tn.ID == c.TenantID && len(custs) == 1 && len(custs[0].AzureSubscriptions) == 1 {
			found = len(tn.Subscriptions) == 1 && tn.Subscriptions[0].ID == custs[0].AzureSubscriptions[0] &&
				tn.Subscriptions[0].ID != subs[0].ID && tn.Subscriptions[0].QuotaID == CSPQuotaID && tn.PartnerConsented
		}
	}
	if !found {
		t.Error("the new tenant with its subscription is not in the double's state")
	}
	if len(custs) != 1 || custs[0].Agreements != 1 || custs[0].AdminPassword != c.Password {
		t.Errorf("customers = %+v", custs)
	}

	t.Run("standing 503 gives up", func(t *testing.T) {
		if err := e.srv.SetFault(Fault{Call: CallPartnerCenter, Status: 503}); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = e.srv.SetFault(Fault{Call: "*", Off: true}) }()
		if _, err := pc.Subscriptions(ctx, c.ID); !errors.Is(err, partnercenter.ErrUnavailable) {
			t.Fatalf("Subscriptions = %v, want ErrUnavailable", err)
		}
	})
	t.Run("an ARM token is refused", func(t *testing.T) {
		cred := e.credential(t, partnerTenant, partnerApp, partnerSecret)
		armOnly := &armScopeCredential{cred}
		bad := &partnercenter.Client{Credential: armOnly, Endpoint: e.url, HTTP: e.client, MaxRetries: 1}
		_, err := bad.Subscriptions(ctx, c.ID)
		if !errors.Is(err, partnercenter.ErrRejected) || !strings.Contains(err.Error(), "401") {
			t.Fatalf("Subscriptions with an ARM token = %v, want a 401", err)
		}
	})
}

// armScopeCredential asks for a Resource Manager token whatever the scope.
type armScopeCredential struct{ inner azcore.TokenCredential }

func (c *armScopeCredential) GetToken(ctx context.Context, _ policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return c.inner.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{managementAudience + "/.default"}})
}
