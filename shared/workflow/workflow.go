// Package workflow holds the typed contracts of the migration state machine
// (statemachine/migration.asl.json): the JSON each task receives and returns,
// and the named errors its Retry and Catch rules match.
//
// A Lambda function error's Go type name becomes its errorType, and Step
// Functions matches Retry/Catch on that name; so each error here is its own
// type and the type names are part of the contract with the definition.
package workflow

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
)

// ExecutionName is the Step Functions execution name of a provider's
// migration: one execution per provider, so a repeated start is harmless.
func ExecutionName(providerID string) string { return "provider-" + providerID }

// Input is the execution input, and the part of every task's input that
// names the provider.
type Input struct {
	AccountID  string `json:"accountId"`
	ProviderID string `json:"providerId"`
}

// InviteInput is what AwaitConsent passes to the consent invitation function.
type InviteInput struct {
	Input
	TaskToken    string `json:"taskToken"`
	ExecutionARN string `json:"executionArn"`
}

// InviteOutput is what the invitation function returns (ignored by the
// state machine: the task's result comes from SendTaskSuccess).
type InviteOutput struct {
	Sent string `json:"sent"` // "invitation", "reminder" or "none"
}

// ConsentResult is the output the consent callback sends with SendTaskSuccess.
type ConsentResult struct {
	TenantID    string    `json:"tenantId"`
	ConsentedAt time.Time `json:"consentedAt"`
}

// OwnershipInput is what CheckOwnership passes to the ownership check.
type OwnershipInput struct {
	Input
	TenantID     string `json:"tenantId"`
	ExecutionARN string `json:"executionArn"`
}

// OwnershipOutput is the ownership check's result when every subscription is owned.
type OwnershipOutput struct {
	Subscriptions []provider.Subscription `json:"subscriptions"`
	CheckedAt     time.Time               `json:"checkedAt"`
}

// Steps of the new-customer state machine (statemachine/new-customer.asl.json),
// each a task of the new-customer function.
const (
	StepValidateAddress  = "validate-address"
	StepCreateCustomer   = "create-customer"
	StepAgreement        = "agreement"
	StepOrder            = "order"
	StepWaitSubscription = "wait-subscription"
)

// NewCustomerInput is what each task of the new-customer state machine
// passes to the new-customer function.
type NewCustomerInput struct {
	Input
	Step         string `json:"step"`
	ExecutionARN string `json:"executionArn"`
}

// NewCustomerOutput is a step's result: the customer's tenant once created,
// and the Azure plan's subscriptions once they appeared. The initial admin
// password is never part of it.
type NewCustomerOutput struct {
	Step          string   `json:"step"`
	TenantID      string   `json:"tenantId,omitempty"`
	Subscriptions []string `json:"subscriptions,omitempty"`
}

// TaskError is the error object a Catch puts at its ResultPath.
type TaskError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// OutcomeInput is what the Record* states pass to the outcome recorder.
type OutcomeInput struct {
	Input
	Outcome      provider.Status `json:"outcome"`
	TenantID     string          `json:"tenantId,omitempty"`
	Error        *TaskError      `json:"error,omitempty"`
	ExecutionARN string          `json:"executionArn"`
}

// OutcomeOutput is the provider's status after the outcome was recorded.
type OutcomeOutput struct {
	Status provider.Status `json:"status"`
}

// Named errors. Their type names are matched by the definition.
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
	// InvalidInput is a task input that cannot be processed; retrying won't help.
	InvalidInput struct{ Reason string }
	// UndecodableData means a stored item cannot be decoded (its shape is
	// wrong): a permanent fault, never retried; the execution's catch-all
	// ends it as failed.
	UndecodableData struct{ Reason string }
)

func (e *TransientError) Error() string            { return e.Reason }
func (e *InvitationExpired) Error() string         { return e.Reason }
func (e *ConsentDeclined) Error() string           { return e.Reason }
func (e *OwnershipPending) Error() string          { return e.Reason }
func (e *OwnershipDeadlineExceeded) Error() string { return e.Reason }
func (e *ConsentRevoked) Error() string            { return e.Reason }
func (e *EmailRejected) Error() string             { return e.Reason }
func (e *InvalidInput) Error() string              { return e.Reason }
func (e *SubscriptionPending) Error() string       { return e.Reason }
func (e *DomainTaken) Error() string               { return e.Reason }
func (e *AddressInvalid) Error() string            { return e.Reason }
func (e *PartnerCenterRejected) Error() string     { return e.Reason }
func (e *UndecodableData) Error() string           { return e.Reason }

// ErrorName is the Step Functions error name of err: its type name without
// the pointer, as aws-lambda-go reports it.
func ErrorName(err error) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", err), "*workflow.")
}

// Validate checks the provider reference every task needs.
func (in Input) Validate() error {
	if in.AccountID == "" || in.ProviderID == "" {
		return &InvalidInput{Reason: "accountId and providerId are required"}
	}
	return nil
}

// StoreError names a storage failure for Step Functions: a product error
// (not found, invalid state) cannot be fixed by retrying and becomes
// InvalidInput with its safe message; a stored item that cannot be decoded
// (apperr.ErrUndecodable) is UndecodableData, never retried (the Record*
// states' catch-all retry has MaxAttempts 0 for it); anything else
// (throttling, faults) is a TransientError, retried.
func StoreError(err error) error {
	if errors.Is(err, apperr.ErrUndecodable) {
		return &UndecodableData{Reason: "stored data cannot be decoded"}
	}
	var ae *apperr.Error
	if errors.As(err, &ae) && ae.Code != apperr.Internal {
		return &InvalidInput{Reason: ae.Message}
	}
	return &TransientError{Reason: "storage temporarily unavailable"}
}
