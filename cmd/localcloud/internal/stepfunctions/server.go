package stepfunctions

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// targetPrefix prefixes the X-Amz-Target header of every Step Functions call.
const targetPrefix = "AWSStepFunctions."

// contentType is the AWS JSON 1.0 media type.
const contentType = "application/x-amz-json-1.0"

// Handler returns the AWS JSON 1.0 endpoint (POST / with X-Amz-Target) for
// the aws-sdk-go-v2 sfn client and the AWS CLI. Errors are HTTP 400 with
// {"__type": code, "message": ...}, which the SDK turns into typed errors
// such as *types.ExecutionDoesNotExist.
func (e *Engine) Handler() http.Handler {
	return http.HandlerFunc(e.serveHTTP)
}

// operation decodes a request body and returns the response document.
type operation func(e *Engine, body []byte) (any, error)

var operations = map[string]operation{
	"CreateStateMachine":   (*Engine).apiCreateStateMachine,
	"DescribeStateMachine": (*Engine).apiDescribeStateMachine,
	"ListStateMachines":    (*Engine).apiListStateMachines,
	"DeleteStateMachine":   (*Engine).apiDeleteStateMachine,
	"StartExecution":       (*Engine).apiStartExecution,
	"DescribeExecution":    (*Engine).apiDescribeExecution,
	"GetExecutionHistory":  (*Engine).apiGetExecutionHistory,
	"ListExecutions":       (*Engine).apiListExecutions,
	"StopExecution":        (*Engine).apiStopExecution,
	"SendTaskSuccess":      (*Engine).apiSendTaskSuccess,
	"SendTaskFailure":      (*Engine).apiSendTaskFailure,
	"SendTaskHeartbeat":    (*Engine).apiSendTaskHeartbeat,
}

func (e *Engine) serveHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, errorf("UnknownOperationException", "Step Functions accepts POST requests only"))
		return
	}
	target := req.Header.Get("X-Amz-Target")
	op, ok := operations[strings.TrimPrefix(target, targetPrefix)]
	if !ok || !strings.HasPrefix(target, targetPrefix) {
		writeError(w, http.StatusBadRequest, errorf("UnknownOperationException", "Unknown operation %q", target))
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 10<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, errorf("SerializationException", "reading the request: %v", err))
		return
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	if e.faults.take(strings.TrimPrefix(target, targetPrefix)) {
		writeError(w, http.StatusInternalServerError, errorf("ServiceUnavailable", "injected fault"))
		return
	}
	out, err := op(e, body)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			writeError(w, http.StatusBadRequest, ae)
			return
		}
		writeError(w, http.StatusInternalServerError, errorf("InternalFailure", "%v", err))
		return
	}
	w.Header().Set("Content-Type", contentType)
	_ = newEncoder(w).Encode(out)
}

// writeError writes an AWS JSON 1.0 error.
func writeError(w http.ResponseWriter, status int, ae *apiError) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-ErrorType", ae.Code)
	w.WriteHeader(status)
	_ = newEncoder(w).Encode(map[string]string{"__type": ae.Code, "message": ae.Message})
}

// newEncoder returns a JSON encoder that does not escape HTML.
func newEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// decode unmarshals a request body.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return errorf("SerializationException", "invalid request body: %v", err)
	}
	return nil
}

// page selects one page of n items: from the offset in nextToken, at most
// maxResults (default 100, at most 1000).
func page(n, maxResults int, nextToken string) (start, end int, next string, err error) {
	if nextToken != "" {
		raw, derr := base64.RawURLEncoding.DecodeString(nextToken)
		off, perr := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
		if derr != nil || perr != nil || !strings.HasPrefix(string(raw), "offset:") || off < 0 || off > n {
			return 0, 0, "", errorf("InvalidToken", "Invalid Token: '%s'", nextToken)
		}
		start = off
	}
	if maxResults <= 0 || maxResults > 1000 {
		maxResults = 100
	}
	end = min(n, start+maxResults)
	if end < n {
		next = base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end)))
	}
	return start, end, next, nil
}

