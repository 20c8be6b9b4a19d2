package stepfunctions

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// These tests follow the examples and rules of the Amazon States Language
// specification (https://states-language.net/spec.html), checking both the
// output document and the history.

const addFn = "arn:aws:lambda:us-east-1:123456789012:function:Add"

// add is the spec's "Add" task: it sums val1 and val2.
func add(_ context.Context, p []byte) ([]byte, error) {
	var in struct{ Val1, Val2 int }
	if err := json.Unmarshal(p, &in); err != nil {
		return nil, err
	}
	return []byte(strconv.Itoa(in.Val1 + in.Val2)), nil
}

// TestSpecInputPathResultPath is the spec's example: InputPath "$.numbers"
// feeds the task, ResultPath "$.sum" puts its result into the raw input.
func TestSpecInputPathResultPath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, newFakeLambda().on("Add", add), 1)
		arn, r := run(t, e, `{"StartAt":"X","States":{"X":{
		  "Type":"Task","Resource":"`+addFn+`","InputPath":"$.numbers","ResultPath":"$.sum","End":true}}}`,
			`{"title":"Numbers to add","numbers":{"val1":3,"val2":4}}`)
		if r.status != StatusSucceeded {
			t.Fatalf("status %s %s %s", r.status, r.errName, r.cause)
		}
		assertJSON(t, "output", r.output, `{"title":"Numbers to add","numbers":{"val1":3,"val2":4},"sum":7}`)
		ev := history(e, arn)
		assertTypes(t, ev, "ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted",
			"LambdaFunctionSucceeded", "TaskStateExited", "ExecutionSucceeded")
		assertChain(t, ev)
		sched := detail(t, ev[2])
		if sched["resource"] != addFn {
			t.Errorf("scheduled resource = %v", sched["resource"])
		}
		assertJSON(t, "scheduled input", sched["input"].(string), `{"val1":3,"val2":4}`)
		assertJSON(t, "succeeded output", detail(t, ev[4])["output"].(string), `7`)
		entered := detail(t, ev[1])
		if entered["name"] != "X" {
			t.Errorf("entered name = %v", entered["name"])
		}
		if e.Transitions(arn) != 1 {
			t.Errorf("Transitions = %d, want 1", e.Transitions(arn))
		}
	})
}

// TestSpecParameters is the spec's Parameters example, with a path slice,
// the context object and an intrinsic function.
func TestSpecParameters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, newFakeLambda(), 1)
		arn, r := run(t, e, `{"StartAt":"X","States":{"X":{"Type":"Pass","End":true,
		  "Parameters":{
		    "flagged":true,
		    "parts":{"first.$":"$.vals[0]","last3.$":"$.vals[-3:]"},
		    "execName.$":"$$.Execution.Name",
		    "state.$":"$$.State.Name",
		    "formattedOutput.$":"States.Format('State is {}', $$.State.Name)",
		    "next.$":"States.MathAdd($.vals[1], 1)"
		  }}}}`,
			`{"flagged":7,"vals":[0,10,20,30,40,50]}`)
		name := arn[strings.LastIndex(arn, ":")+1:]
		assertJSON(t, "output", r.output, `{"flagged":true,"parts":{"first":0,"last3":[30,40,50]},
		  "execName":"`+name+`","state":"X","formattedOutput":"State is X","next":11}`)
		assertTypes(t, history(e, arn), "ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded")
	})
}

// TestContextObject checks every context object field the definition can
// read.
func TestContextObject(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, newFakeLambda(), 1)
		arn, r := run(t, e, `{"StartAt":"W","States":{
		  "W":{"Type":"Wait","Seconds":5,"Next":"X"},
		  "X":{"Type":"Pass","End":true,"Parameters":{
		    "id.$":"$$.Execution.Id","input.$":"$$.Execution.Input","start.$":"$$.Execution.StartTime",
		    "entered.$":"$$.State.EnteredTime","sm.$":"$$.StateMachine.Id","retry.$":"$$.State.RetryCount"}}}}`,
			`{"k":"v"}`)
		x, _ := e.execution(arn)
		startTime := x.start.UTC().Format(contextTime)
		entered := x.start.Add(5 * time.Second).UTC().Format(contextTime)
		assertJSON(t, "output", r.output, `{"id":"`+arn+`","input":{"k":"v"},"start":"`+startTime+`","entered":"`+entered+`",
		  "sm":"`+x.machine.arn+`","retry":0}`)
	})
}

