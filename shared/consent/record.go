package consent

import (
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
)

// Status is the state of an invitation record.
type Status string

const (
	StatusOpen      Status = "open"
	StatusConsented Status = "consented"
	StatusDeclined  Status = "declined"
	StatusCancelled Status = "cancelled"
	StatusExpired   Status = "expired"
	// StatusRefused: the administrator signed in to a tenant that another
	// provider already connects (provider.RefuseTenant).
	StatusRefused Status = "refused"
)

// Bounds on the states a landing page issues for one invitation: each view
// issues one, and a script reloading the page must not mint without end.
const (
	StateMintWindow    = time.Hour
	MaxStatesPerWindow = 30
)

// Record is what is stored behind an invitation link, keyed by the hash of
// the invitation id: which provider it belongs to, the Step Functions task
// token waiting for the callback (server-side only, never in a link), and
// how it ended.
type Record struct {
	Hash        string     `dynamodbav:"hash"`
	AccountID   string     `dynamodbav:"accountId"`
	ProviderID  string     `dynamodbav:"providerId"`
	TaskToken   string     `dynamodbav:"taskToken"`
	Status      Status     `dynamodbav:"status"`
	ExpiresAt   time.Time  `dynamodbav:"linkExpiresAt"`
	TenantID    string     `dynamodbav:"tenantId,omitempty"`
	ConsentedAt *time.Time `dynamodbav:"consentedAt,omitempty"`
	UpdatedAt   time.Time  `dynamodbav:"updatedAt"`
	// Refusal is why a refused invitation was refused (the code of
	// provider.RefuseTenant's refusal).
	Refusal apperr.Code `dynamodbav:"refusal,omitempty"`
	// ResumeSince is set, in the write that closes the invitation, when the
	// workflow's wait must be told how it ended (ResumesWorkflow): the
	// table's stream wakes the outbox relay, which resumes the wait with the
	// task token and removes it. So the public pages never call Step
	// Functions themselves, and a resume that fails is retried, not lost.
	ResumeSince *time.Time `dynamodbav:"resumeSince,omitempty"`
}

// ResumesWorkflow reports whether closing an invitation with this status
// must resume the workflow's AwaitConsent wait: the administrator's
// decision (consented, declined) or a refused tenant. Cancel and expiry end
// the wait by themselves.
func (s Status) ResumesWorkflow() bool {
	return s == StatusConsented || s == StatusDeclined || s == StatusRefused
}

// Usable reports whether the link still leads to Microsoft sign-in at now.
func (r Record) Usable(now time.Time) bool {
	return r.Status == StatusOpen && now.Before(r.ExpiresAt)
}

// Reasons an invitation link no longer leads to Microsoft sign-in.
const (
	ClosedExpired   = "expired"
	ClosedUsed      = "used"
	ClosedCancelled = "cancelled"
	ClosedDeclined  = "declined"
	ClosedOther     = "closed"
)

// ClosedReason says why the invitation of provider p can no longer be used
// at now, or "" when it can. The provider's status counts as much as the
// record's: a cancelled migration closes the link even if the record lags
// behind.
func ClosedReason(r *Record, p *provider.Provider, now time.Time) string {
	switch p.Status {
	case provider.StatusCancelled:
		return ClosedCancelled
	case provider.StatusDeclined:
		return ClosedDeclined
	case provider.StatusExpired:
		return ClosedExpired
	case provider.StatusFailed:
		return ClosedOther
	case provider.StatusAwaitingCustomer, provider.StatusAwaitingOwnerAccess, provider.StatusConsolidating, provider.StatusActive:
		return ClosedUsed
	}
	switch r.Status {
	case StatusConsented:
		return ClosedUsed
	case StatusDeclined:
		return ClosedDeclined
	case StatusCancelled:
		return ClosedCancelled
	case StatusExpired:
		return ClosedExpired
	case StatusRefused:
		return ClosedOther
	}
	if !r.Usable(now) {
		return ClosedExpired
	}
	return ""
}

// ClosedBy is how the invitation record of a migration closes when the
// migration ends with outcome (declined, expired, failed): a failed one's
// link is cancelled.
func ClosedBy(outcome provider.Status) Status {
	switch outcome {
	case provider.StatusDeclined:
		return StatusDeclined
	case provider.StatusExpired:
		return StatusExpired
	}
	return StatusCancelled
}
