// Package partnercenter is a client of the Partner Center REST API for the
// calls option new makes: address validation, the domain
// availability check, customer creation, the Microsoft Customer Agreement,
// an Azure plan through a cart and its checkout, and the customer's
// subscriptions.
//
// It is hand-written REST on azcore's pipeline (shared/msrest): Microsoft
// publishes no Go SDK for Partner Center (only .NET and Java). Requests
// carry an app-only token of the partner's application in the partner
// tenant, for the scope https://api.partnercenter.microsoft.com/.default. A
// 429 (and a 5xx, or a reply that never arrives) is retried a bounded number
// of times, waiting what Retry-After asks.
//
// Retries are safe for the calls that create something: every attempt of
// one call carries the same MS-RequestId, which Partner Center uses for
// idempotency (a retried request with the same id gets the original result
// instead of being performed again). Callers that may repeat a call in a
// later run (a retried Step Functions task) pass a request key, from which
// the id is derived (RequestID), so the repeat is recognised too.
package partnercenter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/uuid"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/msrest"
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
	// Sleep waits between attempts (tests replace it); default a
	// context-aware sleep.
	Sleep func(ctx context.Context, d time.Duration) error

	once     sync.Once
	pipeline *msrest.Client
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

// do sends one call with its retries and decodes a 2xx answer into out.
// Every attempt carries the same ids.
func (c *Client) do(ctx context.Context, id callIDs, method, path string, in, out any) error {
	resp, err := c.send(ctx, id, method, path, in)
	if err != nil {
		return err
	}
	if !resp.OK() {
		return answerError(resp)
	}
	if err := resp.Decode(out); err != nil {
		return fmt.Errorf("%w: malformed answer: %v", ErrUnavailable, err)
	}
	return nil
}

// send sends one call with its retries and returns the final answer,
// whatever its status; an error is ErrUnavailable (no answer).
func (c *Client) send(ctx context.Context, id callIDs, method, path string, in any) (*msrest.Response, error) {
	resp, err := c.rest().Do(ctx, msrest.Call{
		Method:  method,
		Path:    path,
		Body:    in,
		Headers: map[string]string{"MS-RequestId": id.request, "MS-CorrelationId": id.correlation},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return resp, nil
}

// rest is the client's pipeline, made on first use.
func (c *Client) rest() *msrest.Client {
	c.once.Do(func() {
		var transport policy.Transporter
		if c.HTTP != nil {
			transport = c.HTTP
		}
		endpoint := c.Endpoint
		if endpoint == "" {
			endpoint = DefaultEndpoint
		}
		c.pipeline = msrest.New(msrest.Options{
			Service:       "partnercenter",
			Credential:    c.Credential,
			Scope:         Scope,
			Endpoint:      endpoint,
			Transport:     transport,
			MaxRetries:    c.MaxRetries,
			MaxRetryAfter: c.MaxRetryAfter,
			Sleep:         c.Sleep,
		})
	})
	return c.pipeline
}

// answerError reads Partner Center's error body ({"code": …, "description": …}).
func answerError(resp *msrest.Response) *Error {
	pe := &Error{Status: resp.Status}
	var e struct {
		Code        json.RawMessage `json:"code"`
		Description string          `json:"description"`
	}
	if json.Unmarshal(resp.Body, &e) == nil {
		pe.Code = strings.Trim(string(e.Code), `"`)
		pe.Description = e.Description
	}
	return pe
}

// unavailable is ErrUnavailable for an answer that cannot be read.
func unavailable(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, what, err)
	}
	return fmt.Errorf("%w: %s", ErrUnavailable, what)
}

// AzureEntitlement is an Azure subscription Partner Center lists under one
// of the customer's Azure plans with this partner: billed by the partner.
type AzureEntitlement struct {
	ID           string `json:"id"`
	FriendlyName string `json:"friendlyName"`
	Status       string `json:"status"`
	// PlanID is the Azure plan's Partner Center subscription id.
	PlanID string `json:"subscriptionId"`
}

// PartnerSubscriptions lists the Azure subscriptions this partner bills for
// the customer: the active ones of AzureEntitlements.
func (c *Client) PartnerSubscriptions(ctx context.Context, customerID string) ([]AzureEntitlement, error) {
	all, err := c.AzureEntitlements(ctx, customerID)
	if err != nil {
		return nil, err
	}
	var out []AzureEntitlement
	for _, e := range all {
		if strings.EqualFold(e.Status, "active") {
			out = append(out, e)
		}
	}
	return out, nil
}

// AzureEntitlements lists the Azure subscriptions under the customer's
// Azure plans with this partner whatever their status (active, suspended,
// inactive once cancelled, …): the azureEntitlements of each Azure plan
// (GET /v1/customers/{id}/subscriptions, then
// …/subscriptions/{planId}/azureEntitlements), ids lower-cased. A customer
// Partner Center does not know has none.
func (c *Client) AzureEntitlements(ctx context.Context, customerID string) ([]AzureEntitlement, error) {
	subs, err := c.Subscriptions(ctx, customerID)
	var pcErr *Error
	if errors.As(err, &pcErr) && pcErr.Status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []AzureEntitlement
	for _, s := range subs {
		if !strings.HasPrefix(strings.ToUpper(s.OfferID), AzurePlanProductID) {
			continue
		}
		var page struct {
			Items []AzureEntitlement `json:"items"`
		}
		path := "/v1/customers/" + url.PathEscape(customerID) + "/subscriptions/" + url.PathEscape(s.ID) + "/azureEntitlements"
		if err := c.do(ctx, ids(""), http.MethodGet, path, nil, &page); err != nil {
			return nil, err
		}
		for _, e := range page.Items {
			e.ID = strings.ToLower(e.ID)
			out = append(out, e)
		}
	}
	return out, nil
}