// TestSpecResultPath covers the ResultPath rules: "$" replaces the input,
// null discards the result, a path replaces or creates the node, and a
// path through a non-object fails with States.ResultPathMatchFailure.
func TestSpecResultPath(t *testing.T) {
	input := `{"master":{"detail":[1,2,3]}}`
	tests := []struct {
		name, resultPath, want, wantErr string
	}{
		{"default replaces", ``, `"Hello"`, ""},
		{"dollar replaces", `,"ResultPath":"$"`, `"Hello"`, ""},
		{"null discards", `,"ResultPath":null`, input, ""},
		{"replaces node", `,"ResultPath":"$.master.detail"`, `{"master":{"detail":"Hello"}}`, ""},
		{"creates nodes", `,"ResultPath":"$.master.result.sum"`, `{"master":{"detail":[1,2,3],"result":{"sum":"Hello"}}}`, ""},
		{"through an array fails", `,"ResultPath":"$.master.detail.x"`, ``, "States.ResultPathMatchFailure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEngine(t, newFakeLambda(), 1)
				_, r := run(t, e, `{"StartAt":"X","States":{"X":{"Type":"Pass","Result":"Hello"`+tt.resultPath+`,"End":true}}}`, input)
				if tt.wantErr != "" {
					if r.status != StatusFailed || r.errName != tt.wantErr {
						t.Fatalf("got %+v, want failure %s", r, tt.wantErr)
					}
					return
				}
				assertJSON(t, "output", r.output, tt.want)
			})
		})
	}
}

// TestInputOutputPathNull: a null InputPath gives {} as effective input, a
// null OutputPath gives {} as output.
func TestInputOutputPathNull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, newFakeLambda(), 1)
		_, r := run(t, e, `{"StartAt":"A","States":{
		  "A":{"Type":"Pass","InputPath":null,"ResultPath":"$.x","Next":"B"},
		  "B":{"Type":"Pass","OutputPath":null,"End":true}}}`, `{"a":1}`)
		assertJSON(t, "output", r.output, `{}`)
		_, r = run(t, e, `{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":null,"ResultPath":"$.x","End":true}}}`, `{"a":1}`)
		assertJSON(t, "output", r.output, `{"a":1,"x":{}}`)
	})
}

// TestResultSelectorAndOutputPath is the AWS documentation's lambda:invoke
// example: ResultSelector picks from the full response, ResultPath merges
// and OutputPath filters.
func TestResultSelectorAndOutputPath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lam := newFakeLambda().on("Greeter", respond(`{"greeting":"Hello, Ada"}`))
		e := newEngine(t, lam, 1)
		arn, r := run(t, e, `{"StartAt":"Invoke","States":{"Invoke":{
		  "Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		  "Parameters":{"FunctionName":"arn:aws:lambda:us-east-1:123456789012:function:Greeter:$LATEST","Payload":{"who.$":"$.name"}},
		  "ResultSelector":{"text.$":"$.Payload.greeting","code.$":"$.StatusCode","version.$":"$.ExecutedVersion"},
		  "ResultPath":"$.result","OutputPath":"$.result","End":true}}}`, `{"name":"Ada"}`)
		assertJSON(t, "output", r.output, `{"text":"Hello, Ada","code":200,"version":"$LATEST"}`)
		calls := lam.invocations()
		if len(calls) != 1 || calls[0].fn != "Greeter" {
			t.Fatalf("calls = %+v", calls)
		}
		assertJSON(t, "payload", calls[0].payload, `{"who":"Ada"}`)
		ev := history(e, arn)
		assertTypes(t, ev, "ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded")
		assertChain(t, ev)
		s := detail(t, ev[2])
		if s["resourceType"] != "lambda" || s["resource"] != "invoke" || s["region"] != "us-east-1" {
			t.Errorf("TaskScheduled = %v", s)
		}
		assertJSON(t, "parameters", s["parameters"].(string), `{"FunctionName":"arn:aws:lambda:us-east-1:123456789012:function:Greeter:$LATEST","Payload":{"who":"Ada"}}`)
		out := detail(t, ev[4])["output"].(string)
		for _, want := range []string{`"Payload":{"greeting":"Hello, Ada"}`, `"StatusCode":200`, `"ExecutedVersion":"$LATEST"`, `"SdkHttpMetadata":`, `"SdkResponseMetadata":{"RequestId":`} {
			if !strings.Contains(out, want) {
				t.Errorf("TaskSucceeded output %s lacks %s", out, want)
			}
		}
	})
}

