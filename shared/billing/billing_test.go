package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/ownership"
)

const (
	ba       = "10000000-0000-0000-0000-000000000000:00000000-0000-0000-0000-000000000000_2019-05-31"
	bp       = "AB12-CD34-EF5-GH6"
	customer = "11111111-1111-1111-1111-111111111111"
)

var (
	_ azcore.TokenCredential = (*fakeCred)(nil)
	_ http.Handler           = (*transfers)(nil)
)

type fakeCred struct {
	mu     sync.Mutex
	scopes []string
	err    error
}

func (f *fakeCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scopes = o.Scopes
	if f.err != nil {
		return azcore.AccessToken{}, f.err
	}
	return azcore.AccessToken{Token: "partner-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// transfers is Azure billing's partnerTransfers (api-version 2024-04-01)
// as documented: a transfer is a resource named by the caller under
// billingAccounts/{ba}/billingProfiles/{bp}/customers/{c}/transfers; PUT
// creates it (201, Pending, an expiration time) and is refused with 409
// when the name is taken or the customer has another pending request;
// GET answers 200 or 404; POST …/cancel answers 200 with status Canceled,
// 400 when the request is past Pending. Errors are {"error": {"code",
// "message"}}. Faults: throttle answers 429 with a Retry-After;
// fail answers 503; loseCreates performs that many creates and cuts the
// connection before the reply.
type transfers struct {
	mu          sync.Mutex
	items       map[string]map[string]any // name → details
	customerOf  map[string]string
	creates     int
	calls       []string
	customers   map[string]bool
	throttle    int
	fail        int
	loseCreates int
	status      int // answer every call with this status (401, 403)
}

var transferPath = regexp.MustCompile(`^/providers/Microsoft\.Billing/billingAccounts/([^/]+)/billingProfiles/([^/]+)/customers/([^/]+)/transfers/([^/]+)(/cancel)?$`)

func newTransfers() *transfers {
	return &transfers{items: map[string]map[string]any{}, customerOf: map[string]string{}, customers: map[string]bool{customer: true}}
}

func armErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-ms-error-code", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func (s *transfers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, r.Method+" "+r.URL.Path)
	if r.Header.Get("Authorization") != "Bearer partner-token" {
		armErr(w, 401, "InvalidAuthenticationToken", "The access token is invalid.")
		return
	}
	if s.status != 0 {
		armErr(w, s.status, "AuthorizationFailed", "The client does not have authorization to perform action.")
		return
	}
	if s.throttle > 0 {
		s.throttle--
		w.Header().Set("Retry-After", "0")
		w.Header().Set("retry-after-ms", "1")
		armErr(w, 429, "TooManyRequests", "Too many requests.")
		return
	}
	if s.fail > 0 {
		s.fail--
		armErr(w, 503, "ServiceUnavailable", "Try again later.")
		return
	}
	if r.URL.Query().Get("api-version") != "2024-04-01" {
		armErr(w, 400, "InvalidApiVersionParameter", "api-version")
		return
	}
	m := transferPath.FindStringSubmatch(r.URL.Path)
	if m == nil || m[1] != ba || m[2] != bp {
		armErr(w, 404, "BillingAccountNotFound", "Billing account or profile not found.")
		return
	}
	cust, name, cancel := m[3], m[4], m[5] != ""
	if !s.customers[cust] {
		armErr(w, 404, "CustomerNotFound", "The customer has no Azure plan under this billing profile.")
		return
	}
	t, exists := s.items[name]
	if exists && s.customerOf[name] != cust {
		exists = false
	}
	switch {
	case r.Method == http.MethodGet && !cancel:
		if !exists {
			armErr(w, 404, "NotFound", "Transfer not found.")
			return
		}
		writeJSON(w, 200, t)
	case r.Method == http.MethodPut && !cancel:
		if exists {
			armErr(w, 409, "TransferAlreadyExists", "A transfer request with this name exists.")
			return
		}
		for n, other := range s.items {
			if s.customerOf[n] == cust && props(other)["transferStatus"] == "Pending" {
				armErr(w, 409, "ActiveTransferRequestExists", "The customer has a pending transfer request.")
				return
			}
		}
		var body struct {
			Properties struct {
				RecipientEmailID string `json:"recipientEmailId"`
				ResellerID       string `json:"resellerId"`
			} `json:"properties"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || !strings.Contains(body.Properties.RecipientEmailID, "@") {
			armErr(w, 400, "InvalidRecipientEmail", "The recipient email is not valid.")
			return
		}
		t = map[string]any{
			"id":   r.URL.Path,
			"name": name,
			"type": "Microsoft.Billing/transfers",
			"properties": map[string]any{
				"transferStatus":        "Pending",
				"expirationTime":        "2026-12-31T00:00:00Z",
				"initiatorCustomerType": "Partner",
				"initiatorEmailId":      "agent@partner.example",
				"recipientEmailId":      body.Properties.RecipientEmailID,
				"resellerId":            body.Properties.ResellerID,
			},
		}
		s.items[name], s.customerOf[name] = t, cust
		s.creates++
		if s.loseCreates > 0 {
			s.loseCreates--
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			_ = conn.Close()
			return
		}
		writeJSON(w, 201, t)
	case r.Method == http.MethodPost && cancel:
		if !exists {
			armErr(w, 404, "NotFound", "Transfer not found.")
			return
		}
		if props(t)["transferStatus"] != "Pending" {
			armErr(w, 400, "InvalidTransferStatus", "Only a pending transfer request can be canceled.")
			return
		}
		props(t)["transferStatus"] = "Canceled"
		props(t)["canceledBy"] = "agent@partner.example"
		writeJSON(w, 200, t)
	default:
		armErr(w, 405, "MethodNotAllowed", r.Method)
	}
}

func props(t map[string]any) map[string]any { return t["properties"].(map[string]any) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newClient(t *testing.T, s *transfers, reseller string) (*Client, *fakeCred) {
	t.Helper()
	srv := httptest.NewTLSServer(s)
	t.Cleanup(srv.Close)
	settings := ownership.Settings{ResourceManager: srv.URL}
	opts := settings.ARMOptions(srv.Client())
	opts.Retry = policy.RetryOptions{MaxRetries: 3, RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond}
	cred := &fakeCred{}
	return New(Account{BillingAccount: ba, BillingProfile: bp, ResellerID: reseller}, cred, opts), cred
}

func TestEnsureCreatesOnceAndFindsAfterwards(t *testing.T) {
	s := newTransfers()
	c, cred := newClient(t, s, "3123456")
	name := TransferName("prov-1", "sub-1", 0)
	tr, err := c.Ensure(context.Background(), customer, name, "billing@customer.example")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Name != name || tr.Status != Pending || tr.ExpiresAt.IsZero() || tr.Status.Final() {
		t.Fatalf("transfer %+v", tr)
	}
	if got := props(s.items[name])["resellerId"]; got != "3123456" {
		t.Errorf("resellerId %v; want the configured reseller", got)
	}
	// Tokens are for Resource Manager's audience wherever its endpoint is.
	if aud := cloud.AzurePublic.Services[cloud.ResourceManager].Audience; len(cred.scopes) != 1 || cred.scopes[0] != aud+"/.default" {
		t.Errorf("token scopes %v", cred.scopes)
	}
	// A retried step finds the request and creates nothing.
	again, err := c.Ensure(context.Background(), customer, name, "billing@customer.example")
	if err != nil || again.Name != name || s.creates != 1 {
		t.Fatalf("second Ensure = %+v, %v; creates %d", again, err, s.creates)
	}
	b, _ := json.Marshal(again)
	if strings.Contains(string(b), "@") {
		t.Errorf("the neutral transfer carries an email address: %s", b)
	}
}

func TestEnsureLostReplyMakesNoSecondRequest(t *testing.T) {
	s := newTransfers()
	s.loseCreates = 1
	c, _ := newClient(t, s, "")
	name := TransferName("prov-1", "sub-1", 0)
	tr, err := c.Ensure(context.Background(), customer, name, "billing@customer.example")
	if err != nil {
		t.Fatalf("Ensure after a lost reply: %v (calls %v)", err, s.calls)
	}
	if tr.Status != Pending || s.creates != 1 || len(s.items) != 1 {
		t.Fatalf("transfer %+v; creates %d, items %d; calls %v", tr, s.creates, len(s.items), s.calls)
	}
	// The retried PUT was refused with 409 and the request read back.
	if last := s.calls[len(s.calls)-1]; !strings.HasPrefix(last, "GET ") {
		t.Errorf("last call %q; want the read after the conflict", last)
	}
}

func TestEnsureRefusals(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(*transfers, *fakeCred)
		customer string
		email    string
		want     error
		code     apperr.Code
		detail   string
	}{
		{"another pending request", func(s *transfers, _ *fakeCred) {
			s.items["other"] = map[string]any{"name": "other", "properties": map[string]any{"transferStatus": "Pending"}}
			s.customerOf["other"] = customer
		}, customer, "a@b.example", ErrConflict, apperr.Rejected, "ActiveTransferRequestExists"},
		{"invalid recipient", nil, customer, "nobody", ErrRejected, apperr.Rejected, "InvalidRecipientEmail"},
		{"customer without an Azure plan", nil, "22222222-2222-2222-2222-222222222222", "a@b.example", ErrRejected, apperr.Rejected, "CustomerNotFound"},
		{"no billing role", func(s *transfers, _ *fakeCred) { s.status = 403 }, customer, "a@b.example", ErrAccessDenied, apperr.Rejected, ""},
		{"token refused by ARM", func(s *transfers, _ *fakeCred) { s.status = 401 }, customer, "a@b.example", ErrCredentialsRejected, apperr.CredentialsRejected, ""},
		{"throttled beyond retries", func(s *transfers, _ *fakeCred) { s.throttle = 10 }, customer, "a@b.example", ErrUnavailable, apperr.AzureUnavailable, ""},
		{"failing beyond retries", func(s *transfers, _ *fakeCred) { s.fail = 10 }, customer, "a@b.example", ErrUnavailable, apperr.AzureUnavailable, ""},
		{"no token", func(_ *transfers, c *fakeCred) { c.err = errors.New("network down") }, customer, "a@b.example", ErrUnavailable, apperr.AzureUnavailable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTransfers()
			c, cred := newClient(t, s, "")
			if tt.setup != nil {
				tt.setup(s, cred)
			}
			_, err := c.Ensure(context.Background(), tt.customer, "pt1", tt.email)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Ensure = %v; want %v", err, tt.want)
			}
			e := apperr.As(err)
			if e.Code != tt.code {
				t.Errorf("code %s; want %s", e.Code, tt.code)
			}
			if tt.detail != "" && (len(e.Details) != 1 || e.Details[0].Code != tt.detail || e.Details[0].Message == "") {
				t.Errorf("details %+v; want Microsoft's %s with its message", e.Details, tt.detail)
			}
			if s.creates != 0 {
				t.Errorf("%d requests created", s.creates)
			}
		})
	}
}

func TestRetriesThrottlingThenSucceeds(t *testing.T) {
	s := newTransfers()
	s.throttle, s.fail = 1, 1
	c, _ := newClient(t, s, "")
	if _, err := c.Ensure(context.Background(), customer, "pt1", "a@b.example"); err != nil {
		t.Fatalf("Ensure after a 429 and a 503: %v", err)
	}
	if s.creates != 1 || len(s.calls) != 4 { // 429, 503, GET 404, PUT 201
		t.Errorf("creates %d, calls %v", s.creates, s.calls)
	}
}

func TestGetReportsProductsAndStatus(t *testing.T) {
	s := newTransfers()
	s.items["pt1"] = map[string]any{"name": "pt1", "properties": map[string]any{
		"transferStatus": "CompletedWithErrors",
		"expirationTime": "2026-05-01T10:00:00Z",
		"detailedTransferStatus": []any{
			map[string]any{"productId": "sub-a", "productName": "Prod", "productType": "AzureSubscription", "skuDescription": "MS-AZR-0017P", "transferStatus": "Completed"},
			map[string]any{"productId": "sub-b", "productName": "Dev", "productType": "AzureSubscription", "transferStatus": "Failed",
				"errorDetails": map[string]any{"code": "MarketplaceProductNotAvailable", "message": "A Marketplace product is not available in CSP."}},
		},
	}}
	s.customerOf["pt1"] = customer
	c, _ := newClient(t, s, "")
	tr, err := c.Get(context.Background(), customer, "pt1")
	if err != nil {
		t.Fatal(err)
	}
	want := Transfer{Name: "pt1", Status: CompletedWithErrors, ExpiresAt: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), Products: []Product{
		{ID: "sub-a", Name: "Prod", Type: "AzureSubscription", SKU: "MS-AZR-0017P", Status: ProductCompleted},
		{ID: "sub-b", Name: "Dev", Type: "AzureSubscription", Status: ProductFailed, ErrorCode: "MarketplaceProductNotAvailable", ErrorMessage: "A Marketplace product is not available in CSP."},
	}}
	if fmt.Sprint(tr) != fmt.Sprint(want) || !tr.Status.Final() {
		t.Fatalf("Get = %+v\nwant %+v", tr, want)
	}
	if _, err := c.Get(context.Background(), customer, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a missing request = %v; want ErrNotFound", err)
	}
}

func TestCancel(t *testing.T) {
	s := newTransfers()
	c, _ := newClient(t, s, "")
	if _, err := c.Ensure(context.Background(), customer, "pt1", "a@b.example"); err != nil {
		t.Fatal(err)
	}
	tr, err := c.Cancel(context.Background(), customer, "pt1")
	if err != nil || tr.Status != Canceled {
		t.Fatalf("Cancel = %+v, %v", tr, err)
	}
	// A repeated cancel (the first reply lost) is not an error.
	if tr, err := c.Cancel(context.Background(), customer, "pt1"); err != nil || tr.Status != Canceled {
		t.Fatalf("second Cancel = %+v, %v", tr, err)
	}
	props(s.items["pt1"])["transferStatus"] = "Completed"
	if _, err := c.Cancel(context.Background(), customer, "pt1"); !errors.Is(err, ErrRejected) {
		t.Fatalf("Cancel of a completed request = %v; want ErrRejected", err)
	}
}

func TestStatusFinal(t *testing.T) {
	final := map[Status]bool{Pending: false, InProgress: false, Completed: true, CompletedWithErrors: true, Declined: true, Expired: true, Failed: true, Canceled: true, "SomethingNew": false}
	for s, want := range final {
		if s.Final() != want {
			t.Errorf("%s.Final() = %v", s, !want)
		}
	}
}

func TestTransferName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9]{32}$`)
	a := TransferName("prov-1", "AAAA-sub", 0)
	tests := []struct {
		name string
		got  string
		same bool
	}{
		{"stable", TransferName("prov-1", "AAAA-sub", 0), true},
		{"attempt 1 is the first", TransferName("prov-1", "AAAA-sub", 1), true},
		{"subscription id case", TransferName("prov-1", "aaaa-sub", 0), true},
		{"another attempt", TransferName("prov-1", "AAAA-sub", 2), false},
		{"another subscription", TransferName("prov-1", "BBBB-sub", 0), false},
		{"another provider", TransferName("prov-2", "AAAA-sub", 0), false},
		{"no ambiguity in joining", TransferName("prov-1A", "AAA-sub", 0), false},
	}
	for _, tt := range tests {
		if !valid.MatchString(tt.got) {
			t.Errorf("%s: %q is not 32 lower-case letters and digits", tt.name, tt.got)
		}
		if (tt.got == a) != tt.same {
			t.Errorf("%s: %q vs %q, same %v", tt.name, tt.got, a, tt.same)
		}
	}
}

func FuzzTransferName(f *testing.F) {
	f.Add("prov-1", "sub-1", 0)
	f.Add("", "", -1)
	valid := regexp.MustCompile(`^[a-z0-9]{32}$`)
	f.Fuzz(func(t *testing.T, provider, sub string, attempt int) {
		n := TransferName(provider, sub, attempt)
		if !valid.MatchString(n) || n != TransferName(provider, sub, attempt) {
			t.Fatalf("TransferName(%q, %q, %d) = %q", provider, sub, attempt, n)
		}
	})
}

func TestFromEnv(t *testing.T) {
	base := map[string]string{"AZURE_CLIENT_ID": "app", "PARTNER_CREDENTIAL_SECRET_ARN": "arn:secret", "AZURE_RESOURCE_MANAGER_ENDPOINT": "https://arm.local.test"}
	read := func(context.Context, string) ([]byte, error) { return []byte("s"), nil }
	t.Run("missing", func(t *testing.T) {
		env := config.FromMap(base)
		FromEnv(env, ownership.PartnerFromEnv(env, read))
		err := env.Err()
		for _, v := range []string{"PARTNER_TENANT_ID", "BILLING_ACCOUNT_ID", "BILLING_PROFILE_ID"} {
			if err == nil || !strings.Contains(err.Error(), v) {
				t.Errorf("error %v does not name %s", err, v)
			}
		}
	})
	t.Run("resource id instead of a name", func(t *testing.T) {
		m := map[string]string{"PARTNER_TENANT_ID": "t", "BILLING_ACCOUNT_ID": "/providers/Microsoft.Billing/billingAccounts/x", "BILLING_PROFILE_ID": bp}
		for k, v := range base {
			m[k] = v
		}
		env := config.FromMap(m)
		FromEnv(env, ownership.PartnerFromEnv(env, read))
		if err := env.Err(); err == nil || !strings.Contains(err.Error(), "BILLING_ACCOUNT_ID must be the billing account's name") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("complete", func(t *testing.T) {
		m := map[string]string{"PARTNER_TENANT_ID": "t", "BILLING_ACCOUNT_ID": ba, "BILLING_PROFILE_ID": bp, "BILLING_RESELLER_ID": "31"}
		for k, v := range base {
			m[k] = v
		}
		env := config.FromMap(m)
		c := FromEnv(env, ownership.PartnerFromEnv(env, func(context.Context, string) ([]byte, error) {
			t.Fatal("the secret was read at start-up")
			return nil, nil
		}))
		if err := env.Err(); err != nil {
			t.Fatal(err)
		}
		if c.Account != (Account{BillingAccount: ba, BillingProfile: bp, ResellerID: "31"}) {
			t.Errorf("account %+v", c.Account)
		}
		if ep := c.Options.Cloud.Services[cloud.ResourceManager].Endpoint; ep != "https://arm.local.test" {
			t.Errorf("Resource Manager endpoint %q", ep)
		}
	})
}
