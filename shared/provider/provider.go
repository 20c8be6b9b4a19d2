// Package provider is the domain of an Azure provider: its options, statuses,
// allowed transitions, timeline and the request that creates one.
package provider

import (
	"fmt"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
)

// Type is the cloud type of a provider. Only Azure exists in this product.
const TypeAzure = "azure"

// Option is how an Azure provider is connected: the customer's existing
// account as it is (existing), moved under the partner's care (migrate), or a
// new account the partner creates (new).
type Option string

const (
	OptionExisting Option = "existing"
	OptionMigrate  Option = "migrate"
	OptionNew      Option = "new"
)

// OptionInfo describes an option as the UI shows it.
type OptionInfo struct {
	ID             Option `json:"id"`
	Label          string `json:"label"`
	Description    string `json:"description"`
	CloudOptimized bool   `json:"cloudOptimized"`
	AdminOnly      bool   `json:"adminOnly"`
}

// Options is the seed's table, in the order the UI shows it.
var Options = []OptionInfo{
	{
		ID:          OptionExisting,
		Label:       "Use an existing Azure customer account",
		Description: "This is not an optimized option. The customer keeps paying Microsoft for usage.",
	},
	{
		ID:             OptionMigrate,
		Label:          "Migrate my account to the partner for consolidated billing and platform support",
		Description:    "This is a Cloud Optimized option. It moves an existing Azure customer account, and the subscriptions you approve, under the partner's care.",
		CloudOptimized: true,
		AdminOnly:      true,
	},
	{
		ID:             OptionNew,
		Label:          "Create a new Azure customer account",
		Description:    "This is a Cloud Optimized option. It begins the new account creation automation, so the customer enters the partner's care immediately.",
		CloudOptimized: true,
		AdminOnly:      true,
	},
}

// LookupOption returns the option's description and whether it exists.
func LookupOption(o Option) (OptionInfo, bool) {
	for _, info := range Options {
		if info.ID == o {
			return info, true
		}
	}
	return OptionInfo{}, false
}

// OptionsFor returns the options a caller may pick.
func OptionsFor(isAdmin bool) []OptionInfo {
	out := make([]OptionInfo, 0, len(Options))
	for _, o := range Options {
		if o.PickableBy(isAdmin) {
			out = append(out, o)
		}
	}
	return out
}

// PickableBy reports whether a caller may pick the option: the
// administrators' options (AdminOnly) need an administrator.
func (o OptionInfo) PickableBy(isAdmin bool) bool { return !o.AdminOnly || isAdmin }

// CheckPick refuses (admin_required) an option the caller may not pick.
func CheckPick(o Option, isAdmin bool) error {
	if info, _ := LookupOption(o); !info.PickableBy(isAdmin) {
		return apperr.New(apperr.AdminRequired, fmt.Sprintf("Only organization administrators may use the %q option.", o))
	}
	return nil
}

// Status is a provider's lifecycle status; transitions lists the moves
// allowed, and the Provider methods make them.
type Status string

const (
	StatusPendingConsent Status = "pending_consent"
	// StatusAwaitingCustomer: the administrator consented; the customer's
	// other steps (the reseller relationship, the admin relationship and
	// its access assignments) are not all confirmed by Microsoft yet.
	StatusAwaitingCustomer Status = "awaiting_customer"
	// StatusProvisioning: option new, the customer is being created in
	// Partner Center (address, customer, agreement, Azure plan).
	StatusProvisioning        Status = "provisioning"
	StatusAwaitingOwnerAccess Status = "awaiting_owner_access"
	StatusActive              Status = "active"
	StatusDeclined            Status = "declined"
	StatusExpired             Status = "expired"
	StatusFailed              Status = "failed"
	StatusCancelled           Status = "cancelled"
)

// transitions lists, for each status, the statuses it may move to.
var transitions = map[Status][]Status{
	StatusPendingConsent:      {StatusAwaitingCustomer, StatusAwaitingOwnerAccess, StatusConsolidating, StatusActive, StatusDeclined, StatusExpired, StatusFailed, StatusCancelled},
	StatusAwaitingCustomer:    {StatusAwaitingOwnerAccess, StatusConsolidating, StatusActive, StatusFailed, StatusCancelled},
	StatusAwaitingOwnerAccess: {StatusConsolidating, StatusActive, StatusFailed, StatusCancelled},
	StatusConsolidating:       {StatusAwaitingOwnerAccess, StatusActive, StatusFailed, StatusCancelled},
	StatusProvisioning:        {StatusActive, StatusFailed, StatusCancelled},
}

