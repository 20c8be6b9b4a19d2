// Package microsoft is a test double of the Microsoft cloud for the local
// cloud: the parts of Microsoft Entra ID and Azure Resource Manager the
// project calls, served over TLS on one listener so that azidentity, MSAL
// and the Azure SDK's Resource Manager clients talk to it unchanged.
//
// Identity (Entra ID):
//
//	GET  /{tenant}/v2.0/.well-known/openid-configuration
//	     discovery; for common and organizations the endpoints keep that key
//	     and the issuer is {base}/{tenantid}/v2.0, as at Microsoft
//	GET  /{tenant}/discovery/v2.0/keys
//	     JWKS: the access-token key and the tenant's own ID-token key
//	GET  /{tenant}/oauth2/v2.0/authorize
//	     sign-in form of the authorization code flow (PKCE, nonce;
//	     prompt=none answers from the browser's session)
//	POST /{tenant}/oauth2/v2.0/authorize
//	     its submission: 302 to redirect_uri with code and session_state, or
//	     with error (access_denied when declined)
//	POST /{tenant}/oauth2/v2.0/token
//	     client_credentials (client_secret); authorization_code: a Graph
//	     access token, an ID token (tid, oid, wids, nonce), client_info
//	GET  /{tenant}/v2.0/adminconsent
//	     admin-consent sign-in form
//	POST /{tenant}/v2.0/adminconsent
//	     its submission (302 as Microsoft)
//
// Signing in (the sign-in form or a consent) sets a session cookie for the
// double's host; the sign-in and consent pages of that browser then prefill,
// and accept an empty, login field.
//
// Resource Manager:
//
//	GET /subscriptions?api-version=...
//	GET /subscriptions/{id}?api-version=...
//	GET {scope}/providers/Microsoft.Authorization/roleAssignments?api-version=...&$filter=...
//	resource groups, resources and moves (resources.go)
//
// Azure billing partner transfers: /providers/Microsoft.Billing/... and the
// Azure portal's transfer request page (billing.go).
//
// Partner Center: /v1/... (see partnercenter.go) and its webhooks,
// /webhooks/v1/registration (webhooks.go), whose events the double signs
// with the certificate it serves at /cert/pcnotifications-dispatch.microsoft.com.cer.
//
// Microsoft Graph: /v1.0/tenantRelationships/delegatedAdminRelationships
// (graph.go, relationships.go).
//
// Microsoft 365 admin center: /Adminportal/Home and /AdminPortal/Home, the
// customer's reseller invitation and GDAP approval pages (admincenter.go).
//
// Control (not part of Microsoft's API): /_control (HTML page),
// /_control/state, /_control/owner, /_control/consent, /_control/faults,
// /_control/calls, /_control/rates, /_control/reset, /_control/partnercenter, /_control/idtoken,
// /_control/reseller, /_control/gdap, /_control/webhooks, /_control/transfer.
//
// {tenant} is a tenant id, its short name or one of its domains, or (for
// discovery, keys, authorize and the authorization-code grant)
// organizations or common. Tenants, their users and directory roles,
// subscriptions, management groups and role assignments come from a
// Scenario and change at run time through the control API or the consent
// page.
package microsoft

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Call kinds, used for the call counters and to aim faults.
const (
	CallToken             = "token"
	CallDiscovery         = "discovery"
	CallAdminConsent      = "adminConsent"
	CallAuthorize         = "authorize"
	CallSubscriptionsList = "subscriptions.list"
	CallSubscriptionsGet  = "subscriptions.get"
	CallRoleAssignments   = "roleAssignments"
)

// Options tunes a Server. The zero value is usable.
type Options struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// PageSize overrides the scenario's page size when positive.
	PageSize int
	// TokenLifetime is the lifetime of issued tokens; default 3599s.
	TokenLifetime time.Duration
	// WebhookRetryDelay is the pause before the first retry of a webhook
	// delivery (doubling after); default 2s.
	WebhookRetryDelay time.Duration
	// OperationPolls is the number of polls a move's long-running
	// operation answers 202 before it ends; default 2.
	OperationPolls int
	// OperationRetryAfter is the Retry-After of a running move operation,
	// whole seconds; default 1s (Resource Manager sends 15; shorter keeps
	// local runs quick). An operation also ends once OperationPolls of
	// these periods have passed on the clock.
	OperationRetryAfter time.Duration
	// Wall is the real-time clock the call rates are measured on
	// (rates.go); default time.Now.
	Wall func() time.Time
}

