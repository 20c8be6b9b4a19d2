package stepfunctions

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/stepfunctions/asl"
	"github.com/partnercloud/azure/cmd/localcloud/internal/stepfunctions/jsonpath"
)

// ErrLambdaService is the error name of an invocation that failed for a
// reason other than a function error.
const ErrLambdaService = "Lambda.ServiceException"

// tokenState is the life cycle of a task token.
type tokenState int

const (
	tokenPending  tokenState = iota // waiting for SendTaskSuccess/Failure
	tokenTimedOut                   // the task timed out (TaskTimedOut)
	tokenClosed                     // answered, failed or stopped
)

// callback is a task waiting for its token.
type callback struct {
	x         *execution
	state     tokenState
	result    chan callbackResult // buffered: the one answer
	heartbeat chan struct{}       // buffered: the latest heartbeat
}

// callbackResult is the answer SendTaskSuccess or SendTaskFailure gave.
type callbackResult struct {
	output any
	err    *asl.Error
}

// timeouts are a Task's TimeoutSeconds and HeartbeatSeconds.
type timeouts struct {
	timeout, heartbeat         int64 // seconds; heartbeat 0: none
	timeoutSet                 bool  // given in the definition or input
	timeoutEvent, heartbeatEvt *int64
}

// task runs a Task state once (one attempt) and returns its output.
func (r *stateRun) task(ctx context.Context) (any, error) {
	st := r.st
	eff, err := r.inputPath()
	if err != nil {
		return nil, err
	}
	to, err := r.taskTimeouts(eff)
	if err != nil {
		return nil, err
	}
	token := ""
	var cb *callback
	if st.Kind == asl.LambdaInvokeCallback {
		token = newTaskToken()
		cb = r.t.e.registerCallback(r.t.x, token)
		defer r.t.e.releaseCallback(token)
	}
	params, err := r.parameters(st.Parameters, eff, token)
	if err != nil {
		return nil, err
	}
	var result any
	switch st.Kind {
	case asl.LambdaFunction:
		result, err = r.invokeFunction(ctx, params, to)
	case asl.LambdaInvoke, asl.LambdaInvokeCallback:
		result, err = r.invokeIntegration(ctx, params, to, cb)
	}
	if err != nil {
		return nil, err
	}
	return r.finish(result)
}

// taskTimeouts resolves TimeoutSeconds(Path) and HeartbeatSeconds(Path).
func (r *stateRun) taskTimeouts(eff any) (timeouts, error) {
	st := r.st
	to := timeouts{timeout: asl.DefaultTaskTimeoutSeconds, heartbeat: st.HeartbeatSeconds}
	if st.TimeoutSeconds > 0 {
		to.timeout, to.timeoutSet = st.TimeoutSeconds, true
	}
	env := asl.Env{Input: eff, Context: r.context("")}
	for _, p := range []struct {
		expr asl.Expr
		dst  *int64
		name string
	}{{st.TimeoutSecondsPath, &to.timeout, "TimeoutSecondsPath"}, {st.HeartbeatSecondsPath, &to.heartbeat, "HeartbeatSecondsPath"}} {
		if p.expr == nil {
			continue
		}
		v, err := p.expr.Eval(env)
		n, ok := toInt(v)
		if err != nil || !ok || n <= 0 {
			return to, asl.Errorf(asl.ErrRuntime, "An error occurred while executing the state '%s'. The %s '%s' does not reference a positive integer", st.Name, p.name, p.expr)
		}
		*p.dst = n
		if p.name == "TimeoutSecondsPath" {
			to.timeoutSet = true
		}
	}
	if to.timeoutSet {
		to.timeoutEvent = &to.timeout
	}
	if to.heartbeat > 0 {
		to.heartbeatEvt = &to.heartbeat
	}
	return to, nil
}

