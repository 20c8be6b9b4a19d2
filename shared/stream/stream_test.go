package stream

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func record(seq, name, pk, sk string) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{EventName: name, Change: events.DynamoDBStreamRecord{
		SequenceNumber: seq,
		Keys:           map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute(pk), "sk": events.NewStringAttribute(sk)},
	}}
}

// TestDeliver: the work of each routed item runs once per batch, in
// order; removals and items the router skips are left; the first failure
// is the batch item failure Lambda retries from, and ends the batch.
func TestDeliver(t *testing.T) {
	for _, tt := range []struct {
		name      string
		records   []events.DynamoDBEventRecord
		fail      string
		wantCalls []string
		wantFail  []string
	}{
		{"one item, twice in the batch", []events.DynamoDBEventRecord{
			record("1", "MODIFY", "A", "x"), record("2", "MODIFY", "A", "x"),
		}, "", []string{"A/x"}, nil},
		{"removals and skipped items", []events.DynamoDBEventRecord{
			record("1", "REMOVE", "A", "x"), record("2", "MODIFY", "SKIP", "x"), record("3", "INSERT", "B", "x"),
		}, "", []string{"B/x"}, nil},
		{"a failure ends the batch", []events.DynamoDBEventRecord{
			record("1", "MODIFY", "A", "x"), record("2", "MODIFY", "B", "x"), record("3", "MODIFY", "C", "x"),
		}, "B", []string{"A/x", "B/x"}, []string{"2"}},
		{"empty batch", nil, "", nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var calls []string
			route := func(pk, sk string) (func(context.Context) error, []any, bool) {
				if pk == "SKIP" {
					return nil, nil, false
				}
				return func(context.Context) error {
					calls = append(calls, pk+"/"+sk)
					if pk == tt.fail {
						return errors.New("unavailable")
					}
					return nil
				}, []any{"item", pk}, true
			}
			resp := Deliver(context.Background(), events.DynamoDBEvent{Records: tt.records}, route)
			var failed []string
			for _, f := range resp.BatchItemFailures {
				failed = append(failed, f.ItemIdentifier)
			}
			if !slices.Equal(calls, tt.wantCalls) || !slices.Equal(failed, tt.wantFail) {
				t.Fatalf("calls %v, want %v; failures %v, want %v", calls, tt.wantCalls, failed, tt.wantFail)
			}
		})
	}
}
