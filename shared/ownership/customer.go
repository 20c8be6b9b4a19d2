package ownership

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/msid"
)

// Refusals of a customer's own application credentials (option existing).
// Each is a neutral error whose message says what the customer must fix,
// and whose detail names the field of the credentials to fix (fixes); none
// is worth retrying as is.
var (
	// ErrInvalidClientSecret: the secret is wrong or expired (AADSTS7000215,
	// AADSTS7000222, or any other invalid_client answer).
	ErrInvalidClientSecret = refusal(apperr.InvalidClientSecret)
	// ErrTenantNotFound: no such tenant (AADSTS90002).
	ErrTenantNotFound = refusal(apperr.TenantNotFound)
	// ErrAppNotFound: no such application in the tenant (AADSTS700016).
	ErrAppNotFound = refusal(apperr.AppNotFound)
	// ErrCredentialsRejected: Microsoft Entra ID refused the token for
	// another reason (a disabled application, say).
	ErrCredentialsRejected = refusal(apperr.CredentialsRejected)
	// ErrSubscriptionNotFound: the subscription does not exist in the tenant,
	// or the application has no role that lets it see it (Resource Manager
	// answers 404 for both).
	ErrSubscriptionNotFound = refusal(apperr.SubscriptionNotFound)
	// ErrSubscriptionAccessDenied: the subscription exists but the
	// application may not read it (403 AuthorizationFailed).
	ErrSubscriptionAccessDenied = refusal(apperr.SubscriptionAccessDenied)
)

// fixes are, by refusal, the field of the credentials to fix (as the create
// request names it) and what to do.
var fixes = map[apperr.Code]struct{ field, fix string }{
	apperr.InvalidClientSecret:      {"clientSecret", "Microsoft Entra ID refused the client secret for this application. Send the secret's value (not its id), and check that it has not expired."},
	apperr.TenantNotFound:           {"tenantId", "Microsoft Entra ID has no tenant with this id. Check the directory (tenant) id of the customer's tenant."},
	apperr.AppNotFound:              {"clientId", "The tenant has no application with this client id. Check the application (client) id, and that the app is registered in this tenant."},
	apperr.CredentialsRejected:      {"clientId", "Microsoft Entra ID refused these credentials. Check that the application is enabled and may sign in to this tenant."},
	apperr.SubscriptionNotFound:     {"subscriptionId", "The subscription was not found in this tenant, or the application has no role on it. Check the subscription id, and assign the application a role (Reader at least) on the subscription."},
	apperr.SubscriptionAccessDenied: {"subscriptionId", "The application may not read this subscription. Assign it a role (Reader at least) on the subscription."},
}

// refusal is the refusal of code, with its fix.
func refusal(code apperr.Code) *apperr.Error {
	f := fixes[code]
	return apperr.New(code, f.fix, apperr.Detail{Field: f.field, Code: string(code), Message: f.fix})
}

// ProveRetry are the retries of a proof: it runs inside an API request, so
// they are few and short (429 and 5xx, honouring Retry-After up to the cap).
var ProveRetry = policy.RetryOptions{
	MaxRetries:    2,
	RetryDelay:    500 * time.Millisecond,
	MaxRetryDelay: 3 * time.Second,
	TryTimeout:    8 * time.Second,
}

// CustomerCredentials proves the credentials of a customer's own
// application: it acquires a token in the customer's tenant with the client
// secret (azidentity) and reads the subscription (armsubscriptions). Only
// the Azure endpoints of Settings are used (AZURE_AUTHORITY_HOST and
// AZURE_RESOURCE_MANAGER_ENDPOINT); the partner application plays no part.
type CustomerCredentials struct {
	Settings Settings
	// Transport is the HTTP transport; nil means azcore's default.
	// TokenTransport, when set, sends the token requests instead.
	Transport      policy.Transporter
	TokenTransport policy.Transporter
	// Retry overrides ProveRetry when MaxRetries is not zero.
	Retry policy.RetryOptions
}

