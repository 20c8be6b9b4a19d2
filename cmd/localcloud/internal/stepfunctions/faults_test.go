package stepfunctions

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"
)

func TestFailNext(t *testing.T) {
	e := New(Options{})
	defer e.Close()
	c := sdkClient(e, handlerClient{e.Handler()}, "http://sfn.local")
	in := &sfn.SendTaskSuccessInput{TaskToken: aws.String("not-a-token"), Output: aws.String("{}")}
	e.FailNext("SendTaskSuccess", 2)
	for i := range 2 {
		_, err := c.SendTaskSuccess(context.Background(), in)
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ServiceUnavailable" {
			t.Fatalf("call %d: %v, want the injected ServiceUnavailable", i, err)
		}
	}
	// The fault is used up: the call reaches the operation again.
	_, err := c.SendTaskSuccess(context.Background(), in)
	var invalid *types.InvalidToken
	if !errors.As(err, &invalid) {
		t.Fatalf("after the faults: %v, want InvalidToken", err)
	}
	// Other operations are not affected.
	e.FailNext("SendTaskSuccess", 1)
	if _, err := c.ListStateMachines(context.Background(), &sfn.ListStateMachinesInput{}); err != nil {
		t.Fatalf("ListStateMachines: %v", err)
	}
}
