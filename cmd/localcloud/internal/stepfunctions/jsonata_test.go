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
