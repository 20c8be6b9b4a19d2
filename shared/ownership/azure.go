package ownership

import (
	"container/list"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"

	"github.com/partnercloud/azure/shared/provider"
)

// CredentialFactory makes the partner app's credential for one customer tenant.
type CredentialFactory func(tenantID string) (azcore.TokenCredential, error)

// Azure checks ownership through Azure Resource Manager.
type Azure struct {
	// NewCredential makes a credential per tenant; Azure caches it across
	// warm invocations (azidentity caches its tokens inside it).
	NewCredential CredentialFactory
	// Options carry the cloud configuration (Resource Manager endpoint),
	// retries (429/5xx honouring Retry-After) and the transport.
	Options arm.ClientOptions

	// MaxTenants bounds the cached credentials (and the tokens inside
	// them); the least recently used is dropped first. Default
	// DefaultMaxTenants.
	MaxTenants int

	mu    sync.Mutex
	creds map[string]*list.Element // tenant → element of lru (a cachedCredential)
	lru   list.List                // front: most recently used
}

// DefaultMaxTenants is the default bound of Azure's credential cache: a
// warm function that checks many tenants keeps the recent ones only.
const DefaultMaxTenants = 128

type cachedCredential struct {
	tenant string
	cred   azcore.TokenCredential
}

func (a *Azure) credential(tenantID string) (azcore.TokenCredential, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if el, ok := a.creds[tenantID]; ok {
		a.lru.MoveToFront(el)
		return el.Value.(cachedCredential).cred, nil
	}
	c, err := a.NewCredential(tenantID)
	if err != nil {
		return nil, err
	}
	if a.creds == nil {
		a.creds = map[string]*list.Element{}
	}
	limit := a.MaxTenants
	if limit <= 0 {
		limit = DefaultMaxTenants
	}
	for a.lru.Len() >= limit {
		oldest := a.lru.Back()
		delete(a.creds, oldest.Value.(cachedCredential).tenant)
		a.lru.Remove(oldest)
	}
	a.creds[tenantID] = a.lru.PushFront(cachedCredential{tenant: tenantID, cred: c})
	return c, nil
}

// forget drops the tenant's cached credential.
func (a *Azure) forget(tenantID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if el, ok := a.creds[tenantID]; ok {
		delete(a.creds, tenantID)
		a.lru.Remove(el)
	}
}

// cached reports how many credentials are cached.
func (a *Azure) cached() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lru.Len()
}

