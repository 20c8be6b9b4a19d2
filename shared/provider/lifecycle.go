package provider

import (
	"errors"
	"fmt"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
)

// OwnerPrincipalID is the principal that must hold Owner on the
// subscriptions: the one an operator named (SetOwnerPrincipal), else the
// partner application's service principal in the customer tenant, known
// once consent (or an ownership check) recorded it; "" before that.
func (p *Provider) OwnerPrincipalID() string {
	if p.OwnerPrincipal != "" {
		return p.OwnerPrincipal
	}
	return p.PrincipalID
}

// SetOwnerPrincipal makes principal (a GUID, lower-cased by the caller; ""
// for the partner application's service principal) the one the ownership
// checks look for, on an unfinished migration; by is the operator. Setting
// the current one changes nothing.
func (p *Provider) SetOwnerPrincipal(principal, by string, now time.Time) error {
	if p.Option != OptionMigrate || p.Status.Terminal() {
		return apperr.New(apperr.InvalidState, "The owner principal can only be set on an unfinished migration.")
	}
	if p.OwnerPrincipal == principal {
		return nil
	}
	p.OwnerPrincipal = principal
	what := "Owner is now checked for principal " + principal + "."
	if principal == "" {
		what = "Owner is now checked for the partner application's service principal."
	}
	p.AddEvent(Event{At: now, Status: p.Status, Kind: EventOwnerPrincipalSet, What: what, By: by})
	return nil
}

// Activate marks the provider active, with what active records: the
// tenant (tenantID when the workflow names one), billing consolidated
// through the partner from now, the permissions the platform holds to work
// for the customer, and the timeline event. The existing option is active
// from its creation (New) and never passes here.
func (p *Provider) Activate(tenantID string, now time.Time) {
	p.Status = StatusActive
	if tenantID != "" {
		p.TenantID = tenantID
	}
	p.Billing = BillingConsolidated
	t := now
	p.BillingFrom = &t
	p.FailureReason = ""
	p.Permissions = p.ObservedPermissions()
	if p.Option == OptionNew {
		p.AddEvent(Event{At: now, Status: StatusActive, What: fmt.Sprintf("New customer account ready: tenant %s with %d Azure plan subscription(s); billing consolidated from now.", p.TenantID, len(p.Subscriptions)), By: "system"})
		return
	}
	p.AddEvent(Event{At: now, Status: StatusActive, What: fmt.Sprintf("Migration complete: %d subscription(s) under the partner's care; billing consolidated from now.", len(p.Subscriptions)), By: "system"})
}

// endReasons are the safe, user-facing reasons a migration stopped, by the
// neutral code of why.
var endReasons = map[apperr.Code]string{
	apperr.ConsentDeclined:              "The Azure administrator declined to authorize the partner.",
	apperr.InvitationExpired:            "The invitation expired before the Azure administrator consented.",
	apperr.OwnershipDeadlineExceeded:    "Owner access was not granted on every subscription before the deadline.",
	apperr.ConsentRevoked:               "The customer tenant revoked the partner's access during the migration.",
	apperr.EmailRejected:                "The consent email could not be delivered to the Azure administrator's address.",
	apperr.Timeout:                      "A step of the migration timed out.",
	apperr.DomainTaken:                  "The onmicrosoft.com domain of the new customer account is already in use.",
	apperr.AddressInvalid:               "Partner Center did not accept the company's address.",
	apperr.Rejected:                     "Partner Center refused to create the new customer account.",
	apperr.SubscriptionPending:          "The Azure plan's subscription did not appear in time.",
	apperr.TenantAlreadyConnected:       "This Azure tenant is already connected to the partner through another organization. Contact the partner to resolve it.",
	apperr.MigrationInProgress:          "This Azure tenant is already being migrated or connected by another provider of this organization; finish or cancel that one first.",
	apperr.RelationshipExpired:          "The admin relationship (GDAP) expired before the customer approved it, or ended. Create a new provider to request a new one.",
	apperr.RelationshipTerminated:       "The admin relationship (GDAP) was declined or terminated in the customer's tenant. Create a new provider to request a new one.",
	apperr.RelationshipRejected:         "Microsoft refused the admin relationship: it was approved in another tenant than the one that signed in, or its access assignment failed. Contact support with the provider id.",
	apperr.RelationshipDeadlineExceeded: "The customer did not accept the reseller relationship and approve the admin relationship before the deadline.",
	apperr.BillingNotConsolidated:       "No subscription's billing could come under the partner; each subscription shows why.",
}

