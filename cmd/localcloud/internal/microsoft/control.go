package microsoft

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// State is the double's current state, as shown by GET /_control/state.
// Client secrets are left out.
type State struct {
	Partner PartnerState     `json:"partner"`
	Tenants []TenantState    `json:"tenants"`
	Faults  []Fault          `json:"faults"`
	Calls   map[string]int64 `json:"calls"`
	// AuthorizationCodes is the number of authorization codes issued and
	// not yet redeemed nor expired (the codes themselves are not shown).
	AuthorizationCodes int `json:"authorizationCodes"`
	// SignInSessions is the number of browsers signed in at the double.
	SignInSessions int `json:"signInSessions"`
	// Relationships are the partner's GDAP relationships in Graph's shape,
	// each with its accessAssignments and requests.
	Relationships []map[string]any `json:"relationships"`
	// PartnerCenterCustomers are the partner's customers as Partner
	// Center shows them: the tenants that accepted the reseller
	// relationship and those created through Partner Center, each with
	// its Azure plans' azureEntitlements (in Partner Center's shape, with
	// "listed" false for one POST /_control/entitlement removed).
	PartnerCenterCustomers []map[string]any `json:"partnerCenterCustomers"`
	// Webhooks is the webhook registration, delivery mode and deliveries.
	Webhooks WebhookState `json:"webhooks"`
	// Operations are the moves' long-running operations, oldest first.
	Operations []OperationState `json:"operations"`
	// Transfers are the partner's billing transfers in the billing API's
	// shape, each with its customerTenantId.
	Transfers []map[string]any `json:"transfers"`
}

// PartnerState describes the partner application.
type PartnerState struct {
	Name     string `json:"name"`
	TenantID string `json:"tenantId"`
	AppID    string `json:"appId"`
	AppName  string `json:"appName,omitempty"`
}

// TenantState describes a tenant.
type TenantState struct {
	Name        string   `json:"name"`
	ID          string   `json:"id"`
	DisplayName string   `json:"displayName,omitempty"`
	Domains     []string `json:"domains"`
	// Admins are the users who can grant admin consent (they hold Global
	// Administrator, Privileged Role Administrator or Cloud Application
	// Administrator).
	Admins                    []string `json:"admins"`
	PartnerServicePrincipalID string   `json:"partnerServicePrincipalId"`
	PartnerConsented          bool     `json:"partnerConsented"`
	// ResellerRelationship tells whether the tenant accepted the
	// partner's reseller relationship.
	ResellerRelationship bool                  `json:"resellerRelationship"`
	Apps                 []AppState            `json:"apps,omitempty"`
	ManagementGroups     []ManagementGroup     `json:"managementGroups"`
	Subscriptions        []SubscriptionState   `json:"subscriptions"`
	RoleAssignments      []RoleAssignmentState `json:"roleAssignments"`
}

// AppState describes a tenant's own application (without its secret).
type AppState struct {
	AppID              string `json:"appId"`
	DisplayName        string `json:"displayName,omitempty"`
	ServicePrincipalID string `json:"servicePrincipalId"`
}

// SubscriptionState describes a subscription and whether the partner's
// service principal holds Owner on it (directly or inherited).
type SubscriptionState struct {
	Subscription
	PartnerOwner bool `json:"partnerOwner"`
	// ResourceGroups are the subscription's resource groups now, with
	// their resources' current ids.
	ResourceGroups []ResourceGroupState `json:"resourceGroups"`
}