// Terminal reports whether no further transition is possible.
func (s Status) Terminal() bool { return len(transitions[s]) == 0 }

// Statuses are every status, in the lifecycle's order.
var Statuses = []Status{StatusPendingConsent, StatusAwaitingCustomer, StatusProvisioning, StatusAwaitingOwnerAccess, StatusConsolidating, StatusActive,
	StatusDeclined, StatusExpired, StatusFailed, StatusCancelled}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusPendingConsent, StatusAwaitingCustomer, StatusProvisioning, StatusAwaitingOwnerAccess, StatusConsolidating, StatusActive, StatusDeclined, StatusExpired, StatusFailed, StatusCancelled:
		return true
	}
	return false
}

// CanTransition reports whether from → to is allowed. Staying in the same
// non-terminal status is allowed (an event without a status change).
func CanTransition(from, to Status) bool {
	if from == to {
		return !from.Terminal()
	}
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// CheckTransition returns an error naming both statuses when from → to is not allowed.
func CheckTransition(from, to Status) error {
	if !CanTransition(from, to) {
		return fmt.Errorf("provider: transition %s → %s is not allowed", from, to)
	}
	return nil
}

// Event is one entry of a provider's timeline.
type Event struct {
	At     time.Time `json:"at" dynamodbav:"at"`
	Status Status    `json:"status" dynamodbav:"status"`
	// What is a short, human-readable description of what happened.
	What string `json:"what" dynamodbav:"what"`
	// By is who or what did it: "user:<sub>", "system", "azure-admin", "operator:<sub>".
	By string `json:"by" dynamodbav:"by"`
	// Kind names a repeatable kind of event (EventReminderSent, …); Count
	// and FirstAt are set when repeats were folded into it (AddEvent).
	Kind    string     `json:"kind,omitempty" dynamodbav:"kind,omitempty"`
	Count   int        `json:"count,omitempty" dynamodbav:"count,omitempty"`
	FirstAt *time.Time `json:"firstAt,omitempty" dynamodbav:"firstAt,omitempty"`
}

// SubscriptionState is the state of one subscription: whether the partner's
// principal holds Owner on it (or, for option existing, that the customer's
// own application could read it).
type SubscriptionState string

const (
	SubscriptionPending      SubscriptionState = "pending"
	SubscriptionOwned        SubscriptionState = "owned"
	SubscriptionMissingOwner SubscriptionState = "missing_owner"
	SubscriptionNotFound     SubscriptionState = "not_found"
	// SubscriptionVerified: the customer's own application read the
	// subscription with its credentials (option existing); Owner is not
	// checked, the partner does not take the subscription over.
	SubscriptionVerified SubscriptionState = "verified"
)

// Billing arrangements of an active provider.
const (
	// BillingConsolidated: usage is billed through the partner (migrate, new).
	BillingConsolidated = "consolidated"
	// BillingCustomerDirect: the customer keeps paying Microsoft (existing).
	BillingCustomerDirect = "customer_direct"
)

// Subscription is one subscription to be moved and its state.
type Subscription struct {
	ID    string            `json:"id" dynamodbav:"id"`
	State SubscriptionState `json:"state" dynamodbav:"state"`
	// DisplayName is the subscription's name in Azure Resource Manager
	// (displayName), as last observed by a check; "" until then.
	DisplayName string     `json:"displayName,omitempty" dynamodbav:"displayName,omitempty"`
	ConfirmedAt *time.Time `json:"confirmedAt,omitempty" dynamodbav:"confirmedAt,omitempty"`

	// How its billing comes under the partner (RecordRoute): the agreement
	// kind (agreement.Kind) and the quotaId Azure Resource Manager reported
	// it from, the route, why, and what the customer must do on it ("" when
	// nothing); then the transfer request as Azure billing last reported
	// it, why it failed, and when Microsoft confirmed it consolidated.
	Agreement      string     `json:"agreement,omitempty" dynamodbav:"agreement,omitempty"`
	QuotaID        string     `json:"quotaId,omitempty" dynamodbav:"quotaId,omitempty"`
	Route          string     `json:"route,omitempty" dynamodbav:"route,omitempty"`
	RouteReason    string     `json:"routeReason,omitempty" dynamodbav:"routeReason,omitempty"`
	CustomerAction string     `json:"customerAction,omitempty" dynamodbav:"customerAction,omitempty"`
	ClassifiedAt   *time.Time `json:"classifiedAt,omitempty" dynamodbav:"classifiedAt,omitempty"`
	Transfer       *Transfer  `json:"transfer,omitempty" dynamodbav:"transfer,omitempty"`
	FailureReason  string     `json:"failureReason,omitempty" dynamodbav:"failureReason,omitempty"`
	ConsolidatedAt *time.Time `json:"consolidatedAt,omitempty" dynamodbav:"consolidatedAt,omitempty"`
	// Task is the task token of the workflow's wait for this subscription
	// (never shown): what resumes the wait (the move plan's approval) uses it.
	Task string `json:"-" dynamodbav:"task,omitempty"`
}

// Provider is an Azure provider of one account.
//
// For the existing option, ClientID is the customer's own application and
// CredentialSecretARN the Secrets Manager secret holding its client secret:
// the secret itself is never stored here, and the ARN is never shown.
type Provider struct {
	AccountID           string         `json:"accountId" dynamodbav:"accountId"`
	ID                  string         `json:"id" dynamodbav:"id"`
	Name                string         `json:"name" dynamodbav:"name"`
	Type                string         `json:"type" dynamodbav:"type"`
	Option              Option         `json:"option" dynamodbav:"option"`
	Status              Status         `json:"status" dynamodbav:"status"`
	AzureAdminEmail     string         `json:"azureAdminEmail,omitempty" dynamodbav:"azureAdminEmail,omitempty"`
	Subscriptions       []Subscription `json:"subscriptions" dynamodbav:"subscriptions"`
	TenantID            string         `json:"tenantId,omitempty" dynamodbav:"tenantId,omitempty"`
	ClientID            string         `json:"clientId,omitempty" dynamodbav:"clientId,omitempty"`
	CredentialSecretARN string         `json:"-" dynamodbav:"credentialSecretArn,omitempty"`
	Billing             string         `json:"billing,omitempty" dynamodbav:"billing,omitempty"`
	BillingFrom         *time.Time     `json:"billingEffectiveAt,omitempty" dynamodbav:"billingEffectiveAt,omitempty"`
	// Permissions are what the platform holds once active, each as
	// Microsoft showed it and when (stored under a new attribute: the
	// sentences stored before are not read).
	Permissions []Permission `json:"permissions,omitempty" dynamodbav:"observedPermissions,omitempty"`
	// SignedInAt and ConsentedAt are when the administrator's sign-in proved
	// the tenant and when the consent was confirmed in it.
	SignedInAt  *time.Time `json:"-" dynamodbav:"signedInAt,omitempty"`
	ConsentedAt *time.Time `json:"-" dynamodbav:"consentedAt,omitempty"`
	// Relationships are the partner relationships requested and observed
	// (migrate), or the reseller relationship observed (new).
	Relationships  *Relationships `json:"-" dynamodbav:"relationships,omitempty"`
	Invitation     *Invitation    `json:"invitation,omitempty" dynamodbav:"invitation,omitempty"`
	OwnerPrincipal string         `json:"ownerPrincipalId,omitempty" dynamodbav:"ownerPrincipalId,omitempty"`
	PrincipalID    string         `json:"principalId,omitempty" dynamodbav:"principalId,omitempty"`
	// PartnerAppName is the partner application's display name, named
	// beside PrincipalID (RecordPartnerApp).
	PartnerAppName string         `json:"-" dynamodbav:"partnerAppName,omitempty"`
	OwnershipWait  *OwnershipWait `json:"ownershipWait,omitempty" dynamodbav:"ownershipWait,omitempty"`
	// Company is the profile of a new customer (option new); CustomerID is
	// its Partner Center customer id and OrderID the Azure plan's order.
	Company                 *Company      `json:"company,omitempty" dynamodbav:"company,omitempty"`
	CustomerID              string        `json:"-" dynamodbav:"customerId,omitempty"`
	InitialAdmin            *InitialAdmin `json:"initialAdmin,omitempty" dynamodbav:"initialAdmin,omitempty"`
	OrderID                 string        `json:"-" dynamodbav:"orderId,omitempty"`
	SubscriptionsDiscovered bool          `json:"subscriptionsDiscovered,omitempty" dynamodbav:"subscriptionsDiscovered,omitempty"`
	OutcomeEmailSent        bool          `json:"-" dynamodbav:"outcomeEmailSent"`
	OutcomeEmailClaim       string        `json:"-" dynamodbav:"outcomeEmailClaim,omitempty"`
	FailureReason           string        `json:"failureReason,omitempty" dynamodbav:"failureReason,omitempty"`
	// FailureCode names why a failed provider failed, when a rule refused it
	// (FailureTenantAlreadyConnected, FailureMigrationInProgress).
	FailureCode    string    `json:"failureCode,omitempty" dynamodbav:"failureCode,omitempty"`
	ExecutionARN   string    `json:"-" dynamodbav:"executionArn,omitempty"`
	CreatedBy      string    `json:"createdBy" dynamodbav:"createdBy"`
	RequesterName  string    `json:"requesterName,omitempty" dynamodbav:"requesterName,omitempty"`
	RequesterEmail string    `json:"-" dynamodbav:"requesterEmail,omitempty"`
	CreatedAt      time.Time `json:"createdAt" dynamodbav:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt" dynamodbav:"updatedAt"`
	// MovePlan is the move report of the subscriptions whose resources move
	// to the partner's Azure plan subscription, and its approval.
	MovePlan *MovePlan `json:"movePlan,omitempty" dynamodbav:"movePlan,omitempty"`
	// Target is the customer's Azure plan subscription under the partner
	// that the move_resources route moves resources into.
	Target *TargetPlan `json:"targetPlan,omitempty" dynamodbav:"targetPlan,omitempty"`
	// BillingAdminEmail receives the partner transfer requests (the
	// customer's billing administrator; azureAdminEmail when not given).
	BillingAdminEmail string `json:"billingAdminEmail,omitempty" dynamodbav:"billingAdminEmail,omitempty"`
	// Outbox holds the notices this provider's changes must still send, and
	// OutboxSince is when the oldest of the relay's was written (absent when
	// none is pending: the table stream's filter wakes the relay on it).
	Outbox      []OutboxEntry `json:"-" dynamodbav:"outbox,omitempty"`
	OutboxSince *time.Time    `json:"-" dynamodbav:"outboxSince,omitempty"`
	// CancelSince is when the oldest pending cancel_transfer entry was
	// written (absent when none is): the stream's filter wakes the transfer
	// canceller on it, which alone links the Azure SDK for it.
	CancelSince *time.Time `json:"-" dynamodbav:"cancelSince,omitempty"`
	// CurrentStep is the customer's step the migration waits on, since
	// when, and whether the representatives were told it is stuck.
	CurrentStep *StepWaitMark `json:"-" dynamodbav:"currentStep,omitempty"`
	// Health is the last scheduled re-check of an active provider
	// (RecordHealth); GDAPReminders the reminders of the admin
	// relationship's end already sent.
	Health        *Health  `json:"health,omitempty" dynamodbav:"health,omitempty"`
	GDAPReminders []string `json:"-" dynamodbav:"gdapReminders,omitempty"`
	// Version increments on every write; writes are conditional on it.
	Version  int     `json:"version" dynamodbav:"version"`
	Timeline []Event `json:"timeline" dynamodbav:"timeline"`
}

// Invitation is the state of the consent invitation of a migrate provider.
// The link itself is never stored: it is derived from Nonce with a secret key,
// and only its Hash is kept (for lookups).
type Invitation struct {
	Nonce         string     `json:"-" dynamodbav:"nonce"`
	Hash          string     `json:"-" dynamodbav:"hash"`
	SentAt        *time.Time `json:"sentAt,omitempty" dynamodbav:"sentAt,omitempty"`
	ExpiresAt     *time.Time `json:"expiresAt,omitempty" dynamodbav:"expiresAt,omitempty"`
	RemindersSent int        `json:"remindersSent" dynamodbav:"remindersSent"`
	LastSentAt    *time.Time `json:"lastSentAt,omitempty" dynamodbav:"lastSentAt,omitempty"`
	Resends       int        `json:"resends" dynamodbav:"resends"`
	// LastResentAt is when a user last claimed a resend (POST /providers/{id}/resend);
	// resends are at most one per interval from it.
	LastResentAt *time.Time `json:"lastResentAt,omitempty" dynamodbav:"lastResentAt,omitempty"`
	// ResendClaims counts the resends claimed, sent or not (ClaimResend).
	ResendClaims int `json:"-" dynamodbav:"resendClaims,omitempty"`
	// ClaimID identifies the run that claimed the last email, so a run whose
	// claim was written but whose reply was lost knows the claim is its own.
	ClaimID string `json:"-" dynamodbav:"claimId,omitempty"`
}

// InitialAdmin is the new tenant's initial administrator (option new). Its
// password is only in Secrets Manager (SecretARN, never shown) until the
// requester opens the single-use link of the completion email, whose token
// is kept only as a SHA-256 hash; opening it deletes the secret.
type InitialAdmin struct {
	UserName  string     `json:"userName" dynamodbav:"userName"`
	SecretARN string     `json:"-" dynamodbav:"secretArn,omitempty"`
	TokenHash string     `json:"-" dynamodbav:"tokenHash,omitempty"`
	ExpiresAt *time.Time `json:"linkExpiresAt,omitempty" dynamodbav:"expiresAt,omitempty"`
	ViewedAt  *time.Time `json:"viewedAt,omitempty" dynamodbav:"viewedAt,omitempty"`
	// ViewClaim is the id of the request that used the link
	// (RecordCredentialsShown).
	ViewClaim string `json:"-" dynamodbav:"viewClaim,omitempty"`
}

// OwnershipWait tracks the wait for Owner access after consent.
type OwnershipWait struct {
	StartedAt        time.Time  `json:"startedAt" dynamodbav:"startedAt"`
	Deadline         time.Time  `json:"deadline" dynamodbav:"deadline"`
	Checks           int        `json:"checks" dynamodbav:"checks"`
	LastCheckedAt    *time.Time `json:"lastCheckedAt,omitempty" dynamodbav:"lastCheckedAt,omitempty"`
	NotifiedStart    bool       `json:"-" dynamodbav:"notifiedStart"`
	NotifiedDeadline bool       `json:"-" dynamodbav:"notifiedDeadline"`
}

// RecordConsent moves a migration waiting for consent to
// awaiting_customer: the administrator consented in tenantID, and oid is
// the partner app's service principal there (used unless an operator named
// another). It appends the timeline event and reports whether it changed
// anything; a provider past pending_consent is left as it is.
func (p *Provider) RecordConsent(tenantID, oid string, at time.Time) bool {
	if p.Status != StatusPendingConsent {
		return false
	}
	p.Status = StatusAwaitingCustomer
	p.TenantID = tenantID
	t := at
	p.ConsentedAt = &t
	if p.SignedInAt == nil {
		p.SignedInAt = &t
	}
	if p.OwnerPrincipal == "" && oid != "" {
		p.PrincipalID = oid
	}
	p.AddEvent(Event{At: at, Status: p.Status, What: "The Azure administrator consented in tenant " + tenantID + ".", By: "azure-admin"})
	return true
}

// Open reports whether the provider is an unfinished migration.
func (p *Provider) Open() bool { return !p.Status.Terminal() }

// NextStep tells the user, in one sentence, what must happen next.
func (p *Provider) NextStep() string {
	switch p.Status {
	case StatusPendingConsent:
		if inv := p.Invitation; inv != nil && inv.SentAt != nil && inv.ExpiresAt != nil {
			return fmt.Sprintf("The Azure administrator has not completed the consent yet; the link in their email expires on %s.", FormatTime(*inv.ExpiresAt))
		}
		return "The consent email to the Azure administrator is being sent."
	case StatusAwaitingCustomer:
		s := p.relationshipSentence()
		if w := p.Relationships; w != nil && w.Wait != nil {
			s += " The migration fails if this is not done by " + FormatTime(w.Wait.Deadline) + "."
		}
		return s
	case StatusAwaitingOwnerAccess:
		if parts := p.OwnerRequest().Sentences(); len(parts) > 0 {
			return strings.Join(parts, " ")
		}
		return "Checking Owner access on the subscriptions."
	case StatusConsolidating:
		return p.consolidatingSentence()
	case StatusProvisioning:
		return "The new Azure customer account is being created; an Azure plan order can take up to 15 minutes."
	case StatusActive:
		return ""
	case StatusDeclined:
		return "The Azure administrator declined. Create a new provider to try again."
	case StatusExpired:
		return "The invitation expired before the Azure administrator consented. Create a new provider to try again."
	case StatusFailed:
		if p.FailureCode != "" {
			return p.FailureReason
		}
		return "The migration failed. Contact support with this provider's id."
	case StatusCancelled:
		return "The migration was cancelled."
	}
	return ""
}

// SubscriptionIDs are the ids of the provider's subscriptions, in order.
func (p *Provider) SubscriptionIDs() []string {
	ids := make([]string, 0, len(p.Subscriptions))
	for _, s := range p.Subscriptions {
		ids = append(ids, s.ID)
	}
	return ids
}