// TestSpecChoice runs the spec's Choice example through whole executions.
func TestSpecChoice(t *testing.T) {
	def := `{"StartAt":"ChoiceStateX","States":{
	  "ChoiceStateX":{"Type":"Choice","Choices":[
	    {"Not":{"Variable":"$.type","StringEquals":"Private"},"Next":"Public"},
	    {"And":[{"Variable":"$.value","IsPresent":true},{"Variable":"$.value","IsNumeric":true},
	            {"Variable":"$.value","NumericGreaterThanEquals":20},{"Variable":"$.value","NumericLessThan":30}],"Next":"ValueInTwenties"},
	    {"Variable":"$.rating","NumericGreaterThanPath":"$.auditThreshold","Next":"StartAudit"}],
	   "Default":"RecordEvent"},
	  "Public":{"Type":"Pass","Result":"Public","End":true},
	  "ValueInTwenties":{"Type":"Pass","Result":"ValueInTwenties","End":true},
	  "StartAudit":{"Type":"Pass","Result":"StartAudit","End":true},
	  "RecordEvent":{"Type":"Pass","Result":"RecordEvent","End":true}}}`
	tests := []struct{ input, want string }{
		{`{"type":"Public"}`, "Public"},
		{`{"type":"Private","value":25}`, "ValueInTwenties"},
		{`{"type":"Private","value":35,"rating":53,"auditThreshold":50}`, "StartAudit"},
		{`{"type":"Private","value":35,"rating":3,"auditThreshold":50}`, "RecordEvent"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEngine(t, newFakeLambda(), 1)
				arn, r := run(t, e, def, tt.input)
				assertJSON(t, "output", r.output, `"`+tt.want+`"`)
				ev := history(e, arn)
				assertTypes(t, ev, "ExecutionStarted", "ChoiceStateEntered", "ChoiceStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded")
				assertChain(t, ev)
				assertJSON(t, "choice output", detail(t, ev[2])["output"].(string), tt.input)
				if e.Transitions(arn) != 2 {
					t.Errorf("Transitions = %d, want 2", e.Transitions(arn))
				}
			})
		})
	}
}

// TestChoiceNoMatch: without Default, no match fails with
// States.NoChoiceMatched.
func TestChoiceNoMatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, newFakeLambda(), 1)
		arn, r := run(t, e, `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[
		  {"Variable":"$.n","NumericEquals":1,"Next":"D"}]},"D":{"Type":"Succeed"}}}`, `{"n":2}`)
		if r.status != StatusFailed || r.errName != "States.NoChoiceMatched" {
			t.Fatalf("got %+v", r)
		}
		ev := history(e, arn)
		assertTypes(t, ev, "ExecutionStarted", "ChoiceStateEntered", "ExecutionFailed")
		if d := detail(t, ev[2]); d["error"] != "States.NoChoiceMatched" {
			t.Errorf("ExecutionFailed = %v", d)
		}
	})
}