// invokeFunction runs a Task whose Resource is a Lambda function ARN: the
// effective input is the payload and the function's output is the result.
func (r *stateRun) invokeFunction(ctx context.Context, input any, to timeouts) (any, error) {
	arn := r.st.FunctionName
	payload := jsonpath.Encode(input)
	r.t.emit("LambdaFunctionScheduled", &lambdaScheduledDetails{Resource: arn, Input: payload, InputDetails: notTruncated, TimeoutInSeconds: to.timeoutEvent})
	r.t.emit("LambdaFunctionStarted", nil)
	out, err := r.t.e.invoke(ctx, functionName(arn), []byte(payload), to.timeout)
	if err != nil {
		var se *asl.Error
		if errors.As(err, &se) {
			kind := "LambdaFunctionFailed"
			if se.Name == asl.ErrTimeout {
				kind = "LambdaFunctionTimedOut"
			}
			r.t.emit(kind, &errorDetails{Error: se.Name, Cause: se.Cause})
		}
		return nil, err
	}
	result := decodePayload(out)
	r.t.emit("LambdaFunctionSucceeded", &outputDetails{Output: jsonpath.Encode(result), OutputDetails: notTruncated})
	return result, nil
}

// invokeIntegration runs arn:aws:states:::lambda:invoke and, with cb set,
// its .waitForTaskToken form.
func (r *stateRun) invokeIntegration(ctx context.Context, params any, to timeouts, cb *callback) (any, error) {
	resource := "invoke"
	if cb != nil {
		resource = "invoke.waitForTaskToken"
	}
	r.t.emit("TaskScheduled", &taskScheduledDetails{
		ResourceType: "lambda", Resource: resource, Region: r.t.e.opts.Region,
		Parameters: jsonpath.Encode(params), TimeoutInSeconds: to.timeoutEvent, HeartbeatInSeconds: to.heartbeatEvt,
	})
	r.t.emit("TaskStarted", &taskStartedDetails{ResourceType: "lambda", Resource: resource})
	fail := func(err error) (any, error) {
		var se *asl.Error
		if errors.As(err, &se) {
			kind := "TaskFailed"
			if se.Name == asl.ErrTimeout || se.Name == asl.ErrHeartbeatTimeout {
				kind = "TaskTimedOut"
			}
			r.t.emit(kind, &taskErrorDetails{ResourceType: "lambda", Resource: resource, Error: se.Name, Cause: se.Cause})
		}
		return nil, err
	}

	m, _ := params.(map[string]any)
	name, ok := m["FunctionName"].(string)
	if !ok || name == "" {
		return fail(asl.Errorf(asl.ErrRuntime, "The field 'FunctionName' must be a non-empty string"))
	}
	if it, ok := m["InvocationType"]; ok && it != "RequestResponse" {
		return fail(asl.Errorf(asl.ErrRuntime, "InvocationType %v is not supported by the local engine (only RequestResponse)", it))
	}
	payload := []byte("{}")
	if p, ok := m["Payload"]; ok {
		payload = []byte(jsonpath.Encode(p))
	}

	if cb == nil {
		out, err := r.t.e.invoke(ctx, functionName(name), payload, to.timeout)
		if err != nil {
			return fail(err)
		}
		result := r.t.e.invokeResponse(out)
		r.t.emit("TaskSucceeded", &taskOutputDetails{ResourceType: "lambda", Resource: resource, Output: jsonpath.Encode(result), OutputDetails: notTruncated})
		return result, nil
	}

	// .waitForTaskToken: one deadline for the whole task, a heartbeat
	// deadline renewed by every SendTaskHeartbeat.
	deadline := time.NewTimer(r.t.e.scaled(time.Duration(to.timeout) * time.Second))
	defer deadline.Stop()
	var heartbeat <-chan time.Time
	var hbTimer *time.Timer
	if to.heartbeat > 0 {
		hbTimer = time.NewTimer(r.t.e.scaled(time.Duration(to.heartbeat) * time.Second))
		defer hbTimer.Stop()
		heartbeat = hbTimer.C
	}
	type invoked struct {
		out []byte
		err error
	}
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	invokeDone := make(chan invoked, 1)
	go func() {
		out, err := r.t.e.lambdaInvoke(ictx, functionName(name), payload)
		invokeDone <- invoked{out, err}
	}()
	var answers chan callbackResult // nil until the invocation returned
	for {
		select {
		case res := <-invokeDone:
			if res.err != nil {
				return fail(lambdaError(res.err))
			}
			invokeDone = nil
			answers = cb.result
			r.t.emit("TaskSubmitted", &taskOutputDetails{ResourceType: "lambda", Resource: resource, Output: jsonpath.Encode(r.t.e.invokeResponse(res.out)), OutputDetails: notTruncated})
		case a := <-answers:
			if a.err != nil {
				return fail(a.err)
			}
			r.t.emit("TaskSucceeded", &taskOutputDetails{ResourceType: "lambda", Resource: resource, Output: jsonpath.Encode(a.output), OutputDetails: notTruncated})
			return a.output, nil
		case <-cb.heartbeat:
			if hbTimer != nil {
				hbTimer.Reset(r.t.e.scaled(time.Duration(to.heartbeat) * time.Second))
			}
		case <-heartbeat:
			r.t.e.timeOutCallback(cb)
			return fail(&asl.Error{Name: asl.ErrHeartbeatTimeout})
		case <-deadline.C:
			r.t.e.timeOutCallback(cb)
			return fail(&asl.Error{Name: asl.ErrTimeout})
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// invoke calls a function with a timeout of the given seconds. The timeout
// of a request-response task bounds real work (the function runs in real
// time, as its own Lambda timeout does), so it is not divided by the time
// scale: at 86400× a 60-second timeout would otherwise end every invocation
// after 0.7 ms. Waits for a task token are scaled (see run). Errors are
// *asl.Error values, or ctx's error when stopped.
func (e *Engine) invoke(ctx context.Context, fn string, payload []byte, timeoutSeconds int64) ([]byte, error) {
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	type invoked struct {
		out []byte
		err error
	}
	done := make(chan invoked, 1)
	go func() {
		out, err := e.lambdaInvoke(ictx, fn, payload)
		done <- invoked{out, err}
	}()
	t := time.NewTimer(time.Duration(timeoutSeconds) * time.Second)
	defer t.Stop()
	select {
	case res := <-done:
		if res.err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, lambdaError(res.err)
		}
		return res.out, nil
	case <-t.C:
		return nil, &asl.Error{Name: asl.ErrTimeout}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// lambdaInvoke calls the configured invoker.
func (e *Engine) lambdaInvoke(ctx context.Context, fn string, payload []byte) ([]byte, error) {
	if e.opts.Lambda == nil {
		return nil, errors.New("no Lambda invoker is configured")
	}
	return e.opts.Lambda.Invoke(ctx, fn, payload)
}

// functionName returns the function name in a function ARN, partial ARN
// ("123456789012:function:name") or name, without any qualifier.
func functionName(s string) string {
	if i := strings.Index(s, "function:"); i >= 0 {
		s = s[i+len("function:"):]
	}
	if i := strings.Index(s, ":"); i >= 0 {
		s = s[:i]
	}
	return s
}

// decodePayload parses a function's response; a response that is not JSON
// is kept as a string.
func decodePayload(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	v, err := jsonpath.Decode(b)
	if err != nil {
		return string(b)
	}
	return v
}

// invokeResponse builds the result of lambda:invoke as AWS returns it.
func (e *Engine) invokeResponse(out []byte) map[string]any {
	reqID := newUUID()
	date := e.now().UTC().Format(http.TimeFormat)
	length := strconv.Itoa(len(out))
	trace := "Root=1-" + strconv.FormatInt(e.now().Unix(), 16) + "-" + strings.ReplaceAll(newUUID(), "-", "")[:24] + ";Sampled=0;Lineage=1:0"
	headers := map[string]string{
		"Connection":                     "keep-alive",
		"Content-Length":                 length,
		"Content-Type":                   "application/json",
		"Date":                           date,
		"X-Amz-Executed-Version":         "$LATEST",
		"x-amzn-Remapped-Content-Length": "0",
		"x-amzn-RequestId":               reqID,
		"X-Amzn-Trace-Id":                trace,
	}
	all := map[string]any{}
	single := map[string]any{}
	for k, v := range headers {
		all[k] = []any{v}
		single[k] = v
	}
	return map[string]any{
		"ExecutedVersion": "$LATEST",
		"Payload":         decodePayload(out),
		"SdkHttpMetadata": map[string]any{
			"AllHttpHeaders": all,
			"HttpHeaders":    single,
			"HttpStatusCode": 200,
		},
		"SdkResponseMetadata": map[string]any{"RequestId": reqID},
		"StatusCode":          200,
	}
}

// lambdaError turns an invoker error into a States Language error: a
// function error keeps its errorType as the error name and its error
// object as the cause; anything else is Lambda.ServiceException.
func lambdaError(err error) *asl.Error {
	var fe interface{ LambdaErrorType() string }
	if !errors.As(err, &fe) {
		return &asl.Error{Name: ErrLambdaService, Cause: err.Error()}
	}
	cause := struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
		StackTrace   any    `json:"stackTrace,omitempty"`
	}{ErrorType: fe.LambdaErrorType()}
	if m, ok := fe.(interface{ LambdaErrorMessage() string }); ok {
		cause.ErrorMessage = m.LambdaErrorMessage()
	} else if f, ok := field(fe, "ErrorMessage"); ok {
		cause.ErrorMessage, _ = f.(string)
	} else {
		cause.ErrorMessage = fe.(error).Error()
	}
	if s, ok := fe.(interface{ LambdaStackTrace() any }); ok {
		cause.StackTrace = s.LambdaStackTrace()
	} else if f, ok := field(fe, "StackTrace"); ok {
		cause.StackTrace = f
	}
	if v := reflect.ValueOf(cause.StackTrace); cause.StackTrace != nil && (v.Kind() == reflect.Slice && v.Len() == 0) {
		cause.StackTrace = nil
	}
	raw := jsonpath.Encode(cause)
	name := cause.ErrorType
	if name == "" {
		name = "Lambda.Unknown"
	}
	return &asl.Error{Name: name, Cause: raw}
}

// field reads an exported struct field of v (or of what v points to).
func field(v any, name string) (any, bool) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return nil, false
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return nil, false
	}
	f := rv.FieldByName(name)
	if !f.IsValid() || !f.CanInterface() {
		return nil, false
	}
	return f.Interface(), true
}

// registerCallback records a new task token.
func (e *Engine) registerCallback(x *execution, token string) *callback {
	cb := &callback{x: x, result: make(chan callbackResult, 1), heartbeat: make(chan struct{}, 1)}
	e.mu.Lock()
	e.tokens[token] = cb
	e.mu.Unlock()
	return cb
}

// releaseCallback forgets a token once its task is over, unless it timed
// out (SendTask* must then answer TaskTimedOut).
func (e *Engine) releaseCallback(token string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if cb, ok := e.tokens[token]; ok && cb.state != tokenTimedOut {
		delete(e.tokens, token)
	}
}

// timeOutCallback marks a token as timed out.
func (e *Engine) timeOutCallback(cb *callback) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if cb.state == tokenPending {
		cb.state = tokenTimedOut
	}
}

