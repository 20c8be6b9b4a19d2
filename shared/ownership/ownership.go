// Package ownership answers one question for a migration: does the partner
// principal hold Owner on each subscription to be moved, in the customer's
// tenant? The Azure implementation uses azidentity, armsubscriptions and
// armauthorization.
package ownership

import (
	"strings"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
)

// OwnerRoleID is the built-in Owner role definition's id (the suffix of
// properties.roleDefinitionId).
const OwnerRoleID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"

// Subscription is the outcome for one subscription: its id and state
// (provider.Subscription, whose ConfirmedAt a check leaves empty).
type Subscription = provider.Subscription

// Result is one check of a tenant.
type Result struct {
	// PrincipalID is the principal whose Owner access was checked.
	PrincipalID   string         `json:"principalId"`
	Subscriptions []Subscription `json:"subscriptions"`
}

// AllOwned reports whether every subscription is owned (and there is one).
func (r Result) AllOwned() bool { return provider.AllOwned(r.Subscriptions) }

// Errors of a check, neutral (apperr codes) so that the API and workflow
// adapters can answer them; test for them with errors.Is.
var (
	// ErrConsentRevoked: the tenant no longer has the partner app's service
	// principal or consent; retrying will not help.
	ErrConsentRevoked = apperr.New(apperr.ConsentRevoked, "The customer tenant no longer trusts the partner application: consent was revoked or the application removed.")
	// ErrUnavailable: Azure throttled or failed after the bounded retries; try later.
	ErrUnavailable = apperr.New(apperr.AzureUnavailable, "Microsoft Azure is not answering right now; nothing was changed. Try again in a few minutes.")
)

// IsOwner reports whether a role definition id is the built-in Owner role.
func IsOwner(roleDefinitionID string) bool {
	return strings.HasSuffix(strings.ToLower(roleDefinitionID), "/"+OwnerRoleID) || strings.EqualFold(roleDefinitionID, OwnerRoleID)
}

// AppliesTo reports whether an assignment at assignmentScope grants access on
// the subscription: at the subscription itself, or inherited from above it
// (the root or a management group). Assignments below it (resource groups,
// resources) do not count.
func AppliesTo(assignmentScope, subscriptionID string) bool {
	scope := strings.ToLower(strings.TrimRight(assignmentScope, "/"))
	sub := "/subscriptions/" + strings.ToLower(subscriptionID)
	switch {
	case scope == "" || scope == sub:
		return true
	case strings.HasPrefix(scope, "/providers/microsoft.management/managementgroups/"):
		return !strings.Contains(strings.TrimPrefix(scope, "/providers/microsoft.management/managementgroups/"), "/")
	}
	return false
}