// TestSpecRetry is the spec's Retry example: ErrorA/ErrorB retried twice
// after 1s and 2s; ErrorC with the defaults (3 attempts, 5s × 2.0).
func TestSpecRetry(t *testing.T) {
	retry := `"Retry":[{"ErrorEquals":["ErrorA","ErrorB"],"IntervalSeconds":1,"BackoffRate":2.0,"MaxAttempts":2},
	                   {"ErrorEquals":["ErrorC"],"IntervalSeconds":5}]`
	tests := []struct {
		errType string
		gaps    []time.Duration
	}{
		{"ErrorA", []time.Duration{time.Second, 2 * time.Second}},
		{"ErrorB", []time.Duration{time.Second, 2 * time.Second}},
		{"ErrorC", []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second}},
		{"ErrorD", nil},
	}
	for _, tt := range tests {
		t.Run(tt.errType, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				lam := newFakeLambda().on("F", failWith(tt.errType, "boom"))
				e := newEngine(t, lam, 1)
				arn, r := run(t, e, `{"StartAt":"T","States":{"T":{"Type":"Task",
				  "Resource":"arn:aws:lambda:us-east-1:123456789012:function:F",`+retry+`,"End":true}}}`, `{}`)
				if r.status != StatusFailed || r.errName != tt.errType {
					t.Fatalf("got %+v", r)
				}
				assertJSON(t, "cause", r.cause, `{"errorMessage":"boom","errorType":"`+tt.errType+`"}`)
				calls := lam.invocations()
				if len(calls) != len(tt.gaps)+1 {
					t.Fatalf("%d calls, want %d", len(calls), len(tt.gaps)+1)
				}
				for i, gap := range tt.gaps {
					if got := calls[i+1].at.Sub(calls[i].at); got != gap {
						t.Errorf("retry %d after %v, want %v", i+1, got, gap)
					}
				}
				ev := history(e, arn)
				want := []string{"ExecutionStarted", "TaskStateEntered"}
				for range calls {
					want = append(want, "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed")
				}
				assertTypes(t, ev, append(want, "ExecutionFailed")...)
				assertChain(t, ev)
				if d := detail(t, find(ev, "LambdaFunctionFailed")[0]); d["error"] != tt.errType {
					t.Errorf("LambdaFunctionFailed = %v", d)
				}
			})
		})
	}
}