// Check acquires a token in the tenant (which also proves the tenant trusts
// the partner app), takes the principal from its oid claim unless
// principalID is set, and reports each subscription's state. With no
// subscription ids it checks every subscription visible in the tenant.
func (a *Azure) Check(ctx context.Context, tenantID, principalID string, subscriptionIDs []string) (Result, error) {
	cred, err := a.credential(tenantID)
	if err != nil {
		return Result{}, fmt.Errorf("credential for tenant: %w", err)
	}
	oid, err := a.principal(ctx, cred)
	if err != nil {
		return Result{}, err
	}
	if principalID == "" {
		principalID = oid
	}
	subs, err := armsubscriptions.NewClient(cred, &a.Options)
	if err != nil {
		return Result{}, err
	}
	if len(subscriptionIDs) == 0 {
		if subscriptionIDs, err = visible(ctx, subs); err != nil {
			return Result{}, classify(err)
		}
	}
	res := Result{PrincipalID: principalID, Subscriptions: make([]Subscription, 0, len(subscriptionIDs))}
	for _, id := range subscriptionIDs {
		sub, err := a.subscriptionState(ctx, cred, subs, id, principalID)
		if err != nil {
			return Result{}, classify(err)
		}
		res.Subscriptions = append(res.Subscriptions, sub)
	}
	if !anyVisible(res) {
		// Nothing visible can mean the tenant revoked consent (the service
		// principal is gone) while a token cached by a warm invocation still
		// authenticates: Resource Manager then hides every subscription, and
		// the check would wait for the deadline. Confirm the trust with a
		// fresh credential, whose token request fails if consent is gone.
		if err := a.reconfirm(ctx, tenantID); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

func anyVisible(res Result) bool {
	for _, s := range res.Subscriptions {
		if s.State != provider.SubscriptionNotFound {
			return true
		}
	}
	return false
}

// reconfirm drops the tenant's cached credential and acquires a token with
// a new one: ErrConsentRevoked when the tenant no longer trusts the app.
func (a *Azure) reconfirm(ctx context.Context, tenantID string) error {
	a.forget(tenantID)
	cred, err := a.credential(tenantID)
	if err != nil {
		return fmt.Errorf("credential for tenant: %w", err)
	}
	_, err = a.claims(ctx, cred)
	return err
}

// ConfirmConsent acquires a token in the tenant with a new credential,
// never one a warm instance cached (whose token could outlive a revoked
// consent by up to an hour): nil while the tenant trusts the partner app,
// ErrConsentRevoked when it no longer does, ErrUnavailable when Microsoft
// did not answer. The health checks use it.
func (a *Azure) ConfirmConsent(ctx context.Context, tenantID string) error {
	return a.reconfirm(ctx, tenantID)
}

// TenantOf acquires a token in the tenant and returns its tid and oid claims:
// proof that the tenant exists and trusts the partner app. The consent
// callback uses it rather than trusting the tenant parameter of a redirect.
func (a *Azure) TenantOf(ctx context.Context, tenantID string) (tid, oid string, err error) {
	cred, err := a.credential(tenantID)
	if err != nil {
		return "", "", err
	}
	claims, err := a.claims(ctx, cred)
	if err != nil {
		return "", "", err
	}
	return claims.TID, claims.OID, nil
}

type tokenClaims struct {
	TID string `json:"tid"`
	OID string `json:"oid"`
}

func (a *Azure) claims(ctx context.Context, cred azcore.TokenCredential) (tokenClaims, error) {
	tok, err := cred.GetToken(ctx, armToken(a.Options.Cloud))
	if err != nil {
		return tokenClaims{}, classifyAuth(err)
	}
	// The token came from the authority over TLS in exchange for our own
	// credential; reading its claims needs no signature check.
	parts := strings.Split(tok.Token, ".")
	if len(parts) != 3 {
		return tokenClaims{}, fmt.Errorf("%w: the access token is not a JWT", ErrUnavailable)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return tokenClaims{}, fmt.Errorf("%w: undecodable access token", ErrUnavailable)
	}
	var c tokenClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.OID == "" || c.TID == "" {
		return tokenClaims{}, fmt.Errorf("%w: the access token lacks tid or oid", ErrUnavailable)
	}
	return c, nil
}

func (a *Azure) principal(ctx context.Context, cred azcore.TokenCredential) (string, error) {
	c, err := a.claims(ctx, cred)
	return c.OID, err
}

func visible(ctx context.Context, c *armsubscriptions.Client) ([]string, error) {
	var ids []string
	pager := c.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range page.Value {
			if s.SubscriptionID != nil {
				ids = append(ids, *s.SubscriptionID)
			}
		}
	}
	return ids, nil
}

// subscriptionState reads the subscription (its display name with it) and
// whether principalID holds Owner on it.
func (a *Azure) subscriptionState(ctx context.Context, cred azcore.TokenCredential, subs *armsubscriptions.Client, id, principalID string) (Subscription, error) {
	got, err := subs.Get(ctx, id, nil)
	if err != nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) && (re.StatusCode == http.StatusNotFound || re.StatusCode == http.StatusForbidden) {
			// Not there, or not visible to the principal: indistinguishable from outside.
			return Subscription{ID: id, State: provider.SubscriptionNotFound}, nil
		}
		return Subscription{}, err
	}
	sub := Subscription{ID: id, State: provider.SubscriptionMissingOwner}
	if got.DisplayName != nil {
		sub.DisplayName = *got.DisplayName
	}
	// The agreement it is under, for its billing route (package agreement).
	if pol := got.SubscriptionPolicies; pol != nil && pol.QuotaID != nil {
		sub.QuotaID = *pol.QuotaID
	}
	ra, err := armauthorization.NewRoleAssignmentsClient(id, cred, &a.Options)
	if err != nil {
		return Subscription{}, err
	}
	filter := fmt.Sprintf("principalId eq '%s'", principalID)
	pager := ra.NewListForScopePager("/subscriptions/"+id, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: &filter})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return Subscription{}, err
		}
		for _, as := range page.Value {
			p := as.Properties
			if p == nil || p.RoleDefinitionID == nil || p.PrincipalID == nil || p.Scope == nil {
				continue
			}
			if strings.EqualFold(*p.PrincipalID, principalID) && IsOwner(*p.RoleDefinitionID) && AppliesTo(*p.Scope, id) {
				sub.State = provider.SubscriptionOwned
				return sub, nil
			}
		}
	}
	return sub, nil
}

// consentCodes are the AADSTS errors that mean the tenant does not (or no
// longer) trust the partner app: retrying will not help.
var consentCodes = []string{"AADSTS700016", "AADSTS65001", "AADSTS7000112", "AADSTS50020", "AADSTS90002", "AADSTS500011", "AADSTS700027"}

func classifyAuth(err error) error {
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) {
		msg := afe.Error()
		for _, code := range consentCodes {
			if strings.Contains(msg, code) {
				return fmt.Errorf("%w (%s)", ErrConsentRevoked, code)
			}
		}
		if afe.RawResponse != nil && afe.RawResponse.StatusCode >= 400 && afe.RawResponse.StatusCode < 500 && afe.RawResponse.StatusCode != http.StatusTooManyRequests {
			return fmt.Errorf("%w: token request refused (HTTP %d)", ErrConsentRevoked, afe.RawResponse.StatusCode)
		}
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

func classify(err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("%w: Resource Manager refused the token (%s)", ErrConsentRevoked, re.ErrorCode)
	}
	if errors.Is(err, ErrConsentRevoked) || errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}
