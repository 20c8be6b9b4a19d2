package microsoft

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Partner Center (the calls of shared/partnercenter), served under /v1 with
// app-only tokens of the partner application in the partner tenant (audience
// PartnerCenterResource):
//
//	GET  /v1/validations/checkdomainavailability/{domainPrefix}  → true|false
//	POST /v1/validations/addresses                               → {"status": "VerifiedAddress", ...}
//	POST /v1/customers                                           → the customer, with userCredentials
//	POST /v1/customers/{id}/agreements                           → the agreement
//	POST /v1/customers/{id}/carts                                → the cart
//	POST /v1/customers/{id}/carts/{cartId}/checkout              → {"orders": [...]}
//	POST /v1/customers/{id}/orders                               → the order (pending)
//	GET  /v1/customers/{id}/subscriptions                        → {"totalCount", "items": [...]}
//	GET  /v1/customers/{id}/subscriptions/{subId}/azureEntitlements → the Azure plan's Azure subscriptions
//	GET  /v1/customers/{tenantId}                                → the customer (relationshipToPartner "reseller"), 404 before the reseller relationship
//	GET  /v1/customers/relationshiprequests                      → {"url": the reseller invitation link}
//
// {id} is a customer created here or a scenario tenant that accepted the
// reseller relationship (an existing customer), by tenant id. An order
// (checkout, or POST orders) buys an Azure plan: after SubscriptionPolls
// subscription lists the plan appears (its own Partner Center subscription
// id) with one Azure subscription, a new Resource Manager subscription in
// the customer's tenant (quotaId CSP_2015-05-01, named "Azure subscription
// 1"), on which the partner's service principal holds Owner, as admin on
// behalf of gives the partner on the subscriptions it creates. The plan's
// azureEntitlements list that subscription and every other subscription of
// the tenant billed by the partner (transferred from an Enterprise
// Agreement, billing.go, or CSP in the scenario); a reseller customer with
// such subscriptions and no order has an Azure plan holding them. An
// entitlement's status is its Resource Manager subscription's (active,
// disabled, deleted once gone) until POST /_control/entitlement suspends
// or cancels it (suspended, inactive) or takes it off the list, as when
// its billing moved away from the partner.
//
// A domain prefix is taken when a tenant of the double (scenario or created)
// has it as its name or <prefix>.onmicrosoft.com domain. Creating a customer
// creates its tenant (the partner consented there, as the reseller
// relationship gives it delegated administration). After checkout, the Azure
// plan's subscription appears on the subscriptions list, and in the tenant
// for Resource Manager, after SubscriptionPolls lists (Partner Center orders
// take minutes). A customer created here is the partner's reseller customer
// from the start; a scenario tenant becomes one when its Global
// Administrator accepts the invitation (admincenter.go) or through
// POST /_control/reseller. Faults aim at call "partnerCenter" (or one of its kinds);
// a dropReply fault performs the call and loses its reply.
//
// MS-RequestId makes the calls that create something idempotent, as
// Partner Center documents ("if there's a timeout, the retry call should
// include the same value"): the answer of a customer creation, an
// agreement, a cart or a checkout (a success or a business failure, not a
// 429 or 5xx) is kept by call kind and request id, and a request with the
// same id gets that answer again instead of creating a second customer or
// order, or failing because the domain is now taken.

// PartnerCenterResource is Partner Center's token audience.
const PartnerCenterResource = "https://api.partnercenter.microsoft.com"

// SubscriptionPolls is the number of subscription lists after checkout that
// still show no subscription.
const SubscriptionPolls = 2

// Call kinds of Partner Center; the fault call "partnerCenter" covers them all.
const (
	CallPartnerCenter              = "partnerCenter"
	CallPartnerCenterDomain        = "partnerCenter.domain"
	CallPartnerCenterAddress       = "partnerCenter.address"
	CallPartnerCenterCustomers     = "partnerCenter.customers"
	CallPartnerCenterAgreements    = "partnerCenter.agreements"
	CallPartnerCenterCarts         = "partnerCenter.carts"
	CallPartnerCenterCheckout      = "partnerCenter.checkout"
	CallPartnerCenterSubscriptions = "partnerCenter.subscriptions"
	// CallPartnerCenterOrders is POST /v1/customers/{id}/orders.
	CallPartnerCenterOrders = "partnerCenter.orders"
	// CallPartnerCenterEntitlements is GET …/subscriptions/{id}/azureEntitlements.
	CallPartnerCenterEntitlements = "partnerCenter.azureEntitlements"
	// CallPartnerCenterCustomer is GET /v1/customers/{tenantId}.
	CallPartnerCenterCustomer = "partnerCenter.customer"
	// CallPartnerCenterRelationshipRequests is GET /v1/customers/relationshiprequests.
	CallPartnerCenterRelationshipRequests = "partnerCenter.relationshipRequests"
	// CallPartnerCenterWebhooks is /webhooks/v1/registration (webhooks.go).
	CallPartnerCenterWebhooks = "partnerCenter.webhooks"
)

