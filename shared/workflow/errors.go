package workflow

import (
	"errors"
	"fmt"
	"strings"

	"github.com/partnercloud/azure/shared/apperr"
)

// Named errors: the errors the state machines' Retry and Catch rules match,
// and the errors SendTaskFailure and StopExecution send. Their type names are
// the names in the definitions; no other package writes them. A task returns
// any error and Run names it (Named).
type (
	// TransientError is worth retrying: throttling, a 5xx, a timeout.
	TransientError struct{ Reason string }
	// InvitationExpired ends the consent wait: the invitation's expiry passed.
	InvitationExpired struct{ Reason string }
	// ConsentDeclined is the SendTaskFailure error when the administrator declines.
	ConsentDeclined struct{ Reason string }
	// OwnershipPending means some subscription still lacks Owner: check again later.
	OwnershipPending struct{ Reason string }
	// OwnershipDeadlineExceeded ends the ownership wait as failed.
	OwnershipDeadlineExceeded struct{ Reason string }
	// ConsentRevoked means the customer tenant no longer trusts the partner app.
	ConsentRevoked struct{ Reason string }
	// EmailRejected means SES refused the address for good.
	EmailRejected struct{ Reason string }
	// SubscriptionPending means the Azure plan's subscription has not
	// appeared yet: list again later.
	SubscriptionPending struct{ Reason string }
	// DomainTaken means the new customer's onmicrosoft.com domain is in use.
	DomainTaken struct{ Reason string }
	// AddressInvalid means Partner Center refused the company's address.
	AddressInvalid struct{ Reason string }
	// PartnerCenterRejected means Partner Center refused a request for good.
	PartnerCenterRejected struct{ Reason string }
	// TenantAlreadyConnected is the SendTaskFailure error when the signed-in
	// tenant is connected through another organization's provider.
	TenantAlreadyConnected struct{ Reason string }
	// MigrationInProgress is the SendTaskFailure error when another open or
	// active provider of the same organization connects the signed-in tenant.
	MigrationInProgress struct{ Reason string }
	// RelationshipPending means a partner relationship step (the reseller
	// relationship, the admin relationship or an access assignment) still
	// awaits the customer or Microsoft: check again later.
	RelationshipPending struct{ Reason string }
	// RelationshipExpired means the admin relationship or its request expired.
	RelationshipExpired struct{ Reason string }
	// RelationshipTerminated means the admin relationship was terminated.
	RelationshipTerminated struct{ Reason string }
	// RelationshipRejected means Microsoft Graph refused the admin
	// relationship request (or an access assignment) for good.
	RelationshipRejected struct{ Reason string }
	// RelationshipDeadlineExceeded ends the wait for the relationships as
	// failed: the customer did not complete them before the deadline.
	RelationshipDeadlineExceeded struct{ Reason string }
	// BillingNotConsolidated ends a migration as failed: no subscription's
	// billing could come under the partner.
	BillingNotConsolidated struct{ Reason string }
	// Cancelled is the StopExecution error of a migration a user cancelled.
	Cancelled struct{ Reason string }
	// InvalidInput is a task input that cannot be processed; retrying won't help.
	InvalidInput struct{ Reason string }
	// UndecodableData means a stored item cannot be decoded (its shape is
	// wrong): a permanent fault, never retried; the execution's catch-all
	// ends it as failed.
	UndecodableData struct{ Reason string }
)

func (e *TransientError) Error() string               { return e.Reason }
func (e *InvitationExpired) Error() string            { return e.Reason }
func (e *ConsentDeclined) Error() string              { return e.Reason }
func (e *OwnershipPending) Error() string             { return e.Reason }
func (e *OwnershipDeadlineExceeded) Error() string    { return e.Reason }
func (e *ConsentRevoked) Error() string               { return e.Reason }
func (e *EmailRejected) Error() string                { return e.Reason }
func (e *SubscriptionPending) Error() string          { return e.Reason }
func (e *DomainTaken) Error() string                  { return e.Reason }
func (e *AddressInvalid) Error() string               { return e.Reason }
func (e *PartnerCenterRejected) Error() string        { return e.Reason }
func (e *TenantAlreadyConnected) Error() string       { return e.Reason }
func (e *MigrationInProgress) Error() string          { return e.Reason }
func (e *RelationshipPending) Error() string          { return e.Reason }
func (e *RelationshipExpired) Error() string          { return e.Reason }
func (e *RelationshipTerminated) Error() string       { return e.Reason }
func (e *RelationshipRejected) Error() string         { return e.Reason }
func (e *RelationshipDeadlineExceeded) Error() string { return e.Reason }
func (e *BillingNotConsolidated) Error() string       { return e.Reason }
func (e *Cancelled) Error() string                    { return e.Reason }
func (e *InvalidInput) Error() string                 { return e.Reason }
func (e *UndecodableData) Error() string              { return e.Reason }

// named marks the named errors, so that Named passes them through.
type named interface {
	error
	named()
}

