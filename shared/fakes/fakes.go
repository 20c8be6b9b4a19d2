// Package fakes holds the test doubles of the adapters the functions call,
// one per adapter, for every function's tests: Mailer (ses.SES), Tasks
// (stepfunctions.Tasks), Executions (stepfunctions.Executions), Secrets (secret.Store
// and secret.Get) and FaultyStore (store.Store with injected faults). Each
// is safe for concurrent use, records what it was asked, and fails when
// told to. The compile-time checks below keep each fake's methods those of
// the adapter it stands in for. For tests only.
package fakes

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/mail/ses"
	"github.com/partnercloud/azure/shared/secret"
	"github.com/partnercloud/azure/shared/workflow"
	"github.com/partnercloud/azure/shared/workflow/stepfunctions"
)

// The methods each fake shares with its adapter.
type (
	sender interface {
		Send(ctx context.Context, m mail.Message) (string, error)
	}
	taskResumer interface {
		Succeed(ctx context.Context, token string, output any) error
		Fail(ctx context.Context, token, name, cause string) error
	}
	executions interface {
		Start(ctx context.Context, in workflow.Input) (string, error)
		Stop(ctx context.Context, executionARN, cause string) error
	}
	secretKeeper interface {
		Create(ctx context.Context, name, value string, tags map[string]string) (string, error)
		CreateOnce(ctx context.Context, name, value string, tags map[string]string) (string, error)
		Delete(ctx context.Context, arn string) error
	}
	secretReader interface {
		Get(ctx context.Context, arn string) ([]byte, error)
	}
)

var (
	_ sender       = (*ses.SES)(nil)
	_ sender       = (*Mailer)(nil)
	_ taskResumer  = (*stepfunctions.Tasks)(nil)
	_ taskResumer  = (*Tasks)(nil)
	_ executions   = (*stepfunctions.Executions)(nil)
	_ executions   = (*Executions)(nil)
	_ secretKeeper = (*secret.Store)(nil)
	_ secretKeeper = (*Secrets)(nil)
	_ secretReader = (*Secrets)(nil)
)

// Mailer keeps the messages it sends. With Err set every send fails with
// it; with Failures too, only the first Failures sends do.
type Mailer struct {
	mu       sync.Mutex
	Sent     []mail.Message
	Err      error
	Failures int
	// Attempts counts the sends asked for, failed ones included.
	Attempts int
}

// Send keeps m, or fails as told.
func (f *Mailer) Send(_ context.Context, m mail.Message) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Attempts++
	if f.Err != nil && (f.Failures == 0 || f.Attempts <= f.Failures) {
		return "", f.Err
	}
	f.Sent = append(f.Sent, m)
	return fmt.Sprintf("msg-%d", len(f.Sent)), nil
}

// Count is how many messages were sent.
func (f *Mailer) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.Sent)
}

// TaskFailure is one SendTaskFailure.
type TaskFailure struct{ Token, Name, Cause string }

// Tasks records the waiting tasks resumed. Errs are returned by successive
// calls, the last one again once the others are used (none: success).
type Tasks struct {
	mu        sync.Mutex
	Succeeded []string // task tokens
	Outputs   []any
	Failed    []TaskFailure
	Errs      []error
}

func (f *Tasks) next() error {
	if len(f.Errs) == 0 {
		return nil
	}
	err := f.Errs[0]
	if len(f.Errs) > 1 {
		f.Errs = f.Errs[1:]
	}
	return err
}

// Succeed records a SendTaskSuccess.
func (f *Tasks) Succeed(_ context.Context, token string, out any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Succeeded = append(f.Succeeded, token)
	f.Outputs = append(f.Outputs, out)
	return f.next()
}

// Fail records a SendTaskFailure.
func (f *Tasks) Fail(_ context.Context, token, name, cause string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Failed = append(f.Failed, TaskFailure{token, name, cause})
	return f.next()
}

// Counts are the numbers of successes and failures sent.
func (f *Tasks) Counts() (succeeded, failed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.Succeeded), len(f.Failed)
}

