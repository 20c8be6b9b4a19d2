// Package stepfunctions is the local cloud's Step Functions: an Amazon
// States Language interpreter (JSONPath and JSONata query languages, set for
// the whole state machine and per state, with workflow variables in JSONata
// states) with the AWS JSON 1.0 API that the aws-sdk-go-v2 sfn client and the
// AWS CLI speak.
//
// Executions run in memory, in goroutines, for as long as the Engine lives.
// Every wait (Wait states, Retry intervals, .waitForTaskToken timeouts and
// heartbeats, execution timeouts) is divided by Options.TimeScale, so that
// days of waiting pass in seconds. The timeout of a request-response Task
// bounds the function's real work and is not scaled.
//
// Task states run AWS Lambda functions through a LambdaInvoker, with the
// optimized integration arn:aws:states:::lambda:invoke (and its
// .waitForTaskToken form) or with a function ARN as the Resource.
package stepfunctions

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/stepfunctions/asl"
	"github.com/partnercloud/azure/cmd/localcloud/internal/stepfunctions/jsonpath"
)

// LambdaInvoker invokes a Lambda function synchronously and returns its
// response payload.
//
// A function error (the function ran and reported an error) is returned as
// an error that implements LambdaErrorType() string; its message is read
// from LambdaErrorMessage() string if implemented, else from an exported
// ErrorMessage string field, else from Error(); its stack trace, if any,
// from LambdaStackTrace() or an exported StackTrace field. Any other error
// is an invocation failure (Lambda.ServiceException).
type LambdaInvoker interface {
	Invoke(ctx context.Context, functionName string, payload []byte) ([]byte, error)
}

// Options configures an Engine.
type Options struct {
	// Lambda runs the functions that Task states call.
	Lambda LambdaInvoker
	// TimeScale divides every wait; 0 means 1 (real time).
	TimeScale float64
	// Region and AccountID appear in ARNs; defaults us-east-1 and
	// 000000000000.
	Region    string
	AccountID string
	// Now returns the current time for timestamps; default time.Now.
	Now func() time.Time
	// Logger receives execution starts and ends; default: discard.
	Logger *slog.Logger
}

// Execution statuses.
const (
	StatusRunning   = "RUNNING"
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusTimedOut  = "TIMED_OUT"
	StatusAborted   = "ABORTED"
)

// Engine holds state machines and executions.
type Engine struct {
	opts Options

	mu         sync.Mutex
	machines   map[string]*stateMachine // by ARN
	executions map[string]*execution    // by ARN
	execOrder  []*execution             // in start order
	tokens     map[string]*callback     // task tokens
	wg         sync.WaitGroup           // running executions
	faults     faults                   // injected API failures (tests)
}

// stateMachine is a created state machine.
type stateMachine struct {
	arn        string
	name       string
	definition string
	def        *asl.Definition
	roleArn    string
	created    time.Time
}

// execution is one execution and its history. Fields below mu are guarded
// by Engine.mu.
type execution struct {
	arn     string
	name    string
	machine *stateMachine
	input   string
	doc     any // the parsed input
	start   time.Time
	cancel  context.CancelCauseFunc
	done    chan struct{}

	status      string
	stop        time.Time
	output      *string
	errName     *string
	cause       *string
	events      []event
	transitions int
}

// New returns an Engine.
func New(opts Options) *Engine {
	if opts.TimeScale <= 0 {
		opts.TimeScale = 1
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "000000000000"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Engine{
		opts:       opts,
		machines:   map[string]*stateMachine{},
		executions: map[string]*execution{},
		tokens:     map[string]*callback{},
	}
}

// now returns the current time.
func (e *Engine) now() time.Time { return e.opts.Now() }

// scaled converts a duration of the workflow's time to real time.
func (e *Engine) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) / e.opts.TimeScale)
}