// TestRetryPolicies covers MaxAttempts 0, MaxDelaySeconds, FULL jitter,
// States.ALL and a retry that succeeds with $$.State.RetryCount.
func TestRetryPolicies(t *testing.T) {
	tests := []struct {
		name, retrier string
		failures      int
		gaps          []time.Duration
		jitter        bool
		status        string
	}{
		{"MaxAttempts 0 never retries", `{"ErrorEquals":["E"],"MaxAttempts":0}`, 9, nil, false, StatusFailed},
		{"MaxDelaySeconds caps", `{"ErrorEquals":["E"],"IntervalSeconds":10,"BackoffRate":3,"MaxAttempts":4,"MaxDelaySeconds":25}`, 9,
			[]time.Duration{10 * time.Second, 25 * time.Second, 25 * time.Second, 25 * time.Second}, false, StatusFailed},
		{"BackoffRate 1.5", `{"ErrorEquals":["States.ALL"],"IntervalSeconds":2,"BackoffRate":1.5,"MaxAttempts":3}`, 9,
			[]time.Duration{2 * time.Second, 3 * time.Second, 4500 * time.Millisecond}, false, StatusFailed},
		{"FULL jitter stays below the interval", `{"ErrorEquals":["E"],"IntervalSeconds":8,"MaxAttempts":3,"JitterStrategy":"FULL"}`, 9,
			[]time.Duration{8 * time.Second, 16 * time.Second, 32 * time.Second}, true, StatusFailed},
		{"succeeds on the third attempt", `{"ErrorEquals":["E"]}`, 2,
			[]time.Duration{time.Second, 2 * time.Second}, false, StatusSucceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := 0
				lam := newFakeLambda().on("F", func(_ context.Context, p []byte) ([]byte, error) {
					n++
					if n <= tt.failures {
						return nil, &fnError{ErrorType: "E", ErrorMessage: "again"}
					}
					return p, nil
				})
				e := newEngine(t, lam, 1)
				_, r := run(t, e, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
				  "Parameters":{"FunctionName":"F","Payload":{"retry.$":"$$.State.RetryCount"}},
				  "ResultSelector":{"retry.$":"$.Payload.retry"},
				  "Retry":[`+tt.retrier+`],"End":true}}}`, `{}`)
				if r.status != tt.status {
					t.Fatalf("got %+v, want %s", r, tt.status)
				}
				if tt.status == StatusSucceeded {
					assertJSON(t, "output", r.output, `{"retry":2}`)
				}
				calls := lam.invocations()
				if len(calls) != len(tt.gaps)+1 {
					t.Fatalf("%d calls, want %d", len(calls), len(tt.gaps)+1)
				}
				for i, gap := range tt.gaps {
					got := calls[i+1].at.Sub(calls[i].at)
					if (tt.jitter && got > gap) || (!tt.jitter && got != gap) {
						t.Errorf("retry %d after %v, want %v (jitter %v)", i+1, got, gap, tt.jitter)
					}
				}
			})
		})
	}
}

// TestSpecCatch is the spec's Catch example: the first matching Catcher
// wins, its ResultPath places {"Error","Cause"} into the raw input.
func TestSpecCatch(t *testing.T) {
	def := `{"StartAt":"T","States":{
	  "T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:F",
	       "Catch":[{"ErrorEquals":["java.lang.Exception"],"ResultPath":"$.error-info","Next":"RecoveryState"},
	                {"ErrorEquals":["States.ALL"],"Next":"EndMachine"}],"End":true},
	  "RecoveryState":{"Type":"Pass","End":true},
	  "EndMachine":{"Type":"Pass","Result":"ended","ResultPath":"$.how","End":true}}}`
	tests := []struct {
		errType, want string
	}{
		{"java.lang.Exception", `{"in":1,"error-info":{"Error":"java.lang.Exception","Cause":"{\"errorMessage\":\"bad\",\"errorType\":\"java.lang.Exception\"}"}}`},
		{"Other", `{"Error":"Other","Cause":"{\"errorMessage\":\"bad\",\"errorType\":\"Other\"}","how":"ended"}`},
	}
	for _, tt := range tests {
		t.Run(tt.errType, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEngine(t, newFakeLambda().on("F", failWith(tt.errType, "bad")), 1)
				arn, r := run(t, e, def, `{"in":1}`)
				if r.status != StatusSucceeded {
					t.Fatalf("got %+v", r)
				}
				assertJSON(t, "output", r.output, tt.want)
				ev := history(e, arn)
				assertTypes(t, ev, "ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted",
					"LambdaFunctionFailed", "TaskStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded")
				assertChain(t, ev)
			})
		})
	}
}

// TestCatchOrderingAndTaskFailed: catchers are tried in order; a timeout
// is not matched by States.TaskFailed; ResultPath null keeps the input.
func TestCatchOrderingAndTaskFailed(t *testing.T) {
	def := `{"StartAt":"T","States":{
	  "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"F"},"TimeoutSeconds":10,
	       "Catch":[{"ErrorEquals":["Specific"],"Next":"A","ResultPath":null},
	                {"ErrorEquals":["States.TaskFailed"],"Next":"B","ResultPath":"$.err"},
	                {"ErrorEquals":["States.ALL"],"Next":"C","ResultPath":"$.err"}],"End":true},
	  "A":{"Type":"Pass","Result":"A","ResultPath":"$.by","End":true},
	  "B":{"Type":"Pass","Result":"B","ResultPath":"$.by","End":true},
	  "C":{"Type":"Pass","Result":"C","ResultPath":"$.by","End":true}}}`
	tests := []struct {
		name string
		fn   handler
		want string
	}{
		{"specific", failWith("Specific", "x"), `{"in":1,"by":"A"}`},
		{"task failed", failWith("Other", "x"), `{"in":1,"by":"B","err":{"Error":"Other","Cause":"{\"errorMessage\":\"x\",\"errorType\":\"Other\"}"}}`},
		{"timeout", sleepy(time.Minute), `{"in":1,"by":"C","err":{"Error":"States.Timeout","Cause":""}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEngine(t, newFakeLambda().on("F", tt.fn), 1)
				_, r := run(t, e, def, `{"in":1}`)
				assertJSON(t, "output", r.output, tt.want)
			})
		})
	}
}

