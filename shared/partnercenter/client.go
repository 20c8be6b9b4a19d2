// Package partnercenter is a client of the Partner Center REST API for the
// calls option new makes: address validation, the domain
// availability check, customer creation, the Microsoft Customer Agreement,
// an Azure plan through a cart and its checkout, and the customer's
// subscriptions.
//
// It is hand-written REST over net/http: Microsoft publishes no Go SDK for
// Partner Center (only .NET and Java). Requests carry an app-only token of
// the partner's application in the partner tenant, for the scope
// https://api.partnercenter.microsoft.com/.default. A 429 (and a 5xx, or a
// reply that never arrives) is retried a bounded number of times, waiting
// what Retry-After asks.
//
// Retries are safe for the calls that create something: every attempt of
// one call carries the same MS-RequestId, which Partner Center uses for
// idempotency (a retried request with the same id gets the original result
// instead of being performed again). Callers that may repeat a call in a
// later run (a retried Step Functions task) pass a request key, from which
// the id is derived (RequestID), so the repeat is recognised too.
package partnercenter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/uuid"
	"github.com/partnercloud/azure/shared/apperr"
)

// DefaultEndpoint is Partner Center's API; PARTNER_CENTER_ENDPOINT overrides it.
const DefaultEndpoint = "https://api.partnercenter.microsoft.com"

// Scope is the token scope of Partner Center's API.
const Scope = "https://api.partnercenter.microsoft.com/.default"

// Errors callers tell apart (with errors.Is). They are neutral (apperr
// codes), so that the workflow adapter names them for the state machine.
var (
	// ErrDomainTaken: the onmicrosoft.com domain is in use by another tenant.
	ErrDomainTaken = apperr.New(apperr.DomainTaken, "the onmicrosoft.com domain is already in use")
	// ErrInvalidAddress: address validation refused the address.
	ErrInvalidAddress = apperr.New(apperr.AddressInvalid, "Partner Center did not accept the company's address")
	// ErrUnavailable: Partner Center throttled or failed beyond the retries,
	// or was not reached; worth retrying later.
	ErrUnavailable = apperr.New(apperr.Unavailable, "Partner Center is unavailable")
	// ErrRejected: Partner Center refused the request (a 4xx other than
	// 429); retrying it as is will not help.
	ErrRejected = apperr.New(apperr.Rejected, "Partner Center refused the request")
)