func (e *Engine) apiCreateStateMachine(body []byte) (any, error) {
	var in struct {
		Name       string `json:"name"`
		Definition string `json:"definition"`
		RoleArn    string `json:"roleArn"`
		Type       string `json:"type"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Type != "" && in.Type != "STANDARD" {
		return nil, errorf("ValidationException", "The local Step Functions supports STANDARD state machines only, not %s", in.Type)
	}
	arn, err := e.CreateStateMachine(in.Name, in.Definition, in.RoleArn)
	if err != nil {
		return nil, err
	}
	sm, err := e.machine(arn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"stateMachineArn": arn, "creationDate": epoch(sm.created)}, nil
}

func (e *Engine) apiDescribeStateMachine(body []byte) (any, error) {
	var in struct {
		StateMachineArn string `json:"stateMachineArn"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	sm, err := e.machine(in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"stateMachineArn":      sm.arn,
		"name":                 sm.name,
		"status":               "ACTIVE",
		"definition":           sm.definition,
		"roleArn":              sm.roleArn,
		"type":                 "STANDARD",
		"creationDate":         epoch(sm.created),
		"loggingConfiguration": map[string]any{"level": "OFF", "includeExecutionData": false},
		"tracingConfiguration": map[string]any{"enabled": false},
	}, nil
}

func (e *Engine) apiListStateMachines(body []byte) (any, error) {
	var in struct {
		MaxResults int    `json:"maxResults"`
		NextToken  string `json:"nextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	e.mu.Lock()
	list := make([]*stateMachine, 0, len(e.machines))
	for _, sm := range e.machines {
		list = append(list, sm)
	}
	e.mu.Unlock()
	sortMachines(list)
	start, end, next, err := page(len(list), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	items := []any{}
	for _, sm := range list[start:end] {
		items = append(items, map[string]any{"stateMachineArn": sm.arn, "name": sm.name, "type": "STANDARD", "creationDate": epoch(sm.created)})
	}
	out := map[string]any{"stateMachines": items}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// sortMachines orders state machines by name.
func sortMachines(list []*stateMachine) {
	slices.SortFunc(list, func(a, b *stateMachine) int { return strings.Compare(a.name, b.name) })
}

func (e *Engine) apiDeleteStateMachine(body []byte) (any, error) {
	var in struct {
		StateMachineArn string `json:"stateMachineArn"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	return map[string]any{}, e.deleteStateMachine(in.StateMachineArn)
}

func (e *Engine) apiStartExecution(body []byte) (any, error) {
	var in struct {
		StateMachineArn string  `json:"stateMachineArn"`
		Name            string  `json:"name"`
		Input           *string `json:"input"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	input := ""
	if in.Input != nil {
		input = *in.Input
	}
	arn, start, err := e.StartExecution(in.StateMachineArn, in.Name, input)
	if err != nil {
		return nil, err
	}
	return map[string]any{"executionArn": arn, "startDate": epoch(start)}, nil
}

func (e *Engine) apiDescribeExecution(body []byte) (any, error) {
	var in struct {
		ExecutionArn string `json:"executionArn"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	x, err := e.execution(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]any{
		"executionArn":    x.arn,
		"stateMachineArn": x.machine.arn,
		"name":            x.name,
		"status":          x.status,
		"startDate":       epoch(x.start),
		"input":           x.input,
		"inputDetails":    map[string]any{"included": true},
		"redriveCount":    0,
		"redriveStatus":   "NOT_REDRIVABLE",
	}
	if x.status != StatusRunning {
		out["stopDate"] = epoch(x.stop)
	}
	if x.output != nil {
		out["output"] = *x.output
		out["outputDetails"] = map[string]any{"included": true}
	}
	if x.errName != nil {
		out["error"] = *x.errName
	}
	if x.cause != nil {
		out["cause"] = *x.cause
	}
	return out, nil
}

func (e *Engine) apiGetExecutionHistory(body []byte) (any, error) {
	var in struct {
		ExecutionArn         string `json:"executionArn"`
		MaxResults           int    `json:"maxResults"`
		NextToken            string `json:"nextToken"`
		ReverseOrder         bool   `json:"reverseOrder"`
		IncludeExecutionData *bool  `json:"includeExecutionData"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	x, err := e.execution(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	events := append([]event(nil), x.events...)
	e.mu.Unlock()
	if in.ReverseOrder {
		for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
			events[i], events[j] = events[j], events[i]
		}
	}
	start, end, next, err := page(len(events), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	include := in.IncludeExecutionData == nil || *in.IncludeExecutionData
	items := []any{}
	for _, ev := range events[start:end] {
		items = append(items, ev.toJSON(include))
	}
	out := map[string]any{"events": items}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (e *Engine) apiListExecutions(body []byte) (any, error) {
	var in struct {
		StateMachineArn string `json:"stateMachineArn"`
		StatusFilter    string `json:"statusFilter"`
		MaxResults      int    `json:"maxResults"`
		NextToken       string `json:"nextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if _, err := e.machine(in.StateMachineArn); err != nil {
		return nil, err
	}
	list := e.sortedExecutions(in.StateMachineArn, in.StatusFilter)
	start, end, next, err := page(len(list), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	items := []any{}
	for _, x := range list[start:end] {
		item := map[string]any{
			"executionArn":    x.arn,
			"stateMachineArn": x.machine.arn,
			"name":            x.name,
			"status":          x.status,
			"startDate":       epoch(x.start),
		}
		if x.status != StatusRunning {
			item["stopDate"] = epoch(x.stop)
		}
		items = append(items, item)
	}
	out := map[string]any{"executions": items}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (e *Engine) apiStopExecution(body []byte) (any, error) {
	var in struct {
		ExecutionArn string `json:"executionArn"`
		Error        string `json:"error"`
		Cause        string `json:"cause"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	stop, err := e.StopExecution(in.ExecutionArn, in.Error, in.Cause)
	if err != nil {
		return nil, err
	}
	return map[string]any{"stopDate": epoch(stop)}, nil
}

func (e *Engine) apiSendTaskSuccess(body []byte) (any, error) {
	var in struct {
		TaskToken string `json:"taskToken"`
		Output    string `json:"output"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	return map[string]any{}, e.SendTaskSuccess(in.TaskToken, in.Output)
}

func (e *Engine) apiSendTaskFailure(body []byte) (any, error) {
	var in struct {
		TaskToken string `json:"taskToken"`
		Error     string `json:"error"`
		Cause     string `json:"cause"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	return map[string]any{}, e.SendTaskFailure(in.TaskToken, in.Error, in.Cause)
}

func (e *Engine) apiSendTaskHeartbeat(body []byte) (any, error) {
	var in struct {
		TaskToken string `json:"taskToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	return map[string]any{}, e.SendTaskHeartbeat(in.TaskToken)
}
