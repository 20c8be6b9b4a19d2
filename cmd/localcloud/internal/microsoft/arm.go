package microsoft

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

const mgPrefix = "/providers/microsoft.management/managementgroups/"

// caller is the authenticated principal of a Resource Manager call.
type caller struct {
	tenantID string
	objectID string
	appID    string
}

// armError answers with Resource Manager's error shape.
func armError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serveARM counts the call, applies faults, checks the method, the
// api-version and the bearer token, then runs handle, which answers to the
// writer it is given: under a dropReply fault, not the client's.
func (s *Server) serveARM(w http.ResponseWriter, r *http.Request, kind string, handle func(http.ResponseWriter, *caller)) {
	s.serveARMMethods(w, r, kind, []string{http.MethodGet}, handle)
}

// serveARMMethods is serveARM for a path that takes the given methods.
func (s *Server) serveARMMethods(w http.ResponseWriter, r *http.Request, kind string, methods []string, handle func(http.ResponseWriter, *caller)) {
	s.count(kind)
	w.Header().Set("x-ms-request-id", uuid.NewString())
	if f := s.takeFault(kind); f != nil {
		if !f.DropReply {
			s.answerFault(w, r, kind, f)
			return
		}
		// Performed below; the reply is lost on the way back.
		var lose func()
		w, lose = s.loseReply(w, r, kind, f)
		defer lose()
	}
	if !slices.Contains(methods, r.Method) {
		armError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", fmt.Sprintf("The HTTP method '%s' is not supported by the local Microsoft double for this path.", r.Method))
		return
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+baseURL(r)+`/", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`)
		armError(w, http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
		return
	}
	raw, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+baseURL(r)+`/", error="invalid_token", error_description="The authentication scheme of Bearer is required."`)
		armError(w, http.StatusUnauthorized, "AuthenticationFailedInvalidHeader", "Authentication failed. The 'Authorization' header is provided in an invalid format.")
		return
	}
	claims, err := s.verifyToken(strings.TrimSpace(raw))
	if err != nil {
		e := err.(*errToken)
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+baseURL(r)+`/", error="invalid_token", error_description="The access token is not valid."`)
		armError(w, http.StatusUnauthorized, e.code, e.msg)
		return
	}
	if queryParam(r.URL.Query(), "api-version") == "" {
		armError(w, http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return
	}
	handle(w, &caller{tenantID: strings.ToLower(claims.TenantID), objectID: strings.ToLower(claims.ObjectID), appID: claims.AppID})
}

// queryParam reads a query parameter case-insensitively ($skipToken and
// $skiptoken are the same to ARM).
func queryParam(q url.Values, name string) string {
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// canonicalScope spells a scope the way ARM reports it.
func canonicalScope(scope string) string {
	scope = "/" + strings.Trim(scope, "/")
	for strings.Contains(scope, "//") {
		scope = strings.ReplaceAll(scope, "//", "/")
	}
	segs := strings.Split(strings.TrimPrefix(scope, "/"), "/")
	if len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		segs[0] = "subscriptions"
		segs[1] = strings.ToLower(segs[1])
		if len(segs) >= 4 && strings.EqualFold(segs[2], "resourceGroups") {
			segs[2] = "resourceGroups"
		}
	}
	if len(segs) >= 4 && strings.EqualFold(segs[0], "providers") && strings.EqualFold(segs[1], "Microsoft.Management") && strings.EqualFold(segs[2], "managementGroups") {
		segs[0], segs[1], segs[2] = "providers", "Microsoft.Management", "managementGroups"
	}
	if scope == "/" {
		return "/"
	}
	return "/" + strings.Join(segs, "/")
}

// scopeInfo is a parsed scope: its tenant and its chain of ancestors.
type scopeInfo struct {
	tenant *tenantState
	// subscriptionID is set for scopes at or inside a subscription.
	subscriptionID string
	// chain holds the lower-cased scope and every scope above it, nearest
	// first, ending with "/".
	chain []string
}

