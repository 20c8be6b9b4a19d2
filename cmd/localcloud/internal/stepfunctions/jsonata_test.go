package stepfunctions

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// awaitDef is the state that waits for a customer's partner relationships:
// a callback task whose timeout doubles, up to a cap, each time it passes;
// a transient error is retried; any other error is recorded. It is written
// with ${Fn} as template.yaml writes it, substituted as the local cloud does.
const awaitDef = `{"QueryLanguage":"JSONata","StartAt":"AwaitRelationships","States":{
  "AwaitRelationships":{
    "Type":"Task",
    "QueryLanguage":"JSONata",
    "Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
    "Arguments":{"FunctionName":"${Fn}","Payload":{"providerId":"{% $states.input.providerId %}","taskToken":"{% $states.context.Task.Token %}","executionArn":"{% $states.context.Execution.Id %}"}},
    "TimeoutSeconds":"{% $states.input.wait %}",
    "Output":"{% $merge([$states.input, {'relationships': $states.result}]) %}",
    "Retry":[{"ErrorEquals":["TransientError"],"IntervalSeconds":2,"BackoffRate":2,"MaxAttempts":6}],
    "Catch":[
      {"ErrorEquals":["States.Timeout"],"Output":"{% $merge([$states.input, {'wait': $min([$states.input.wait * 2, 86400])}]) %}","Next":"AwaitRelationships"},
      {"ErrorEquals":["States.ALL"],"Output":"{% $merge([$states.input, {'error': $states.errorOutput}]) %}","Next":"RecordFailed"}
    ],
    "Next":"Done"},
  "Done":{"Type":"Succeed"},
  "RecordFailed":{"Type":"Pass","End":true}}}`

// pollPayload is what AwaitRelationships sends its function.
type pollPayload struct {
	ProviderID   string `json:"providerId"`
	TaskToken    string `json:"taskToken"`
	ExecutionArn string `json:"executionArn"`
}

// poller is a fake function that hands each poll to the test.
func poller() (handler, <-chan pollPayload) {
	polls := make(chan pollPayload, 20)
	return func(_ context.Context, p []byte) ([]byte, error) {
		var in pollPayload
		if err := json.Unmarshal(p, &in); err != nil {
			return nil, err
		}
		polls <- in
		return []byte(`{"accepted":true}`), nil
	}, polls
}

// timeoutsOf returns the timeoutInSeconds of every TaskScheduled event.
func timeoutsOf(t *testing.T, events []event) []float64 {
	t.Helper()
	var out []float64
	for _, ev := range find(events, "TaskScheduled") {
		n, _ := detail(t, ev)["timeoutInSeconds"].(float64)
		out = append(out, n)
	}
	return out
}