// TestTaskTimeout: TimeoutSeconds and TimeoutSecondsPath end a slow task
// with States.Timeout (TaskTimedOut / LambdaFunctionTimedOut), which Retry
// can match.
func TestTaskTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lam := newFakeLambda().on("Slow", sleepy(time.Hour))
		e := newEngine(t, lam, 1)
		begin := time.Now()
		arn, r := run(t, e, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		  "Parameters":{"FunctionName":"Slow"},"TimeoutSecondsPath":"$.timeout",
		  "Retry":[{"ErrorEquals":["States.Timeout"],"MaxAttempts":1,"IntervalSeconds":3}],"End":true}}}`, `{"timeout":30}`)
		if r.status != StatusFailed || r.errName != "States.Timeout" {
			t.Fatalf("got %+v", r)
		}
		if got := time.Since(begin); got != 63*time.Second {
			t.Errorf("took %v, want 63s (30 + 3 + 30)", got)
		}
		ev := history(e, arn)
		assertTypes(t, ev, "ExecutionStarted", "TaskStateEntered",
			"TaskScheduled", "TaskStarted", "TaskTimedOut",
			"TaskScheduled", "TaskStarted", "TaskTimedOut", "ExecutionFailed")
		if d := detail(t, ev[2]); d["timeoutInSeconds"] != 30.0 {
			t.Errorf("TaskScheduled = %v", d)
		}
		if d := detail(t, ev[4]); d["error"] != "States.Timeout" || d["resource"] != "invoke" {
			t.Errorf("TaskTimedOut = %v", d)
		}

		arn, r = run(t, e, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:000000000000:function:Slow",
		  "TimeoutSeconds":5,"End":true}}}`, `{}`)
		if r.status != StatusFailed || r.errName != "States.Timeout" {
			t.Fatalf("got %+v", r)
		}
		assertTypes(t, history(e, arn), "ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted",
			"LambdaFunctionTimedOut", "ExecutionFailed")
	})
}

// TestWaitStates covers Seconds, SecondsPath, Timestamp and TimestampPath,
// and the time scale.
func TestWaitStates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, newFakeLambda(), 1)
		future := time.Now().Add(90 * time.Second).UTC().Format(time.RFC3339)
		tests := []struct {
			wait, input string
			want        time.Duration
		}{
			{`"Timestamp":"` + future + `"`, `{}`, 90 * time.Second},
			{`"Seconds":10`, `{}`, 10 * time.Second},
			{`"SecondsPath":"$.s"`, `{"s":7}`, 7 * time.Second},
			{`"TimestampPath":"$.at"`, `{"at":"2000-01-01T00:00:00Z"}`, 0},
		}
		for i, tt := range tests {
			smArn, err := e.CreateStateMachine(fmt.Sprintf("wait%d", i), `{"StartAt":"W","States":{"W":{"Type":"Wait",`+tt.wait+`,"End":true}}}`, "")
			if err != nil {
				t.Fatal(err)
			}
			begin := time.Now()
			arn, _, _ := e.StartExecution(smArn, "", tt.input)
			r := wait(t, e, arn)
			if got := time.Since(begin); got != tt.want || r.status != StatusSucceeded {
				t.Errorf("%s: waited %v (%s), want %v", tt.wait, got, r.status, tt.want)
			}
			assertJSON(t, "output", r.output, tt.input)
			assertTypes(t, history(e, arn), "ExecutionStarted", "WaitStateEntered", "WaitStateExited", "ExecutionSucceeded")
		}
		_, r := run(t, e, `{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.s","End":true}}}`, `{"s":"soon"}`)
		if r.status != StatusFailed || r.errName != "States.Runtime" {
			t.Errorf("bad SecondsPath: %+v", r)
		}
	})
}

// TestTimeScale: a 30-day wait passes in 30 seconds at 86400×.
func TestTimeScale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, newFakeLambda(), 86400)
		begin := time.Now()
		_, r := run(t, e, `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":2592000,"End":true}}}`, `{}`)
		if got := time.Since(begin); got != 30*time.Second || r.status != StatusSucceeded {
			t.Errorf("waited %v (%s), want 30s", got, r.status)
		}
	})
}