// RoleAssignmentState describes a role assignment.
type RoleAssignmentState struct {
	Name             string `json:"name"`
	Scope            string `json:"scope"`
	Role             string `json:"role"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	PrincipalID      string `json:"principalId"`
	PrincipalType    string `json:"principalType"`
}

func roleName(id string) string {
	for name, rid := range builtInRoles {
		if rid == id {
			if name == "user access administrator" {
				return "User Access Administrator"
			}
			return strings.ToUpper(name[:1]) + name[1:]
		}
	}
	return id
}

// State returns a snapshot of the double's state.
func (s *Server) State() State {
	calls := s.Calls()
	faults := s.Faults()
	webhooks := s.WebhookState()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{
		Partner: PartnerState{Name: s.scenario.Partner.Name, TenantID: s.scenario.Partner.TenantID, AppID: s.scenario.Partner.AppID, AppName: s.scenario.Partner.AppName},
		Tenants: []TenantState{},
		Faults:  faults,
		Calls:   calls,

		SignInSessions: len(s.sessions),

		Relationships:          []map[string]any{},
		PartnerCenterCustomers: []map[string]any{},
		Webhooks:               webhooks,
	}
	s.refreshOperations()
	s.refreshTransfers()
	st.Operations = s.operationsState()
	st.Transfers = s.transfersState()
	s.refreshRelationships()
	for _, g := range s.relationships {
		m := relationshipJSON(g, "", false)
		assignments := []any{}
		for _, a := range g.assignments {
			assignments = append(assignments, accessAssignmentJSON(a))
		}
		requests := []any{}
		for _, q := range g.requests {
			requests = append(requests, requestJSON(q, s.now().UTC()))
		}
		m["accessAssignments"], m["requests"] = assignments, requests
		st.Relationships = append(st.Relationships, m)
	}
	now := s.now()
	for _, c := range s.codes {
		if !c.redeemed && now.Before(c.expires) {
			st.AuthorizationCodes++
		}
	}
	for _, t := range s.tenants {
		ts := TenantState{
			Name: t.Name, ID: t.ID, DisplayName: t.DisplayName, Domains: t.Domains, Admins: []string{},
			PartnerServicePrincipalID: t.PartnerServicePrincipalID, PartnerConsented: t.consented,
			ResellerRelationship: t.reseller,
			ManagementGroups:     append([]ManagementGroup{}, t.ManagementGroups...),
			Subscriptions:        []SubscriptionState{}, RoleAssignments: []RoleAssignmentState{},
		}
		for _, u := range t.Users {
			if u.CanConsent() {
				ts.Admins = append(ts.Admins, u.UserPrincipalName)
			}
		}
		for _, a := range t.Apps {
			ts.Apps = append(ts.Apps, AppState{AppID: a.AppID, DisplayName: a.DisplayName, ServicePrincipalID: a.ServicePrincipalID})
		}
		for _, sub := range t.Subscriptions {
			ts.Subscriptions = append(ts.Subscriptions, SubscriptionState{Subscription: sub, PartnerOwner: s.holdsOwner(t, sub.ID, t.PartnerServicePrincipalID),
				ResourceGroups: groupsState(t, sub.ID)})
		}
		for _, a := range t.assignments {
			ts.RoleAssignments = append(ts.RoleAssignments, RoleAssignmentState{
				Name: a.name, Scope: a.scope, Role: roleName(a.roleID), RoleDefinitionID: a.roleID,
				PrincipalID: a.principalID, PrincipalType: a.principalType,
			})
		}
		st.Tenants = append(st.Tenants, ts)
		if t.reseller {
			c := s.resellerView(t)
			c["createdThroughPartnerCenter"] = s.pcCustomer(t.ID) != nil
			c["orders"], c["subscriptions"], c["azureSubscriptions"] = []string{}, []string{}, []string{}
			entitlements := []map[string]any{}
			if pc := s.pcAccount(t.ID); pc != nil {
				for _, e := range s.customerEntitlements(pc) {
					entitlements = append(entitlements, e.json(s.scenario.Partner.TenantID, true))
				}
				c["orders"], c["subscriptions"], c["azureSubscriptions"] = append([]string{}, pc.Orders...), append([]string{}, pc.Subscriptions...), append([]string{}, pc.AzureSubscriptions...)
			}
			c["azureEntitlements"] = entitlements
			st.PartnerCenterCustomers = append(st.PartnerCenterCustomers, c)
		}
	}
	return st
}

// holdsOwner tells whether a principal has an Owner assignment at or above a
// subscription. s.mu must be held.
func (s *Server) holdsOwner(t *tenantState, subscriptionID, principalID string) bool {
	return s.holdsRole(t, subscriptionID, principalID, OwnerRoleID)
}

// holdsRole tells whether a principal has an assignment of the role at or
// above a subscription. s.mu must be held.
func (s *Server) holdsRole(t *tenantState, subscriptionID, principalID, role string) bool {
	info, status, _, _ := s.resolveScope("/subscriptions/" + subscriptionID)
	if status != 0 {
		return false
	}
	for _, a := range t.assignments {
		if a.roleID != role || !strings.EqualFold(a.principalID, principalID) {
			continue
		}
		if above, _ := s.relation(info, a); above {
			return true
		}
	}
	return false
}

// OwnerChange is the body of POST /_control/owner.
type OwnerChange struct {
	// Tenant is the tenant's id, name or domain.
	Tenant string `json:"tenant"`
	// SubscriptionID is the subscription (in that tenant).
	SubscriptionID string `json:"subscriptionId"`
	// Grant adds an Owner assignment at the subscription; false removes the
	// principal's Owner assignments at the subscription scope (assignments
	// inherited from management groups stay).
	Grant bool `json:"grant"`
	// PrincipalID defaults to the partner's service principal in the tenant.
	PrincipalID string `json:"principalId,omitempty"`
}

// SetOwner grants or revokes Owner on a subscription, as described by
// OwnerChange. It returns whether the principal holds Owner afterwards
// (inheritance included).
func (s *Server) SetOwner(ch OwnerChange) (bool, error) {
	return s.SetRole(RoleChange{Tenant: ch.Tenant, SubscriptionID: ch.SubscriptionID, PrincipalID: ch.PrincipalID, Role: "Owner", Grant: ch.Grant})
}

// RoleChange is the body of POST /_control/role: OwnerChange for any
// built-in role (Owner, Contributor, Reader, User Access Administrator) or
// role definition GUID.
type RoleChange struct {
	Tenant         string `json:"tenant"`
	SubscriptionID string `json:"subscriptionId"`
	PrincipalID    string `json:"principalId,omitempty"`
	Role           string `json:"role"`
	Grant          bool   `json:"grant"`
}

// SetRole grants (a role assignment at the subscription) or revokes (the
// principal's assignments of the role at the subscription scope; those
// inherited from management groups stay) a role, and returns whether the
// principal holds it afterwards, inheritance included.
func (s *Server) SetRole(ch RoleChange) (bool, error) {
	role, err := roleID(ch.Role)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(ch.Tenant)
	if t == nil {
		return false, fmt.Errorf("unknown tenant %q", ch.Tenant)
	}
	st, sub := s.subscription(ch.SubscriptionID)
	if sub == nil || st != t {
		return false, fmt.Errorf("subscription %q is not in tenant %s", ch.SubscriptionID, t.Name)
	}
	principal := strings.ToLower(ch.PrincipalID)
	if principal == "" {
		principal = strings.ToLower(t.PartnerServicePrincipalID)
	}
	scope := canonicalScope("/subscriptions/" + sub.ID)
	if ch.Grant {
		exists := false
		for _, a := range t.assignments {
			if a.roleID == role && a.principalID == principal && strings.EqualFold(a.scope, scope) {
				exists = true
			}
		}
		if !exists {
			t.assignments = append(t.assignments, &assignment{
				name:          assignmentName(scope, role, principal),
				scope:         scope,
				roleID:        role,
				principalID:   principal,
				principalType: t.principalType(principal),
				createdOn:     s.now().UTC(),
			})
		}
	} else {
		kept := t.assignments[:0]
		for _, a := range t.assignments {
			if !(a.roleID == role && a.principalID == principal && strings.EqualFold(a.scope, scope)) {
				kept = append(kept, a)
			}
		}
		t.assignments = kept
	}
	return s.holdsRole(t, sub.ID, principal, role), nil
}

// ConsentChange is the body of POST /_control/consent:
// {"tenant": "contoso", "granted": false} revokes the partner app's admin
// consent, "granted": true grants it again (as the consent page does).
// The control page's forms say the same with revoke.
type ConsentChange struct {
	Tenant  string `json:"tenant"`
	Granted *bool  `json:"granted,omitempty"`
	// Revoke removes consent; false grants it.
	Revoke bool `json:"revoke,omitempty"`
}

// consented is the consent the change asks for.
func (ch ConsentChange) consented() (bool, error) {
	if ch.Granted == nil {
		return !ch.Revoke, nil
	}
	if *ch.Granted && ch.Revoke {
		return false, errors.New(`"granted": true and "revoke": true contradict each other`)
	}
	return *ch.Granted, nil
}

// serveControl serves the control API and page.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request, lower string) {
	form := isForm(r)
	fail := func(status int, err error) {
		if form {
			http.Error(w, err.Error(), status)
			return
		}
		writeJSON(w, status, map[string]string{"error": err.Error()})
	}
	done := func(v any) {
		if form {
			http.Redirect(w, r, "/_control", http.StatusSeeOther)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
	switch {
	case lower == "/_control" && r.Method == http.MethodGet:
		s.serveControlPage(w)
	case lower == "/_control/state" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.State())
	case lower == "/_control/partnercenter" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"customers": s.PartnerCenterCustomers()})
	case lower == "/_control/calls" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Calls())
	case lower == "/_control/rates" && r.Method == http.MethodGet:
		s.serveRates(w, r)
	case lower == "/_control/owner" && r.Method == http.MethodPost:
		var ch OwnerChange
		if err := decodeBody(r, &ch); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		owner, err := s.SetOwner(ch)
		if err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		done(map[string]any{"tenant": ch.Tenant, "subscriptionId": ch.SubscriptionID, "owner": owner})
	case lower == "/_control/role" && r.Method == http.MethodPost:
		var ch RoleChange
		if err := decodeBody(r, &ch); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		held, err := s.SetRole(ch)
		if err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		done(map[string]any{"tenant": ch.Tenant, "subscriptionId": ch.SubscriptionID, "role": ch.Role, "held": held})
	case lower == "/_control/consent" && r.Method == http.MethodPost:
		var ch ConsentChange
		if err := decodeBody(r, &ch); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		consented, err := ch.consented()
		if err == nil {
			err = s.SetConsent(ch.Tenant, consented)
		}
		if err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		done(map[string]any{"tenant": ch.Tenant, "consented": consented})
	case lower == "/_control/faults" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Faults())
	case lower == "/_control/faults" && r.Method == http.MethodPost:
		var f Fault
		if err := decodeBody(r, &f); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		if err := s.SetFault(f); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		done(s.Faults())
	case lower == "/_control/idtoken" && r.Method == http.MethodPost:
		var ch IDTokenTamper
		if err := decodeBody(r, &ch); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		if err := s.SetIDTokenTamper(ch.Tamper); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		done(ch)
	case lower == "/_control/reseller" && r.Method == http.MethodPost:
		var ch ResellerChange
		if err := decodeBody(r, &ch); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		out, err := s.SetReseller(ch, baseURL(r))
		if err != nil {
			fail(controlStatus(err), err)
			return
		}
		done(out)
	case lower == "/_control/gdap" && r.Method == http.MethodPost:
		var ch GDAPChange
		if err := decodeBody(r, &ch); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		out, err := s.ChangeGDAP(ch, baseURL(r))
		if err != nil {
			fail(controlStatus(err), err)
			return
		}
		// The changed relationship (the newest when a tenant's several changed).
		done(out[0])
	case lower == "/_control/transfer" && r.Method == http.MethodPost:
		var ch TransferChange
		if err := decodeBody(r, &ch); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		out, err := s.ChangeTransfer(ch)
		if err != nil {
			fail(controlStatus(err), err)
			return
		}
		done(out)
	case lower == "/_control/entitlement" && r.Method == http.MethodPost:
		var ch EntitlementChange
		if err := decodeBody(r, &ch); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		out, err := s.ChangeEntitlement(ch)
		if err != nil {
			fail(controlStatus(err), err)
			return
		}
		done(out)
	case lower == "/_control/accessassignment" && r.Method == http.MethodPost:
		var ch AccessAssignmentChange
		if err := decodeBody(r, &ch); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		out, err := s.ChangeAccessAssignments(ch)
		if err != nil {
			fail(controlStatus(err), err)
			return
		}
		done(map[string]any{"accessAssignments": out})
	case lower == "/_control/webhooks" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.WebhookState())
	case lower == "/_control/webhooks" && r.Method == http.MethodPost:
		var ch WebhookModeChange
		if err := decodeBody(r, &ch); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		if err := s.SetWebhookMode(ch); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		done(s.WebhookState())
	case lower == "/_control/reset" && r.Method == http.MethodPost:
		s.Reset()
		done(s.State())
	default:
		fail(http.StatusNotFound, fmt.Errorf("no control endpoint %s %s", r.Method, r.URL.Path))
	}
}

// controlStatus is 404 for something the double does not know, else 400.
func controlStatus(err error) int {
	var nf *errNotFound
	if errors.As(err, &nf) {
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

func isForm(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data")
}

// decodeBody reads a JSON body, or an HTML form whose fields carry the same
// names (booleans as "true"/"false", numbers as digits).
func decodeBody(r *http.Request, v any) error {
	if !isForm(r) {
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			return fmt.Errorf("body must be JSON: %w", err)
		}
		return nil
	}
	if err := r.ParseForm(); err != nil {
		return err
	}
	m := map[string]any{}
	for k, vals := range r.PostForm {
		val := vals[0]
		switch {
		case val == "true" || val == "false":
			m[k] = val == "true"
		default:
			if n, err := strconv.Atoi(val); err == nil {
				m[k] = n
			} else {
				m[k] = val
			}
		}
	}
	b, _ := json.Marshal(m)
	return json.Unmarshal(b, v)
}

var controlTemplate = template.Must(template.New("control").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Local Microsoft cloud</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; }
table { border-collapse: collapse; margin-bottom: 1rem; }
th, td { border-bottom: 1px solid #ccc; padding: .3rem .6rem; text-align: left; }
form { display: inline; }
code { font-size: .9em; }
</style>
</head>
<body>
<h1>Local Microsoft cloud</h1>
<p>Partner <strong>{{.Partner.Name}}</strong>, application <code>{{.Partner.AppID}}</code>, home tenant <code>{{.Partner.TenantID}}</code>.
JSON: <a href="/_control/state">/_control/state</a>.</p>
{{range .Tenants}}{{$t := .}}
<h2>Tenant {{.Name}} <small><code>{{.ID}}</code></small></h2>
<p>Administrators: {{range $i, $a := .Admins}}{{if $i}}, {{end}}{{$a}}{{end}}.
Partner service principal <code>{{.PartnerServicePrincipalID}}</code>:
{{if .PartnerConsented}}consented
<form method="post" action="/_control/consent"><input type="hidden" name="tenant" value="{{.Name}}"><input type="hidden" name="revoke" value="true"><button>Revoke consent</button></form>
{{else}}not consented
<form method="post" action="/_control/consent"><input type="hidden" name="tenant" value="{{.Name}}"><input type="hidden" name="revoke" value="false"><button>Grant consent</button></form>
{{end}}
Reseller relationship:
{{if .ResellerRelationship}}accepted
<form method="post" action="/_control/reseller"><input type="hidden" name="tenant" value="{{.Name}}"><input type="hidden" name="accept" value="false"><button>Remove</button></form>
{{else}}not accepted
<form method="post" action="/_control/reseller"><input type="hidden" name="tenant" value="{{.Name}}"><input type="hidden" name="accept" value="true"><button>Accept</button></form>
{{end}}</p>
{{if .Subscriptions}}
<table>
<caption>Subscriptions</caption>
<thead><tr><th scope="col">Subscription</th><th scope="col">Name</th><th scope="col">Management group</th><th scope="col">Partner holds Owner</th><th scope="col"></th></tr></thead>
<tbody>
{{range .Subscriptions}}
<tr><td><code>{{.ID}}</code></td><td>{{.DisplayName}}</td><td>{{.ManagementGroup}}</td><td>{{if .PartnerOwner}}yes{{else}}no{{end}}</td>
<td><form method="post" action="/_control/owner"><input type="hidden" name="tenant" value="{{$t.Name}}"><input type="hidden" name="subscriptionId" value="{{.ID}}">
{{if .PartnerOwner}}<input type="hidden" name="grant" value="false"><button>Revoke Owner</button>{{else}}<input type="hidden" name="grant" value="true"><button>Grant Owner</button>{{end}}
</form></td></tr>
{{end}}
</tbody>
</table>
{{end}}
{{if .RoleAssignments}}
<table>
<caption>Role assignments</caption>
<thead><tr><th scope="col">Scope</th><th scope="col">Role</th><th scope="col">Principal</th><th scope="col">Type</th></tr></thead>
<tbody>
{{range .RoleAssignments}}<tr><td><code>{{.Scope}}</code></td><td>{{.Role}}</td><td><code>{{.PrincipalID}}</code></td><td>{{.PrincipalType}}</td></tr>
{{end}}
</tbody>
</table>
{{end}}
{{end}}
<h2>Azure plan subscriptions in Partner Center</h2>
{{$entitlements := false}}{{range .PartnerCenterCustomers}}{{if index . "azureEntitlements"}}{{$entitlements = true}}{{end}}{{end}}
{{if $entitlements}}
<table>
<thead><tr><th scope="col">Customer</th><th scope="col">Azure subscription</th><th scope="col">Name</th><th scope="col">Azure plan</th><th scope="col">Status</th><th scope="col">Listed</th><th scope="col"></th></tr></thead>
<tbody>
{{range .PartnerCenterCustomers}}{{$tenant := index . "tenant"}}{{range index . "azureEntitlements"}}<tr><td>{{$tenant}}</td><td><code>{{index . "id"}}</code></td><td>{{index . "friendlyName"}}</td><td><code>{{index . "subscriptionId"}}</code></td><td>{{index . "status"}}</td><td>{{if index . "listed"}}yes{{else}}no{{end}}</td>
<td>{{$id := index . "id"}}{{range $st := $.EntitlementStatuses}}<form method="post" action="/_control/entitlement"><input type="hidden" name="tenant" value="{{$tenant}}"><input type="hidden" name="subscriptionId" value="{{$id}}"><input type="hidden" name="status" value="{{$st}}"><button>{{$st}}</button></form> {{end}}<form method="post" action="/_control/entitlement"><input type="hidden" name="tenant" value="{{$tenant}}"><input type="hidden" name="subscriptionId" value="{{$id}}"><input type="hidden" name="remove" value="true"><button>remove</button></form></td></tr>
{{end}}{{end}}
</tbody>
</table>
{{else}}<p>None.</p>{{end}}
<h2>GDAP relationships</h2>
{{if .Relationships}}
<table>
<thead><tr><th scope="col">Relationship</th><th scope="col">Customer</th><th scope="col">Status</th><th scope="col">Ends</th><th scope="col"></th></tr></thead>
<tbody>
{{range .Relationships}}<tr><td>{{index . "displayName"}}<br><code>{{index . "id"}}</code></td><td>{{with index . "customer"}}<code>{{index . "tenantId"}}</code>{{end}}</td><td>{{index . "status"}}</td><td>{{index . "endDateTime"}}</td>
<td>{{$id := index . "id"}}{{range $a := $.GDAPActions}}<form method="post" action="/_control/gdap"><input type="hidden" name="relationshipId" value="{{$id}}"><input type="hidden" name="action" value="{{$a}}"><button>{{$a}}</button></form> {{end}}</td></tr>
{{end}}
</tbody>
</table>
{{else}}<p>None.</p>{{end}}
<h2>Billing transfers</h2>
{{if .Transfers}}
<table>
<thead><tr><th scope="col">Transfer</th><th scope="col">Customer</th><th scope="col">Recipient</th><th scope="col">Status</th><th scope="col"></th></tr></thead>
<tbody>
{{range .Transfers}}{{$p := index . "properties"}}<tr><td><code>{{index . "name"}}</code></td><td><code>{{index . "customerTenantId"}}</code></td><td>{{index $p "recipientEmailId"}}</td><td>{{index $p "transferStatus"}}</td>
<td>{{$id := index . "name"}}{{range $a := $.TransferActions}}<form method="post" action="/_control/transfer"><input type="hidden" name="transferId" value="{{$id}}"><input type="hidden" name="action" value="{{$a}}"><button>{{$a}}</button></form> {{end}}</td></tr>
{{end}}
</tbody>
</table>
{{else}}<p>None.</p>{{end}}
<h2>Webhooks</h2>
<p>{{with .Webhooks.Registration}}Registered <code>{{.WebhookURL}}</code> for {{range $i, $e := .WebhookEvents}}{{if $i}}, {{end}}{{$e}}{{end}}.{{else}}No registration.{{end}}
Delivery mode {{.Webhooks.Mode}}; {{len .Webhooks.Deliveries}} event(s) so far.</p>
<form method="post" action="/_control/webhooks"><label>Mode <select name="mode"><option>normal</option><option>drop</option><option>duplicate</option><option>delay</option></select></label> <button>Set</button></form>
<h2>Faults</h2>
{{if .Faults}}<ul>{{range .Faults}}<li>{{.Call}}: {{.Status}}{{if .RetryAfter}}, Retry-After {{.RetryAfter}}s{{end}}{{if .Count}}, {{.Count}} more{{else}}, until switched off{{end}}</li>{{end}}</ul>{{else}}<p>None.</p>{{end}}
<form method="post" action="/_control/faults">
<label>Call <select name="call"><option>*</option><option>token</option><option>authorize</option><option>adminConsent</option><option>subscriptions</option><option>roleAssignments</option><option>resourceGroups</option><option>resources</option><option>moveResources</option><option>transfers</option><option>partnerCenter</option><option>graph</option></select></label>
<label>Status <input name="status" value="429" size="4"></label>
<label>Retry-After <input name="retryAfter" value="2" size="3"></label>
<label>Count <input name="count" value="3" size="3"></label>
<button>Add fault</button>
</form>
<form method="post" action="/_control/faults"><input type="hidden" name="call" value="*"><input type="hidden" name="off" value="true"><button>Clear faults</button></form>
<h2>Sign-in</h2>
<p>{{.AuthorizationCodes}} authorization code(s) waiting to be redeemed; {{.SignInSessions}} browser session(s) signed in.</p>
<h2>Calls</h2>
<table><tbody>{{range $k, $v := .Calls}}<tr><td>{{$k}}</td><td>{{$v}}</td></tr>{{end}}</tbody></table>
<form method="post" action="/_control/reset"><button>Reset to the scenario</button></form>
</body>
</html>
`))

func (s *Server) serveControlPage(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = controlTemplate.Execute(w, struct {
		State
		GDAPActions         []string
		TransferActions     []string
		EntitlementStatuses []string
	}{s.State(), []string{"approve", "decline", "expire", "terminate"}, []string{"accept", "decline", "expire"}, EntitlementStatuses})
}

// IDTokenTamper is the body of POST /_control/idtoken: how every ID token
// issued from now on is spoiled ("" for none), so tests can show a product
// refuses it.
type IDTokenTamper struct {
	Tamper string `json:"tamper"`
}

// IDTokenTampers are the ways an ID token can be spoiled: another audience,
// a signature by a key the tenant never published, another nonce, the
// issuer of another tenant, already expired.
var IDTokenTampers = []string{"audience", "signature", "nonce", "issuer", "expired"}

// SetIDTokenTamper spoils the ID tokens issued from now on ("" stops it).
func (s *Server) SetIDTokenTamper(how string) error {
	if how != "" && !slices.Contains(IDTokenTampers, how) {
		return fmt.Errorf("unknown tamper %q (want one of %s, or empty)", how, strings.Join(IDTokenTampers, ", "))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idTokenTamper = how
	return nil
}
