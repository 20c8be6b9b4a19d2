package microsoft

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/google/uuid"
)

// Scenario is the Microsoft cloud the double starts with: the partner and its
// multi-tenant application, and the customer tenants with their users,
// applications, management groups, subscriptions and role assignments. It is
// the "microsoft" key of the local cloud's scenario file.
type Scenario struct {
	// Partner is the partner organization and its application.
	Partner Partner `json:"partner"`
	// PageSize is the number of items per page of Resource Manager lists
	// (subscriptions, role assignments) and Microsoft Graph lists
	// (delegated admin relationships); default 2, so that paging is
	// exercised.
	PageSize int `json:"pageSize,omitempty"`
	// Resources lists the token audiences the token endpoint issues for and
	// Resource Manager accepts; default ["https://management.azure.com",
	// "https://management.core.windows.net"].
	Resources []string `json:"resources,omitempty"`
	// Tenants are the customer tenants. The partner's home tenant is added
	// from Partner unless it is listed here.
	Tenants []Tenant `json:"tenants"`
}

// Partner is the partner organization and its multi-tenant application.
type Partner struct {
	// Name is the partner's display name, shown on the consent page.
	Name string `json:"name"`
	// TenantID is the partner's home tenant id (a GUID).
	TenantID string `json:"tenantId"`
	// TenantName is the partner's home tenant short name.
	TenantName string `json:"tenantName"`
	// Domain is the partner's home tenant domain.
	Domain string `json:"domain"`
	// AppID is the client id of the partner's multi-tenant application.
	AppID string `json:"appId"`
	// AppName is the application's display name.
	AppName string `json:"appName"`
	// ClientSecret is the application's client secret.
	ClientSecret string `json:"clientSecret"`
	// ServicePrincipalID is the object id of the application's service
	// principal in the partner's home tenant.
	ServicePrincipalID string `json:"servicePrincipalId"`
	// RedirectURIs, when not empty, are the registered reply URLs; the
	// admin-consent page then requires an exact match. Either way a
	// redirect URI must be https, or http on localhost/127.0.0.1.
	RedirectURIs []string `json:"redirectUris,omitempty"`
	// BillingAccount and BillingProfile name the partner's Microsoft
	// Partner Agreement billing account and billing profile, under which
	// Azure billing partner transfers are created (billing.go); defaults
	// derived from TenantID.
	BillingAccount string `json:"billingAccount,omitempty"`
	BillingProfile string `json:"billingProfile,omitempty"`
	// BillingEmail is the partner's billing contact, the initiatorEmailId of
	// the transfers its application sends; default billing@{domain}.
	BillingEmail string `json:"billingEmail,omitempty"`
}

// Tenant is a Microsoft Entra tenant with its Azure resources.
type Tenant struct {
	// Name is the tenant's short name (e.g. "contoso"); the double accepts
	// it wherever a tenant id is accepted.
	Name string `json:"name"`
	// ID is the tenant id (a GUID).
	ID string `json:"id"`
	// DisplayName is the organization's name.
	DisplayName string `json:"displayName,omitempty"`
	// Domains are the tenant's verified domains (accepted as tenant names);
	// "<name>.onmicrosoft.com" is always added.
	Domains []string `json:"domains,omitempty"`
	// Users are the tenant's users. Any of them can sign in (the
	// authorization-code flow); those holding a directory role that can
	// grant tenant-wide consent (Global Administrator, Privileged Role
	// Administrator, Cloud Application Administrator) can also consent on the
	// admin-consent page.
	Users []User `json:"users,omitempty"`
	// PartnerServicePrincipalID is the object id the partner application's
	// service principal has (or will have, once consented) in this tenant.
	PartnerServicePrincipalID string `json:"partnerServicePrincipalId"`
	// PartnerConsented tells whether an administrator has already
	// consented to the partner application in this tenant.
	PartnerConsented bool `json:"partnerConsented"`
	// ResellerRelationship tells whether the tenant has already accepted
	// the partner's reseller relationship (it is then among the partner's
	// Partner Center customers).
	ResellerRelationship bool `json:"resellerRelationship,omitempty"`
	// Apps are application registrations owned by the tenant itself.
	Apps []App `json:"apps,omitempty"`
	// ManagementGroups are the tenant's management groups; the tenant root
	// group (named after the tenant id) exists implicitly.
	ManagementGroups []ManagementGroup `json:"managementGroups,omitempty"`
	// Subscriptions are the tenant's Azure subscriptions.
	Subscriptions []Subscription `json:"subscriptions,omitempty"`
	// RoleAssignments are Azure role assignments at scopes of this tenant.
	RoleAssignments []RoleAssignment `json:"roleAssignments,omitempty"`
}

