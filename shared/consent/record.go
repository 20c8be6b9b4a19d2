package consent

import "time"

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
}

// Usable reports whether the link still leads to Microsoft sign-in at now.
func (r Record) Usable(now time.Time) bool {
	return r.Status == StatusOpen && now.Before(r.ExpiresAt)
}