// Server is the Microsoft cloud double. It is an http.Handler, meant to be
// served over TLS (see NewCA). It is safe for concurrent use.
type Server struct {
	scenario  Scenario
	now       func() time.Time
	pageSize  int
	lifetime  time.Duration
	resources []string
	key       *rsa.PrivateKey
	keyID     string

	// idKeys are the tenants' ID-token signing keys, by tenant id, made on
	// first use and kept for the server's life.
	idKeysMu sync.Mutex
	idKeys   map[string]*signingKey

	mu      sync.Mutex
	tenants []*tenantState
	faults  []*Fault
	calls   map[string]int64
	// timed are the calls' arrival times by service (rates.go), on wall.
	timed map[string][]time.Time
	wall  func() time.Time
	// pcCustomers are the customers created through Partner Center.
	pcCustomers []*PartnerCenterCustomer
	// pcReplies are the answers of Partner Center calls that create
	// something, by call kind and MS-RequestId (partnercenter.go).
	pcReplies map[string]pcReply
	// codes are the issued authorization codes, by code (signin.go).
	codes map[string]*authCode
	// sessions are the browsers' sign-in sessions, by cookie value.
	sessions map[string]*signInSession
	// idTokenTamper, when set, spoils every ID token issued (a test hook,
	// POST /_control/idtoken): IDTokenTampers lists the ways.
	idTokenTamper string
	// pcCreate runs those calls one at a time (taken before mu, never
	// while holding it), so a repeat waits for the original's answer.
	pcCreate sync.Mutex

	// relationships are the partner's GDAP relationships (relationships.go).
	relationships []*gdapRelationship
	// webhook is the partner's webhook registration; it survives Reset,
	// as the partner's configuration (webhooks.go).
	webhook *WebhookRegistration
	// webhookMode and webhookDelay say how events are delivered;
	// deliveries records them.
	webhookMode       string
	webhookDelay      time.Duration
	webhookRetryDelay time.Duration
	deliveries        []WebhookDelivery
	// signer signs webhook events; made on first use or by UseCA.
	signer    *webhookSigner
	webhookWG sync.WaitGroup

	// operations are the moves' long-running operations, by id
	// (resources.go); opPolls and opRetryAfter time them.
	operations   map[string]*armOperation
	opPolls      int
	opRetryAfter time.Duration
	// transfers are the partner's billing transfers (billing.go).
	transfers []*billingTransfer
	// pcAccounts are the Partner Center records (orders, Azure plans) of
	// scenario tenants that became reseller customers, by tenant id.
	pcAccounts map[string]*PartnerCenterCustomer
}

// tenantState is a tenant with what changes at run time.
type tenantState struct {
	Tenant
	consented   bool
	assignments []*assignment
	// reseller tells whether the tenant accepted the partner's reseller
	// relationship, and when.
	reseller      bool
	resellerSince time.Time
	// groups are the resource groups of the tenant's subscriptions
	// (resources.go).
	groups []*rgState
}

// assignment is a role assignment in the double's state.
type assignment struct {
	name          string
	scope         string // canonical spelling
	roleID        string // role definition GUID
	principalID   string
	principalType string
	createdOn     time.Time
}

