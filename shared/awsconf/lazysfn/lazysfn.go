// Package lazysfn is the Step Functions client of the functions (workflow.SFNAPI),
// built on its first call from the function's awsconf.Config (endpoint
// AWS_ENDPOINT_URL_SFN), and the product's adapters on it.
//
// The SDK client is reached only through closures (see awsconf), never
// through a field, an interface or a generic type argument, so that the
// binary keeps only the operations called here.
package lazysfn

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/partnercloud/azure/shared/awsconf"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/workflow"
)

// Client is a Step Functions client whose SDK client is built on the first call.
type Client struct {
	startExecution  func(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	stopExecution   func(context.Context, *sfn.StopExecutionInput, ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error)
	sendTaskSuccess func(context.Context, *sfn.SendTaskSuccessInput, ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	sendTaskFailure func(context.Context, *sfn.SendTaskFailureInput, ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
}

// New returns a client for cfg; nothing is built until the first call.
func New(cfg *awsconf.Config) *Client {
	var (
		once sync.Once
		c    *sfn.Client
	)
	client := func() *sfn.Client {
		once.Do(func() { c = sfn.NewFromConfig(cfg.For("SFN")) })
		return c
	}
	return &Client{
		startExecution: func(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
			return client().StartExecution(ctx, in, opts...)
		},
		stopExecution: func(ctx context.Context, in *sfn.StopExecutionInput, opts ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error) {
			return client().StopExecution(ctx, in, opts...)
		},
		sendTaskSuccess: func(ctx context.Context, in *sfn.SendTaskSuccessInput, opts ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
			return client().SendTaskSuccess(ctx, in, opts...)
		},
		sendTaskFailure: func(ctx context.Context, in *sfn.SendTaskFailureInput, opts ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
			return client().SendTaskFailure(ctx, in, opts...)
		},
	}
}

// StartExecution calls the SDK client's StartExecution.
func (c *Client) StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	return c.startExecution(ctx, in, opts...)
}

// StopExecution calls the SDK client's StopExecution.
func (c *Client) StopExecution(ctx context.Context, in *sfn.StopExecutionInput, opts ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error) {
	return c.stopExecution(ctx, in, opts...)
}

// SendTaskSuccess calls the SDK client's SendTaskSuccess.
func (c *Client) SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, opts ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	return c.sendTaskSuccess(ctx, in, opts...)
}

// SendTaskFailure calls the SDK client's SendTaskFailure.
func (c *Client) SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, opts ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	return c.sendTaskFailure(ctx, in, opts...)
}

// Tasks resumes waiting tasks through a client for cfg.
func Tasks(cfg *awsconf.Config) *workflow.Tasks {
	return &workflow.Tasks{Client: New(cfg)}
}

// Executions starts and stops executions of the state machine whose ARN is
// in the variable arnVariable (recorded in env when unset).
func Executions(env *config.Env, cfg *awsconf.Config, arnVariable string) *workflow.Executions {
	return &workflow.Executions{Client: New(cfg), StateMachineARN: env.Required(arnVariable)}
}