// User is a tenant user.
type User struct {
	// ID is the user's object id.
	ID string `json:"id"`
	// UserPrincipalName is the sign-in name (an email address).
	UserPrincipalName string `json:"userPrincipalName"`
	// DisplayName is the user's name.
	DisplayName string `json:"displayName,omitempty"`
	// Admin marks a Global Administrator (the same as listing "Global
	// Administrator" in Roles).
	Admin bool `json:"admin,omitempty"`
	// Roles are the user's Microsoft Entra directory roles: role template
	// ids, or the names "Global Administrator", "Privileged Role
	// Administrator" and "Cloud Application Administrator". They reach ID
	// tokens as the wids claim.
	Roles []string `json:"roles,omitempty"`
	// BillingOwner marks the owner of the tenant's Enterprise Agreement
	// enrollment (its Enterprise Administrator, an EA billing role, not a
	// directory role): the one who can accept a partner's billing transfer
	// request of the enrollment's subscriptions in the Azure portal.
	BillingOwner bool `json:"billingOwner,omitempty"`
}

// Directory role template ids (Microsoft Entra built-in roles).
const (
	GlobalAdministratorRoleID           = "62e90394-69f5-4237-9190-012177145e10"
	PrivilegedRoleAdministratorRoleID   = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	CloudApplicationAdministratorRoleID = "158c047a-c907-4556-b7ef-446551a6b5f7"
)

var directoryRoleNames = map[string]string{
	"global administrator":            GlobalAdministratorRoleID,
	"privileged role administrator":   PrivilegedRoleAdministratorRoleID,
	"cloud application administrator": CloudApplicationAdministratorRoleID,
}

// directoryRoleID resolves a directory role name or template id.
func directoryRoleID(role string) (string, error) {
	if id, ok := directoryRoleNames[strings.ToLower(strings.TrimSpace(role))]; ok {
		return id, nil
	}
	if _, err := uuid.Parse(role); err == nil && len(role) == 36 {
		return strings.ToLower(role), nil
	}
	return "", fmt.Errorf("unknown directory role %q (use Global Administrator, Privileged Role Administrator, Cloud Application Administrator or a role template id)", role)
}

// DirectoryRoles returns the template ids of the user's directory roles
// (Global Administrator first when Admin is set), without repeats: the wids
// claim of the user's tokens.
func (u User) DirectoryRoles() []string {
	var out []string
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	if u.Admin {
		add(GlobalAdministratorRoleID)
	}
	for _, r := range u.Roles {
		if id, err := directoryRoleID(r); err == nil { // validated
			add(id)
		}
	}
	return out
}

// CanConsent tells whether the user holds a directory role that can grant
// tenant-wide admin consent to an application.
func (u User) CanConsent() bool {
	for _, id := range u.DirectoryRoles() {
		switch id {
		case GlobalAdministratorRoleID, PrivilegedRoleAdministratorRoleID, CloudApplicationAdministratorRoleID:
			return true
		}
	}
	return false
}

// App is a single-tenant application registration with its service principal.
type App struct {
	AppID              string `json:"appId"`
	DisplayName        string `json:"displayName,omitempty"`
	ClientSecret       string `json:"clientSecret"`
	ServicePrincipalID string `json:"servicePrincipalId"`
}

// ManagementGroup is an Azure management group.
type ManagementGroup struct {
	// Name is the group id used in scopes.
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	// Parent is the parent group's name; default the tenant root group.
	Parent string `json:"parent,omitempty"`
}