// Prove returns nil when the application authenticates in the tenant and can
// read the subscription. Errors wrap one of the Err* refusals above, or
// ErrUnavailable when Microsoft throttled or failed (or ctx ended). Errors
// never carry the secret.
func (c *CustomerCredentials) Prove(ctx context.Context, tenantID, clientID, secret, subscriptionID string) error {
	retry := c.Retry
	if retry.MaxRetries == 0 {
		retry = ProveRetry
	}
	cfg := c.Settings.Cloud()
	opts := policy.ClientOptions{Cloud: cfg, Transport: c.Transport, Retry: retry}
	tokenOpts := opts
	if c.TokenTransport != nil {
		tokenOpts.Transport = c.TokenTransport
	}
	cred, err := azidentity.NewClientSecretCredential(tenantID, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: tokenOpts, DisableInstanceDiscovery: true,
	})
	if err != nil {
		// Only a malformed tenant id fails here; the request validation
		// admits GUIDs only.
		return fmt.Errorf("%w: %v", ErrTenantNotFound, err)
	}
	if _, err := cred.GetToken(ctx, armToken(cfg)); err != nil {
		return classifyCustomerAuth(err)
	}
	subs, err := armsubscriptions.NewClient(cred, &arm.ClientOptions{ClientOptions: opts})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	got, err := subs.Get(ctx, subscriptionID, nil)
	if err != nil {
		return classifySubscriptionRead(err)
	}
	if s := got.State; s != nil && *s == armsubscriptions.SubscriptionStateDeleted {
		return fmt.Errorf("%w: the subscription is deleted", ErrSubscriptionNotFound)
	}
	return nil
}

// armToken is the token request of Resource Manager in cfg, made exactly
// as the SDK's Resource Manager clients make it: the scope spelled as they
// spell it (the audience as configured with "/.default" appended, so the
// public cloud's is "https://management.core.windows.net//.default") and
// continuous access evaluation on (azidentity keeps CAE and other tokens
// apart, each with its own discovery). A token acquired here is then the
// one those clients reuse from the credential's cache, not a second token
// request and discovery per tenant.
func armToken(cfg cloud.Configuration) policy.TokenRequestOptions {
	aud := "https://management.core.windows.net/" // the SDK's public-cloud audience
	if svc, ok := cfg.Services[cloud.ResourceManager]; ok && svc.Audience != "" {
		aud = svc.Audience
	}
	return policy.TokenRequestOptions{Scopes: []string{aud + "/.default"}, EnableCAE: true}
}

// classifyCustomerAuth maps a failed token request to a refusal, or to
// ErrUnavailable when Microsoft throttled, failed or was not reached.
func classifyCustomerAuth(err error) error {
	msg := err.Error()
	// The text holds the token endpoint's answer (never the request, so
	// never the secret).
	for _, code := range msid.AADSTSCodes(msg) {
		switch code {
		case "AADSTS7000215", "AADSTS7000222":
			return fmt.Errorf("%w (%s)", ErrInvalidClientSecret, code)
		case "AADSTS90002":
			return fmt.Errorf("%w (%s)", ErrTenantNotFound, code)
		case "AADSTS700016":
			return fmt.Errorf("%w (%s)", ErrAppNotFound, code)
		}
	}
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) && afe.RawResponse != nil {
		status := afe.RawResponse.StatusCode
		switch {
		case status == http.StatusTooManyRequests || status >= 500:
			return fmt.Errorf("%w: token request answered HTTP %d", ErrUnavailable, status)
		case status >= 400 && strings.Contains(msg, "invalid_client"):
			return fmt.Errorf("%w (HTTP %d invalid_client)", ErrInvalidClientSecret, status)
		case status >= 400:
			return fmt.Errorf("%w (HTTP %d)", ErrCredentialsRejected, status)
		}
	}
	return fmt.Errorf("%w: token request failed: %v", ErrUnavailable, err)
}

// classifySubscriptionRead maps a failed subscription read to a refusal, or
// to ErrUnavailable.
func classifySubscriptionRead(err error) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return fmt.Errorf("%w: read the subscription: %v", ErrUnavailable, err)
	}
	switch {
	case re.StatusCode == http.StatusNotFound,
		re.StatusCode == http.StatusBadRequest && re.ErrorCode == "InvalidSubscriptionId",
		// The subscription belongs to another tenant.
		re.StatusCode == http.StatusUnauthorized && re.ErrorCode == "InvalidAuthenticationTokenTenant":
		return fmt.Errorf("%w (HTTP %d %s)", ErrSubscriptionNotFound, re.StatusCode, re.ErrorCode)
	case re.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w (HTTP %d %s)", ErrSubscriptionAccessDenied, re.StatusCode, re.ErrorCode)
	case re.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%w: Resource Manager refused the token (%s)", ErrCredentialsRejected, re.ErrorCode)
	}
	return fmt.Errorf("%w: read the subscription: HTTP %d %s", ErrUnavailable, re.StatusCode, re.ErrorCode)
}