// PartnerCenterCustomer is a customer created through Partner Center, as
// GET /_control/partnercenter shows it. The double shows the initial admin
// password so that tests can check that the product never reveals it.
type PartnerCenterCustomer struct {
	ID            string   `json:"id"`
	TenantID      string   `json:"tenantId"`
	Domain        string   `json:"domain"`
	CompanyName   string   `json:"companyName"`
	AdminUserName string   `json:"adminUserName"`
	AdminPassword string   `json:"adminPassword"`
	Agreements    int      `json:"agreements"`
	Orders        []string `json:"orders"`
	// Subscriptions are the Partner Center subscriptions (Azure plans).
	Subscriptions []string `json:"subscriptions"`
	// AzureSubscriptions are the Resource Manager subscriptions the
	// Azure plans' orders created.
	AzureSubscriptions []string `json:"azureSubscriptions"`

	carts       map[string]bool
	pendingSubs []pcPendingSub
	subs        []pcSub
	// entitlements are the control API's changes to the Azure plans'
	// entitlements, by lower-case Azure subscription id.
	entitlements map[string]entitlementOverride
}

// pcSub is an Azure plan: its Partner Center subscription, the order that
// bought it and the Resource Manager subscriptions it holds.
type pcSub struct {
	id, orderID string
	armIDs      []string
	created     time.Time
}

type pcPendingSub struct {
	orderID string
	polls   int
}

func pcError(w http.ResponseWriter, status int, code int, desc string) {
	writeJSON(w, status, map[string]any{"code": code, "description": desc, "errorName": http.StatusText(status)})
}

var domainPrefixRE = regexp.MustCompile(`^[a-z0-9]{3,27}$`)

// PartnerCenterCustomers returns the customers created so far.
func (s *Server) PartnerCenterCustomers() []PartnerCenterCustomer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PartnerCenterCustomer, 0, len(s.pcCustomers))
	for _, c := range s.pcCustomers {
		cp := *c
		cp.Orders = append([]string{}, c.Orders...)
		cp.Subscriptions = append([]string{}, c.Subscriptions...)
		cp.AzureSubscriptions = append([]string{}, c.AzureSubscriptions...)
		cp.carts, cp.pendingSubs, cp.subs, cp.entitlements = nil, nil, nil, nil
		out = append(out, cp)
	}
	return out
}