// Subscription is an Azure subscription.
type Subscription struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	// State is Enabled (default), Warned, PastDue, Disabled or Deleted.
	State string `json:"state,omitempty"`
	// ManagementGroup is the parent management group's name; default the
	// tenant root group.
	ManagementGroup string `json:"managementGroup,omitempty"`
	// QuotaID is the offer the subscription is billed under, reported as
	// subscriptionPolicies.quotaId (PayAsYouGo_2014-09-01 by default;
	// EnterpriseAgreement_2014-09-01, MSDN_2014-09-01, CSP_2015-05-01,
	// FreeTrial_2014-09-01, Sponsored_2016-01-01, ...). A CSP_2015-05-01
	// subscription of a reseller customer is billed by the partner and
	// listed under the customer's Azure plan in Partner Center.
	QuotaID string `json:"quotaId,omitempty"`
	// ResourceGroups are the subscription's resource groups and resources.
	ResourceGroups []ResourceGroup `json:"resourceGroups,omitempty"`
	// TransferError, on a subscription that a billing transfer covers
	// (an Enterprise Agreement one), makes its transfer fail with this
	// error: the transfer then ends CompletedWithErrors.
	TransferError *ErrorInfo `json:"transferError,omitempty"`
}

// ResourceGroup is an Azure resource group with its resources.
type ResourceGroup struct {
	// Name is the group's name (letters, digits, - _ . ( ), at most 90).
	Name string `json:"name"`
	// Location is the group's region; default westeurope.
	Location  string     `json:"location,omitempty"`
	Resources []Resource `json:"resources,omitempty"`
}

// Resource is an Azure resource in a resource group.
type Resource struct {
	Name string `json:"name"`
	// Type is the resource type, "{namespace}/{type}" (e.g.
	// Microsoft.Storage/storageAccounts).
	Type string `json:"type"`
	// Location defaults to the resource group's.
	Location string `json:"location,omitempty"`
	// MoveError, when set, is why Resource Manager refuses to move the
	// resource, as validateMoveResources and moveResources report it per
	// resource: e.g. {"code": "ResourceMoveNotSupported", "message":
	// "Resource move is not supported for resource types
	// 'Microsoft.ContainerInstance/containerGroups'."}. An empty message
	// gets that wording for ResourceMoveNotSupported.
	MoveError *ErrorInfo `json:"moveError,omitempty"`
}

// ErrorInfo is an error code and message as Microsoft words them.
type ErrorInfo struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

// DefaultQuotaID is the quotaId of a subscription that names none.
const DefaultQuotaID = "PayAsYouGo_2014-09-01"

// CSPQuotaID is the quotaId of a subscription billed by a CSP partner.
const CSPQuotaID = "CSP_2015-05-01"

// EAQuotaID is the quotaId of an Enterprise Agreement subscription.
const EAQuotaID = "EnterpriseAgreement_2014-09-01"

// DefaultLocation is the region of resource groups that name none.
const DefaultLocation = "westeurope"

var (
	resourceGroupNameRE = regexp.MustCompile(`^[-\w._()]{1,90}$`)
	resourceTypeRE      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+/[A-Za-z][A-Za-z0-9]*(/[A-Za-z][A-Za-z0-9]*)*$`)
	resourceNameRE      = regexp.MustCompile(`^[-\w.()]{1,260}$`)
	quotaIDRE           = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*_\d{4}-\d{2}-\d{2}$`)
)

// RoleAssignment is an Azure role assignment.
type RoleAssignment struct {
	// Name is the assignment's GUID; derived from the other fields if empty.
	Name string `json:"name,omitempty"`
	// Scope is "/", "/providers/Microsoft.Management/managementGroups/{mg}",
	// "/subscriptions/{id}" or a scope inside a subscription.
	Scope string `json:"scope"`
	// Role is a built-in role name (Owner, Contributor, Reader, User Access
	// Administrator) or a role definition GUID.
	Role string `json:"role"`
	// PrincipalID is the object id of the user, group or service principal.
	PrincipalID string `json:"principalId"`
	// PrincipalType is User, Group or ServicePrincipal; derived from the
	// tenant's users and service principals if empty.
	PrincipalType string `json:"principalType,omitempty"`
}

