// Package apperr is the one error type of the product: a code the client can act
// on, a message safe to show, optional details, and the internal cause (logged,
// never returned). Codes map to HTTP status in exactly one place: HTTPStatus.
package apperr

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is a stable, machine-readable error code (spec §4).
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
)

// statusByCode is the single mapping from code to HTTP status.
var statusByCode = map[Code]int{
	InvalidRequest:      http.StatusBadRequest,
	Unauthenticated:     http.StatusUnauthorized,
	AdminRequired:       http.StatusForbidden,
	OperatorRequired:    http.StatusForbidden,
	NotFound:            http.StatusNotFound,
	MethodNotAllowed:    http.StatusMethodNotAllowed,
	NameTaken:           http.StatusConflict,
	DomainTaken:         http.StatusConflict,
	MigrationInProgress: http.StatusConflict,
	InvalidState:        http.StatusConflict,
	IdempotencyConflict: http.StatusConflict,
	BodyTooLarge:        http.StatusRequestEntityTooLarge,
	UnsupportedMedia:    http.StatusUnsupportedMediaType,
	Ineligible:          http.StatusUnprocessableEntity,
	TermsNotAccepted:    http.StatusPreconditionRequired,
	TermsOutdated:       http.StatusPreconditionRequired,
	TooManyRequests:     http.StatusTooManyRequests,
	NotImplemented:      http.StatusNotImplemented,
	Internal:            http.StatusInternalServerError,

	InvalidClientSecret:      http.StatusUnprocessableEntity,
	TenantNotFound:           http.StatusUnprocessableEntity,
	AppNotFound:              http.StatusUnprocessableEntity,
	CredentialsRejected:      http.StatusUnprocessableEntity,
	SubscriptionNotFound:     http.StatusUnprocessableEntity,
	SubscriptionAccessDenied: http.StatusUnprocessableEntity,
	AzureUnavailable:         http.StatusServiceUnavailable,
}

// HTTPStatus returns the HTTP status for a code; unknown codes are 500.
func HTTPStatus(c Code) int {
	if s, ok := statusByCode[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

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