// New makes a Server from a validated scenario.
func New(sc Scenario, opts Options) (*Server, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	s := &Server{
		scenario:  sc,
		now:       opts.Now,
		pageSize:  sc.PageSize,
		lifetime:  opts.TokenLifetime,
		resources: sc.Resources,
		key:       key,
		keyID:     uuid.NewString(),
		idKeys:    map[string]*signingKey{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.wall = opts.Wall; s.wall == nil {
		s.wall = time.Now
	}
	if opts.PageSize > 0 {
		s.pageSize = opts.PageSize
	}
	if s.pageSize <= 0 {
		s.pageSize = 2
	}
	if s.lifetime <= 0 {
		s.lifetime = 3599 * time.Second
	}
	if len(s.resources) == 0 {
		s.resources = []string{"https://management.azure.com", "https://management.core.windows.net"}
	}
	s.resources = append(append([]string(nil), s.resources...), PartnerCenterResource, GraphResource)
	s.webhookRetryDelay = opts.WebhookRetryDelay
	if s.webhookRetryDelay <= 0 {
		s.webhookRetryDelay = 2 * time.Second
	}
	s.opPolls, s.opRetryAfter = opts.OperationPolls, opts.OperationRetryAfter.Truncate(time.Second)
	if s.opPolls <= 0 {
		s.opPolls = 2
	}
	if s.opRetryAfter <= 0 {
		s.opRetryAfter = time.Second
	}
	s.Reset()
	return s, nil
}

// Reset restores the scenario's state and clears faults, call counters,
// authorization codes and sign-in sessions. Signing keys are kept.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := s.now().UTC().Add(-24 * time.Hour).Truncate(time.Second)
	s.tenants = nil
	for _, t := range s.scenario.allTenants() {
		ts := &tenantState{Tenant: t, consented: t.PartnerConsented, reseller: t.ResellerRelationship}
		if ts.reseller {
			ts.resellerSince = start
		}
		ts.Domains = append(append([]string(nil), t.Domains...), t.Name+".onmicrosoft.com")
		// Subscriptions change at run time (quotaId after a transfer, new
		// Azure plan subscriptions): copy them off the scenario.
		ts.Subscriptions = append([]Subscription(nil), t.Subscriptions...)
		for i, sub := range ts.Subscriptions {
			if sub.QuotaID == "" {
				ts.Subscriptions[i].QuotaID = DefaultQuotaID
			}
			ts.groups = append(ts.groups, newGroups(sub)...)
		}
		if ts.PartnerServicePrincipalID == "" {
			ts.PartnerServicePrincipalID = uuid.NewSHA1(uuid.NameSpaceURL, []byte("sp:"+s.scenario.Partner.AppID+":"+t.ID)).String()
		}
		for _, ra := range t.RoleAssignments {
			rid, _ := roleID(ra.Role) // validated
			a := &assignment{
				name:          ra.Name,
				scope:         canonicalScope(ra.Scope),
				roleID:        rid,
				principalID:   strings.ToLower(ra.PrincipalID),
				principalType: ra.PrincipalType,
				createdOn:     start,
			}
			if a.name == "" {
				a.name = assignmentName(a.scope, a.roleID, a.principalID)
			}
			if a.principalType == "" {
				a.principalType = ts.principalType(a.principalID)
			}
			ts.assignments = append(ts.assignments, a)
		}
		s.tenants = append(s.tenants, ts)
	}
	s.faults = nil
	s.calls = map[string]int64{}
	s.timed = map[string][]time.Time{}
	s.pcCustomers = nil
	s.pcReplies = map[string]pcReply{}
	s.codes = map[string]*authCode{}
	s.sessions = map[string]*signInSession{}
	s.idTokenTamper = ""
	s.relationships = nil
	s.webhookMode = WebhookNormal
	s.webhookDelay = 5 * time.Second
	s.deliveries = nil
	s.operations = map[string]*armOperation{}
	s.transfers = nil
	s.pcAccounts = map[string]*PartnerCenterCustomer{}
}

func assignmentName(scope, roleID, principalID string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte(strings.ToLower(scope)+"|"+roleID+"|"+principalID)).String()
}

// principalType tells what kind of principal an object id is in this tenant.
func (t *tenantState) principalType(id string) string {
	for _, u := range t.Users {
		if strings.EqualFold(u.ID, id) {
			return "User"
		}
	}
	return "ServicePrincipal"
}

// tenant finds a tenant by id, name or domain. s.mu must be held.
func (s *Server) tenant(key string) *tenantState {
	for _, t := range s.tenants {
		if strings.EqualFold(t.ID, key) || strings.EqualFold(t.Name, key) {
			return t
		}
		for _, d := range t.Domains {
			if strings.EqualFold(d, key) {
				return t
			}
		}
	}
	return nil
}

// subscription finds a subscription and its tenant. s.mu must be held.
func (s *Server) subscription(id string) (*tenantState, *Subscription) {
	for _, t := range s.tenants {
		for i := range t.Subscriptions {
			if strings.EqualFold(t.Subscriptions[i].ID, id) {
				return t, &t.Subscriptions[i]
			}
		}
	}
	return nil, nil
}

// managementGroup finds the tenant owning a management group. s.mu must be held.
func (s *Server) managementGroup(name string) (*tenantState, string) {
	for _, t := range s.tenants {
		if strings.EqualFold(t.ID, name) {
			return t, t.ID
		}
		for _, mg := range t.ManagementGroups {
			if strings.EqualFold(mg.Name, name) {
				return t, mg.Name
			}
		}
	}
	return nil, ""
}