func TestAwaitRelationships(t *testing.T) {
	def := strings.ReplaceAll(awaitDef, "${Fn}", "arn:aws:lambda:us-east-1:123456789012:function:ListRelationships")
	tests := []struct {
		name string
		// wait is the input's first wait; scale the engine's time scale.
		wait  int
		scale float64
		// answer acts on the n-th poll (from 0) and says whether the test
		// answered it; unanswered polls time out.
		answer    func(t *testing.T, e *Engine, n int, p pollPayload) bool
		status    string
		output    string
		timeouts  []float64
		elapsed   time.Duration
		entered   int // times AwaitRelationships was entered
		lastState string
	}{
		{
			name: "each timeout doubles the wait up to the cap, then an answer ends it", wait: 21600, scale: 1,
			answer: func(t *testing.T, e *Engine, n int, p pollPayload) bool {
				if n < 4 {
					return false
				}
				time.Sleep(time.Hour)
				if err := e.SendTaskSuccess(p.TaskToken, `[{"tenantId":"t1"}]`); err != nil {
					t.Error(err)
				}
				return true
			},
			status:    StatusSucceeded,
			output:    `{"providerId":"p1","wait":86400,"relationships":[{"tenantId":"t1"}]}`,
			timeouts:  []float64{21600, 43200, 86400, 86400, 86400},
			elapsed:   (21600 + 43200 + 86400 + 86400 + 3600) * time.Second,
			entered:   5,
			lastState: "Done",
		},
		{
			name: "the webhook's answer cuts the wait short, an empty list included", wait: 3600, scale: 1,
			answer: func(t *testing.T, e *Engine, n int, p pollPayload) bool {
				time.Sleep(10 * time.Second)
				if err := e.SendTaskSuccess(p.TaskToken, `[]`); err != nil {
					t.Error(err)
				}
				return true
			},
			status:    StatusSucceeded,
			output:    `{"providerId":"p1","wait":3600,"relationships":[]}`,
			timeouts:  []float64{3600},
			elapsed:   10 * time.Second,
			entered:   1,
			lastState: "Done",
		},
		{
			name: "an error is caught with its errorOutput", wait: 3600, scale: 1,
			answer: func(t *testing.T, e *Engine, n int, p pollPayload) bool {
				if err := e.SendTaskFailure(p.TaskToken, "PartnerCenter.Forbidden", "the partner lost its role"); err != nil {
					t.Error(err)
				}
				return true
			},
			status:    StatusSucceeded,
			output:    `{"providerId":"p1","wait":3600,"error":{"Error":"PartnerCenter.Forbidden","Cause":"the partner lost its role"}}`,
			timeouts:  []float64{3600},
			entered:   1,
			lastState: "RecordFailed",
		},
		{
			name: "a transient error is retried after IntervalSeconds", wait: 3600, scale: 1,
			answer: func(t *testing.T, e *Engine, n int, p pollPayload) bool {
				if n == 0 {
					if err := e.SendTaskFailure(p.TaskToken, "TransientError", "try again"); err != nil {
						t.Error(err)
					}
					return false // the retry polls again
				}
				if err := e.SendTaskSuccess(p.TaskToken, `[{"tenantId":"t2"}]`); err != nil {
					t.Error(err)
				}
				return true
			},
			status:    StatusSucceeded,
			output:    `{"providerId":"p1","wait":3600,"relationships":[{"tenantId":"t2"}]}`,
			timeouts:  []float64{3600, 3600},
			elapsed:   2 * time.Second,
			entered:   1,
			lastState: "Done",
		},
		{
			name: "the time scale divides a TimeoutSeconds that an expression gives", wait: 86400, scale: 86400,
			answer: func(t *testing.T, e *Engine, n int, p pollPayload) bool {
				if n == 0 {
					return false
				}
				if err := e.SendTaskSuccess(p.TaskToken, `[]`); err != nil {
					t.Error(err)
				}
				return true
			},
			status:    StatusSucceeded,
			output:    `{"providerId":"p1","wait":86400,"relationships":[]}`,
			timeouts:  []float64{86400, 86400},
			elapsed:   time.Second, // one day at 86400×
			entered:   2,
			lastState: "Done",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fn, polls := poller()
				e := newEngine(t, newFakeLambda().on("ListRelationships", fn), tt.scale)
				begin := time.Now()
				arn := start(t, e, def, fmt.Sprintf(`{"providerId":"p1","wait":%d}`, tt.wait))
				for n := 0; ; n++ {
					p := <-polls
					if p.ProviderID != "p1" || p.ExecutionArn != arn || len(p.TaskToken) < 200 {
						t.Fatalf("poll %d payload = %+v", n, p)
					}
					if tt.answer(t, e, n, p) {
						break
					}
				}
				r := wait(t, e, arn)
				if r.status != tt.status {
					t.Fatalf("status %s (%s: %s)", r.status, r.errName, r.cause)
				}
				assertJSON(t, "output", r.output, tt.output)
				if tt.elapsed > 0 {
					if got := time.Since(begin); got != tt.elapsed {
						t.Errorf("took %v, want %v", got, tt.elapsed)
					}
				}
				ev := history(e, arn)
				assertChain(t, ev)
				if got := timeoutsOf(t, ev); !slices.Equal(got, tt.timeouts) {
					t.Errorf("TaskScheduled timeouts = %v, want %v", got, tt.timeouts)
				}
				if got := len(find(ev, "TaskStateEntered")); got != tt.entered {
					t.Errorf("AwaitRelationships entered %d times, want %d", got, tt.entered)
				}
				// One billed transition per poll, plus the last state.
				if got := e.Transitions(arn); got != tt.entered+1 {
					t.Errorf("Transitions = %d, want %d", got, tt.entered+1)
				}
				last := find(ev, "SucceedStateEntered")
				if tt.lastState == "RecordFailed" {
					last = find(ev, "PassStateEntered")
				}
				if len(last) != 1 || detail(t, last[0])["name"] != tt.lastState {
					t.Errorf("did not end in %s: %v", tt.lastState, eventTypes(ev))
				}
				// The history carries the evaluated Arguments.
				params := detail(t, find(ev, "TaskScheduled")[0])["parameters"].(string)
				if !strings.Contains(params, `"providerId":"p1"`) || !strings.Contains(params, `"executionArn":"`+arn+`"`) || strings.Contains(params, "{%") {
					t.Errorf("TaskScheduled parameters = %s", params)
				}
			})
		})
	}
}