// Executions records the executions started and stopped; the ARN of a
// started one is the one Step Functions gives the provider's execution of
// StateMachineARN. Err makes every call fail.
type Executions struct {
	mu              sync.Mutex
	StateMachineARN string
	Inputs          []workflow.Input
	Stopped         []string
	Causes          []string
	Err             error
}

// Start records in.
func (f *Executions) Start(_ context.Context, in workflow.Input) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Inputs = append(f.Inputs, in)
	if f.Err != nil {
		return "", f.Err
	}
	return workflow.ExecutionARN(f.StateMachineARN, in.ProviderID), nil
}

// Stop records the execution stopped, unless Err.
func (f *Executions) Stop(_ context.Context, arn, cause string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return f.Err
	}
	f.Stopped, f.Causes = append(f.Stopped, arn), append(f.Causes, cause)
	return nil
}

// Started is a copy of the inputs started.
func (f *Executions) Started() []workflow.Input {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.Inputs)
}

// StoppedCount is how many executions were stopped.
func (f *Executions) StoppedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.Stopped)
}

// SetErr makes the calls from now on fail with err (nil: succeed).
func (f *Executions) SetErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Err = err
}

// Secret is a secret the Secrets fake holds.
type Secret struct {
	Name, Value string
	Tags        map[string]string
}

// Secrets is an in-memory Secrets Manager, by ARN (ARN(name) for the
// secrets it creates). CreateErr, GetErr and DeleteErr make those calls
// fail; deleting an absent secret is not an error, as with secret.Store.
type Secrets struct {
	mu      sync.Mutex
	live    map[string]Secret
	Creates int
	Deletes int
	// Deleted are the ARNs asked to be deleted, in order.
	Deleted                      []string
	CreateErr, GetErr, DeleteErr error
}

// ARN is the ARN Secrets gives the secret of name.
func ARN(name string) string {
	return "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + name + "-AbCdEf"
}

// Create keeps a new secret and returns its ARN.
func (f *Secrets) Create(_ context.Context, name, value string, tags map[string]string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Creates++
	if f.CreateErr != nil {
		return "", f.CreateErr
	}
	arn := ARN(name)
	if _, taken := f.live[arn]; taken {
		return "", fmt.Errorf("ResourceExistsException: %s", name)
	}
	f.put(arn, Secret{Name: name, Value: value, Tags: tags})
	return arn, nil
}

// CreateOnce is Create, except that a secret named name that exists already
// answers its ARN and keeps its value (secret.Store.CreateOnce).
func (f *Secrets) CreateOnce(ctx context.Context, name, value string, tags map[string]string) (string, error) {
	f.mu.Lock()
	_, taken := f.live[ARN(name)]
	f.mu.Unlock()
	if taken && f.CreateErr == nil {
		return ARN(name), nil
	}
	return f.Create(ctx, name, value, tags)
}

// Get returns a secret's value.
func (f *Secrets) Get(_ context.Context, arn string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.GetErr != nil {
		return nil, f.GetErr
	}
	s, ok := f.live[arn]
	if !ok {
		return nil, errors.New("ResourceNotFoundException: " + arn)
	}
	return []byte(s.Value), nil
}

// Delete deletes a secret at once.
func (f *Secrets) Delete(_ context.Context, arn string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Deletes++
	f.Deleted = append(f.Deleted, arn)
	if f.DeleteErr != nil {
		return f.DeleteErr
	}
	delete(f.live, arn)
	return nil
}

// Put keeps a secret under arn, as if created before the test.
func (f *Secrets) Put(arn, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.put(arn, Secret{Value: value})
}

func (f *Secrets) put(arn string, s Secret) {
	if f.live == nil {
		f.live = map[string]Secret{}
	}
	f.live[arn] = s
}

// Has reports whether the secret of arn exists.
func (f *Secrets) Has(arn string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.live[arn]
	return ok
}

// Named returns the value of the secret created with name.
func (f *Secrets) Named(name string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.live[ARN(name)]
	return s.Value, ok
}

// All is a copy of the secrets that exist, by ARN.
func (f *Secrets) All() map[string]Secret {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.live)
}