// TestExecutionTimeout: the top-level TimeoutSeconds ends the execution
// with TIMED_OUT.
func TestExecutionTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, newFakeLambda(), 10)
		begin := time.Now()
		arn, r := run(t, e, `{"TimeoutSeconds":100,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1000,"End":true}}}`, `{}`)
		if r.status != StatusTimedOut || r.errName != "States.Timeout" {
			t.Fatalf("got %+v", r)
		}
		if got := time.Since(begin); got != 10*time.Second {
			t.Errorf("timed out after %v, want 10s (100s at 10×)", got)
		}
		assertTypes(t, history(e, arn), "ExecutionStarted", "WaitStateEntered", "ExecutionTimedOut")
	})
}

// TestStopDuringWait: StopExecution aborts a waiting execution at once.
func TestStopDuringWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, newFakeLambda(), 1)
		arn := start(t, e, `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":86400,"Next":"P"},"P":{"Type":"Pass","End":true}}}`, `{}`)
		time.Sleep(time.Hour)
		if _, err := e.StopExecution(arn, "Operator.Stop", "no longer needed"); err != nil {
			t.Fatal(err)
		}
		r := wait(t, e, arn)
		if r.status != StatusAborted || r.errName != "Operator.Stop" || r.cause != "no longer needed" {
			t.Fatalf("got %+v", r)
		}
		ev := history(e, arn)
		assertTypes(t, ev, "ExecutionStarted", "WaitStateEntered", "ExecutionAborted")
		if d := detail(t, ev[2]); d["error"] != "Operator.Stop" || d["cause"] != "no longer needed" {
			t.Errorf("ExecutionAborted = %v", d)
		}
		time.Sleep(48 * time.Hour) // nothing happens after the stop
		if len(history(e, arn)) != 3 || e.Transitions(arn) != 1 {
			t.Errorf("history grew after the stop: %v", eventTypes(history(e, arn)))
		}
	})
}

// TestParallel: branches get the effective input, the result is the array
// of their outputs in branch order; a failing branch fails the state and
// its Catch applies.
func TestParallel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lam := newFakeLambda().on("Double", func(_ context.Context, p []byte) ([]byte, error) {
			var n int
			_ = json.Unmarshal(p, &n)
			return []byte(strconv.Itoa(2 * n)), nil
		}).on("Boom", failWith("BranchError", "broken"))
		e := newEngine(t, lam, 1)
		arn, r := run(t, e, `{"StartAt":"P","States":{"P":{"Type":"Parallel","InputPath":"$.n","ResultPath":"$.results",
		  "Branches":[
		    {"StartAt":"Slow","States":{"Slow":{"Type":"Wait","Seconds":5,"Next":"D"},"D":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:000000000000:function:Double","End":true}}},
		    {"StartAt":"Same","States":{"Same":{"Type":"Pass","End":true}}}],
		  "ResultSelector":{"doubled.$":"$[0]","same.$":"$[1]"},"End":true}}}`, `{"n":21}`)
		assertJSON(t, "output", r.output, `{"n":21,"results":{"doubled":42,"same":21}}`)
		ev := history(e, arn)
		if got := eventTypes(ev); got[1] != "ParallelStateEntered" || got[2] != "ParallelStateStarted" ||
			got[len(got)-3] != "ParallelStateSucceeded" || got[len(got)-2] != "ParallelStateExited" {
			t.Errorf("history = %v", got)
		}
		started := find(ev, "ParallelStateStarted")[0].ID
		for _, name := range []string{"WaitStateEntered", "PassStateEntered"} {
			if prev := find(ev, name)[0].PrevID; prev != started {
				t.Errorf("%s previousEventId = %d, want %d (ParallelStateStarted)", name, prev, started)
			}
		}
		if e.Transitions(arn) != 4 {
			t.Errorf("Transitions = %d, want 4", e.Transitions(arn))
		}

		arn, r = run(t, e, `{"StartAt":"P","States":{
		  "P":{"Type":"Parallel","Branches":[
		    {"StartAt":"Long","States":{"Long":{"Type":"Wait","Seconds":3600,"End":true}}},
		    {"StartAt":"B","States":{"B":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:000000000000:function:Boom","End":true}}}],
		   "Catch":[{"ErrorEquals":["BranchError"],"Next":"Caught","ResultPath":"$.error"}],"End":true},
		  "Caught":{"Type":"Pass","End":true}}}`, `{}`)
		if r.status != StatusSucceeded || !strings.Contains(r.output, `"Error":"BranchError"`) {
			t.Fatalf("got %+v", r)
		}
		got := eventTypes(history(e, arn))
		if !slices.Contains(got, "ParallelStateFailed") || !slices.Contains(got, "ParallelStateExited") || slices.Contains(got, "WaitStateExited") {
			t.Errorf("history = %v", got)
		}
	})
}

