// Package workflow is the adapter of the state machines
// (statemachine/migration.asl.json, statemachine/new-customer.asl.json): the
// JSON each task receives and returns, the task wrapper every task function
// runs in (Run), the named errors their Retry and Catch rules match and the
// one table that names the product's neutral error codes (Named), and the
// Step Functions calls (Tasks, Executions).
//
// A Lambda function error's Go type name becomes its errorType, and Step
// Functions matches Retry/Catch on that name; so each named error is its own
// type and the type names are part of the contract with the definitions.
package workflow

import (
	"fmt"
	"strings"
	"time"

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

// Validate checks the provider reference every task needs.
func (in Input) Validate() error {
	if in.AccountID == "" || in.ProviderID == "" {
		return &InvalidInput{Reason: "accountId and providerId are required"}
	}
	return nil
}

func (in Input) ref() Input { return in }

// InviteInput is what AwaitConsent passes to the consent invitation function.
type InviteInput struct {
	Input
	TaskToken    string `json:"taskToken"`
	ExecutionARN string `json:"executionArn"`
}

// Validate checks the provider reference and the task token to keep.
func (in InviteInput) Validate() error {
	if err := in.Input.Validate(); err != nil {
		return err
	}
	if in.TaskToken == "" {
		return &InvalidInput{Reason: "taskToken is required"}
	}
	return nil
}

func (in InviteInput) logAttrs() []any {
	return []any{"provider_id", in.ProviderID, "execution_arn", in.ExecutionARN}
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

func (in OwnershipInput) logAttrs() []any {
	return []any{"provider_id", in.ProviderID, "execution_arn", in.ExecutionARN}
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

// Validate checks the provider reference and the step.
func (in NewCustomerInput) Validate() error {
	if err := in.Input.Validate(); err != nil {
		return err
	}
	switch in.Step {
	case StepValidateAddress, StepCreateCustomer, StepAgreement, StepOrder, StepWaitSubscription:
		return nil
	}
	return &InvalidInput{Reason: fmt.Sprintf("unknown step %q", in.Step)}
}

func (in NewCustomerInput) logAttrs() []any {
	return []any{"provider_id", in.ProviderID, "execution_arn", in.ExecutionARN, "step", in.Step}
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

// Validate checks the provider reference and that the outcome is one a
// migration ends in.
func (in OutcomeInput) Validate() error {
	if err := in.Input.Validate(); err != nil {
		return err
	}
	switch in.Outcome {
	case provider.StatusActive, provider.StatusDeclined, provider.StatusExpired, provider.StatusFailed:
		return nil
	}
	return &InvalidInput{Reason: fmt.Sprintf("unknown outcome %q", in.Outcome)}
}

func (in OutcomeInput) logAttrs() []any {
	return []any{"provider_id", in.ProviderID, "execution_arn", in.ExecutionARN, "outcome", in.Outcome}
}

// OutcomeOutput is the provider's status after the outcome was recorded.
type OutcomeOutput struct {
	Status provider.Status `json:"status"`
}

// RelationshipRequestInput is what RequestRelationship passes to the
// relationship request (the migration's first task).
type RelationshipRequestInput struct {
	Input
	ExecutionARN string `json:"executionArn"`
}

func (in RelationshipRequestInput) logAttrs() []any {
	return []any{"provider_id", in.ProviderID, "execution_arn", in.ExecutionARN}
}

// RelationshipRequestOutput is the admin relationship requested and its
// status after the lock for approval.
type RelationshipRequestOutput struct {
	RelationshipID string `json:"relationshipId"`
	Status         string `json:"status"`
}

// RelationshipsInput is what AwaitRelationships passes to the relationship
// check: the wait's task token, which the check keeps on the provider while
// something is missing.
type RelationshipsInput struct {
	Input
	TaskToken    string `json:"taskToken"`
	ExecutionARN string `json:"executionArn"`
}

// Validate checks the provider reference and the task token.
func (in RelationshipsInput) Validate() error {
	if err := in.Input.Validate(); err != nil {
		return err
	}
	if in.TaskToken == "" {
		return &InvalidInput{Reason: "taskToken is required"}
	}
	return nil
}

func (in RelationshipsInput) logAttrs() []any {
	return []any{"provider_id", in.ProviderID, "execution_arn", in.ExecutionARN}
}

// RelationshipsOutput is what one run of the relationship check found (the
// state machine takes the wait's result from SendTaskSuccess, not from it).
type RelationshipsOutput struct {
	Outcome string   `json:"outcome"`
	Missing []string `json:"missing,omitempty"`
}

// ClassifyInput is what ClassifySubscriptions passes to the classification
// of the customer's subscriptions.
type ClassifyInput struct {
	Input
	ExecutionARN string `json:"executionArn"`
}

func (in ClassifyInput) logAttrs() []any {
	return []any{"provider_id", in.ProviderID, "execution_arn", in.ExecutionARN}
}

// ClassifyOutput are the subscriptions whose route has not ended: the
// items of the state machine's Map over subscriptions.
type ClassifyOutput struct {
	Subscriptions []string `json:"subscriptions"`
}

// SubscriptionInput is what AdvanceSubscription (in the Map over the
// subscriptions) passes for one subscription: its id and the wait's task
// token, which the provider keeps while the subscription's route runs.
type SubscriptionInput struct {
	Input
	SubscriptionID string `json:"subscriptionId"`
	TaskToken      string `json:"taskToken"`
	ExecutionARN   string `json:"executionArn"`
}

// Validate checks the provider reference, the subscription id and the task
// token.
func (in SubscriptionInput) Validate() error {
	if err := in.Input.Validate(); err != nil {
		return err
	}
	if strings.TrimSpace(in.SubscriptionID) == "" || len(in.SubscriptionID) > 64 {
		return &InvalidInput{Reason: "subscriptionId is required"}
	}
	if in.TaskToken == "" {
		return &InvalidInput{Reason: "taskToken is required"}
	}
	return nil
}

func (in SubscriptionInput) logAttrs() []any {
	return []any{"provider_id", in.ProviderID, "execution_arn", in.ExecutionARN, "subscription_id", in.SubscriptionID}
}