// TestJSONataStates runs every JSONata field of every state type.
func TestJSONataStates(t *testing.T) {
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:Echo"
	tests := []struct {
		name, def, input string
		output           string
		elapsed          time.Duration
		types            []string // event types, when checked
	}{
		{
			name: "Pass Output templates, nested in objects and arrays",
			def: `{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","End":true,
			  "Output":{"static":"Hello","not-evaluated":"$x","n":"{% $states.input.n + 1 %}",
			    "nested":{"list":["{% $uppercase($states.input.s) %}",2,{"deep":"{% $states.context.State.Name %}"}]},
			    "all":"{% $states.input %}"}}}}`,
			input:  `{"n":41,"s":"ab"}`,
			output: `{"static":"Hello","not-evaluated":"$x","n":42,"nested":{"list":["AB",2,{"deep":"P"}]},"all":{"n":41,"s":"ab"}}`,
			types:  []string{"ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"},
		},
		{
			name:   "Pass without Output passes its input",
			def:    `{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`,
			input:  `{"a":[]}`,
			output: `{"a":[]}`,
		},
		{
			name: "a JSONata state in a JSONPath machine",
			def: `{"StartAt":"A","States":{
			  "A":{"Type":"Pass","Parameters":{"v.$":"$.v"},"Next":"B"},
			  "B":{"Type":"Pass","QueryLanguage":"JSONata","Output":"{% $states.input.v * 10 %}","End":true}}}`,
			input:  `{"v":3,"x":1}`,
			output: `30`,
		},
		{
			name: "Choice Condition, rule Output and Default",
			def: `{"QueryLanguage":"JSONata","StartAt":"C","States":{
			  "C":{"Type":"Choice","Choices":[
			    {"Condition":"{% $states.input.n > 10 %}","Next":"Big","Output":{"size":"big"}},
			    {"Condition":"{% $states.input.n > 5 %}","Next":"Big"}],
			   "Default":"Small","Output":{"size":"{% 'state ' & $string($states.input.n) %}"}},
			  "Big":{"Type":"Succeed"},"Small":{"Type":"Succeed","Output":{"small":"{% $states.input %}"}}}}`,
			input:  `{"n":3}`,
			output: `{"small":{"size":"state 3"}}`,
		},
		{
			name: "Choice rule without Output uses the state's",
			def: `{"QueryLanguage":"JSONata","StartAt":"C","States":{
			  "C":{"Type":"Choice","Choices":[{"Condition":"{% $states.input.n > 10 %}","Next":"Big","Output":{"size":"big"}},
			    {"Condition":"{% $states.input.n > 5 %}","Next":"Big"}],"Default":"Big","Output":{"size":"medium"}},
			  "Big":{"Type":"Succeed"}}}`,
			input:  `{"n":7}`,
			output: `{"size":"medium"}`,
		},
		{
			name: "Wait Seconds as an expression",
			def: `{"QueryLanguage":"JSONata","StartAt":"W","States":{"W":{"Type":"Wait","Seconds":"{% $states.input.s * 2 %}",
			  "Output":{"waited":"{% $states.input.s * 2 %}"},"End":true}}}`,
			input:   `{"s":45}`,
			output:  `{"waited":90}`,
			elapsed: 90 * time.Second,
		},
		{
			name: "Wait Timestamp as an expression",
			def: `{"QueryLanguage":"JSONata","StartAt":"W","States":{"W":{"Type":"Wait",
			  "Timestamp":"{% $fromMillis($toMillis($states.context.Execution.StartTime) + 30000) %}","End":true}}}`,
			input:   `{}`,
			output:  `{}`,
			elapsed: 30 * time.Second,
		},
		{
			name:    "Wait with literal Seconds",
			def:     `{"QueryLanguage":"JSONata","StartAt":"W","States":{"W":{"Type":"Wait","Seconds":5,"End":true}}}`,
			input:   `{"k":1}`,
			output:  `{"k":1}`,
			elapsed: 5 * time.Second,
		},
		{
			name: "Task Arguments, $states.result and literal timeouts",
			def: `{"QueryLanguage":"JSONata","StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
			  "Arguments":{"FunctionName":"Echo","Payload":{"who":"{% $states.input.name %}","ids":["{% $states.input.id %}"]}},
			  "TimeoutSeconds":60,"HeartbeatSeconds":"{% 10 %}",
			  "Output":{"echoed":"{% $states.result.Payload %}","code":"{% $states.result.StatusCode %}"},"End":true}}}`,
			input:  `{"name":"Ada","id":7}`,
			output: `{"echoed":{"who":"Ada","ids":[7]},"code":200}`,
			types:  []string{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"},
		},
		{
			name: "Task with a function ARN: Arguments are the payload, without them the input",
			def: `{"QueryLanguage":"JSONata","StartAt":"A","States":{
			  "A":{"Type":"Task","Resource":"` + fn + `","Arguments":"{% {'x': $states.input.x} %}","Next":"B"},
			  "B":{"Type":"Task","Resource":"` + fn + `","End":true}}}`,
			input:  `{"x":1,"y":2}`,
			output: `{"x":1}`,
		},
		{
			name: "Parallel Arguments and Output",
			def: `{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Parallel","Arguments":{"v":"{% $states.input.v %}"},
			  "Branches":[{"StartAt":"A","States":{"A":{"Type":"Pass","Output":"{% $states.input.v + 1 %}","End":true}}},
			              {"StartAt":"B","States":{"B":{"Type":"Pass","Output":"{% $states.input.v * 2 %}","End":true}}}],
			  "Output":"{% $sum($states.result) %}","End":true}}}`,
			input:  `{"v":5}`,
			output: `16`,
		},
		{
			name: "Map Items, ItemSelector and MaxConcurrency",
			def: `{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","Items":"{% $states.input.list %}",
			  "ItemSelector":{"i":"{% $states.context.Map.Item.Index %}","v":"{% $states.context.Map.Item.Value %}","k":"{% $states.input.k %}"},
			  "MaxConcurrency":"{% 1 %}",
			  "ItemProcessor":{"StartAt":"X","States":{"X":{"Type":"Pass","Output":"{% $states.input.k & $string($states.input.i) & $states.input.v %}","End":true}}},
			  "End":true}}}`,
			input:  `{"list":["a","b"],"k":"#"}`,
			output: `["#0a","#1b"]`,
		},
		{
			name: "Map Items literal",
			def: `{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","Items":[1,2,3],
			  "ItemProcessor":{"StartAt":"X","States":{"X":{"Type":"Pass","Output":"{% $states.input * $states.input %}","End":true}}},
			  "Output":"{% $states.result %}","End":true}}}`,
			input:  `{}`,
			output: `[1,4,9]`,
		},
		{
			name: "Assign: every expression sees the variables from before the state, and so does Output",
			def: `{"QueryLanguage":"JSONata","StartAt":"A","States":{
			  "A":{"Type":"Pass","Assign":{"a":1,"b":"{% 2 %}"},"Next":"B"},
			  "B":{"Type":"Pass","Assign":{"a":"{% $b %}","b":"{% $a %}","seen":"{% [$a, $b] %}"},"Output":{"before":"{% [$a, $b] %}"},"Next":"C"},
			  "C":{"Type":"Pass","Output":{"before":"{% $states.input.before %}","after":"{% [$a, $b] %}","seen":"{% $seen %}"},"End":true}}}`,
			input:  `{}`,
			output: `{"before":[1,2],"after":[2,1],"seen":[1,2]}`,
		},
		{
			name: "Assign in a Task sees $states.result; a branch's assignments stay in the branch",
			def: `{"QueryLanguage":"JSONata","StartAt":"T","States":{
			  "T":{"Type":"Task","Resource":"` + fn + `","Arguments":{"n":5},"Assign":{"n":"{% $states.result.n %}"},"Output":{},"Next":"P"},
			  "P":{"Type":"Parallel","Branches":[{"StartAt":"B","States":{"B":{"Type":"Pass","Assign":{"n":99},"Next":"R"},"R":{"Type":"Pass","Output":"{% $n %}","End":true}}}],
			       "Output":{"inner":"{% $states.result[0] %}","outer":"{% $n %}"},"End":true}}}`,
			input:  `{}`,
			output: `{"inner":99,"outer":5}`,
		},
		{
			name: "Succeed Output",
			def: `{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Succeed","Output":{"done":true,
			  "exec":"{% $states.context.Execution.Name != '' %}"}}}}`,
			input:  `{}`,
			output: `{"done":true,"exec":true}`,
		},
		{
			name: "Fail Error and Cause as expressions, caught by nobody",
			def: `{"QueryLanguage":"JSONata","StartAt":"F","States":{"F":{"Type":"Fail",
			  "Error":"{% 'Partner.' & $states.input.code %}","Cause":"{% 'no relationship for ' & $states.input.id %}"}}}`,
			input: `{"code":"Missing","id":"c1"}`,
			types: []string{"ExecutionStarted", "FailStateEntered", "ExecutionFailed"},
		},
		{
			name: "a Catcher's Assign and Output see $states.errorOutput",
			def: `{"QueryLanguage":"JSONata","StartAt":"T","States":{
			  "T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:Boom","Assign":{"never":true},
			       "Catch":[{"ErrorEquals":["States.ALL"],"Assign":{"why":"{% $states.errorOutput.Error %}"},"Next":"R"}],"End":true},
			  "R":{"Type":"Pass","Output":{"why":"{% $why %}","input":"{% $states.input %}","never":"{% $exists($never) %}"},"End":true}}}`,
			input:  `{"a":1}`,
			output: `{"why":"Boom.Failed","input":{"Error":"Boom.Failed","Cause":"{\"errorMessage\":\"kaput\",\"errorType\":\"Boom.Failed\"}"},"never":false}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				lam := newFakeLambda().on("Echo", echo).on("Boom", failWith("Boom.Failed", "kaput"))
				e := newEngine(t, lam, 1)
				begin := time.Now()
				arn, r := run(t, e, tt.def, tt.input)
				if tt.output == "" {
					if r.status != StatusFailed || r.errName != "Partner.Missing" || r.cause != "no relationship for c1" {
						t.Errorf("got %+v", r)
					}
				} else {
					if r.status != StatusSucceeded {
						t.Fatalf("status %s (%s: %s)", r.status, r.errName, r.cause)
					}
					assertJSON(t, "output", r.output, tt.output)
				}
				if got := time.Since(begin); got != tt.elapsed {
					t.Errorf("took %v, want %v", got, tt.elapsed)
				}
				if tt.types != nil {
					ev := history(e, arn)
					assertTypes(t, ev, tt.types...)
					assertChain(t, ev)
				}
			})
		})
	}
}

// TestJSONataQueryEvaluationError: an expression that fails, returns
// nothing or returns the wrong type fails the state with
// States.QueryEvaluationError, which Catch can catch.
func TestJSONataQueryEvaluationError(t *testing.T) {
	catch := `,"Catch":[{"ErrorEquals":["States.QueryEvaluationError"],"Output":"{% $states.errorOutput %}","Next":"Caught"}]`
	tests := []struct {
		name, state string
		caught      bool
		want        []string // in the cause
	}{
		{"undefined in Arguments", `"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Arguments":{"FunctionName":"Echo","Payload":{"id":"{% $states.input.missing %}"}}` + catch,
			true, []string{"'$states.input.missing'", "'Arguments/Payload/id'", "returned nothing (undefined)", "state 'S'", "event id #2"}},
		{"type error in Output", `"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Arguments":{"FunctionName":"Echo"},"Output":"{% 'a' + 1 %}"` + catch,
			true, []string{"'Output'", "threw an error"}},
		{"TimeoutSeconds not an integer", `"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Arguments":{"FunctionName":"Echo"},"TimeoutSeconds":"{% $states.input.name %}"` + catch,
			true, []string{"'TimeoutSeconds'", "Expected 'integer'", "'string'"}},
		{"TimeoutSeconds not positive", `"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Arguments":{"FunctionName":"Echo"},"TimeoutSeconds":"{% 0 %}"` + catch,
			true, []string{"'TimeoutSeconds'", "Expected 'integer'"}},
		{"uncaught: Pass Output", `"Type":"Pass","Output":{"x":"{% $nope %}"}`,
			false, []string{"'$nope'", "'Output/x'", "returned nothing"}},
		{"uncaught: Choice Condition not a boolean", `"Type":"Choice","Choices":[{"Condition":"{% $states.input.name %}","Next":"Caught"}]`,
			false, []string{"'Choices[0]/Condition'", "Expected 'boolean'"}},
		{"uncaught: Wait Seconds negative", `"Type":"Wait","Seconds":"{% -1 %}"`,
			false, []string{"'Seconds'"}},
		{"uncaught: a function result", `"Type":"Pass","Output":"{% function($x){$x} %}"`,
			false, []string{"unexpected result type"}},
		{"uncaught: a function Step Functions lacks", `"Type":"Pass","Output":"{% $eval('1') %}"`,
			false, []string{"$eval is not available"}},
		{"uncaught: a Catcher's Output fails", `"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Arguments":{"FunctionName":"Boom"},
		  "Catch":[{"ErrorEquals":["States.ALL"],"Output":"{% $states.errorOutput.Nope %}","Next":"Caught"}]`,
			false, []string{"'Catch[0]/Output'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				lam := newFakeLambda().on("Echo", echo).on("Boom", failWith("Boom.Failed", "kaput"))
				e := newEngine(t, lam, 1)
				next := `,"Next":"Caught"`
				if strings.Contains(tt.state, `"Type":"Choice"`) {
					next = ``
				}
				def := `{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{` + tt.state + next + `},"Caught":{"Type":"Succeed"}}}`
				_, r := run(t, e, def, `{"name":"Ada"}`)
				cause := r.cause
				if tt.caught {
					if r.status != StatusSucceeded {
						t.Fatalf("not caught: %+v", r)
					}
					var out struct{ Error, Cause string }
					if err := json.Unmarshal([]byte(r.output), &out); err != nil {
						t.Fatal(err)
					}
					if out.Error != "States.QueryEvaluationError" {
						t.Errorf("caught %s", out.Error)
					}
					cause = out.Cause
				} else if r.status != StatusFailed || r.errName != "States.QueryEvaluationError" {
					t.Fatalf("got %+v", r)
				}
				for _, w := range tt.want {
					if !strings.Contains(cause, w) {
						t.Errorf("cause %q lacks %q", cause, w)
					}
				}
			})
		})
	}
}
