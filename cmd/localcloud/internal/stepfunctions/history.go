package stepfunctions

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// event is one entry of an execution's history, as GetExecutionHistory
// returns it.
type event struct {
	ID        int64
	PrevID    int64
	Timestamp time.Time
	Type      string
	Details   any // one of the *Details types below, or nil
}

// detailsKey returns the JSON member that holds an event's details, as the
// AWS JSON protocol names it (for example "taskScheduledEventDetails").
func detailsKey(eventType string) string {
	switch {
	case strings.HasSuffix(eventType, "StateEntered"):
		return "stateEnteredEventDetails"
	case strings.HasSuffix(eventType, "StateExited"):
		return "stateExitedEventDetails"
	}
	return strings.ToLower(eventType[:1]) + eventType[1:] + "EventDetails"
}

// dataDetails says whether a payload was truncated; this engine never
// truncates.
type dataDetails struct {
	Truncated bool `json:"truncated"`
}

var notTruncated = &dataDetails{}

type executionStartedDetails struct {
	Input        string       `json:"input"`
	InputDetails *dataDetails `json:"inputDetails"`
	RoleArn      string       `json:"roleArn,omitempty"`
}

type outputDetails struct {
	Output        string       `json:"output"`
	OutputDetails *dataDetails `json:"outputDetails"`
}

// errorDetails serves ExecutionFailed, ExecutionAborted, ExecutionTimedOut,
// LambdaFunctionFailed and LambdaFunctionTimedOut.
type errorDetails struct {
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
}

type stateEnteredDetails struct {
	Name         string       `json:"name"`
	Input        string       `json:"input"`
	InputDetails *dataDetails `json:"inputDetails"`
}

type stateExitedDetails struct {
	Name          string       `json:"name"`
	Output        string       `json:"output"`
	OutputDetails *dataDetails `json:"outputDetails"`
}

type taskScheduledDetails struct {
	ResourceType       string `json:"resourceType"`
	Resource           string `json:"resource"`
	Region             string `json:"region"`
	Parameters         string `json:"parameters"`
	TimeoutInSeconds   *int64 `json:"timeoutInSeconds,omitempty"`
	HeartbeatInSeconds *int64 `json:"heartbeatInSeconds,omitempty"`
}

type taskStartedDetails struct {
	ResourceType string `json:"resourceType"`
	Resource     string `json:"resource"`
}

// taskOutputDetails serves TaskSubmitted and TaskSucceeded.
type taskOutputDetails struct {
	ResourceType  string       `json:"resourceType"`
	Resource      string       `json:"resource"`
	Output        string       `json:"output"`
	OutputDetails *dataDetails `json:"outputDetails"`
}

// taskErrorDetails serves TaskFailed and TaskTimedOut.
type taskErrorDetails struct {
	ResourceType string `json:"resourceType"`
	Resource     string `json:"resource"`
	Error        string `json:"error,omitempty"`
	Cause        string `json:"cause,omitempty"`
}

type lambdaScheduledDetails struct {
	Resource         string       `json:"resource"`
	Input            string       `json:"input"`
	InputDetails     *dataDetails `json:"inputDetails"`
	TimeoutInSeconds *int64       `json:"timeoutInSeconds,omitempty"`
}

type mapStateStartedDetails struct {
	Length int `json:"length"`
}

type mapIterationDetails struct {
	Name  string `json:"name"`
	Index int    `json:"index"`
}

// dataFields are the members GetExecutionHistory leaves out when
// includeExecutionData is false.
var dataFields = []string{"input", "inputDetails", "output", "outputDetails", "parameters"}

// toJSON renders an event in the AWS JSON shape.
func (ev event) toJSON(includeData bool) map[string]any {
	m := map[string]any{
		"id":        ev.ID,
		"timestamp": epoch(ev.Timestamp),
		"type":      ev.Type,
	}
	if ev.PrevID > 0 {
		m["previousEventId"] = ev.PrevID
	}
	if ev.Details != nil {
		var d any = ev.Details
		if !includeData {
			raw, _ := json.Marshal(ev.Details)
			var dm map[string]any
			_ = json.Unmarshal(raw, &dm)
			for _, f := range dataFields {
				delete(dm, f)
			}
			d = dm
		}
		m[detailsKey(ev.Type)] = d
	}
	return m
}

// epoch renders a time as the AWS JSON protocol does: seconds since the
// epoch, with milliseconds.
func epoch(t time.Time) json.Number {
	return json.Number(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64))
}