// TestMap: each item runs through the processor with ItemSelector and
// $$.Map.Item; results keep item order; MaxConcurrency limits overlap.
func TestMap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		running, peak := 0, 0
		lam := newFakeLambda().on("Work", func(ctx context.Context, p []byte) ([]byte, error) {
			mu.Lock()
			running++
			peak = max(peak, running)
			mu.Unlock()
			time.Sleep(time.Second)
			mu.Lock()
			running--
			mu.Unlock()
			return p, nil
		})
		e := newEngine(t, lam, 1)
		arn, r := run(t, e, `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":2,
		  "ItemSelector":{"index.$":"$$.Map.Item.Index","value.$":"$$.Map.Item.Value","tag.$":"$.tag"},
		  "ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"W","States":{
		    "W":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:000000000000:function:Work","End":true}}},
		  "ResultPath":"$.out","End":true}}}`, `{"tag":"t","items":["a","b","c","d","e"]}`)
		if r.status != StatusSucceeded {
			t.Fatalf("got %+v", r)
		}
		assertJSON(t, "output", r.output, `{"tag":"t","items":["a","b","c","d","e"],"out":[
		  {"index":0,"value":"a","tag":"t"},{"index":1,"value":"b","tag":"t"},{"index":2,"value":"c","tag":"t"},
		  {"index":3,"value":"d","tag":"t"},{"index":4,"value":"e","tag":"t"}]}`)
		if peak != 2 {
			t.Errorf("peak concurrency %d, want 2", peak)
		}
		ev := history(e, arn)
		if n := len(find(ev, "MapIterationSucceeded")); n != 5 {
			t.Errorf("%d MapIterationSucceeded, want 5", n)
		}
		if d := detail(t, find(ev, "MapStateStarted")[0]); d["length"] != 5.0 {
			t.Errorf("MapStateStarted = %v", d)
		}
		if e.Transitions(arn) != 6 {
			t.Errorf("Transitions = %d, want 6", e.Transitions(arn))
		}
	})
}

// TestFailState: Error and Cause, or ErrorPath and CausePath (with an
// intrinsic function), end the execution.
func TestFailState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, newFakeLambda(), 1)
		arn, r := run(t, e, `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"MyError","Cause":"it broke"}}}`, `{}`)
		if r.status != StatusFailed || r.errName != "MyError" || r.cause != "it broke" {
			t.Fatalf("got %+v", r)
		}
		ev := history(e, arn)
		assertTypes(t, ev, "ExecutionStarted", "FailStateEntered", "ExecutionFailed")
		if d := detail(t, ev[2]); d["error"] != "MyError" || d["cause"] != "it broke" {
			t.Errorf("ExecutionFailed = %v", d)
		}
		_, r = run(t, e, `{"StartAt":"F","States":{"F":{"Type":"Fail","ErrorPath":"$.code","CausePath":"States.Format('code {}', $.code)"}}}`, `{"code":"E42"}`)
		if r.errName != "E42" || r.cause != "code E42" {
			t.Fatalf("got %+v", r)
		}
	})
}

// TestRuntimeErrorsAreNotCaught: a path that selects nothing is
// States.Runtime, which States.ALL does not catch.
func TestRuntimeErrorsAreNotCaught(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, newFakeLambda().on("F", echo), 1)
		_, r := run(t, e, `{"StartAt":"T","States":{
		  "T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:000000000000:function:F","Parameters":{"x.$":"$.missing"},
		       "Catch":[{"ErrorEquals":["States.ALL"],"Next":"C"}],"End":true},
		  "C":{"Type":"Succeed"}}}`, `{}`)
		if r.status != StatusFailed || r.errName != "States.Runtime" || !strings.Contains(r.cause, "$.missing") {
			t.Fatalf("got %+v", r)
		}
	})
}