// Client calls Partner Center.
type Client struct {
	// Credential is the partner app's credential in the partner tenant.
	Credential azcore.TokenCredential
	// Endpoint is the API's base URL; default DefaultEndpoint.
	Endpoint string
	// HTTP is the HTTP client; default http.DefaultClient.
	HTTP *http.Client
	// MaxRetries bounds the retries of a throttled or failed call; default 4.
	MaxRetries int
	// MaxRetryAfter caps one wait; default 30s.
	MaxRetryAfter time.Duration
	// Sleep waits (tests replace it); default a context-aware sleep.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Address is a postal address in Partner Center's shape.
type Address struct {
	Country      string `json:"country"`
	Region       string `json:"region,omitempty"`
	City         string `json:"city"`
	State        string `json:"state"`
	AddressLine1 string `json:"addressLine1"`
	PostalCode   string `json:"postalCode"`
	FirstName    string `json:"firstName,omitempty"`
	LastName     string `json:"lastName,omitempty"`
	PhoneNumber  string `json:"phoneNumber,omitempty"`
}

// NewCustomer is what CreateCustomer needs.
type NewCustomer struct {
	CompanyName string
	// Domain is the full <prefix>.onmicrosoft.com domain.
	Domain  string
	Email   string
	Address Address
	// RequestKey names this creation, the same in every run that may
	// repeat it (e.g. the provider and the step): the MS-RequestId is
	// derived from it, so a creation Partner Center already performed,
	// whose reply was lost, is answered with the original customer instead
	// of a second one or a "domain taken" error. Empty: a random id, stable
	// only across this call's own retries.
	RequestKey string
}

// requestNamespace is the UUIDv5 namespace of derived request ids.
var requestNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/partnercloud/azure/partnercenter/ms-requestid"))

// RequestID derives a stable MS-RequestId (a name-based UUID, version 5)
// from a request key and the parts that tell one call of it from another.
func RequestID(key string, parts ...string) string {
	name := key
	for _, p := range parts {
		name += "\x00" + p
	}
	return uuid.NewSHA1(requestNamespace, []byte(name)).String()
}

// ids returns the MS-RequestId and MS-CorrelationId of one call: derived
// from key and parts when key is set, else random.
func ids(key string, parts ...string) callIDs {
	if key == "" {
		return callIDs{request: uuid.NewString(), correlation: uuid.NewString()}
	}
	return callIDs{request: RequestID(key, parts...), correlation: RequestID(key, append(parts, "correlation")...)}
}

// callIDs are the ids every attempt of one call carries.
type callIDs struct{ request, correlation string }

// Customer is a created customer. Password is the initial admin's
// password: a secret, never to be logged or stored in clear.
type Customer struct {
	ID       string
	TenantID string
	UserName string
	Password string
}

// Subscription is one of a customer's subscriptions.
type Subscription struct {
	ID        string `json:"id"`
	OfferID   string `json:"offerId"`
	OfferName string `json:"offerName"`
	Status    string `json:"status"`
	OrderID   string `json:"orderId"`
}

// AzurePlanProductID and AzurePlanSKUID name the Azure plan in the catalog.
const (
	AzurePlanProductID = "DZH318Z0BPS6"
	AzurePlanSKUID     = "0001"
)

// CheckDomainAvailable reports whether <prefix>.onmicrosoft.com is free
// (GET /v1/validations/checkdomainavailability/{domainPrefix}).
func (c *Client) CheckDomainAvailable(ctx context.Context, prefix string) (bool, error) {
	var available bool
	if err := c.do(ctx, ids(""), http.MethodGet, "/v1/validations/checkdomainavailability/"+url.PathEscape(prefix), nil, &available); err != nil {
		return false, err
	}
	return available, nil
}

// ValidateAddress checks an address (POST /v1/validations/addresses); a
// refused address is ErrInvalidAddress.
func (c *Client) ValidateAddress(ctx context.Context, a Address) error {
	var out struct {
		Status string `json:"status"`
	}
	err := c.do(ctx, ids(""), http.MethodPost, "/v1/validations/addresses", a, &out)
	if errors.Is(err, ErrRejected) {
		return fmt.Errorf("%w: %v", ErrInvalidAddress, err)
	}
	if err != nil {
		return err
	}
	if s := strings.ToLower(out.Status); s != "" && s != "verifiedaddress" && s != "verified" && s != "verifiedshippable" {
		return fmt.Errorf("%w: status %s", ErrInvalidAddress, out.Status)
	}
	return nil
}

// CreateCustomer creates the customer (POST /v1/customers): a new tenant,
// the reseller relationship and the initial admin user. A domain in use is
// ErrDomainTaken. With n.RequestKey, repeating the call (in this run or a
// later one) returns the customer the first call created.
func (c *Client) CreateCustomer(ctx context.Context, n NewCustomer) (Customer, error) {
	body := map[string]any{
		"companyProfile": map[string]any{"domain": n.Domain},
		"billingProfile": map[string]any{
			"email":          n.Email,
			"culture":        "en-US",
			"language":       "en",
			"companyName":    n.CompanyName,
			"defaultAddress": n.Address,
		},
	}
	var out struct {
		ID             string `json:"id"`
		CompanyProfile struct {
			TenantID string `json:"tenantId"`
		} `json:"companyProfile"`
		UserCredentials struct {
			UserName string `json:"userName"`
			Password string `json:"password"`
		} `json:"userCredentials"`
	}
	if err := c.do(ctx, ids(n.RequestKey, "customers"), http.MethodPost, "/v1/customers", body, &out); err != nil {
		var pe *Error
		if errors.As(err, &pe) && (pe.Code == "600041" || pe.Status == http.StatusConflict) {
			return Customer{}, fmt.Errorf("%w: %s", ErrDomainTaken, n.Domain)
		}
		return Customer{}, err
	}
	if out.ID == "" {
		return Customer{}, fmt.Errorf("%w: customer creation answered without an id", ErrUnavailable)
	}
	tenant := out.CompanyProfile.TenantID
	if tenant == "" {
		tenant = out.ID // Partner Center's customer id is the tenant id
	}
	return Customer{ID: out.ID, TenantID: tenant, UserName: out.UserCredentials.UserName, Password: out.UserCredentials.Password}, nil
}

// AcceptAgreement records the customer's acceptance of the Microsoft
// Customer Agreement (POST /v1/customers/{id}/agreements).
func (c *Client) AcceptAgreement(ctx context.Context, customerID, templateID, firstName, lastName, email, phone string, at time.Time) error {
	body := map[string]any{
		"primaryContact": map[string]string{"firstName": firstName, "lastName": lastName, "email": email, "phoneNumber": phone},
		"dateAgreed":     at.UTC().Format(time.RFC3339),
		"templateId":     templateID,
		"type":           "MicrosoftCustomerAgreement",
	}
	return c.do(ctx, ids(""), http.MethodPost, "/v1/customers/"+url.PathEscape(customerID)+"/agreements", body, nil)
}

// OrderAzurePlan buys an Azure plan: a cart with the plan's line item
// (POST /v1/customers/{id}/carts), then its checkout
// (POST …/carts/{cartId}/checkout). It returns the order id. requestKey
// names this order as NewCustomer.RequestKey names a creation: the cart's
// and the checkout's request ids derive from it, so a repeated order (its
// checkout reply lost) gets the original cart and order, not a second plan.
func (c *Client) OrderAzurePlan(ctx context.Context, customerID, requestKey string) (string, error) {
	base := "/v1/customers/" + url.PathEscape(customerID) + "/carts"
	cart := map[string]any{
		"lineItems": []map[string]any{{
			"id":            0,
			"catalogItemId": AzurePlanProductID + ":" + AzurePlanSKUID,
			"quantity":      1,
			"billingCycle":  "one_time",
		}},
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, ids(requestKey, "carts", customerID), http.MethodPost, base, cart, &created); err != nil {
		return "", err
	}
	if created.ID == "" {
		return "", fmt.Errorf("%w: cart created without an id", ErrUnavailable)
	}
	var checkout struct {
		Orders []struct {
			ID string `json:"id"`
		} `json:"orders"`
		OrderErrors []struct {
			ErrorCode string `json:"errorCode"`
			ErrorText string `json:"errorText"`
		} `json:"orderErrors"`
	}
	if err := c.do(ctx, ids(requestKey, "checkout", customerID), http.MethodPost, base+"/"+url.PathEscape(created.ID)+"/checkout", nil, &checkout); err != nil {
		return "", err
	}
	if len(checkout.OrderErrors) > 0 {
		return "", fmt.Errorf("%w: checkout: %s", ErrRejected, checkout.OrderErrors[0].ErrorCode)
	}
	if len(checkout.Orders) == 0 || checkout.Orders[0].ID == "" {
		return "", fmt.Errorf("%w: checkout answered without an order", ErrUnavailable)
	}
	return checkout.Orders[0].ID, nil
}

// Subscriptions lists the customer's subscriptions
// (GET /v1/customers/{id}/subscriptions).
func (c *Client) Subscriptions(ctx context.Context, customerID string) ([]Subscription, error) {
	var out struct {
		Items []Subscription `json:"items"`
	}
	if err := c.do(ctx, ids(""), http.MethodGet, "/v1/customers/"+url.PathEscape(customerID)+"/subscriptions", nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// Error is an error answer of Partner Center.
type Error struct {
	Status      int
	Code        string
	Description string
}

func (e *Error) Error() string {
	return fmt.Sprintf("partner center: HTTP %d: %s %s", e.Status, e.Code, e.Description)
}

// Unwrap classifies the error: ErrUnavailable for 429 and 5xx, else ErrRejected.
func (e *Error) Unwrap() error {
	if e.Status == http.StatusTooManyRequests || e.Status >= 500 {
		return ErrUnavailable
	}
	return ErrRejected
}

// do sends one call with its retries and decodes the answer into out. Every
// attempt carries the same ids.
func (c *Client) do(ctx context.Context, id callIDs, method, path string, in, out any) error {
	endpoint := strings.TrimSuffix(c.Endpoint, "/")
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return err
		}
	}
	retries := c.MaxRetries
	if retries <= 0 {
		retries = 4
	}
	for attempt := 0; ; attempt++ {
		wait, err := c.once(ctx, method, endpoint+path, payload, id, out)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrUnavailable) || attempt >= retries || ctx.Err() != nil {
			return err
		}
		if wait <= 0 {
			wait = time.Duration(1<<attempt) * time.Second
		}
		if max := c.maxRetryAfter(); wait > max {
			wait = max
		}
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
}

func (c *Client) maxRetryAfter() time.Duration {
	if c.MaxRetryAfter > 0 {
		return c.MaxRetryAfter
	}
	return 30 * time.Second
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// once sends one attempt; it returns the Retry-After wait of a 429 or 5xx.
func (c *Client) once(ctx context.Context, method, u string, payload []byte, id callIDs, out any) (time.Duration, error) {
	tok, err := c.Credential.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{Scope}})
	if err != nil {
		return 0, fmt.Errorf("%w: token: %v", ErrUnavailable, err)
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("MS-CorrelationId", id.correlation)
	req.Header.Set("MS-RequestId", id.request)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, fmt.Errorf("%w: read: %v", ErrUnavailable, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil || len(bytes.TrimSpace(raw)) == 0 {
			return 0, nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return 0, fmt.Errorf("%w: malformed answer: %v", ErrUnavailable, err)
		}
		return 0, nil
	}
	pe := &Error{Status: resp.StatusCode}
	var e struct {
		Code        json.RawMessage `json:"code"`
		Description string          `json:"description"`
	}
	if json.Unmarshal(raw, &e) == nil {
		pe.Code = strings.Trim(string(e.Code), `"`)
		pe.Description = e.Description
	}
	var wait time.Duration
	if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s > 0 {
		wait = time.Duration(s) * time.Second
	}
	return wait, pe
}