// Calls returns the number of calls received per kind (see the Call
// constants), faulted calls included.
func (s *Server) Calls() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// count records a call of a kind, and its arrival time (CallRates).
func (s *Server) count(kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[kind]++
	s.time(kind)
}

// ServeHTTP routes a request. Resource Manager paths are matched
// case-insensitively and with repeated slashes collapsed, as ARM does.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	for strings.Contains(path, "//") {
		path = strings.ReplaceAll(path, "//", "/")
	}
	lower := strings.ToLower(strings.TrimSuffix(path, "/"))
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")

	switch {
	case (lower == "" || lower == "/") && isTransferPage(r):
		s.serveTransferPage(w, r)
	case lower == "" || lower == "/":
		http.Redirect(w, r, "/_control", http.StatusFound)
	case lower == "/_control" || strings.HasPrefix(lower, "/_control/"):
		s.serveControl(w, r, lower)
	case strings.HasPrefix(lower, "/v1/"):
		s.servePartnerCenter(w, r, segs)
	case strings.HasPrefix(lower, "/v1.0/"):
		s.serveGraph(w, r, segs)
	case lower == "/webhooks/v1/registration" || lower == "/webhooks/v1/registration/validationevents":
		s.serveWebhookRegistration(w, r, lower)
	case lower == WebhookCertificatePath:
		s.serveWebhookCertificate(w)
	case lower == "/adminportal/home":
		s.serveAdminCenter(w, r)
	case lower == "/subscriptions":
		s.serveARM(w, r, CallSubscriptionsList, func(w http.ResponseWriter, c *caller) { s.listSubscriptions(w, r, c) })
	case len(segs) == 2 && strings.EqualFold(segs[0], "subscriptions"):
		s.serveARM(w, r, CallSubscriptionsGet, func(w http.ResponseWriter, c *caller) { s.getSubscription(w, r, c, segs[1]) })
	case strings.HasPrefix(lower, "/subscriptions/") && !strings.Contains(lower, "/providers/microsoft.authorization/") && s.serveSubscriptionPath(w, r, segs):
		// Served by serveSubscriptionPath (resources.go).
	case strings.HasPrefix(lower, "/providers/microsoft.billing/"):
		s.serveBilling(w, r, segs)

	case strings.HasSuffix(lower, "/providers/microsoft.authorization/roleassignments"):
		scope := path[:len(strings.TrimSuffix(path, "/"))-len("/providers/microsoft.authorization/roleassignments")]
		s.serveARM(w, r, CallRoleAssignments, func(w http.ResponseWriter, c *caller) { s.listRoleAssignments(w, r, c, scope) })
	case len(segs) == 4 && strings.EqualFold(segs[1], "oauth2") && strings.EqualFold(segs[2], "v2.0") && strings.EqualFold(segs[3], "authorize"):
		s.serveAuthorize(w, r, segs[0])
	case len(segs) == 4 && strings.EqualFold(segs[1], "oauth2") && strings.EqualFold(segs[2], "v2.0") && strings.EqualFold(segs[3], "token"):
		s.serveToken(w, r, segs[0])
	case len(segs) == 4 && strings.EqualFold(segs[1], "v2.0") && lower == strings.ToLower("/"+segs[0]+"/v2.0/.well-known/openid-configuration"):
		s.serveOpenIDConfiguration(w, r, segs[0])
	case len(segs) == 4 && strings.EqualFold(segs[1], "discovery") && strings.EqualFold(segs[2], "v2.0") && strings.EqualFold(segs[3], "keys"):
		s.serveKeys(w, r, segs[0])
	case len(segs) == 3 && strings.EqualFold(segs[1], "v2.0") && strings.EqualFold(segs[2], "adminconsent"):
		s.serveAdminConsent(w, r, segs[0])
	default:
		if isARMPath(lower) {
			armError(w, http.StatusNotFound, "InvalidResourceType", fmt.Sprintf("The resource type could not be found in the namespace for path '%s'; the local Microsoft double serves subscriptions, role assignments, resource groups, resources, moves and billing partner transfers only.", path))
			return
		}
		http.NotFound(w, r)
	}
}

func isARMPath(lower string) bool {
	return strings.HasPrefix(lower, "/subscriptions/") || strings.HasPrefix(lower, "/providers/")
}

// baseURL is the double's own URL as the client reached it.
func baseURL(r *http.Request) string {
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}
