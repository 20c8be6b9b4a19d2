package provider

import (
	"time"

	"github.com/partnercloud/azure/shared/apperr"
)

// Why a migration's tenant was refused at sign-in (FailureCode): the
// neutral codes of the refusal.
const (
	// FailureTenantAlreadyConnected: another organization's open or active
	// provider connects the tenant.
	FailureTenantAlreadyConnected = string(apperr.TenantAlreadyConnected)
	// FailureMigrationInProgress: another open or active provider of the
	// same organization connects the tenant (one migration per account and
	// tenant).
	FailureMigrationInProgress = string(apperr.MigrationInProgress)
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
	t := at
	p.SignedInAt = &t
	p.AddEvent(Event{At: at, Status: p.Status, What: "The Azure administrator signed in to tenant " + tenantID + "; admin consent is next.", By: "azure-admin"})
	return true
}

// TenantRefusal is why a migration of accountID may not connect a tenant
// that another open or active provider, of holderAccountID, holds: one of
// the same organization is migration_in_progress (one migration per account
// and tenant), one of another organization tenant_already_connected. Its
// message is the user-facing reason, which never names the other provider.
func TenantRefusal(accountID, holderAccountID string) *apperr.Error {
	code := apperr.TenantAlreadyConnected
	if holderAccountID == accountID {
		code = apperr.MigrationInProgress
	}
	return apperr.New(code, EndReason(code, StatusFailed))
}

// RefuseTenant ends a migration waiting for consent as failed because its
// tenant is connected elsewhere (refusal: TenantRefusal). It reports
// whether anything changed.
func (p *Provider) RefuseTenant(tenantID string, refusal *apperr.Error, at time.Time) bool {
	if p.Status != StatusPendingConsent {
		return false
	}
	p.Status = StatusFailed
	p.TenantID = tenantID
	p.FailureCode = string(refusal.Code)
	p.FailureReason = refusal.Message
	p.AddEvent(Event{At: at, Status: p.Status, What: p.FailureReason, By: "system"})
	return true
}
