// Package apperr is the one error type of the product: a code that says what
// went wrong, a message safe to show, optional details, and the internal
// cause (logged, never returned).
//
// The codes are neutral: the domain packages and the adapters (store, mail,
// ownership, partnercenter) speak only in them. Two adapters translate them,
// each in one table: shared/api to an HTTP status (api.HTTPStatus), and
// shared/workflow to the error name the state machines' Retry and Catch match
// (workflow.Named).
package apperr

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error code. The codes an HTTP client can
// receive are the "code" of the API's error body and never change.
type Code string

const (
	InvalidRequest      Code = "invalid_request"
	Unauthenticated     Code = "unauthenticated"
	AdminRequired       Code = "admin_required"
	OperatorRequired    Code = "operator_required"
	NotFound            Code = "not_found"
	MethodNotAllowed    Code = "method_not_allowed"
	NameTaken           Code = "name_taken"
	MigrationInProgress Code = "migration_in_progress"
	InvalidState        Code = "invalid_state"
	IdempotencyConflict Code = "idempotency_key_reused"
	BodyTooLarge        Code = "body_too_large"
	UnsupportedMedia    Code = "unsupported_media_type"
	Ineligible          Code = "ineligible"
	TermsNotAccepted    Code = "terms_not_accepted"
	TermsOutdated       Code = "terms_outdated"
	TooManyRequests     Code = "too_many_requests"
	NotImplemented      Code = "not_implemented"
	Internal            Code = "internal"

	// Refusals of the customer's own application credentials (option
	// existing): each says what to fix.
	InvalidClientSecret      Code = "invalid_client_secret"
	TenantNotFound           Code = "tenant_not_found"
	AppNotFound              Code = "app_not_found"
	CredentialsRejected      Code = "credentials_rejected"
	SubscriptionNotFound     Code = "subscription_not_found"
	SubscriptionAccessDenied Code = "subscription_access_denied"
	// AzureUnavailable: Microsoft's services throttled or failed; try later.
	AzureUnavailable Code = "azure_unavailable"
	// DomainTaken: the onmicrosoft.com domain prefix of option new is in use.
	DomainTaken Code = "domain_taken"

	// Unavailable: a service the product calls (email, storage) throttled
	// or failed for a passing reason; the same request may succeed later.
	Unavailable Code = "unavailable"
	// Timeout: a step took longer than it may.
	Timeout Code = "timeout"
	// Rejected: a service refused a request for good (Partner Center);
	// repeating it will not help.
	Rejected Code = "rejected"
	// EmailRejected: the mail service refused a message for good (an
	// address that cannot receive email from the partner).
	EmailRejected Code = "email_rejected"

	// How a migration stops before it is active, and the waits on its way.
	ConsentDeclined           Code = "consent_declined"            // the customer's administrator declined
	InvitationExpired         Code = "invitation_expired"          // nobody consented before the invitation expired
	ConsentRevoked            Code = "consent_revoked"             // the customer tenant no longer trusts the partner application
	OwnershipPending          Code = "ownership_pending"           // a subscription still lacks Owner for the partner: check again later
	OwnershipDeadlineExceeded Code = "ownership_deadline_exceeded" // Owner was not granted in time
	TenantAlreadyConnected    Code = "tenant_already_connected"    // another organization's provider connects the tenant
	SubscriptionPending       Code = "subscription_pending"        // a new customer's Azure plan has no subscription yet
	AddressInvalid            Code = "address_invalid"             // Partner Center refused the company's address

	// The partner relationships (reseller relationship, GDAP and its
	// access assignments), as Microsoft reports them.
	RelationshipPending    Code = "relationship_pending"    // awaits the customer or Microsoft: check again later
	RelationshipExpired    Code = "relationship_expired"    // the admin relationship (or its request) expired
	RelationshipTerminated Code = "relationship_terminated" // the admin relationship was terminated (or is being)
	RelationshipRejected   Code = "relationship_rejected"   // Microsoft Graph refused the relationship request for good
	// RelationshipDeadlineExceeded: the customer did not complete the
	// relationship steps before the wait's deadline.
	RelationshipDeadlineExceeded Code = "relationship_deadline_exceeded"
	// BillingNotConsolidated: no subscription's billing could come under
	// the partner by the deadline.
	BillingNotConsolidated Code = "billing_not_consolidated"
)

// Detail is one entry of an error's details: a field problem or a reason code.
type Detail struct {
	Field   string `json:"field,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

// Error is the product's error. Message and Details are safe for clients;
// Cause is for logs only.
type Error struct {
	Code    Code
	Message string
	Details []Detail
	// Extra holds additional safe, top-level fields of the error body
	// (for example the contact address of an eligibility refusal).
	Extra map[string]any
	Cause error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Cause }

// New returns an Error with a code and a safe message.
func New(code Code, msg string, details ...Detail) *Error {
	return &Error{Code: code, Message: msg, Details: details}
}

// Wrap returns an internal error carrying cause for the logs only.
func Wrap(cause error, msg string) *Error {
	return &Error{Code: Internal, Message: "An internal error occurred.", Cause: fmt.Errorf("%s: %w", msg, cause)}
}

// ErrUndecodable is the cause, inside an internal error, of stored data that
// cannot be decoded (an item of the wrong shape). Retrying cannot fix it: the
// same bytes decode the same way. Test for it with errors.Is.
var ErrUndecodable = errors.New("stored data cannot be decoded")

// Undecodable returns the internal error of stored data that cannot be
// decoded: what names the data (e.g. "decode provider"), cause is the
// decoder's error. Clients see internal (500); errors.Is(err,
// ErrUndecodable) tells it from a fault worth retrying.
func Undecodable(cause error, what string) *Error {
	return &Error{Code: Internal, Message: "An internal error occurred.", Cause: fmt.Errorf("%s: %w: %w", what, ErrUndecodable, cause)}
}

// As extracts an *Error from err; anything else becomes an internal error whose
// cause is err (so its text is logged but never shown).
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: Internal, Message: "An internal error occurred.", Cause: err}
}

// Is reports whether err is an *Error with the given code.
func Is(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