// servePartnerCenter routes /v1/... after checking the token.
func (s *Server) servePartnerCenter(w http.ResponseWriter, r *http.Request, segs []string) {
	kind := CallPartnerCenter
	n := len(segs)
	switch {
	case n == 4 && segs[1] == "validations" && strings.EqualFold(segs[2], "checkdomainavailability"):
		kind = CallPartnerCenterDomain
	case n == 3 && segs[1] == "validations" && segs[2] == "addresses":
		kind = CallPartnerCenterAddress
	case n == 2 && segs[1] == "customers":
		kind = CallPartnerCenterCustomers
	case n == 3 && segs[1] == "customers" && strings.EqualFold(segs[2], "relationshiprequests"):
		kind = CallPartnerCenterRelationshipRequests
	case n == 3 && segs[1] == "customers":
		kind = CallPartnerCenterCustomer
	case n == 4 && segs[1] == "customers" && segs[3] == "agreements":
		kind = CallPartnerCenterAgreements
	case n == 4 && segs[1] == "customers" && segs[3] == "carts":
		kind = CallPartnerCenterCarts
	case n == 6 && segs[1] == "customers" && segs[3] == "carts" && segs[5] == "checkout":
		kind = CallPartnerCenterCheckout
	case n == 4 && segs[1] == "customers" && segs[3] == "subscriptions":
		kind = CallPartnerCenterSubscriptions
	case n == 4 && segs[1] == "customers" && segs[3] == "orders":
		kind = CallPartnerCenterOrders
	case n == 6 && segs[1] == "customers" && segs[3] == "subscriptions" && strings.EqualFold(segs[5], "azureEntitlements"):
		kind = CallPartnerCenterEntitlements
	}
	s.count(kind)
	rid := r.Header.Get("MS-RequestId")
	if rid != "" {
		w.Header().Set("MS-RequestId", rid)
	} else {
		w.Header().Set("MS-RequestId", uuid.NewString())
	}
	if cid := r.Header.Get("MS-CorrelationId"); cid != "" {
		w.Header().Set("MS-CorrelationId", cid)
	}
	if f := s.takeFault(kind); f != nil {
		if !f.DropReply {
			s.answerFault(w, r, kind, f)
			return
		}
		// Performed below; the reply is lost on the way back.
		client := w
		w = &pcRecorder{header: http.Header{}}
		defer func() {
			if f.Status == 0 {
				panic(http.ErrAbortHandler) // the connection is cut
			}
			s.answerFault(client, r, kind, f)
		}()
	}
	if !s.pcAuthorized(w, r) {
		return
	}
	wantMethod := http.MethodPost
	switch kind {
	case CallPartnerCenterDomain, CallPartnerCenterSubscriptions, CallPartnerCenterCustomer, CallPartnerCenterRelationshipRequests, CallPartnerCenterEntitlements:
		wantMethod = http.MethodGet
	}
	if kind == CallPartnerCenter {
		pcError(w, http.StatusNotFound, 404, "The local Microsoft double does not serve "+r.URL.Path+".")
		return
	}
	if r.Method != wantMethod {
		pcError(w, http.StatusMethodNotAllowed, 405, "Method "+r.Method+" is not supported here.")
		return
	}
	var body map[string]any
	if r.Method == http.MethodPost {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if len(strings.TrimSpace(string(b))) > 0 {
			if err := json.Unmarshal(b, &body); err != nil {
				pcError(w, http.StatusBadRequest, 400, "The request body is not valid JSON.")
				return
			}
		}
	}
	if rid != "" && pcIdempotent(kind) {
		s.pcCreate.Lock()
		defer s.pcCreate.Unlock()
		key := kind + " " + strings.ToLower(rid)
		s.mu.Lock()
		rep, seen := s.pcReplies[key]
		s.mu.Unlock()
		if !seen {
			rec := &pcRecorder{header: http.Header{}}
			s.pcServe(rec, kind, segs, body, baseURL(r))
			rep = pcReply{status: rec.status, body: rec.body.Bytes()}
			if rep.status < 500 && rep.status != http.StatusTooManyRequests {
				s.mu.Lock()
				s.pcReplies[key] = rep
				s.mu.Unlock()
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.status)
		_, _ = w.Write(rep.body)
		return
	}
	s.pcServe(w, kind, segs, body, baseURL(r))
}

// pcAuthorized checks the bearer token of a Partner Center call: the
// partner's application in the partner tenant, for Partner Center's
// audience. It answers the refusal itself.
func (s *Server) pcAuthorized(w http.ResponseWriter, r *http.Request) bool {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		pcError(w, http.StatusUnauthorized, 401, "The Authorization header with a Bearer token is required.")
		return false
	}
	claims, err := s.verifyToken(strings.TrimSpace(raw))
	if err != nil {
		pcError(w, http.StatusUnauthorized, 401, "The access token is not valid.")
		return false
	}
	if !strings.EqualFold(strings.TrimSuffix(claims.Audience, "/"), PartnerCenterResource) {
		pcError(w, http.StatusUnauthorized, 401, "The access token was not issued for Partner Center ("+PartnerCenterResource+").")
		return false
	}
	if !strings.EqualFold(claims.TenantID, s.scenario.Partner.TenantID) || !strings.EqualFold(claims.AppID, s.scenario.Partner.AppID) {
		pcError(w, http.StatusForbidden, 403, "Only the partner's application in the partner tenant may call Partner Center.")
		return false
	}
	return true
}

// pcIdempotent reports whether calls of the kind create something, so that
// a repeat with the same MS-RequestId gets the original answer.
func pcIdempotent(kind string) bool {
	switch kind {
	case CallPartnerCenterCustomers, CallPartnerCenterAgreements, CallPartnerCenterCarts, CallPartnerCenterCheckout, CallPartnerCenterOrders:
		return true
	}
	return false
}

// pcReply is a kept answer.
type pcReply struct {
	status int
	body   []byte
}

// pcRecorder keeps an answer instead of sending it.
type pcRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *pcRecorder) Header() http.Header { return r.header }

