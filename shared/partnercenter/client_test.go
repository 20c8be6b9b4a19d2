package partnercenter

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

type fakeCred struct{ scopes []string }

func (f *fakeCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.scopes = o.Scopes
	return azcore.AccessToken{Token: "tok", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func client(t *testing.T, h http.HandlerFunc) (*Client, *[]time.Duration, *fakeCred) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	var waits []time.Duration
	cred := &fakeCred{}
	return &Client{Credential: cred, Endpoint: srv.URL, HTTP: srv.Client(), MaxRetries: 3,
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}, &waits, cred
}

func TestRetryAfterIsHonoured(t *testing.T) {
	calls := 0
	c, waits, cred := client(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("MS-CorrelationId") == "" {
			t.Errorf("headers %v", r.Header)
		}
		if calls <= 2 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Write([]byte(`true`))
	})
	ok, err := c.CheckDomainAvailable(context.Background(), "fabrikam")
	if err != nil || !ok || calls != 3 {
		t.Fatalf("= %v, %v after %d calls", ok, err, calls)
	}
	if len(*waits) != 2 || (*waits)[0] != 7*time.Second {
		t.Fatalf("waits %v, want 7s twice", *waits)
	}
	if len(cred.scopes) != 1 || cred.scopes[0] != Scope {
		t.Fatalf("scopes %v", cred.scopes)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	calls := 0
	c, waits, _ := client(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	_, err := c.Subscriptions(context.Background(), "cust")
	if !errors.Is(err, ErrUnavailable) || calls != 4 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
	for _, w := range *waits {
		if w != 30*time.Second {
			t.Fatalf("wait %v, want the 30s cap", w)
		}
	}
}

func TestCreateCustomer(t *testing.T) {
	c, _, _ := client(t, func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 4096)
		n, _ := r.Body.Read(body)
		if strings.Contains(string(body[:n]), "taken.onmicrosoft.com") {
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`{"code":600041,"description":"The domain is already in use."}`))
			return
		}
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"id":"c1","companyProfile":{"tenantId":"t1"},"userCredentials":{"userName":"admin@x.onmicrosoft.com","password":"P@ss"}}`))
	})
	got, err := c.CreateCustomer(context.Background(), NewCustomer{CompanyName: "X", Domain: "x.onmicrosoft.com", Email: "a@x.example"})
	if err != nil || got.ID != "c1" || got.TenantID != "t1" || got.Password != "P@ss" {
		t.Fatalf("= %+v, %v", got, err)
	}
	_, err = c.CreateCustomer(context.Background(), NewCustomer{CompanyName: "X", Domain: "taken.onmicrosoft.com", Email: "a@x.example"})
	if !errors.Is(err, ErrDomainTaken) {
		t.Fatalf("taken: %v", err)
	}
}

func TestRejectedIsNotRetried(t *testing.T) {
	calls := 0
	c, _, _ := client(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"code":2000,"description":"bad address"}`))
	})
	err := c.ValidateAddress(context.Background(), Address{})
	if !errors.Is(err, ErrInvalidAddress) || calls != 1 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
}

// TestAzureEntitlements: the Azure subscriptions under each of the
// customer's Azure plans (other offers skipped) with their status, ids
// lower-cased; PartnerSubscriptions keeps the active ones. A customer
// Partner Center does not know has none.
func TestAzureEntitlements(t *testing.T) {
	c, _, _ := client(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/customers/unknown/subscriptions":
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"code": 600039, "description": "Customer unknown was not found."}`))
		case "/v1/customers/cust/subscriptions":
			w.Write([]byte(`{"totalCount": 2, "items": [
				{"id": "plan-1", "offerId": "DZH318Z0BPS6:0001", "status": "active"},
				{"id": "m365", "offerId": "CFQ7TTC0LH18:0001", "status": "active"}]}`))
		case "/v1/customers/cust/subscriptions/plan-1/azureEntitlements":
			w.Write([]byte(`{"totalCount": 3, "items": [
				{"id": "AAAA-1", "friendlyName": "Prod", "status": "active", "subscriptionId": "plan-1"},
				{"id": "bbbb-2", "friendlyName": "Dev", "status": "suspended", "subscriptionId": "plan-1"},
				{"id": "cccc-3", "friendlyName": "Old", "status": "inactive", "subscriptionId": "plan-1"}]}`))
		default:
			t.Errorf("unexpected call %s", r.URL.Path)
			w.WriteHeader(http.StatusNotFound)
		}
	})
	ctx := context.Background()
	all, err := c.AzureEntitlements(ctx, "cust")
	var got []string
	for _, e := range all {
		got = append(got, e.ID+"="+e.Status+"@"+e.PlanID)
	}
	if err != nil || strings.Join(got, " ") != "aaaa-1=active@plan-1 bbbb-2=suspended@plan-1 cccc-3=inactive@plan-1" {
		t.Fatalf("AzureEntitlements = %v, %v", got, err)
	}
	billed, err := c.PartnerSubscriptions(ctx, "cust")
	if err != nil || len(billed) != 1 || billed[0].ID != "aaaa-1" || billed[0].FriendlyName != "Prod" {
		t.Fatalf("PartnerSubscriptions = %+v, %v", billed, err)
	}
	for _, list := range []func(context.Context, string) ([]AzureEntitlement, error){c.AzureEntitlements, c.PartnerSubscriptions} {
		if none, err := list(ctx, "unknown"); err != nil || len(none) != 0 {
			t.Errorf("unknown customer = %v, %v", none, err)
		}
	}
}