// EndReason is the user-facing reason a migration stopped with outcome
// (declined, expired, failed) because of code ("" when not known). It
// never holds internal detail: an unknown cause is an internal error.
func EndReason(code apperr.Code, outcome Status) string {
	if r, ok := endReasons[code]; ok {
		return r
	}
	switch outcome {
	case StatusDeclined:
		return endReasons[apperr.ConsentDeclined]
	case StatusExpired:
		return endReasons[apperr.InvitationExpired]
	}
	return "An internal error stopped the migration. Contact support with the provider id."
}

// RecordOutcome records the outcome the workflow reached: active
// (Activate, in tenantID when set), or declined, expired or failed with the
// reason for code (EndReason). It reports whether anything changed: an
// outcome recorded already, or a provider that ended meanwhile (cancelled),
// is left as it is. An outcome the lifecycle does not allow from the
// current status is invalid_state.
func (p *Provider) RecordOutcome(outcome Status, tenantID string, code apperr.Code, now time.Time) (bool, error) {
	if p.Status == outcome || p.Status.Terminal() {
		return false, nil
	}
	if err := CheckTransition(p.Status, outcome); err != nil {
		return false, apperr.New(apperr.InvalidState, err.Error())
	}
	if outcome == StatusActive && p.routed() {
		return p.activateRouted(tenantID, now)
	}
	if outcome == StatusActive {
		p.Activate(tenantID, now)
		return true, nil
	}
	p.Status = outcome
	p.FailureReason = EndReason(code, outcome)
	if f := p.RelationshipFailureCode(); f != "" && p.FailureCode == "" && isRelationshipCode(code) {
		p.FailureCode = f
	}
	p.AddEvent(Event{At: now, Status: p.Status, What: p.FailureReason, By: "system"})
	return true, nil
}

// ErrAlreadyCancelled is Cancel's answer for a provider cancelled before.
var ErrAlreadyCancelled = errors.New("provider: already cancelled")

// isRelationshipCode reports whether code ends a migration because of its
// partner relationships.
func isRelationshipCode(code apperr.Code) bool {
	switch code {
	case apperr.RelationshipExpired, apperr.RelationshipTerminated, apperr.RelationshipRejected, apperr.RelationshipDeadlineExceeded:
		return true
	}
	return false
}

// Cancel ends an unfinished migration as cancelled, by a user (by). A
// provider cancelled before is ErrAlreadyCancelled (nothing changes; the
// caller may complete the rest of a cancel again); one that ended
// otherwise is invalid_state.
func (p *Provider) Cancel(by string, now time.Time) error {
	switch {
	case p.Status == StatusCancelled:
		return ErrAlreadyCancelled
	case p.Status.Terminal():
		return apperr.New(apperr.InvalidState, fmt.Sprintf("The migration already ended (its status is %s); it cannot be cancelled.", p.Status))
	}
	if err := CheckTransition(p.Status, StatusCancelled); err != nil {
		return apperr.Wrap(err, "cancel provider")
	}
	p.Status = StatusCancelled
	p.AddEvent(Event{At: now, Status: StatusCancelled, What: "Cancelled by " + by + ".", By: by})
	p.cancelBillingRoutes(now)
	return nil
}

// CheckDelete refuses to delete the provider for a caller: a provider of an
// administrators' option needs an administrator (admin_required), and an
// unfinished migration must be cancelled first (CheckDeletable).
func (p *Provider) CheckDelete(isAdmin bool) error {
	if info, _ := LookupOption(p.Option); !info.PickableBy(isAdmin) {
		return apperr.New(apperr.AdminRequired, fmt.Sprintf("Only organization administrators may delete a provider of the %q option.", p.Option))
	}
	return p.CheckDeletable()
}

// CheckDeletable refuses (invalid_state) to delete an unfinished migration:
// a finished (active, declined, expired, failed) or cancelled provider may go.
func (p *Provider) CheckDeletable() error {
	if p.Open() {
		return apperr.New(apperr.InvalidState, fmt.Sprintf("The provider's migration is not finished (its status is %s); cancel it before deleting it.", p.Status))
	}
	return nil
}

// EndError is the neutral error of a migration that stops for code (a code
// of EndReason), with the user-facing reason as its message.
func EndError(code apperr.Code) *apperr.Error {
	return apperr.New(code, EndReason(code, ""))
}

// CheckCancelBy refuses (admin_required) a cancel by a caller who is not an
// organization administrator: starting a migration is an administrator's
// decision, and so is abandoning one.
func CheckCancelBy(isAdmin bool) error {
	if !isAdmin {
		return apperr.New(apperr.AdminRequired, "Only organization administrators may cancel a migration.")
	}
	return nil
}