func (r *pcRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *pcRecorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// pcServe answers a checked call of a known kind; base is the double's URL.
func (s *Server) pcServe(w http.ResponseWriter, kind string, segs []string, body map[string]any, base string) {
	switch kind {
	case CallPartnerCenterCustomer:
		s.pcGetCustomer(w, segs[2])
	case CallPartnerCenterRelationshipRequests:
		writeJSON(w, http.StatusOK, map[string]any{
			"url":        ResellerInvitationURL(base, s.scenario.Partner.TenantID),
			"attributes": map[string]any{"objectType": "CustomerRelationshipRequest"},
		})
	case CallPartnerCenterDomain:
		prefix := strings.ToLower(segs[3])
		s.mu.Lock()
		taken := s.domainTaken(prefix)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, !taken)
	case CallPartnerCenterAddress:
		s.pcValidateAddress(w, body)
	case CallPartnerCenterCustomers:
		s.pcCreateCustomer(w, body)
	case CallPartnerCenterAgreements:
		s.pcAgreement(w, segs[2], body)
	case CallPartnerCenterCarts:
		s.pcCart(w, segs[2], body)
	case CallPartnerCenterCheckout:
		s.pcCheckout(w, segs[2], segs[4])
	case CallPartnerCenterSubscriptions:
		s.pcSubscriptions(w, segs[2])
	case CallPartnerCenterOrders:
		s.pcOrder(w, segs[2], body)
	case CallPartnerCenterEntitlements:
		s.pcEntitlements(w, segs[2], segs[4])
	}
}

// domainTaken reports whether a tenant uses the prefix. s.mu must be held.
func (s *Server) domainTaken(prefix string) bool {
	return s.tenant(prefix) != nil || s.tenant(prefix+".onmicrosoft.com") != nil
}

func str(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[p]
	}
	v, _ := cur.(string)
	return v
}

func (s *Server) pcValidateAddress(w http.ResponseWriter, a map[string]any) {
	var missing []string
	for _, f := range []string{"country", "city", "state", "addressLine1", "postalCode"} {
		if strings.TrimSpace(str(a, f)) == "" {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		pcError(w, http.StatusBadRequest, 2000, "The address is missing "+strings.Join(missing, ", ")+".")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"originalAddress": a, "suggestedAddresses": []any{a}, "status": "VerifiedAddress"})
}

func (s *Server) pcCreateCustomer(w http.ResponseWriter, body map[string]any) {
	domain := strings.ToLower(str(body, "companyProfile", "domain"))
	prefix, ok := strings.CutSuffix(domain, ".onmicrosoft.com")
	if !ok || !domainPrefixRE.MatchString(prefix) {
		pcError(w, http.StatusBadRequest, 600040, "companyProfile.domain must be <prefix>.onmicrosoft.com.")
		return
	}
	company := str(body, "billingProfile", "companyName")
	if company == "" || str(body, "billingProfile", "email") == "" || str(body, "billingProfile", "defaultAddress", "country") == "" {
		pcError(w, http.StatusBadRequest, 2000, "billingProfile with companyName, email and defaultAddress is required.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.domainTaken(prefix) {
		pcError(w, http.StatusConflict, 600041, "The domain "+domain+" is already in use.")
		return
	}
	tenantID := uuid.NewString()
	admin := "admin@" + domain
	t := &tenantState{Tenant: Tenant{
		Name: prefix, ID: tenantID, DisplayName: company, Domains: []string{domain},
		Users:                     []User{{ID: uuid.NewString(), UserPrincipalName: admin, DisplayName: "Administrator", Admin: true}},
		PartnerServicePrincipalID: uuid.NewSHA1(uuid.NameSpaceURL, []byte("sp:"+s.scenario.Partner.AppID+":"+tenantID)).String(),
		PartnerConsented:          true,
	}, consented: true, reseller: true, resellerSince: s.now().UTC()}
	s.tenants = append(s.tenants, t)
	c := &PartnerCenterCustomer{
		ID: tenantID, TenantID: tenantID, Domain: domain, CompanyName: company,
		AdminUserName: admin, AdminPassword: initialPassword(),
		Orders: []string{}, Subscriptions: []string{}, AzureSubscriptions: []string{}, carts: map[string]bool{},
	}
	s.pcCustomers = append(s.pcCustomers, c)
	writeJSON(w, http.StatusCreated, map[string]any{
		"id":                    c.ID,
		"commerceId":            uuid.NewString(),
		"companyProfile":        map[string]any{"tenantId": tenantID, "domain": domain, "companyName": company},
		"billingProfile":        body["billingProfile"],
		"relationshipToPartner": "reseller",
		"userCredentials":       map[string]any{"userName": admin, "password": c.AdminPassword},
		"attributes":            map[string]any{"objectType": "Customer"},
	})
}

// initialPassword makes a random password as Partner Center's initial ones.
func initialPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return fmt.Sprintf("Pc%x!", b)
}

