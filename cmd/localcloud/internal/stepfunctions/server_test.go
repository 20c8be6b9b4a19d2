package stepfunctions

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// handlerClient sends SDK requests straight to a handler, so the SDK tests
// can run in a synctest bubble.
type handlerClient struct{ h http.Handler }

func (c handlerClient) Do(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// sdkClient returns a real aws-sdk-go-v2 sfn client for the engine.
func sdkClient(e *Engine, httpClient sfn.HTTPClient, endpoint string) *sfn.Client {
	return sfn.New(sfn.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local"}, nil
		}),
		HTTPClient:       httpClient,
		RetryMaxAttempts: 1,
	})
}

const approvalDef = `{"Comment":"approval","StartAt":"Ask","States":{
  "Ask":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
    "Parameters":{"FunctionName":"Notify","Payload":{"token.$":"$$.Task.Token"}},"TimeoutSeconds":86400,"ResultPath":"$.answer","Next":"Pause"},
  "Pause":{"Type":"Wait","Seconds":60,"Next":"Done"},
  "Done":{"Type":"Succeed"}}}`

func TestAPIWithSDK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		notify, tokens := tokenCatcher()
		e := newEngine(t, newFakeLambda().on("Notify", notify), 1)
		c := sdkClient(e, handlerClient{e.Handler()}, "http://stepfunctions.local")
		ctx := context.Background()

		// State machines.
		created, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
			Name: aws.String("Onboarding"), Definition: aws.String(approvalDef), RoleArn: aws.String("arn:aws:iam::000000000000:role/r"),
		})
		if err != nil {
			t.Fatal(err)
		}
		smArn := aws.ToString(created.StateMachineArn)
		if smArn != "arn:aws:states:us-east-1:000000000000:stateMachine:Onboarding" || created.CreationDate == nil {
			t.Errorf("CreateStateMachine = %s %v", smArn, created.CreationDate)
		}
		_, err = c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
			Name: aws.String("Onboarding"), Definition: aws.String(`{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}`), RoleArn: aws.String("r"),
		})
		var exists *types.StateMachineAlreadyExists
		if !errors.As(err, &exists) {
			t.Errorf("CreateStateMachine again: %v, want StateMachineAlreadyExists", err)
		}
		_, err = c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
			Name: aws.String("Bad"), Definition: aws.String(`{"StartAt":"A","States":{"A":{"Type":"Pass","ItemReader":{},"End":true}}}`), RoleArn: aws.String("r"),
		})
		var invalid *types.InvalidDefinition
		if !errors.As(err, &invalid) || !strings.Contains(invalid.ErrorMessage(), `"ItemReader"`) || !strings.Contains(invalid.ErrorMessage(), "/States/A") {
			t.Errorf("CreateStateMachine with ItemReader: %v, want InvalidDefinition naming it", err)
		}
		desc, err := c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(smArn)})
		if err != nil || aws.ToString(desc.Definition) != approvalDef || desc.Status != types.StateMachineStatusActive || desc.Type != types.StateMachineTypeStandard {
			t.Errorf("DescribeStateMachine = %+v, %v", desc, err)
		}
		list, err := c.ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
		if err != nil || len(list.StateMachines) != 1 || aws.ToString(list.StateMachines[0].Name) != "Onboarding" {
			t.Errorf("ListStateMachines = %+v, %v", list, err)
		}
		_, err = c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(smArn + "x")})
		var noSM *types.StateMachineDoesNotExist
		if !errors.As(err, &noSM) {
			t.Errorf("DescribeStateMachine unknown: %v", err)
		}
		_, err = c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String("nonsense")})
		var badArn *types.InvalidArn
		if !errors.As(err, &badArn) {
			t.Errorf("DescribeExecution with a bad ARN: %v, want InvalidArn", err)
		}

		// Executions: idempotent start by name.
		started, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(smArn), Name: aws.String("prov-1"), Input: aws.String(`{"id":1}`)})
		if err != nil {
			t.Fatal(err)
		}
		execArn := aws.ToString(started.ExecutionArn)
		if execArn != "arn:aws:states:us-east-1:000000000000:execution:Onboarding:prov-1" {
			t.Errorf("execution ARN = %s", execArn)
		}
		again, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(smArn), Name: aws.String("prov-1"), Input: aws.String(`{"id":1}`)})
		if err != nil || aws.ToString(again.ExecutionArn) != execArn || !again.StartDate.Equal(*started.StartDate) {
			t.Errorf("StartExecution again with the same input = %+v, %v", again, err)
		}
		_, err = c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(smArn), Name: aws.String("prov-1"), Input: aws.String(`{"id":2}`)})
		var dup *types.ExecutionAlreadyExists
		if !errors.As(err, &dup) {
			t.Errorf("StartExecution with another input: %v, want ExecutionAlreadyExists", err)
		}
		_, err = c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(smArn), Name: aws.String("bad name")})
		var badName *types.InvalidName
		if !errors.As(err, &badName) {
			t.Errorf("StartExecution with a bad name: %v, want InvalidName", err)
		}
		_, err = c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(smArn), Input: aws.String(`{`)})
		var badInput *types.InvalidExecutionInput
		if !errors.As(err, &badInput) {
			t.Errorf("StartExecution with bad input: %v, want InvalidExecutionInput", err)
		}

		// Task tokens through the API.
		token := <-tokens
		_, err = c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(newTaskToken()), Output: aws.String(`{}`)})
		var noTask *types.TaskDoesNotExist
		if !errors.As(err, &noTask) {
			t.Errorf("SendTaskSuccess unknown token: %v, want TaskDoesNotExist", err)
		}
		_, err = c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String("x"), Output: aws.String(`{}`)})
		var badToken *types.InvalidToken
		if !errors.As(err, &badToken) {
			t.Errorf("SendTaskSuccess garbage token: %v, want InvalidToken", err)
		}
		_, err = c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(`{oops`)})
		var badOutput *types.InvalidOutput
		if !errors.As(err, &badOutput) {
			t.Errorf("SendTaskSuccess invalid output: %v, want InvalidOutput", err)
		}
		if _, err := c.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String(token)}); err != nil {
			t.Errorf("SendTaskHeartbeat: %v", err)
		}
		if _, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(`{"ok":true}`)}); err != nil {
			t.Fatalf("SendTaskSuccess: %v", err)
		}

		// Running (in the Wait state), then succeeded.
		time.Sleep(time.Second)
		running, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(smArn), StatusFilter: types.ExecutionStatusRunning})
		if err != nil || len(running.Executions) != 1 {
			t.Errorf("ListExecutions RUNNING = %+v, %v", running, err)
		}
		time.Sleep(time.Minute)
		d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(execArn)})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != types.ExecutionStatusSucceeded || aws.ToString(d.Name) != "prov-1" || aws.ToString(d.StateMachineArn) != smArn ||
			d.StopDate == nil || aws.ToString(d.Input) != `{"id":1}` {
			t.Errorf("DescribeExecution = %+v", d)
		}
		assertJSON(t, "output", aws.ToString(d.Output), `{"id":1,"answer":{"ok":true}}`)
		_, err = c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(smArn), Name: aws.String("prov-1"), Input: aws.String(`{"id":1}`)})
		if !errors.As(err, &dup) {
			t.Errorf("StartExecution of a closed execution's name: %v, want ExecutionAlreadyExists", err)
		}

		// History, paged and reversed.
		h, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(execArn)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range h.Events {
			got = append(got, string(ev.Type))
		}
		want := []string{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded", "TaskStateExited",
			"WaitStateEntered", "WaitStateExited", "SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("history = %v\nwant %v", got, want)
		}
		first := h.Events[0]
		if first.Id != 1 || first.PreviousEventId != 0 || first.Timestamp == nil || first.ExecutionStartedEventDetails == nil ||
			aws.ToString(first.ExecutionStartedEventDetails.Input) != `{"id":1}` || aws.ToString(first.ExecutionStartedEventDetails.RoleArn) != "arn:aws:iam::000000000000:role/r" {
			t.Errorf("ExecutionStarted = %+v", first)
		}
		sched := h.Events[2].TaskScheduledEventDetails
		if sched == nil || aws.ToString(sched.Resource) != "invoke.waitForTaskToken" || aws.ToString(sched.ResourceType) != "lambda" || aws.ToInt64(sched.TimeoutInSeconds) != 86400 {
			t.Errorf("TaskScheduled = %+v", sched)
		}
		if ex := h.Events[6].StateExitedEventDetails; ex == nil || aws.ToString(ex.Name) != "Ask" {
			t.Errorf("TaskStateExited = %+v", ex)
		}
		if w := h.Events[8]; w.PreviousEventId != 8 || w.Timestamp.Sub(*h.Events[7].Timestamp) != time.Minute {
			t.Errorf("WaitStateExited = %+v", w)
		}
		var paged []types.HistoryEvent
		var next *string
		for {
			p, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(execArn), MaxResults: 5, ReverseOrder: true, NextToken: next})
			if err != nil {
				t.Fatal(err)
			}
			paged = append(paged, p.Events...)
			if next = p.NextToken; next == nil {
				break
			}
		}
		if len(paged) != len(want) || paged[0].Type != types.HistoryEventTypeExecutionSucceeded || paged[len(paged)-1].Id != 1 {
			t.Errorf("reversed pages: %d events, first %s", len(paged), paged[0].Type)
		}
		noData, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(execArn), IncludeExecutionData: aws.Bool(false)})
		if err != nil || noData.Events[0].ExecutionStartedEventDetails == nil || noData.Events[0].ExecutionStartedEventDetails.Input != nil {
			t.Errorf("includeExecutionData=false: %+v, %v", noData.Events[0].ExecutionStartedEventDetails, err)
		}

		// Unknown executions and stopping.
		_, err = c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(execArn + "-nope")})
		var noExec *types.ExecutionDoesNotExist
		if !errors.As(err, &noExec) {
			t.Errorf("DescribeExecution unknown: %v, want ExecutionDoesNotExist", err)
		}
		s2, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(smArn)})
		if err != nil {
			t.Fatal(err)
		}
		<-tokens
		stopped, err := c.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: s2.ExecutionArn, Error: aws.String("Cancelled"), Cause: aws.String("by test")})
		if err != nil || stopped.StopDate == nil {
			t.Fatalf("StopExecution = %+v, %v", stopped, err)
		}
		d, _ = c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: s2.ExecutionArn})
		if d.Status != types.ExecutionStatusAborted || aws.ToString(d.Error) != "Cancelled" || aws.ToString(d.Cause) != "by test" {
			t.Errorf("stopped execution = %s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
		}
		all, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(smArn)})
		if err != nil || len(all.Executions) != 2 || aws.ToString(all.Executions[0].ExecutionArn) != aws.ToString(s2.ExecutionArn) {
			t.Errorf("ListExecutions = %+v, %v", all, err)
		}
		aborted, _ := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(smArn), StatusFilter: types.ExecutionStatusAborted})
		if len(aborted.Executions) != 1 {
			t.Errorf("ListExecutions ABORTED = %d", len(aborted.Executions))
		}
		if _, err := c.DeleteStateMachine(ctx, &sfn.DeleteStateMachineInput{StateMachineArn: aws.String(smArn)}); err != nil {
			t.Errorf("DeleteStateMachine: %v", err)
		}
		_, err = c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(smArn)})
		if !errors.As(err, &noSM) {
			t.Errorf("StartExecution after delete: %v, want StateMachineDoesNotExist", err)
		}
	})
}