// Built-in role definition ids.
const (
	OwnerRoleID                   = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	ContributorRoleID             = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	ReaderRoleID                  = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	UserAccessAdministratorRoleID = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
)

var builtInRoles = map[string]string{
	"owner":                     OwnerRoleID,
	"contributor":               ContributorRoleID,
	"reader":                    ReaderRoleID,
	"user access administrator": UserAccessAdministratorRoleID,
}

// roleID resolves a role name or GUID to a role definition GUID.
func roleID(role string) (string, error) {
	if id, ok := builtInRoles[strings.ToLower(role)]; ok {
		return id, nil
	}
	if _, err := uuid.Parse(role); err == nil {
		return strings.ToLower(role), nil
	}
	return "", fmt.Errorf("unknown role %q (use Owner, Contributor, Reader, User Access Administrator or a GUID)", role)
}

// ParseScenario decodes a scenario: either the "microsoft" object itself or a
// whole scenario file that has a "microsoft" key. Unknown fields are errors,
// and the scenario is validated.
func ParseScenario(data []byte) (Scenario, error) {
	var wrapper map[string]json.RawMessage
	if err := json.Unmarshal(data, &wrapper); err != nil {
		return Scenario{}, fmt.Errorf("microsoft scenario: %w", err)
	}
	if inner, ok := wrapper["microsoft"]; ok {
		data = inner
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var sc Scenario
	if err := dec.Decode(&sc); err != nil {
		return Scenario{}, fmt.Errorf("microsoft scenario: %w", err)
	}
	if err := sc.Validate(); err != nil {
		return Scenario{}, err
	}
	return sc, nil
}

// LoadScenario reads and parses a scenario file (see ParseScenario).
func LoadScenario(path string) (Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Scenario{}, fmt.Errorf("microsoft scenario: %w", err)
	}
	return ParseScenario(data)
}