// sleep waits d of workflow time, or until ctx is done.
func (e *Engine) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(e.scaled(d))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// apiError is an error the API returns with its AWS error code.
type apiError struct {
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// namePattern is the set of names AWS accepts for state machines and
// executions: 1 to 80 characters, no whitespace, brackets, wildcards,
// special characters or control characters.
var namePattern = regexp.MustCompile("^[^\\s<>{}\\[\\]?*\"#%\\\\^|~`$&,;:/\\x00-\\x1f\\x7f-\\x9f]{1,80}$")

func (e *Engine) stateMachineARN(name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", e.opts.Region, e.opts.AccountID, name)
}

func (e *Engine) executionARN(smName, name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", e.opts.Region, e.opts.AccountID, smName, name)
}

// CreateStateMachine creates a STANDARD state machine and returns its ARN.
// Creating one again with the same definition and role returns the same
// ARN; with a different one it fails with StateMachineAlreadyExists. An
// invalid or unsupported definition fails with InvalidDefinition, whose
// message names every offending field and state.
func (e *Engine) CreateStateMachine(name, definition, roleArn string) (string, error) {
	if !namePattern.MatchString(name) {
		return "", errorf("InvalidName", "Invalid Name: '%s'", name)
	}
	def, err := asl.Parse(definition)
	if err != nil {
		return "", errorf("InvalidDefinition", "%s", err.Error())
	}
	arn := e.stateMachineARN(name)
	e.mu.Lock()
	defer e.mu.Unlock()
	if old, ok := e.machines[arn]; ok {
		if old.definition == definition && old.roleArn == roleArn {
			return arn, nil
		}
		return "", errorf("StateMachineAlreadyExists", "State Machine Already Exists: '%s'", arn)
	}
	e.machines[arn] = &stateMachine{arn: arn, name: name, definition: definition, def: def, roleArn: roleArn, created: e.now()}
	return arn, nil
}

// machine returns a state machine by ARN.
func (e *Engine) machine(arn string) (*stateMachine, error) {
	if !strings.HasPrefix(arn, "arn:aws:states:") || !strings.Contains(arn, ":stateMachine:") {
		return nil, errorf("InvalidArn", "Invalid Arn: '%s'", arn)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	sm, ok := e.machines[arn]
	if !ok {
		return nil, errorf("StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn)
	}
	return sm, nil
}

// deleteStateMachine removes a state machine; its executions keep running
// and stay visible.
func (e *Engine) deleteStateMachine(arn string) error {
	if _, err := e.machine(arn); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Code == "StateMachineDoesNotExist" {
			return nil // deleting is idempotent
		}
		return err
	}
	e.mu.Lock()
	delete(e.machines, arn)
	e.mu.Unlock()
	return nil
}

// StartExecution starts an execution. name may be empty (a UUID is used);
// input empty means "{}". Starting a running execution again with the same
// name and input returns it again; otherwise a reused name fails with
// ExecutionAlreadyExists.
func (e *Engine) StartExecution(stateMachineArn, name, input string) (arn string, start time.Time, err error) {
	sm, err := e.machine(stateMachineArn)
	if err != nil {
		return "", time.Time{}, err
	}
	if name == "" {
		name = newUUID()
	}
	if !namePattern.MatchString(name) {
		return "", time.Time{}, errorf("InvalidName", "Invalid Name: '%s'", name)
	}
	if input == "" {
		input = "{}"
	}
	doc, err := jsonpath.Decode([]byte(input))
	if err != nil {
		return "", time.Time{}, errorf("InvalidExecutionInput", "Invalid execution input: %v", err)
	}
	arn = e.executionARN(sm.name, name)

	e.mu.Lock()
	if old, ok := e.executions[arn]; ok {
		same := old.status == StatusRunning && old.input == input
		e.mu.Unlock()
		if same {
			return arn, old.start, nil
		}
		return "", time.Time{}, errorf("ExecutionAlreadyExists", "Execution Already Exists: '%s'", arn)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	x := &execution{
		arn: arn, name: name, machine: sm, input: input, doc: doc,
		start: e.now(), cancel: cancel, done: make(chan struct{}), status: StatusRunning,
	}
	e.executions[arn] = x
	e.execOrder = append(e.execOrder, x)
	x.emitLocked(e, 0, "ExecutionStarted", &executionStartedDetails{Input: input, InputDetails: notTruncated, RoleArn: sm.roleArn})
	e.wg.Add(1)
	e.mu.Unlock()

	e.opts.Logger.Info("step functions execution started", "execution", arn)
	go e.run(ctx, x)
	return arn, x.start, nil
}

// execution returns an execution by ARN.
func (e *Engine) execution(arn string) (*execution, error) {
	if !strings.HasPrefix(arn, "arn:aws:states:") || !strings.Contains(arn, ":execution:") {
		return nil, errorf("InvalidArn", "Invalid Arn: '%s'", arn)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.executions[arn]
	if !ok {
		return nil, errorf("ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", arn)
	}
	return x, nil
}

// StopExecution aborts a running execution with an optional error and
// cause, and returns its stop date. Stopping a closed execution changes
// nothing.
func (e *Engine) StopExecution(arn, errName, cause string) (time.Time, error) {
	x, err := e.execution(arn)
	if err != nil {
		return time.Time{}, err
	}
	e.mu.Lock()
	if x.status == StatusRunning {
		e.closeLocked(x, StatusAborted, "ExecutionAborted", &errorDetails{Error: errName, Cause: cause}, nil, &errName, &cause, 0)
	}
	stop := x.stop
	e.mu.Unlock()
	x.cancel(errAborted)
	return stop, nil
}

// Transitions returns the number of state transitions (states entered) of
// an execution so far, or 0 if there is no such execution.
func (e *Engine) Transitions(executionArn string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.executions[executionArn]; ok {
		return x.transitions
	}
	return 0
}

// Wait blocks until the execution is closed or ctx is done, and returns
// its status.
func (e *Engine) Wait(ctx context.Context, executionArn string) (string, error) {
	x, err := e.execution(executionArn)
	if err != nil {
		return "", err
	}
	select {
	case <-x.done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return x.status, nil
}

// Close aborts every running execution and waits for their goroutines.
func (e *Engine) Close() {
	e.mu.Lock()
	var running []*execution
	for _, x := range e.execOrder {
		if x.status == StatusRunning {
			running = append(running, x)
		}
	}
	e.mu.Unlock()
	for _, x := range running {
		_, _ = e.StopExecution(x.arn, "", "the local Step Functions engine was closed")
	}
	e.wg.Wait()
}

// errAborted and errTimedOut are the causes with which an execution's
// context is canceled.
var (
	errAborted  = errors.New("execution aborted")
	errTimedOut = errors.New("execution timed out")
)

// run executes x until it closes.
func (e *Engine) run(ctx context.Context, x *execution) {
	defer e.wg.Done()
	defer close(x.done)

	type result struct {
		out  any
		err  error
		last int64
	}
	results := make(chan result, 1)
	go func() {
		th := &thread{e: e, x: x, prev: 1, vars: map[string]any{}} // after ExecutionStarted
		out, err := th.runBranch(ctx, x.machine.def.Main, x.doc)
		results <- result{out, err, th.prev}
	}()

	var timeout <-chan time.Time
	if secs := x.machine.def.TimeoutSeconds; secs > 0 {
		t := time.NewTimer(e.scaled(time.Duration(secs) * time.Second))
		defer t.Stop()
		timeout = t.C
	}
	var r result
	select {
	case r = <-results:
	case <-timeout:
		e.mu.Lock()
		if x.status == StatusRunning {
			name, cause := asl.ErrTimeout, "The execution timed out."
			e.closeLocked(x, StatusTimedOut, "ExecutionTimedOut", &errorDetails{Error: name, Cause: cause}, nil, &name, &cause, 0)
		}
		e.mu.Unlock()
		x.cancel(errTimedOut)
		r = <-results
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if x.status != StatusRunning {
		return // stopped or timed out meanwhile
	}
	var se *asl.Error
	switch {
	case r.err == nil:
		out := jsonpath.Encode(r.out)
		e.closeLocked(x, StatusSucceeded, "ExecutionSucceeded", &outputDetails{Output: out, OutputDetails: notTruncated}, &out, nil, nil, r.last)
	case errors.As(r.err, &se):
		e.closeLocked(x, StatusFailed, "ExecutionFailed", &errorDetails{Error: se.Name, Cause: se.Cause}, nil, &se.Name, &se.Cause, r.last)
	default:
		name, cause := asl.ErrRuntime, r.err.Error()
		e.closeLocked(x, StatusFailed, "ExecutionFailed", &errorDetails{Error: name, Cause: cause}, nil, &name, &cause, r.last)
	}
}

// closeLocked records the end of an execution. e.mu must be held.
func (e *Engine) closeLocked(x *execution, status, eventType string, details any, output, errName, cause *string, prev int64) {
	if prev == 0 {
		prev = int64(len(x.events))
	}
	x.emitLocked(e, prev, eventType, details)
	x.status = status
	x.stop = e.now()
	x.output = output
	if errName != nil && *errName != "" {
		x.errName = errName
	}
	if cause != nil && *cause != "" {
		x.cause = cause
	}
	for tok, cb := range e.tokens {
		if cb.x == x && cb.state == tokenPending {
			cb.state = tokenClosed
			delete(e.tokens, tok)
		}
	}
	e.opts.Logger.Info("step functions execution closed", "execution", x.arn, "status", status)
}

// emitLocked appends an event to the history. e.mu must be held. Events of
// a closed execution are dropped.
func (x *execution) emitLocked(e *Engine, prev int64, eventType string, details any) int64 {
	if x.status != StatusRunning {
		return prev
	}
	id := int64(len(x.events)) + 1
	x.events = append(x.events, event{ID: id, PrevID: prev, Timestamp: e.now(), Type: eventType, Details: details})
	if strings.HasSuffix(eventType, "StateEntered") {
		x.transitions++
	}
	return id
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// tokenBytes is the number of random bytes in a task token: 160 bytes make
// a 214-character URL-safe base64 string.
const tokenBytes = 160

// newTaskToken returns an unguessable task token.
func newTaskToken() string {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// wellFormedToken reports whether s could be a token of this engine.
func wellFormedToken(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == tokenBytes
}

// sortedExecutions returns the executions of a state machine, newest first.
func (e *Engine) sortedExecutions(smArn, status string) []*execution {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*execution
	for i := len(e.execOrder) - 1; i >= 0; i-- {
		x := e.execOrder[i]
		if x.machine.arn == smArn && (status == "" || x.status == status) {
			out = append(out, x)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].start.After(out[j].start) })
	return out
}
