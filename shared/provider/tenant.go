package provider

import "time"

// Why a migration's tenant was refused at sign-in (FailureCode).
const (
	// FailureTenantAlreadyConnected: another organization's open or active
	// provider connects the tenant.
	FailureTenantAlreadyConnected = "tenant_already_connected"
	// FailureMigrationInProgress: another open or active provider of the
	// same organization connects the tenant (one migration per account and
	// tenant).
	FailureMigrationInProgress = "migration_in_progress"
)

// HoldsTenant reports whether the provider keeps its tenant to itself: an
// open or active provider does; one that ended (declined, expired, failed,
// cancelled) releases it.
func (p *Provider) HoldsTenant() bool {
	return p.Status == StatusActive || !p.Status.Terminal()
}

// RecordSignIn records that the Azure administrator proved tenantID by
// signing in (a validated ID token), before admin consent. It reports
// whether anything changed: a migration past pending_consent, or one that
// already recorded this tenant, is left as it is.
func (p *Provider) RecordSignIn(tenantID string, at time.Time) bool {
	if p.Status != StatusPendingConsent || p.TenantID == tenantID {
		return false
	}
	p.TenantID = tenantID
	p.AddEvent(Event{At: at, Status: p.Status, What: "The Azure administrator signed in to tenant " + tenantID + "; admin consent is next.", By: "azure-admin"})
	return true
}

// RefuseTenant ends a migration waiting for consent as failed because its
// tenant is connected elsewhere (code: FailureTenantAlreadyConnected or
// FailureMigrationInProgress). The other provider is never named. It
// reports whether anything changed.
func (p *Provider) RefuseTenant(tenantID, code string, at time.Time) bool {
	if p.Status != StatusPendingConsent {
		return false
	}
	p.Status = StatusFailed
	p.TenantID = tenantID
	p.FailureCode = code
	p.FailureReason = TenantRefusalReason(code)
	p.AddEvent(Event{At: at, Status: p.Status, What: p.FailureReason, By: "system"})
	return true
}

// TenantRefusalReason is the user-facing reason for a refused tenant.
func TenantRefusalReason(code string) string {
	if code == FailureMigrationInProgress {
		return "This Azure tenant is already being migrated or connected by another provider of this organization; finish or cancel that one first."
	}
	return "This Azure tenant is already connected to the partner through another organization. Contact the partner to resolve it."
}
