package stepfunctions

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// callbackDef invokes "Notify" with the task token and waits for it.
const callbackDef = `{"StartAt":"Wait for approval","States":{
  "Wait for approval":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
    "Parameters":{"FunctionName":"Notify","Payload":{"token.$":"$$.Task.Token","who.$":"$.who"}},
    "TimeoutSeconds":3600,"HeartbeatSeconds":600,
    "Catch":[{"ErrorEquals":["Rejected"],"Next":"Rejected","ResultPath":"$.error"}],
    "ResultPath":"$.approval","End":true},
  "Rejected":{"Type":"Pass","End":true}}}`

// tokenCatcher is a Notify function that hands the task token to the test.
func tokenCatcher() (handler, <-chan string) {
	tokens := make(chan string, 10)
	return func(_ context.Context, p []byte) ([]byte, error) {
		var in struct{ Token string }
		if err := json.Unmarshal(p, &in); err != nil {
			return nil, err
		}
		tokens <- in.Token
		return []byte(`{"sent":true}`), nil
	}, tokens
}

func TestWaitForTaskTokenSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		notify, tokens := tokenCatcher()
		e := newEngine(t, newFakeLambda().on("Notify", notify), 1)
		arn := start(t, e, callbackDef, `{"who":"ada"}`)
		token := <-tokens
		if len(token) < 200 {
			t.Errorf("token has %d characters, want 200 or more", len(token))
		}
		time.Sleep(5 * time.Minute)
		if got := outcome(e, arn).status; got != StatusRunning {
			t.Fatalf("status %s while waiting", got)
		}
		if err := e.SendTaskSuccess(token, `{"approved":true}`); err != nil {
			t.Fatal(err)
		}
		r := wait(t, e, arn)
		assertJSON(t, "output", r.output, `{"who":"ada","approval":{"approved":true}}`)
		ev := history(e, arn)
		assertTypes(t, ev, "ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted",
			"TaskSucceeded", "TaskStateExited", "ExecutionSucceeded")
		assertChain(t, ev)
		sched := detail(t, ev[2])
		if sched["resource"] != "invoke.waitForTaskToken" || sched["timeoutInSeconds"] != 3600.0 || sched["heartbeatInSeconds"] != 600.0 {
			t.Errorf("TaskScheduled = %v", sched)
		}
		if !strings.Contains(sched["parameters"].(string), token) {
			t.Errorf("TaskScheduled parameters lack the token")
		}
		if !strings.Contains(detail(t, ev[4])["output"].(string), `"Payload":{"sent":true}`) {
			t.Errorf("TaskSubmitted = %v", detail(t, ev[4]))
		}
		assertJSON(t, "TaskSucceeded output", detail(t, ev[5])["output"].(string), `{"approved":true}`)

		// The token is spent.
		if code := apiCode(e.SendTaskSuccess(token, `{}`)); code != "TaskDoesNotExist" {
			t.Errorf("second SendTaskSuccess: %s, want TaskDoesNotExist", code)
		}
	})
}

// TestWaitForTaskTokenAnsweredDuringInvoke: an answer sent before the
// function returns is applied after TaskSubmitted.
func TestWaitForTaskTokenAnsweredDuringInvoke(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var e *Engine
		lam := newFakeLambda().on("Notify", func(_ context.Context, p []byte) ([]byte, error) {
			var in struct{ Token string }
			_ = json.Unmarshal(p, &in)
			if err := e.SendTaskSuccess(in.Token, `"early"`); err != nil {
				return nil, err
			}
			time.Sleep(time.Second)
			return []byte(`null`), nil
		})
		e = newEngine(t, lam, 1)
		arn, r := run(t, e, callbackDef, `{"who":"ada"}`)
		assertJSON(t, "output", r.output, `{"who":"ada","approval":"early"}`)
		assertTypes(t, history(e, arn), "ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted",
			"TaskSucceeded", "TaskStateExited", "ExecutionSucceeded")
	})
}

func TestWaitForTaskTokenFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		notify, tokens := tokenCatcher()
		e := newEngine(t, newFakeLambda().on("Notify", notify), 1)
		arn := start(t, e, callbackDef, `{"who":"ada"}`)
		if err := e.SendTaskFailure(<-tokens, "Rejected", "the admin said no"); err != nil {
			t.Fatal(err)
		}
		r := wait(t, e, arn)
		assertJSON(t, "output", r.output, `{"who":"ada","error":{"Error":"Rejected","Cause":"the admin said no"}}`)
		ev := history(e, arn)
		assertTypes(t, ev, "ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted",
			"TaskFailed", "TaskStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded")
		if d := detail(t, ev[5]); d["error"] != "Rejected" || d["cause"] != "the admin said no" || d["resource"] != "invoke.waitForTaskToken" {
			t.Errorf("TaskFailed = %v", d)
		}
	})
}

func TestWaitForTaskTokenHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		notify, tokens := tokenCatcher()
		e := newEngine(t, newFakeLambda().on("Notify", notify), 1)

		// Heartbeats every 500s keep a 600s heartbeat alive past 600s.
		begin := time.Now()
		arn := start(t, e, callbackDef, `{"who":"ada"}`)
		token := <-tokens
		for range 4 {
			time.Sleep(500 * time.Second)
			if err := e.SendTaskHeartbeat(token); err != nil {
				t.Fatalf("heartbeat: %v", err)
			}
		}
		if err := e.SendTaskSuccess(token, `"ok"`); err != nil {
			t.Fatal(err)
		}
		if r := wait(t, e, arn); r.status != StatusSucceeded || time.Since(begin) != 2000*time.Second {
			t.Fatalf("got %+v after %v", r, time.Since(begin))
		}

		// Without heartbeats the task fails after 600s.
		begin = time.Now()
		arn = start(t, e, callbackDef, `{"who":"ada"}`)
		token = <-tokens
		r := wait(t, e, arn)
		if r.status != StatusFailed || r.errName != "States.HeartbeatTimeout" || time.Since(begin) != 600*time.Second {
			t.Fatalf("got %+v after %v", r, time.Since(begin))
		}
		ev := history(e, arn)
		assertTypes(t, ev, "ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted",
			"TaskTimedOut", "ExecutionFailed")
		if d := detail(t, ev[5]); d["error"] != "States.HeartbeatTimeout" {
			t.Errorf("TaskTimedOut = %v", d)
		}
		for name, err := range map[string]error{
			"SendTaskSuccess":   e.SendTaskSuccess(token, `{}`),
			"SendTaskFailure":   e.SendTaskFailure(token, "E", ""),
			"SendTaskHeartbeat": e.SendTaskHeartbeat(token),
		} {
			if code := apiCode(err); code != "TaskTimedOut" {
				t.Errorf("%s after the timeout: %v, want TaskTimedOut", name, err)
			}
		}
	})
}

func TestWaitForTaskTokenTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		notify, tokens := tokenCatcher()
		e := newEngine(t, newFakeLambda().on("Notify", notify), 1)
		def := strings.Replace(callbackDef, `"HeartbeatSeconds":600,`, ``, 1)
		begin := time.Now()
		arn := start(t, e, def, `{"who":"ada"}`)
		token := <-tokens
		r := wait(t, e, arn)
		if r.status != StatusFailed || r.errName != "States.Timeout" || time.Since(begin) != time.Hour {
			t.Fatalf("got %+v after %v", r, time.Since(begin))
		}
		assertTypes(t, history(e, arn), "ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted",
			"TaskTimedOut", "ExecutionFailed")
		if code := apiCode(e.SendTaskHeartbeat(token)); code != "TaskTimedOut" {
			t.Errorf("heartbeat after the timeout: %s, want TaskTimedOut", code)
		}
	})
}

func TestTaskTokenErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		notify, tokens := tokenCatcher()
		e := newEngine(t, newFakeLambda().on("Notify", notify), 1)
		arn := start(t, e, callbackDef, `{"who":"ada"}`)
		token := <-tokens
		tests := []struct {
			name string
			err  error
			code string
		}{
			{"garbage token", e.SendTaskSuccess("not-a-token", `{}`), "InvalidToken"},
			{"unknown token", e.SendTaskSuccess(newTaskToken(), `{}`), "TaskDoesNotExist"},
			{"invalid output", e.SendTaskSuccess(token, `{not json`), "InvalidOutput"},
			{"heartbeat of unknown token", e.SendTaskHeartbeat(newTaskToken()), "TaskDoesNotExist"},
		}
		for _, tt := range tests {
			if code := apiCode(tt.err); code != tt.code {
				t.Errorf("%s: %v, want %s", tt.name, tt.err, tt.code)
			}
		}
		// Stopping the execution retires its token.
		if _, err := e.StopExecution(arn, "", ""); err != nil {
			t.Fatal(err)
		}
		wait(t, e, arn)
		if code := apiCode(e.SendTaskSuccess(token, `{}`)); code != "TaskDoesNotExist" {
			t.Errorf("after stop: %s, want TaskDoesNotExist", code)
		}
	})
}

// TestLambdaErrors: a function error is raised with its errorType as the
// error name and its error object as the cause, for both Task forms; any
// other invoker failure is Lambda.ServiceException.
func TestLambdaErrors(t *testing.T) {
	withStack := func(context.Context, []byte) ([]byte, error) {
		return nil, &fnError{ErrorType: "OwnerAccessMissing", ErrorMessage: "no Owner on sub-1", StackTrace: []string{"main.go:10"}}
	}
	wrapped := func(context.Context, []byte) ([]byte, error) {
		return nil, errors.Join(errors.New("invoke"), &fnError{ErrorType: "Wrapped", ErrorMessage: "inner"})
	}
	broken := func(context.Context, []byte) ([]byte, error) { return nil, errors.New("connection refused") }
	tests := []struct {
		name      string
		fn        handler
		wantError string
		wantCause string
	}{
		{"function error", failWith("InvitationExpired", "too late"), "InvitationExpired", `{"errorMessage":"too late","errorType":"InvitationExpired"}`},
		{"with stack trace", withStack, "OwnerAccessMissing", `{"errorMessage":"no Owner on sub-1","errorType":"OwnerAccessMissing","stackTrace":["main.go:10"]}`},
		{"wrapped", wrapped, "Wrapped", `{"errorMessage":"inner","errorType":"Wrapped"}`},
		{"service failure", broken, "Lambda.ServiceException", ""},
	}
	resources := map[string]string{
		"lambda:invoke": `"Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"F","Payload.$":"$"}`,
		"function ARN":  `"Resource":"arn:aws:lambda:us-east-1:000000000000:function:F"`,
	}
	for _, tt := range tests {
		for form, resource := range resources {
			t.Run(tt.name+"/"+form, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					e := newEngine(t, newFakeLambda().on("F", tt.fn), 1)
					_, r := run(t, e, `{"StartAt":"T","States":{"T":{"Type":"Task",`+resource+`,"End":true}}}`, `{}`)
					if r.status != StatusFailed || r.errName != tt.wantError {
						t.Fatalf("got %+v, want error %s", r, tt.wantError)
					}
					if tt.wantCause != "" && r.cause != tt.wantCause {
						t.Errorf("cause = %s, want %s", r.cause, tt.wantCause)
					}
				})
			})
		}
	}
}

// TestFunctionNames: FunctionName may be an ARN (with a qualifier), a
// partial ARN or a name.
func TestFunctionNames(t *testing.T) {
	for _, name := range []string{
		"arn:aws:lambda:us-east-1:123456789012:function:F",
		"arn:aws:lambda:us-east-1:123456789012:function:F:$LATEST",
		"arn:aws:lambda:us-east-1:123456789012:function:F:prod",
		"123456789012:function:F",
		"F",
		"F:prod",
	} {
		if got := functionName(name); got != "F" {
			t.Errorf("functionName(%q) = %q, want F", name, got)
		}
	}
}