// Validate checks ids, references and uniqueness.
func (sc Scenario) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	isGUID := func(what, v string) {
		if _, err := uuid.Parse(v); err != nil || len(v) != 36 {
			bad("%s %q is not a GUID", what, v)
		}
	}
	p := sc.Partner
	isGUID("partner.tenantId", p.TenantID)
	isGUID("partner.appId", p.AppID)
	isGUID("partner.servicePrincipalId", p.ServicePrincipalID)
	if p.ClientSecret == "" {
		bad("partner.clientSecret is empty")
	}
	if p.TenantName == "" {
		bad("partner.tenantName is empty")
	}
	if p.BillingAccount != "" && !billingNameRE.MatchString(p.BillingAccount) {
		bad("partner.billingAccount %q has characters a billing account name cannot have", p.BillingAccount)
	}
	if p.BillingProfile != "" && !billingNameRE.MatchString(p.BillingProfile) {
		bad("partner.billingProfile %q has characters a billing profile name cannot have", p.BillingProfile)
	}
	if p.BillingEmail != "" && !strings.Contains(p.BillingEmail, "@") {
		bad("partner.billingEmail %q is not an email address", p.BillingEmail)
	}
	if sc.PageSize < 0 {
		bad("pageSize %d is negative", sc.PageSize)
	}
	names := map[string]string{}
	claim := func(kind, key string) {
		k := strings.ToLower(key)
		if prev, ok := names[k]; ok {
			bad("%s %q is already used by %s", kind, key, prev)
		}
		names[k] = kind
	}
	for _, t := range sc.allTenants() {
		isGUID("tenant id", t.ID)
		claim("tenant", t.ID)
		claim("tenant", t.Name)
		for _, d := range t.Domains {
			claim("domain", d)
		}
		if t.PartnerServicePrincipalID != "" {
			isGUID("tenant "+t.Name+" partnerServicePrincipalId", t.PartnerServicePrincipalID)
		}
		mgs := map[string]bool{strings.ToLower(t.ID): true}
		for _, mg := range t.ManagementGroups {
			claim("management group", mg.Name)
			mgs[strings.ToLower(mg.Name)] = true
		}
		for _, mg := range t.ManagementGroups {
			if mg.Parent != "" && !mgs[strings.ToLower(mg.Parent)] {
				bad("management group %q: unknown parent %q", mg.Name, mg.Parent)
			}
		}
		for _, s := range t.Subscriptions {
			isGUID("subscription id", s.ID)
			claim("subscription", s.ID)
			if s.ManagementGroup != "" && !mgs[strings.ToLower(s.ManagementGroup)] {
				bad("subscription %s: unknown management group %q", s.ID, s.ManagementGroup)
			}
			if s.QuotaID != "" && !quotaIDRE.MatchString(s.QuotaID) {
				bad("subscription %s: quotaId %q is not of the form Offer_yyyy-mm-dd", s.ID, s.QuotaID)
			}
			if s.TransferError != nil && s.TransferError.Code == "" {
				bad("subscription %s: transferError needs a code", s.ID)
			}
			validateResourceGroups(s, bad)
		}
		for _, u := range t.Users {
			isGUID("user id", u.ID)
			claim("user", u.UserPrincipalName)
			for _, role := range u.Roles {
				if _, err := directoryRoleID(role); err != nil {
					bad("user %s: %v", u.UserPrincipalName, err)
				}
			}
		}
		for _, a := range t.Apps {
			isGUID("app id", a.AppID)
			isGUID("app servicePrincipalId", a.ServicePrincipalID)
			claim("app", a.AppID)
		}
		for _, ra := range t.RoleAssignments {
			if _, err := roleID(ra.Role); err != nil {
				bad("tenant %s role assignment: %v", t.Name, err)
			}
			isGUID("role assignment principalId", ra.PrincipalID)
			if ra.Name != "" {
				isGUID("role assignment name", ra.Name)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("microsoft scenario: %w", errors.Join(errs...))
	}
	return nil
}

// allTenants returns the scenario's tenants plus the partner's home tenant
// (consented by nature) unless it is listed.
func (sc Scenario) allTenants() []Tenant {
	out := append([]Tenant(nil), sc.Tenants...)
	for _, t := range out {
		if strings.EqualFold(t.ID, sc.Partner.TenantID) {
			return out
		}
	}
	var domains []string
	if sc.Partner.Domain != "" {
		domains = []string{sc.Partner.Domain}
	}
	return append(out, Tenant{
		Name:                      sc.Partner.TenantName,
		ID:                        sc.Partner.TenantID,
		DisplayName:               sc.Partner.Name,
		Domains:                   domains,
		PartnerServicePrincipalID: sc.Partner.ServicePrincipalID,
		PartnerConsented:          true,
	})
}

var billingNameRE = regexp.MustCompile(`^[-\w.:]{1,200}$`)

// validateResourceGroups checks a subscription's resource groups: names,
// types, uniqueness (case-insensitive, as Resource Manager compares) and
// move errors.
func validateResourceGroups(s Subscription, bad func(string, ...any)) {
	groups := map[string]bool{}
	for _, rg := range s.ResourceGroups {
		if !resourceGroupNameRE.MatchString(rg.Name) || strings.HasSuffix(rg.Name, ".") {
			bad("subscription %s: resource group name %q is not valid", s.ID, rg.Name)
		}
		if groups[strings.ToLower(rg.Name)] {
			bad("subscription %s: resource group %q is listed twice", s.ID, rg.Name)
		}
		groups[strings.ToLower(rg.Name)] = true
		seen := map[string]bool{}
		for _, r := range rg.Resources {
			if !resourceTypeRE.MatchString(r.Type) {
				bad("resource group %s: resource %q: type %q is not {namespace}/{type}", rg.Name, r.Name, r.Type)
			}
			if !resourceNameRE.MatchString(r.Name) {
				bad("resource group %s: resource name %q is not valid", rg.Name, r.Name)
			}
			key := strings.ToLower(r.Type + "/" + r.Name)
			if seen[key] {
				bad("resource group %s: resource %s %q is listed twice", rg.Name, r.Type, r.Name)
			}
			seen[key] = true
			if r.MoveError != nil && r.MoveError.Code == "" {
				bad("resource group %s: resource %q: moveError needs a code", rg.Name, r.Name)
			}
		}
	}
}