// pcCustomer finds a customer. s.mu must be held.
func (s *Server) pcCustomer(id string) *PartnerCenterCustomer {
	for _, c := range s.pcCustomers {
		if strings.EqualFold(c.ID, id) {
			return c
		}
	}
	return nil
}

func (s *Server) pcAgreement(w http.ResponseWriter, customerID string, body map[string]any) {
	if str(body, "type") != "MicrosoftCustomerAgreement" || str(body, "templateId") == "" || str(body, "dateAgreed") == "" || str(body, "primaryContact", "email") == "" {
		pcError(w, http.StatusBadRequest, 2000, "type MicrosoftCustomerAgreement, templateId, dateAgreed and primaryContact are required.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.pcCustomer(customerID)
	if c == nil {
		pcError(w, http.StatusNotFound, 600039, "Customer "+customerID+" was not found.")
		return
	}
	c.Agreements++
	writeJSON(w, http.StatusCreated, body)
}

func (s *Server) pcCart(w http.ResponseWriter, customerID string, body map[string]any) {
	items, _ := body["lineItems"].([]any)
	if len(items) == 0 {
		pcError(w, http.StatusBadRequest, 2000, "A cart needs at least one line item.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.pcAccount(customerID)
	if c == nil {
		pcError(w, http.StatusNotFound, 600039, "Customer "+customerID+" was not found.")
		return
	}
	id := uuid.NewString()
	c.carts[id] = true
	now := s.now().UTC()
	writeJSON(w, http.StatusCreated, map[string]any{
		"id": id, "creationTimestamp": now, "lastModifiedTimestamp": now,
		"expirationTimestamp": now.Add(7 * 24 * time.Hour), "lineItems": items,
		"status": "Active",
	})
}

func (s *Server) pcCheckout(w http.ResponseWriter, customerID, cartID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.pcAccount(customerID)
	if c == nil {
		pcError(w, http.StatusNotFound, 600039, "Customer "+customerID+" was not found.")
		return
	}
	if !c.carts[cartID] {
		pcError(w, http.StatusNotFound, 800002, "Cart "+cartID+" was not found or was already checked out.")
		return
	}
	delete(c.carts, cartID)
	order := uuid.NewString()
	c.Orders = append(c.Orders, order)
	c.pendingSubs = append(c.pendingSubs, pcPendingSub{orderID: order, polls: SubscriptionPolls})
	writeJSON(w, http.StatusCreated, map[string]any{
		"orders":      []any{map[string]any{"id": order, "status": "pending", "lineItems": []any{map[string]any{"offerId": AzurePlanOfferID, "quantity": 1}}}},
		"orderErrors": []any{},
	})
}

func (s *Server) pcSubscriptions(w http.ResponseWriter, customerID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.pcAccount(customerID)
	if c == nil {
		pcError(w, http.StatusNotFound, 600039, "Customer "+customerID+" was not found.")
		return
	}
	s.maturePlans(c)
	s.ensurePlan(c)
	items := []any{}
	for _, sub := range c.subs {
		items = append(items, map[string]any{
			"id": sub.id, "offerId": AzurePlanOfferID, "offerName": "Azure plan", "friendlyName": "Azure plan", "quantity": 1,
			"unitType": "Usage-based", "status": "active", "orderId": sub.orderID, "billingType": "usage",
			"creationDate": sub.created.Format(time.RFC3339), "isTrial": false,
			"attributes": map[string]any{"objectType": "Subscription"},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"totalCount": len(items), "items": items, "attributes": map[string]any{"objectType": "Collection"}})
}

// AzurePlanOfferID is the Azure plan's offer in Partner Center.
const AzurePlanOfferID = "DZH318Z0BPS6:0001"

// maturePlans turns the orders whose time has come (each subscription
// list counts down) into Azure plans, each with a new Resource Manager
// subscription in the customer's tenant. s.mu must be held.
func (s *Server) maturePlans(c *PartnerCenterCustomer) {
	t := s.tenant(c.TenantID)
	kept := c.pendingSubs[:0]
	for _, p := range c.pendingSubs {
		if p.polls > 0 {
			p.polls--
			kept = append(kept, p)
			continue
		}
		sub := pcSub{id: uuid.NewString(), orderID: p.orderID, created: s.now().UTC()}
		if t != nil {
			armID := uuid.NewString()
			sub.armIDs = []string{armID}
			s.createPlanSubscription(t, armID)
			c.AzureSubscriptions = append(c.AzureSubscriptions, armID)
		}
		c.Subscriptions = append(c.Subscriptions, sub.id)
		c.subs = append(c.subs, sub)
	}
	c.pendingSubs = kept
}

// createPlanSubscription adds an Azure plan's Resource Manager
// subscription to a tenant, with Owner for the partner's service principal
// (admin on behalf of). s.mu must be held.
func (s *Server) createPlanSubscription(t *tenantState, id string) {
	n := 1
	for _, sub := range t.Subscriptions {
		if sub.QuotaID == CSPQuotaID && strings.HasPrefix(sub.DisplayName, "Azure subscription ") {
			n++
		}
	}
	t.Subscriptions = append(t.Subscriptions, Subscription{ID: id, DisplayName: fmt.Sprintf("Azure subscription %d", n), State: "Enabled", QuotaID: CSPQuotaID})
	scope := canonicalScope("/subscriptions/" + id)
	principal := strings.ToLower(t.PartnerServicePrincipalID)
	t.assignments = append(t.assignments, &assignment{
		name: assignmentName(scope, OwnerRoleID, principal), scope: scope, roleID: OwnerRoleID,
		principalID: principal, principalType: "ServicePrincipal", createdOn: s.now().UTC(),
	})
}

// pcAccount finds the Partner Center record of a customer: one created
// through Partner Center, or (made on first use) that of a scenario tenant
// that accepted the reseller relationship. s.mu must be held.
func (s *Server) pcAccount(id string) *PartnerCenterCustomer {
	if c := s.pcCustomer(id); c != nil {
		return c
	}
	t := s.tenant(id)
	if t == nil || !strings.EqualFold(t.ID, id) || !t.reseller {
		return nil
	}
	if c := s.pcAccounts[t.ID]; c != nil {
		return c
	}
	domain := t.Name + ".onmicrosoft.com"
	if len(t.Domains) > 0 {
		domain = t.Domains[0]
	}
	c := &PartnerCenterCustomer{ID: t.ID, TenantID: t.ID, Domain: domain, CompanyName: t.DisplayName,
		Orders: []string{}, Subscriptions: []string{}, AzureSubscriptions: []string{}, carts: map[string]bool{}}
	s.pcAccounts[t.ID] = c
	return c
}

// billedByPartner lists the tenant's subscriptions the partner bills (CSP)
// that no order created. s.mu must be held.
func billedByPartner(t *tenantState, c *PartnerCenterCustomer) []Subscription {
	ordered := map[string]bool{}
	for _, id := range c.AzureSubscriptions {
		ordered[strings.ToLower(id)] = true
	}
	var out []Subscription
	for _, sub := range t.Subscriptions {
		if sub.QuotaID == CSPQuotaID && !ordered[strings.ToLower(sub.ID)] {
			out = append(out, sub)
		}
	}
	return out
}

// ensurePlan gives a reseller customer with subscriptions billed by the
// partner an Azure plan to hold them, when no order made one. s.mu must be
// held.
func (s *Server) ensurePlan(c *PartnerCenterCustomer) {
	t := s.tenant(c.TenantID)
	if t == nil || len(c.subs) > 0 || len(billedByPartner(t, c)) == 0 {
		return
	}
	sub := pcSub{id: uuid.NewSHA1(uuid.NameSpaceOID, []byte("azureplan:"+t.ID)).String(), created: s.now().UTC()}
	c.Subscriptions = append(c.Subscriptions, sub.id)
	c.subs = append(c.subs, sub)
}

// attachToAzurePlan records that subscriptions of the tenant are now billed
// by the partner: they join the customer's Azure plan (billedByPartner
// finds them). s.mu must be held.
func (s *Server) attachToAzurePlan(t *tenantState) {
	if c := s.pcAccount(t.ID); c != nil {
		s.ensurePlan(c)
	}
}

func (s *Server) pcOrder(w http.ResponseWriter, customerID string, body map[string]any) {
	items, _ := body["lineItems"].([]any)
	if len(items) == 0 {
		pcError(w, http.StatusBadRequest, 2000, "An order needs at least one line item.")
		return
	}
	for _, it := range items {
		m, _ := it.(map[string]any)
		if offer := str(m, "offerId"); !strings.EqualFold(offer, AzurePlanOfferID) {
			pcError(w, http.StatusBadRequest, 2000, "The offer "+offer+" is not available here; the local Microsoft double sells the Azure plan ("+AzurePlanOfferID+") only.")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.pcAccount(customerID)
	if c == nil {
		pcError(w, http.StatusNotFound, 600039, "Customer "+customerID+" was not found.")
		return
	}
	order := uuid.NewString()
	c.Orders = append(c.Orders, order)
	c.pendingSubs = append(c.pendingSubs, pcPendingSub{orderID: order, polls: SubscriptionPolls})
	now := s.now().UTC()
	writeJSON(w, http.StatusCreated, map[string]any{
		"id": order, "referenceCustomerId": c.TenantID, "billingCycle": "monthly", "lineItems": items,
		"creationDate": now.Format(time.RFC3339), "status": "pending",
		"attributes": map[string]any{"objectType": "Order"},
	})
}

// pcEntitlements answers GET …/subscriptions/{id}/azureEntitlements: the
// Azure subscriptions of an Azure plan, less those POST
// /_control/entitlement removed.
func (s *Server) pcEntitlements(w http.ResponseWriter, customerID, subscriptionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.pcAccount(customerID)
	if c == nil {
		pcError(w, http.StatusNotFound, 600039, "Customer "+customerID+" was not found.")
		return
	}
	s.ensurePlan(c)
	plan := -1
	for i := range c.subs {
		if strings.EqualFold(c.subs[i].id, subscriptionID) {
			plan = i
		}
	}
	if plan < 0 {
		pcError(w, http.StatusNotFound, 800001, "Subscription "+subscriptionID+" was not found for customer "+customerID+".")
		return
	}
	items := []any{}
	for _, e := range s.planEntitlements(c, plan) {
		if e.listed {
			items = append(items, e.json(s.scenario.Partner.TenantID, false))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"totalCount": len(items), "items": items, "attributes": map[string]any{"objectType": "Collection"}})
}

// pcEntitlement is an Azure subscription under a customer's Azure plan, as
// Partner Center's AzureEntitlement resource shows it.
type pcEntitlement struct {
	id, friendlyName, status string
	// planID is the Azure plan's Partner Center subscription id.
	planID string
	// listed is false once POST /_control/entitlement removed it: its
	// billing moved away from the partner.
	listed bool
}

// json is the entitlement in Partner Center's shape; withListed adds the
// double's own "listed" (for the control API, not Partner Center).
func (e pcEntitlement) json(partnerID string, withListed bool) map[string]any {
	m := map[string]any{
		"id": e.id, "friendlyName": e.friendlyName, "status": e.status,
		"subscriptionId": e.planID, "partnerId": partnerID,
		"attributes": map[string]any{"objectType": "AzureEntitlement"},
	}
	if withListed {
		m["listed"] = e.listed
	}
	return m
}

// entitlementOverride is what POST /_control/entitlement changed of an
// entitlement: another status than the Resource Manager subscription's
// state gives, or no longer listed.
type entitlementOverride struct {
	status  string
	removed bool
}

// EntitlementStatuses are the statuses POST /_control/entitlement sets:
// active (as the Resource Manager subscription's state gives it, the
// override undone), suspended, and inactive (as Partner Center shows an
// Azure subscription cancelled under the plan).
var EntitlementStatuses = []string{"active", "suspended", "inactive"}

// planEntitlements are the entitlements of the customer's Azure plan
// c.subs[plan]: the subscriptions its order created, and, under the first
// plan, the tenant's other subscriptions billed by the partner. Their
// status comes from the Resource Manager subscription (active, disabled,
// or deleted when it is gone) unless the control API overrode it. s.mu
// must be held.
func (s *Server) planEntitlements(c *PartnerCenterCustomer, plan int) []pcEntitlement {
	t := s.tenant(c.TenantID)
	ids := append([]string{}, c.subs[plan].armIDs...)
	if t != nil && plan == 0 {
		for _, sub := range billedByPartner(t, c) {
			ids = append(ids, sub.ID)
		}
	}
	out := make([]pcEntitlement, 0, len(ids))
	for _, id := range ids {
		e := pcEntitlement{id: strings.ToLower(id), status: "deleted", planID: c.subs[plan].id, listed: true}
		if t != nil {
			for _, sub := range t.Subscriptions {
				if strings.EqualFold(sub.ID, id) {
					e.friendlyName, e.status = sub.DisplayName, "active"
					if sub.State == "Disabled" {
						e.status = "disabled"
					}
				}
			}
		}
		if o, ok := c.entitlements[e.id]; ok {
			if o.status != "" {
				e.status = o.status
			}
			e.listed = !o.removed
		}
		out = append(out, e)
	}
	return out
}

// customerEntitlements are the entitlements of all the customer's Azure
// plans. s.mu must be held.
func (s *Server) customerEntitlements(c *PartnerCenterCustomer) []pcEntitlement {
	s.ensurePlan(c)
	var out []pcEntitlement
	for i := range c.subs {
		out = append(out, s.planEntitlements(c, i)...)
	}
	return out
}

// EntitlementChange is the body of POST /_control/entitlement: what
// happens in Partner Center to an Azure subscription under a customer's
// Azure plan. Status suspended or inactive changes the status
// azureEntitlements shows (as the partner suspending or cancelling it in
// Partner Center); remove takes it off the list (its billing moved away
// from the partner); status active undoes both. The Resource Manager
// subscription itself does not change.
type EntitlementChange struct {
	// Tenant is the customer's tenant (id, name or domain).
	Tenant string `json:"tenant"`
	// SubscriptionID is the Azure subscription (the entitlement's id).
	SubscriptionID string `json:"subscriptionId"`
	Status         string `json:"status,omitempty"`
	Remove         bool   `json:"remove,omitempty"`
}

// ChangeEntitlement applies an EntitlementChange and returns the
// entitlement in Partner Center's shape with "listed". A tenant that is
// not the partner's customer, or a subscription under none of its Azure
// plans, is an *errNotFound.
func (s *Server) ChangeEntitlement(ch EntitlementChange) (map[string]any, error) {
	switch {
	case ch.Remove && ch.Status != "":
		return nil, errors.New(`give "status" or "remove": true, not both`)
	case !ch.Remove && !slices.Contains(EntitlementStatuses, ch.Status):
		return nil, fmt.Errorf("unknown status %q (want %s, or \"remove\": true)", ch.Status, strings.Join(EntitlementStatuses, ", "))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(ch.Tenant)
	var c *PartnerCenterCustomer
	if t != nil {
		c = s.pcAccount(t.ID)
	}
	if c == nil {
		return nil, &errNotFound{fmt.Sprintf("tenant %q is not a Partner Center customer of the partner", ch.Tenant)}
	}
	id := strings.ToLower(ch.SubscriptionID)
	found := false
	for _, e := range s.customerEntitlements(c) {
		found = found || e.id == id
	}
	if !found {
		return nil, &errNotFound{fmt.Sprintf("subscription %q is under none of the Azure plans of tenant %s", ch.SubscriptionID, t.Name)}
	}
	switch {
	case ch.Remove:
		o := c.entitlements[id]
		o.removed = true
		c.setEntitlement(id, o)
	case ch.Status == "active":
		delete(c.entitlements, id)
	default:
		c.setEntitlement(id, entitlementOverride{status: ch.Status, removed: c.entitlements[id].removed})
	}
	for _, e := range s.customerEntitlements(c) {
		if e.id == id {
			return e.json(s.scenario.Partner.TenantID, true), nil
		}
	}
	return nil, &errNotFound{fmt.Sprintf("subscription %q is gone", ch.SubscriptionID)}
}

func (c *PartnerCenterCustomer) setEntitlement(id string, o entitlementOverride) {
	if c.entitlements == nil {
		c.entitlements = map[string]entitlementOverride{}
	}
	c.entitlements[id] = o
}

// ResellerInvitationURL is the partner's reseller relationship invitation
// in the Microsoft 365 admin center at a base URL (production
// https://admin.microsoft.com; the double serves it itself).
func ResellerInvitationURL(adminCenter, partnerTenantID string) string {
	return strings.TrimSuffix(adminCenter, "/") + "/Adminportal/Home?invType=ResellerRelationship&partnerId=" + partnerTenantID + "&msppId=0&DAP=false#/BillingAccounts/partner-invitation"
}

// pcGetCustomer answers GET /v1/customers/{tenantId}: the customer once it
// accepted the reseller relationship, 404 before.
func (s *Server) pcGetCustomer(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t *tenantState
	if _, err := uuid.Parse(id); err == nil {
		t = s.tenant(id)
	}
	if t == nil || !t.reseller {
		pcError(w, http.StatusNotFound, 600039, "Customer "+id+" was not found.")
		return
	}
	domain := t.Name + ".onmicrosoft.com"
	if len(t.Domains) > 0 {
		domain = t.Domains[0]
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":         t.ID,
		"commerceId": uuid.NewSHA1(uuid.NameSpaceOID, []byte("commerce:"+t.ID)).String(),
		"companyProfile": map[string]any{
			"tenantId": t.ID, "domain": domain, "companyName": t.DisplayName,
			"attributes": map[string]any{"objectType": "CustomerCompanyProfile"},
		},
		"relationshipToPartner": "reseller",
		"allowDelegatedAccess":  false,
		"attributes":            map[string]any{"objectType": "Customer"},
	})
}