// resolveScope parses a scope, finds its tenant and its ancestors. s.mu must
// be held. It returns an ARM error code and message when the scope is not
// understood or does not exist.
func (s *Server) resolveScope(scope string) (*scopeInfo, int, string, string) {
	c := canonicalScope(scope)
	lower := strings.ToLower(c)
	segs := strings.Split(strings.TrimPrefix(c, "/"), "/")
	info := &scopeInfo{}
	switch {
	case len(segs) >= 2 && segs[0] == "subscriptions":
		if _, err := uuid.Parse(segs[1]); err != nil {
			return nil, http.StatusBadRequest, "InvalidSubscriptionId", fmt.Sprintf("The provided subscription identifier '%s' is malformed or invalid.", segs[1])
		}
		t, sub := s.subscription(segs[1])
		if sub == nil {
			return nil, http.StatusNotFound, "SubscriptionNotFound", fmt.Sprintf("The subscription '%s' could not be found.", segs[1])
		}
		info.tenant, info.subscriptionID = t, strings.ToLower(sub.ID)
		// The scope itself and each enclosing scope inside the subscription.
		for n := len(segs); n >= 2; n-- {
			if n > 2 && n%2 == 1 && n != len(segs) {
				continue
			}
			info.chain = append(info.chain, strings.ToLower("/"+strings.Join(segs[:n], "/")))
		}
		info.chain = append(info.chain, s.mgChain(t, sub.ManagementGroup)...)
	case strings.HasPrefix(lower, mgPrefix) && len(segs) == 4:
		t, name := s.managementGroup(segs[3])
		if t == nil {
			return nil, http.StatusNotFound, "ManagementGroupNotFound", fmt.Sprintf("The management group '%s' could not be found.", segs[3])
		}
		info.tenant = t
		info.chain = s.mgChain(t, name)
	default:
		return nil, http.StatusBadRequest, "InvalidScope", fmt.Sprintf("The scope '%s' is not valid for role assignments; use a management group, subscription or resource group scope.", scope)
	}
	info.chain = dedupe(info.chain)
	return info, 0, "", ""
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := in[:0]
	for _, v := range in {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// mgChain returns the lower-cased scopes of a management group and its
// ancestors up to the tenant root group, then "/". s.mu must be held.
func (s *Server) mgChain(t *tenantState, name string) []string {
	if name == "" {
		name = t.ID
	}
	var out []string
	for i := 0; name != "" && i < 64; i++ {
		out = append(out, mgPrefix+strings.ToLower(name))
		if strings.EqualFold(name, t.ID) {
			break
		}
		parent := t.ID
		for _, mg := range t.ManagementGroups {
			if strings.EqualFold(mg.Name, name) && mg.Parent != "" {
				parent = mg.Parent
			}
		}
		name = parent
	}
	return append(out, "/")
}

// relation tells whether assignment scope a is at or above (ancestor) or
// below (descendant) the resolved scope.
func (s *Server) relation(info *scopeInfo, a *assignment) (atOrAbove, below bool) {
	la := strings.ToLower(a.scope)
	for _, c := range info.chain {
		if c == la {
			return true, false
		}
	}
	self := info.chain[0]
	if self == "/" {
		return false, true
	}
	if strings.HasPrefix(la, self+"/") {
		return false, true
	}
	// Scopes in subscriptions under a management group are below it.
	if strings.HasPrefix(self, mgPrefix) {
		if sub := subscriptionOf(la); sub != "" {
			if t, sc := s.subscription(sub); sc != nil {
				for _, c := range s.mgChain(t, sc.ManagementGroup) {
					if c == self {
						return false, true
					}
				}
			}
		}
		if strings.HasPrefix(la, mgPrefix) {
			t, name := s.managementGroup(strings.TrimPrefix(la, mgPrefix))
			if t != nil {
				for _, c := range s.mgChain(t, name)[1:] {
					if c == self {
						return false, true
					}
				}
			}
		}
	}
	return false, false
}

func subscriptionOf(lowerScope string) string {
	segs := strings.Split(strings.TrimPrefix(lowerScope, "/"), "/")
	if len(segs) >= 2 && segs[0] == "subscriptions" {
		return segs[1]
	}
	return ""
}

// active tells whether a principal exists in the tenant: the partner's
// service principal exists only while consent stands. s.mu must be held.
func (t *tenantState) active(principalID string) bool {
	if strings.EqualFold(principalID, t.PartnerServicePrincipalID) {
		return t.consented
	}
	return true
}

// hasAccessAt tells whether the caller holds any role at or above the scope.
// s.mu must be held.
func (s *Server) hasAccessAt(info *scopeInfo, c *caller) bool {
	if !info.tenant.active(c.objectID) {
		return false
	}
	for _, a := range info.tenant.assignments {
		if a.principalID != c.objectID {
			continue
		}
		if above, _ := s.relation(info, a); above {
			return true
		}
	}
	return false
}

// visible tells whether a subscription appears to the caller: the caller's
// tenant owns it and the caller holds a role at, above or inside it.
// s.mu must be held.
func (s *Server) visible(t *tenantState, sub *Subscription, c *caller) bool {
	if !strings.EqualFold(t.ID, c.tenantID) || !t.active(c.objectID) {
		return false
	}
	info, status, _, _ := s.resolveScope("/subscriptions/" + sub.ID)
	if status != 0 {
		return false
	}
	for _, a := range t.assignments {
		if a.principalID != c.objectID {
			continue
		}
		if above, below := s.relation(info, a); above || below {
			return true
		}
	}
	return false
}

func (s *Server) subscriptionJSON(t *tenantState, sub *Subscription) map[string]any {
	state := sub.State
	if state == "" {
		state = "Enabled"
	}
	quota := sub.QuotaID
	if quota == "" {
		quota = DefaultQuotaID
	}
	return map[string]any{
		"id":                  "/subscriptions/" + strings.ToLower(sub.ID),
		"authorizationSource": "RoleBased",
		"managedByTenants":    []any{},
		"subscriptionId":      strings.ToLower(sub.ID),
		"tenantId":            t.ID,
		"displayName":         sub.DisplayName,
		"state":               state,
		"subscriptionPolicies": map[string]string{
			"locationPlacementId": "Public_2014-09-01",
			"quotaId":             quota,
			"spendingLimit":       "Off",
		},
	}
}

// listSubscriptions serves GET /subscriptions: the subscriptions of the
// caller's tenant on which the caller holds some role, paged.
func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request, c *caller) {
	s.mu.Lock()
	var items []map[string]any
	for _, t := range s.tenants {
		for i := range t.Subscriptions {
			if s.visible(t, &t.Subscriptions[i], c) {
				items = append(items, s.subscriptionJSON(t, &t.Subscriptions[i]))
			}
		}
	}
	s.mu.Unlock()
	page, next, ok := s.page(w, r, len(items))
	if !ok {
		return
	}
	body := map[string]any{
		"value": items[page[0]:page[1]],
		"count": map[string]any{"type": "Total", "value": len(items)},
	}
	if body["value"] == nil {
		body["value"] = []any{}
	}
	if next != "" {
		body["nextLink"] = next
	}
	writeJSON(w, http.StatusOK, body)
}

// getSubscription serves GET /subscriptions/{id}. A subscription the caller
// cannot see (unknown, in another tenant, or without any role) is not found.
func (s *Server) getSubscription(w http.ResponseWriter, r *http.Request, c *caller, id string) {
	if _, err := uuid.Parse(id); err != nil {
		armError(w, http.StatusBadRequest, "InvalidSubscriptionId", fmt.Sprintf("The provided subscription identifier '%s' is malformed or invalid.", id))
		return
	}
	s.mu.Lock()
	t, sub := s.subscription(id)
	var body map[string]any
	if sub != nil && s.visible(t, sub, c) {
		body = s.subscriptionJSON(t, sub)
	}
	s.mu.Unlock()
	if body == nil {
		armError(w, http.StatusNotFound, "SubscriptionNotFound", fmt.Sprintf("The subscription '%s' could not be found.", id))
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// roleFilter is a parsed role assignment $filter.
type roleFilter struct {
	atScope   bool
	principal string // principalId eq / assignedTo
}

var (
	filterAtScope    = regexp.MustCompile(`(?i)^atScope\(\)$`)
	filterPrincipal  = regexp.MustCompile(`(?i)^principalId\s+eq\s+'([^']*)'$`)
	filterAssignedTo = regexp.MustCompile(`(?i)^assignedTo\('([^']*)'\)$`)
	filterAnd        = regexp.MustCompile(`(?i)\s+and\s+`)
)

func parseRoleFilter(f string) (roleFilter, bool) {
	var rf roleFilter
	f = strings.TrimSpace(f)
	if f == "" {
		return rf, true
	}
	for _, term := range filterAnd.Split(f, -1) {
		term = strings.TrimSpace(term)
		switch {
		case filterAtScope.MatchString(term):
			rf.atScope = true
		case filterPrincipal.MatchString(term):
			rf.principal = strings.ToLower(filterPrincipal.FindStringSubmatch(term)[1])
		case filterAssignedTo.MatchString(term):
			rf.principal = strings.ToLower(filterAssignedTo.FindStringSubmatch(term)[1])
		default:
			return rf, false
		}
	}
	return rf, true
}

// listRoleAssignments serves GET {scope}/providers/Microsoft.Authorization/roleAssignments.
func (s *Server) listRoleAssignments(w http.ResponseWriter, r *http.Request, c *caller, scope string) {
	filter := queryParam(r.URL.Query(), "$filter")
	rf, ok := parseRoleFilter(filter)
	if !ok {
		armError(w, http.StatusBadRequest, "UnsupportedQuery", fmt.Sprintf("The filter '%s' is not supported. Supported filters are either 'atScope()' or 'principalId eq '{value}' or assignedTo('{value}')'.", filter))
		return
	}
	s.mu.Lock()
	info, status, code, msg := s.resolveScope(scope)
	if status == 0 && !strings.EqualFold(info.tenant.ID, c.tenantID) {
		if info.subscriptionID != "" {
			status, code = http.StatusUnauthorized, "InvalidAuthenticationTokenTenant"
			msg = fmt.Sprintf("The access token is from the wrong issuer '%s'. It must match the tenant '%s' associated with this subscription. Please use the authority (URL) '%s' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.",
				issuer(r, c.tenantID), issuer(r, info.tenant.ID), baseURL(r)+"/"+info.tenant.ID)
		} else {
			status, code = http.StatusForbidden, "AuthorizationFailed"
			msg = authorizationFailed(c, scope)
		}
	}
	if status == 0 && !s.hasAccessAt(info, c) {
		status, code, msg = http.StatusForbidden, "AuthorizationFailed", authorizationFailed(c, scope)
	}
	if status != 0 {
		s.mu.Unlock()
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+baseURL(r)+"/"+info.tenant.ID+`", error="invalid_token", error_description="The access token is from the wrong issuer."`)
		}
		armError(w, status, code, msg)
		return
	}
	// Role definition ids are reported under the subscription of the
	// request scope, or tenant-wide for management group scopes.
	defPrefix := "/providers/Microsoft.Authorization/roleDefinitions/"
	if info.subscriptionID != "" {
		defPrefix = "/subscriptions/" + info.subscriptionID + defPrefix
	}
	var items []map[string]any
	for _, a := range info.tenant.assignments {
		above, below := s.relation(info, a)
		if !above && (rf.atScope || !below) {
			continue
		}
		if rf.principal != "" && a.principalID != rf.principal {
			continue
		}
		items = append(items, assignmentJSON(a, defPrefix))
	}
	s.mu.Unlock()

	page, next, ok := s.page(w, r, len(items))
	if !ok {
		return
	}
	body := map[string]any{"value": items[page[0]:page[1]]}
	if body["value"] == nil {
		body["value"] = []any{}
	}
	if next != "" {
		body["nextLink"] = next
	}
	writeJSON(w, http.StatusOK, body)
}

func authorizationFailed(c *caller, scope string) string {
	return fmt.Sprintf("The client '%s' with object id '%s' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/read' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.", c.objectID, c.objectID, scope)
}

func assignmentJSON(a *assignment, defPrefix string) map[string]any {
	idPrefix := a.scope
	if idPrefix == "/" {
		idPrefix = ""
	}
	created := a.createdOn.UTC().Format(time.RFC3339Nano)
	return map[string]any{
		"id":   idPrefix + "/providers/Microsoft.Authorization/roleAssignments/" + a.name,
		"name": a.name,
		"type": "Microsoft.Authorization/roleAssignments",
		"properties": map[string]any{
			"roleDefinitionId":                   defPrefix + a.roleID,
			"principalId":                        a.principalID,
			"principalType":                      a.principalType,
			"scope":                              a.scope,
			"condition":                          nil,
			"conditionVersion":                   nil,
			"createdOn":                          created,
			"updatedOn":                          created,
			"createdBy":                          nil,
			"updatedBy":                          nil,
			"delegatedManagedIdentityResourceId": nil,
			"description":                        nil,
		},
	}
}

// page reads $skipToken and returns the [from, to) range of this page and
// the nextLink (the request URL with the next $skipToken), or answers 400 for
// a bad token.
func (s *Server) page(w http.ResponseWriter, r *http.Request, total int) ([2]int, string, bool) {
	from := 0
	if tok := queryParam(r.URL.Query(), "$skipToken"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		n, convErr := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
		if err != nil || convErr != nil || !strings.HasPrefix(string(raw), "offset:") || n < 0 {
			armError(w, http.StatusBadRequest, "InvalidSkipToken", fmt.Sprintf("The skip token '%s' is not valid.", tok))
			return [2]int{}, "", false
		}
		from = min(n, total)
	}
	to := min(from+s.pageSize, total)
	if to >= total {
		return [2]int{from, to}, "", true
	}
	q := url.Values{}
	for k, v := range r.URL.Query() {
		if !strings.EqualFold(k, "$skipToken") {
			q[k] = v
		}
	}
	q.Set("$skipToken", base64.RawURLEncoding.EncodeToString([]byte("offset:"+strconv.Itoa(to))))
	next := baseURL(r) + canonicalPath(r.URL.Path) + "?" + q.Encode()
	return [2]int{from, to}, next, true
}

func canonicalPath(p string) string {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	return p
}