func (*TransientError) named()               {}
func (*InvitationExpired) named()            {}
func (*ConsentDeclined) named()              {}
func (*OwnershipPending) named()             {}
func (*OwnershipDeadlineExceeded) named()    {}
func (*ConsentRevoked) named()               {}
func (*EmailRejected) named()                {}
func (*SubscriptionPending) named()          {}
func (*DomainTaken) named()                  {}
func (*AddressInvalid) named()               {}
func (*PartnerCenterRejected) named()        {}
func (*TenantAlreadyConnected) named()       {}
func (*MigrationInProgress) named()          {}
func (*RelationshipPending) named()          {}
func (*RelationshipExpired) named()          {}
func (*RelationshipTerminated) named()       {}
func (*RelationshipRejected) named()         {}
func (*RelationshipDeadlineExceeded) named() {}
func (*BillingNotConsolidated) named()       {}
func (*Cancelled) named()                    {}
func (*InvalidInput) named()                 {}
func (*UndecodableData) named()              {}

// names is the one table from the product's neutral error codes to the
// errors of the state machines. The first code of a name is the one CodeOf
// gives back for it. A code the table does not hold is a product error
// (not found, invalid state, …) that retrying cannot fix: InvalidInput.
var names = []struct {
	code  apperr.Code
	named func(reason string) error
}{
	{apperr.Unavailable, func(r string) error { return &TransientError{Reason: r} }},
	{apperr.AzureUnavailable, func(r string) error { return &TransientError{Reason: r} }},
	{apperr.Internal, func(r string) error { return &TransientError{Reason: r} }},
	{apperr.ConsentDeclined, func(r string) error { return &ConsentDeclined{Reason: r} }},
	{apperr.InvitationExpired, func(r string) error { return &InvitationExpired{Reason: r} }},
	{apperr.ConsentRevoked, func(r string) error { return &ConsentRevoked{Reason: r} }},
	{apperr.OwnershipPending, func(r string) error { return &OwnershipPending{Reason: r} }},
	{apperr.OwnershipDeadlineExceeded, func(r string) error { return &OwnershipDeadlineExceeded{Reason: r} }},
	{apperr.EmailRejected, func(r string) error { return &EmailRejected{Reason: r} }},
	{apperr.TenantAlreadyConnected, func(r string) error { return &TenantAlreadyConnected{Reason: r} }},
	{apperr.MigrationInProgress, func(r string) error { return &MigrationInProgress{Reason: r} }},
	{apperr.SubscriptionPending, func(r string) error { return &SubscriptionPending{Reason: r} }},
	{apperr.DomainTaken, func(r string) error { return &DomainTaken{Reason: r} }},
	{apperr.AddressInvalid, func(r string) error { return &AddressInvalid{Reason: r} }},
	{apperr.Rejected, func(r string) error { return &PartnerCenterRejected{Reason: r} }},
	{apperr.RelationshipPending, func(r string) error { return &RelationshipPending{Reason: r} }},
	{apperr.RelationshipExpired, func(r string) error { return &RelationshipExpired{Reason: r} }},
	{apperr.RelationshipTerminated, func(r string) error { return &RelationshipTerminated{Reason: r} }},
	{apperr.RelationshipRejected, func(r string) error { return &RelationshipRejected{Reason: r} }},
	{apperr.RelationshipDeadlineExceeded, func(r string) error { return &RelationshipDeadlineExceeded{Reason: r} }},
	{apperr.BillingNotConsolidated, func(r string) error { return &BillingNotConsolidated{Reason: r} }},
}

// builtIn are the errors Step Functions itself raises that the product
// tells apart, by the neutral code of what happened.
var builtIn = map[string]apperr.Code{"States.Timeout": apperr.Timeout}

// Named returns err as the named error the state machines match: a named
// error as it is; an *apperr.Error by its code (the names table), with its
// safe message as the reason; stored data that cannot be decoded
// (apperr.ErrUndecodable) as UndecodableData, never retried; and any other
// error (a fault of a service the task calls) as TransientError, retried.
// The reason of a fault never carries its text.
func Named(err error) error {
	if err == nil {
		return nil
	}
	var n named
	if errors.As(err, &n) {
		return n
	}
	if errors.Is(err, apperr.ErrUndecodable) {
		return &UndecodableData{Reason: "stored data cannot be decoded"}
	}
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		return &TransientError{Reason: "a service the task calls failed; will retry"}
	}
	for _, n := range names {
		if n.code == ae.Code {
			return n.named(ae.Message)
		}
	}
	return &InvalidInput{Reason: ae.Message}
}

// ErrorName is the Step Functions error name err reaches the state machine
// with: the type name of Named(err), as aws-lambda-go reports it.
func ErrorName(err error) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", Named(err)), "*workflow.")
}

// Failure is the error name and cause SendTaskFailure sends for err.
func Failure(err error) (name, cause string) {
	n := Named(err)
	return ErrorName(n), n.Error()
}

// CodeOf is the neutral code of a Step Functions error name (the Error a
// Catch put at its ResultPath), or "" for a name the product does not tell
// apart (a Lambda fault, say).
func CodeOf(name string) apperr.Code {
	if code, ok := builtIn[name]; ok {
		return code
	}
	for _, n := range names {
		if ErrorName(n.named("")) == name {
			return n.code
		}
	}
	return ""
}
