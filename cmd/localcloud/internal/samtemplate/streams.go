package samtemplate

import (
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"
)

// StreamLabel is the label of every local table's stream. DynamoDB labels a
// stream with the time it was enabled; locally the label is fixed, so that
// `!GetAtt Table.StreamArn`, resolved before the table exists, names the
// same stream as the local DynamoDB's DescribeTable (LatestStreamArn).
const StreamLabel = "2024-01-01T00:00:00.000"

// StreamARN is the local ARN of the stream of the table with the given name.
func StreamARN(tableName string) string {
	return TableARN(tableName) + "/stream/" + StreamLabel
}

// TableARN is the local ARN of the table with the given name.
func TableARN(tableName string) string {
	return "arn:aws:dynamodb:" + Region + ":" + AccountID + ":table/" + tableName
}

// QueueARN is the local ARN of the SQS queue with the given name.
func QueueARN(name string) string {
	return "arn:aws:sqs:" + Region + ":" + AccountID + ":" + name
}

// QueueURL is the URL `!Ref` gives for the SQS queue with the given name, in
// the form SQS uses.
func QueueURL(name string) string {
	return "https://sqs." + Region + ".amazonaws.com/" + AccountID + "/" + name
}

// StreamEvent is a function's `Type: DynamoDB` event: a Lambda event source
// mapping that delivers a table's stream records to the function. Defaults
// are Lambda's.
type StreamEvent struct {
	// Name is the event's key under Events.
	Name string
	// StreamARN is the Stream property, resolved; Table is the logical id
	// of the template table whose stream it is, or "" if none is.
	StreamARN, Table string
	// StartingPosition is TRIM_HORIZON or LATEST.
	StartingPosition string
	// BatchSize is at most how many records one invocation gets (default 100).
	BatchSize int
	// MaximumBatchingWindowInSeconds is how long records are gathered
	// before an invocation that is not full (default 0).
	MaximumBatchingWindowInSeconds int
	// MaximumRetryAttempts bounds the retries of a failing batch; -1 (the
	// default) retries until the records expire.
	MaximumRetryAttempts int
	// MaximumRecordAgeInSeconds discards older records; -1 (the default)
	// keeps them until the stream drops them.
	MaximumRecordAgeInSeconds int
	// BisectBatchOnFunctionError splits a failing batch in two.
	BisectBatchOnFunctionError bool
	// ReportBatchItemFailures is FunctionResponseTypes holding
	// ReportBatchItemFailures: the function may report the records that failed.
	ReportBatchItemFailures bool
	// Filters are FilterCriteria.Filters[].Pattern, as written (JSON).
	Filters []string
	// OnFailure is DestinationConfig.OnFailure.Destination (an ARN), or "".
	OnFailure string
	// Enabled is the Enabled property (default true).
	Enabled bool
}

var streamViewTypes = map[string]bool{"KEYS_ONLY": true, "NEW_IMAGE": true, "OLD_IMAGE": true, "NEW_AND_OLD_IMAGES": true}

// streamViewType reads a table's StreamSpecification. CloudFormation's
// table has no StreamEnabled: the specification's presence enables it.
func streamViewType(res *Resolver, spec *yaml.Node) (string, error) {
	v, err := res.String(get(spec, "StreamViewType"))
	if err != nil {
		return "", fmt.Errorf("StreamSpecification.StreamViewType: %w", err)
	}
	if !streamViewTypes[v] {
		return "", fmt.Errorf("StreamSpecification.StreamViewType %q: want KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES", v)
	}
	return v, nil
}

func loadStreamEvent(res *Resolver, name string, p *yaml.Node) (StreamEvent, error) {
	ev := StreamEvent{Name: name, BatchSize: 100, MaximumRetryAttempts: -1, MaximumRecordAgeInSeconds: -1, Enabled: true}
	var err error
	if ev.StreamARN, err = res.String(get(p, "Stream")); err != nil {
		return ev, fmt.Errorf("Stream: %w", err)
	}
	if ev.StartingPosition, err = res.String(get(p, "StartingPosition")); err != nil {
		return ev, fmt.Errorf("StartingPosition: %w", err)
	}
	if ev.StartingPosition != "TRIM_HORIZON" && ev.StartingPosition != "LATEST" {
		return ev, fmt.Errorf("StartingPosition %q: want TRIM_HORIZON or LATEST", ev.StartingPosition)
	}
	ints := []struct {
		key string
		dst *int
		min int
	}{
		{"BatchSize", &ev.BatchSize, 1},
		{"MaximumBatchingWindowInSeconds", &ev.MaximumBatchingWindowInSeconds, 0},
		{"MaximumRetryAttempts", &ev.MaximumRetryAttempts, -1},
		{"MaximumRecordAgeInSeconds", &ev.MaximumRecordAgeInSeconds, -1},
	}
	for _, f := range ints {
		if *f.dst, err = intProp(res, p, f.key, *f.dst); err != nil {
			return ev, err
		}
		if *f.dst < f.min {
			return ev, fmt.Errorf("%s %d: the least is %d", f.key, *f.dst, f.min)
		}
	}
	bools := []struct {
		key string
		dst *bool
	}{{"BisectBatchOnFunctionError", &ev.BisectBatchOnFunctionError}, {"Enabled", &ev.Enabled}}
	for _, f := range bools {
		if n := get(p, f.key); n != nil {
			v, err := res.String(n)
			if err != nil {
				return ev, fmt.Errorf("%s: %w", f.key, err)
			}
			*f.dst = v == "true"
		}
	}
	if n := get(p, "FunctionResponseTypes"); n != nil {
		types, err := res.Strings(n)
		if err != nil {
			return ev, fmt.Errorf("FunctionResponseTypes: %w", err)
		}
		for _, t := range types {
			if t != "ReportBatchItemFailures" {
				return ev, fmt.Errorf("FunctionResponseTypes %q: only ReportBatchItemFailures exists", t)
			}
			ev.ReportBatchItemFailures = true
		}
	}
	for i, f := range items(get(get(p, "FilterCriteria"), "Filters")) {
		pattern, err := res.String(get(f, "Pattern"))
		if err != nil {
			return ev, fmt.Errorf("FilterCriteria.Filters[%d].Pattern: %w", i, err)
		}
		if !json.Valid([]byte(pattern)) {
			return ev, fmt.Errorf("FilterCriteria.Filters[%d].Pattern is not JSON: %s", i, pattern)
		}
		ev.Filters = append(ev.Filters, pattern)
	}
	if n := get(get(get(p, "DestinationConfig"), "OnFailure"), "Destination"); n != nil {
		if ev.OnFailure, err = res.String(n); err != nil {
			return ev, fmt.Errorf("DestinationConfig.OnFailure.Destination: %w", err)
		}
	}
	return ev, nil
}

// linkStreamEvents names the table of each function's stream event.
func (t *Template) linkStreamEvents() {
	for i := range t.Functions {
		f := &t.Functions[i]
		for j := range f.StreamEvents {
			ev := &f.StreamEvents[j]
			for _, tb := range t.Tables {
				if tb.StreamARN != "" && tb.StreamARN == ev.StreamARN {
					ev.Table = tb.LogicalID
				}
			}
		}
	}
}
