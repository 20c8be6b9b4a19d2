// Package signin is the sign-in proof of the customer's Azure administrator:
// who signed in, in which tenant, and whether they may grant tenant-wide
// admin consent. A redirect parameter names a tenant; only an ID token that
// Microsoft signed for the partner's application, carrying the nonce this
// service issued, proves one.
package signin

import (
	"errors"
	"slices"
	"strings"
)

// Directory role template ids (the `wids` claim) that can grant tenant-wide
// admin consent to an application requesting application permissions.
const (
	RoleGlobalAdministrator           = "62e90394-69f5-4237-9190-012177145e10"
	RolePrivilegedRoleAdministrator   = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	RoleCloudApplicationAdministrator = "158c047a-c907-4556-b7ef-446551a6b5f7"
)

// ConsentRoles are the roles that can grant admin consent, with the names
// Microsoft shows, in the order a page lists them.
var ConsentRoles = []struct{ ID, Name string }{
	{RoleGlobalAdministrator, "Global Administrator"},
	{RolePrivilegedRoleAdministrator, "Privileged Role Administrator"},
	{RoleCloudApplicationAdministrator, "Cloud Application Administrator"},
}

// Proof is what a validated ID token says about the person who signed in.
type Proof struct {
	// TenantID is the tenant the user signed in to (tid), lower case.
	TenantID string
	// ObjectID is the user's object id in that tenant (oid).
	ObjectID string
	// Name and Username are for pages and logs (preferred_username is
	// shown to the user, never logged).
	Name     string
	Username string
	// Roles are the directory role template ids (wids).
	Roles []string
}

// CanGrantAdminConsent reports whether the signed-in user holds a directory
// role that can grant tenant-wide admin consent.
func (p Proof) CanGrantAdminConsent() bool {
	for _, r := range ConsentRoles {
		if slices.ContainsFunc(p.Roles, func(w string) bool { return strings.EqualFold(w, r.ID) }) {
			return true
		}
	}
	return false
}

// Errors of Redeem. Each leaves everything as it was.
var (
	// ErrCodeRejected: Microsoft refused the authorization code (used,
	// expired, issued for another PKCE challenge, redirect URI or client).
	ErrCodeRejected = errors.New("signin: the authorization code was refused")
	// ErrTokenInvalid: the ID token failed validation (signature, issuer,
	// audience, expiry, nonce, or a claim missing or malformed).
	ErrTokenInvalid = errors.New("signin: the ID token is not valid")
	// ErrUnavailable: Microsoft did not answer usefully (network, 429, 5xx).
	ErrUnavailable = errors.New("signin: Microsoft's sign-in service is unavailable")
)
