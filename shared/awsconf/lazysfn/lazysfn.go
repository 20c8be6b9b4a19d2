// Package lazysfn is the Step Functions client of the functions (stepfunctions.SFNAPI),
// built on its first call from the function's awsconf.Config (endpoint
// AWS_ENDPOINT_URL_SFN), and the product's adapters on it.
//
// The SDK client is reached only through closures (see awsconf), never
// through a field, an interface or a generic type argument, and each
// adapter's client has only the operations that adapter calls, so that a
// binary keeps only those.
package lazysfn

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/partnercloud/azure/shared/awsconf"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/workflow/stepfunctions"
)

// Client is a Step Functions client whose SDK client is built on the first call.
// An operation its constructor did not give it fails with an error.
type Client struct {
	startExecution  func(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	stopExecution   func(context.Context, *sfn.StopExecutionInput, ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error)
	sendTaskSuccess func(context.Context, *sfn.SendTaskSuccessInput, ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	sendTaskFailure func(context.Context, *sfn.SendTaskFailureInput, ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
}

// New returns a client with every operation for cfg; nothing is built
// until the first call.
func New(cfg *awsconf.Config) *Client {
	client := sdkClient(cfg)
	return &Client{
		startExecution:  startExecution(client),
		stopExecution:   stopExecution(client),
		sendTaskSuccess: sendTaskSuccess(client),
		sendTaskFailure: sendTaskFailure(client),
	}
}

// Tasks resumes waiting tasks through a client for cfg (SendTaskSuccess
// and SendTaskFailure only).
func Tasks(cfg *awsconf.Config) *stepfunctions.Tasks {
	client := sdkClient(cfg)
	return &stepfunctions.Tasks{Client: &Client{sendTaskSuccess: sendTaskSuccess(client), sendTaskFailure: sendTaskFailure(client)}}
}

// Executions starts and stops executions of the state machine whose ARN is
// in the variable arnVariable (recorded in env when unset), through a
// client for cfg (StartExecution and StopExecution only).
func Executions(env *config.Env, cfg *awsconf.Config, arnVariable string) *stepfunctions.Executions {
	client := sdkClient(cfg)
	return &stepfunctions.Executions{
		Client:          &Client{startExecution: startExecution(client), stopExecution: stopExecution(client)},
		StateMachineARN: env.Required(arnVariable),
	}
}

// StartExecution calls the SDK client's StartExecution.
func (c *Client) StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	if c.startExecution == nil {
		return nil, missing("StartExecution")
	}
	return c.startExecution(ctx, in, opts...)
}

// StopExecution calls the SDK client's StopExecution.
func (c *Client) StopExecution(ctx context.Context, in *sfn.StopExecutionInput, opts ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error) {
	if c.stopExecution == nil {
		return nil, missing("StopExecution")
	}
	return c.stopExecution(ctx, in, opts...)
}

// SendTaskSuccess calls the SDK client's SendTaskSuccess.
func (c *Client) SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, opts ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	if c.sendTaskSuccess == nil {
		return nil, missing("SendTaskSuccess")
	}
	return c.sendTaskSuccess(ctx, in, opts...)
}

// SendTaskFailure calls the SDK client's SendTaskFailure.
func (c *Client) SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, opts ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	if c.sendTaskFailure == nil {
		return nil, missing("SendTaskFailure")
	}
	return c.sendTaskFailure(ctx, in, opts...)
}

// sdkClient builds the SDK client on its first call, once.
func sdkClient(cfg *awsconf.Config) func() *sfn.Client {
	var (
		once sync.Once
		c    *sfn.Client
	)
	return func() *sfn.Client {
		once.Do(func() { c = sfn.NewFromConfig(cfg.For("SFN")) })
		return c
	}
}

func startExecution(client func() *sfn.Client) func(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	return func(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
		return client().StartExecution(ctx, in, opts...)
	}
}

func stopExecution(client func() *sfn.Client) func(context.Context, *sfn.StopExecutionInput, ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error) {
	return func(ctx context.Context, in *sfn.StopExecutionInput, opts ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error) {
		return client().StopExecution(ctx, in, opts...)
	}
}

func sendTaskSuccess(client func() *sfn.Client) func(context.Context, *sfn.SendTaskSuccessInput, ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	return func(ctx context.Context, in *sfn.SendTaskSuccessInput, opts ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
		return client().SendTaskSuccess(ctx, in, opts...)
	}
}

func sendTaskFailure(client func() *sfn.Client) func(context.Context, *sfn.SendTaskFailureInput, ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	return func(ctx context.Context, in *sfn.SendTaskFailureInput, opts ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
		return client().SendTaskFailure(ctx, in, opts...)
	}
}

func missing(op string) error {
	return fmt.Errorf("lazysfn: this client was made without %s", op)
}