// pendingCallback returns the pending task of a token, or the API error
// that SendTask* returns for it.
func (e *Engine) pendingCallback(token string) (*callback, error) {
	if len(token) == 0 || len(token) > 1024 || !wellFormedToken(token) {
		return nil, errorf("InvalidToken", "Invalid Token: '%s'", token)
	}
	cb, ok := e.tokens[token]
	switch {
	case !ok || cb.state == tokenClosed:
		return nil, errorf("TaskDoesNotExist", "Task Does Not Exist")
	case cb.state == tokenTimedOut:
		return nil, errorf("TaskTimedOut", "Task Timed Out")
	}
	return cb, nil
}

// SendTaskSuccess completes the task waiting for token with output (JSON).
func (e *Engine) SendTaskSuccess(token, output string) error {
	doc, err := jsonpath.Decode([]byte(output))
	if err != nil {
		return errorf("InvalidOutput", "Invalid Output: %v", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cb, err := e.pendingCallback(token)
	if err != nil {
		return err
	}
	cb.state = tokenClosed
	cb.result <- callbackResult{output: doc}
	return nil
}

// SendTaskFailure fails the task waiting for token with an error name and
// cause that its Retry and Catch fields match.
func (e *Engine) SendTaskFailure(token, errName, cause string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	cb, err := e.pendingCallback(token)
	if err != nil {
		return err
	}
	cb.state = tokenClosed
	cb.result <- callbackResult{err: &asl.Error{Name: errName, Cause: cause}}
	return nil
}

// SendTaskHeartbeat renews the heartbeat deadline of the task waiting for
// token.
func (e *Engine) SendTaskHeartbeat(token string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	cb, err := e.pendingCallback(token)
	if err != nil {
		return err
	}
	select {
	case cb.heartbeat <- struct{}{}:
	default: // one is already waiting to be seen
	}
	return nil
}
