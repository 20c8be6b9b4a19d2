// Package stepfunctions is the product's Step Functions adapter: it resumes
// waiting tasks and starts and stops migrations through the AWS SDK's sfn
// client, and turns the SDK's errors into the workflow package's.
//
// It is apart from package workflow, which every task function links for
// its typed contracts and error names, so that a function that never calls
// Step Functions does not link (and initialise) the SDK's sfn package.
package stepfunctions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/partnercloud/azure/shared/workflow"
)

// SFNAPI is the part of the Step Functions client the product uses.
type SFNAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	StopExecution(ctx context.Context, in *sfn.StopExecutionInput, opts ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error)
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, opts ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, opts ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
}

var _ SFNAPI = (*sfn.Client)(nil)

// Tasks resumes waiting tasks.
type Tasks struct{ Client SFNAPI }

// Succeed resumes the task with output (marshalled to JSON).
func (t *Tasks) Succeed(ctx context.Context, token string, output any) error {
	b, err := json.Marshal(output)
	if err != nil {
		return err
	}
	_, err = t.Client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(b))})
	return taskErr(err)
}

// Fail resumes the task with an error name (matched by Catch) and a cause.
func (t *Tasks) Fail(ctx context.Context, token, name, cause string) error {
	_, err := t.Client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(token), Error: aws.String(name), Cause: aws.String(cause)})
	return taskErr(err)
}

func taskErr(err error) error {
	var gone *types.TaskDoesNotExist
	var timedOut *types.TaskTimedOut
	var invalid *types.InvalidToken
	if errors.As(err, &gone) || errors.As(err, &timedOut) || errors.As(err, &invalid) {
		return fmt.Errorf("%w: %v", workflow.ErrTaskGone, err)
	}
	return err
}

// Executions starts and stops provider migrations.
type Executions struct {
	Client          SFNAPI
	StateMachineARN string
}

// Start starts the provider's execution under its derived name. A repeated
// start with the same input is harmless: Step Functions returns the running
// execution, and an ExecutionAlreadyExists (the name was used with another
// input) means the provider's execution exists, which is what we wanted.
func (e *Executions) Start(ctx context.Context, in workflow.Input) (string, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return "", err
	}
	out, err := e.Client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(e.StateMachineARN),
		Name:            aws.String(workflow.ExecutionName(in.ProviderID)),
		Input:           aws.String(string(b)),
	})
	var exists *types.ExecutionAlreadyExists
	if errors.As(err, &exists) {
		return workflow.ExecutionARN(e.StateMachineARN, in.ProviderID), nil
	}
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ExecutionArn), nil
}

// Stop stops an execution; one that already ended or never existed is fine.
func (e *Executions) Stop(ctx context.Context, executionARN, cause string) error {
	name := workflow.ErrorName(&workflow.Cancelled{})
	_, err := e.Client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(executionARN), Error: aws.String(name), Cause: aws.String(cause)})
	var missing *types.ExecutionDoesNotExist
	if errors.As(err, &missing) {
		return nil
	}
	return err
}
