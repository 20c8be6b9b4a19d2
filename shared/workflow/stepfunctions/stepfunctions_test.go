package stepfunctions

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/partnercloud/azure/shared/workflow"
)

// fakeSFN answers every call with err, or a fixed execution ARN.
type fakeSFN struct {
	err   error
	start *sfn.StartExecutionInput
	stop  *sfn.StopExecutionInput
}

func (f *fakeSFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.start = in
	if f.err != nil {
		return nil, f.err
	}
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String("arn:from-service")}, nil
}

func (f *fakeSFN) StopExecution(_ context.Context, in *sfn.StopExecutionInput, _ ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error) {
	f.stop = in
	return &sfn.StopExecutionOutput{}, f.err
}

func (f *fakeSFN) SendTaskSuccess(context.Context, *sfn.SendTaskSuccessInput, ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	return &sfn.SendTaskSuccessOutput{}, f.err
}

func (f *fakeSFN) SendTaskFailure(context.Context, *sfn.SendTaskFailureInput, ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	return &sfn.SendTaskFailureOutput{}, f.err
}

func TestTasksErrors(t *testing.T) {
	boom := errors.New("throttled")
	for _, tc := range []struct {
		name     string
		err      error
		gone, is error
	}{
		{"resumed", nil, nil, nil},
		{"task does not exist", &types.TaskDoesNotExist{}, workflow.ErrTaskGone, nil},
		{"task timed out", &types.TaskTimedOut{}, workflow.ErrTaskGone, nil},
		{"invalid token", &types.InvalidToken{}, workflow.ErrTaskGone, nil},
		{"other errors pass through", boom, nil, boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tasks := &Tasks{Client: &fakeSFN{err: tc.err}}
			for _, err := range []error{tasks.Succeed(context.Background(), "tok", map[string]string{"a": "b"}), tasks.Fail(context.Background(), "tok", "Name", "cause")} {
				switch {
				case tc.err == nil && err != nil:
					t.Fatalf("err = %v", err)
				case tc.gone != nil && !errors.Is(err, tc.gone):
					t.Fatalf("err = %v, want ErrTaskGone", err)
				case tc.is != nil && (!errors.Is(err, tc.is) || errors.Is(err, workflow.ErrTaskGone)):
					t.Fatalf("err = %v, want the client's own", err)
				}
			}
		})
	}
}

func TestExecutions(t *testing.T) {
	const machine = "arn:aws:states:us-east-1:123456789012:stateMachine:Migration"
	in := workflow.Input{AccountID: "acct", ProviderID: "prv_01"}

	f := &fakeSFN{}
	arn, err := (&Executions{Client: f, StateMachineARN: machine}).Start(context.Background(), in)
	if err != nil || arn != "arn:from-service" || aws.ToString(f.start.Name) != workflow.ExecutionName(in.ProviderID) {
		t.Fatalf("Start = %q, %v (name %q)", arn, err, aws.ToString(f.start.Name))
	}

	f = &fakeSFN{err: &types.ExecutionAlreadyExists{}}
	arn, err = (&Executions{Client: f, StateMachineARN: machine}).Start(context.Background(), in)
	if err != nil || arn != workflow.ExecutionARN(machine, in.ProviderID) {
		t.Fatalf("Start of an existing execution = %q, %v; want the derived ARN", arn, err)
	}

	f = &fakeSFN{err: &types.ExecutionDoesNotExist{}}
	if err := (&Executions{Client: f}).Stop(context.Background(), "arn:x", "cancelled"); err != nil {
		t.Fatalf("Stop of a missing execution = %v, want nil", err)
	}
	if aws.ToString(f.stop.Error) != workflow.ErrorName(&workflow.Cancelled{}) {
		t.Errorf("Stop error name = %q", aws.ToString(f.stop.Error))
	}
	f = &fakeSFN{err: errors.New("denied")}
	if err := (&Executions{Client: f}).Stop(context.Background(), "arn:x", "cancelled"); err == nil {
		t.Fatal("Stop hid a real error")
	}
}