// TestAPIOverHTTP runs the SDK against a real loopback server, with a
// time scale making a one-hour wait pass in milliseconds.
func TestAPIOverHTTP(t *testing.T) {
	e := newEngine(t, newFakeLambda(), 3600*100)
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	c := sdkClient(e, srv.Client(), srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sm, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("Real"), RoleArn: aws.String("r"),
		Definition: aws.String(`{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"Next":"P"},"P":{"Type":"Pass","Result":{"done":true},"End":true}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Wait(ctx, aws.ToString(x.ExecutionArn)); err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: x.ExecutionArn})
	if err != nil || d.Status != types.ExecutionStatusSucceeded || aws.ToString(d.Output) != `{"done":true}` {
		t.Fatalf("DescribeExecution = %+v, %v", d, err)
	}
	if e.Transitions(aws.ToString(x.ExecutionArn)) != 2 {
		t.Errorf("Transitions = %d, want 2", e.Transitions(aws.ToString(x.ExecutionArn)))
	}
	_, err = c.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(newTaskToken())})
	var noTask *types.TaskDoesNotExist
	if !errors.As(err, &noTask) {
		t.Errorf("SendTaskFailure: %v, want TaskDoesNotExist", err)
	}
	// A raw request sees the AWS JSON 1.0 error shape.
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"executionArn":"arn:aws:states:us-east-1:000000000000:execution:Real:nope"}`))
	req.Header.Set("X-Amz-Target", "AWSStepFunctions.DescribeExecution")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body strings.Builder
	_, _ = io.Copy(&body, resp.Body)
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/x-amz-json-1.0" ||
		!strings.Contains(body.String(), `"__type":"ExecutionDoesNotExist"`) || !strings.Contains(body.String(), `"message":`) {
		t.Errorf("raw error = %d %s", resp.StatusCode, body.String())
	}
}
