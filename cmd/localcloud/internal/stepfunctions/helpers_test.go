package stepfunctions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/stepfunctions/jsonpath"
)

// fnError is a function error as the lead's Lambda host reports it.
type fnError struct {
	ErrorType    string
	ErrorMessage string
	StackTrace   []string
}

func (e *fnError) LambdaErrorType() string { return e.ErrorType }
func (e *fnError) Error() string           { return e.ErrorType + ": " + e.ErrorMessage }

// handler is one fake function.
type handler func(ctx context.Context, payload []byte) ([]byte, error)

// invocation records one call of a fake function.
type invocation struct {
	fn      string
	payload string
	at      time.Time
}

// fakeLambda is a LambdaInvoker backed by Go functions.
type fakeLambda struct {
	mu    sync.Mutex
	fns   map[string]handler
	calls []invocation
}

func newFakeLambda() *fakeLambda { return &fakeLambda{fns: map[string]handler{}} }

func (f *fakeLambda) on(name string, h handler) *fakeLambda {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fns[name] = h
	return f
}

func (f *fakeLambda) Invoke(ctx context.Context, name string, payload []byte) ([]byte, error) {
	f.mu.Lock()
	h, ok := f.fns[name]
	f.calls = append(f.calls, invocation{fn: name, payload: string(payload), at: time.Now()})
	f.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("function %q not found", name)
	}
	return h(ctx, payload)
}

func (f *fakeLambda) invocations() []invocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// echo returns its payload.
func echo(_ context.Context, p []byte) ([]byte, error) { return p, nil }

// respond returns a fixed response.
func respond(s string) handler {
	return func(context.Context, []byte) ([]byte, error) { return []byte(s), nil }
}

// failWith returns a function error.
func failWith(errorType, msg string) handler {
	return func(context.Context, []byte) ([]byte, error) {
		return nil, &fnError{ErrorType: errorType, ErrorMessage: msg}
	}
}

// sleepy waits d (or until canceled) and then echoes.
func sleepy(d time.Duration) handler {
	return func(ctx context.Context, p []byte) ([]byte, error) {
		select {
		case <-time.After(d):
			return p, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// newEngine returns an engine that is closed when the test ends.
func newEngine(t *testing.T, lam LambdaInvoker, scale float64) *Engine {
	t.Helper()
	e := New(Options{Lambda: lam, TimeScale: scale})
	t.Cleanup(e.Close)
	return e
}

// machines numbers the state machines tests create.
var machines atomic.Int64

// start creates a state machine and starts an execution.
func start(t *testing.T, e *Engine, def, input string) string {
	t.Helper()
	smArn, err := e.CreateStateMachine(fmt.Sprintf("sm%d", machines.Add(1)), def, "arn:aws:iam::000000000000:role/sfn")
	if err != nil {
		t.Fatalf("CreateStateMachine: %v", err)
	}
	arn, _, err := e.StartExecution(smArn, "", input)
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	return arn
}

// result is the outcome of an execution.
type result struct {
	status, output, errName, cause string
}

// run starts an execution and waits for it to close.
func run(t *testing.T, e *Engine, def, input string) (string, result) {
	t.Helper()
	arn := start(t, e, def, input)
	return arn, wait(t, e, arn)
}

// wait waits for an execution to close and returns its outcome.
func wait(t *testing.T, e *Engine, arn string) result {
	t.Helper()
	if _, err := e.Wait(context.Background(), arn); err != nil {
		t.Fatal(err)
	}
	return outcome(e, arn)
}

// outcome returns an execution's current outcome.
func outcome(e *Engine, arn string) result {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.executions[arn]
	r := result{status: x.status}
	if x.output != nil {
		r.output = *x.output
	}
	if x.errName != nil {
		r.errName = *x.errName
	}
	if x.cause != nil {
		r.cause = *x.cause
	}
	return r
}

// history returns a copy of an execution's events.
func history(e *Engine, arn string) []event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.executions[arn].events)
}

// types returns the event types of a history.
func eventTypes(events []event) []string {
	var out []string
	for _, ev := range events {
		out = append(out, ev.Type)
	}
	return out
}

// find returns the events of a type.
func find(events []event, eventType string) []event {
	var out []event
	for _, ev := range events {
		if ev.Type == eventType {
			out = append(out, ev)
		}
	}
	return out
}

// canon returns JSON text in canonical form (sorted keys, compact).
func canon(t *testing.T, s string) string {
	t.Helper()
	v, err := jsonpath.Decode([]byte(s))
	if err != nil {
		t.Fatalf("not JSON: %s: %v", s, err)
	}
	return jsonpath.Encode(v)
}

// assertJSON compares two JSON texts.
func assertJSON(t *testing.T, what, got, want string) {
	t.Helper()
	if canon(t, got) != canon(t, want) {
		t.Errorf("%s =\n  %s\nwant\n  %s", what, canon(t, got), canon(t, want))
	}
}

// assertTypes compares event types.
func assertTypes(t *testing.T, events []event, want ...string) {
	t.Helper()
	if got := eventTypes(events); !slices.Equal(got, want) {
		t.Errorf("history =\n  %v\nwant\n  %v", got, want)
	}
}

// assertChain checks ids count from 1 and that, in a history without
// parallelism, every event's previousEventId is the one before it.
func assertChain(t *testing.T, events []event) {
	t.Helper()
	for i, ev := range events {
		if ev.ID != int64(i+1) || ev.PrevID != int64(i) {
			t.Errorf("event %d (%s): id %d previousEventId %d", i, ev.Type, ev.ID, ev.PrevID)
		}
		if ev.Timestamp.IsZero() {
			t.Errorf("event %d has no timestamp", ev.ID)
		}
	}
}

// detail returns an event's details as a JSON object.
func detail(t *testing.T, ev event) map[string]any {
	t.Helper()
	raw, err := json.Marshal(ev.Details)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// apiCode returns the AWS error code of an engine error.
func apiCode(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}
