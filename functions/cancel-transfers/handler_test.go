package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

type fakeCanceller struct {
	calls []string
	fail  map[string]bool
}

func (f *fakeCanceller) Deliver(_ context.Context, account, id string) error {
	f.calls = append(f.calls, account+"/"+id)
	if f.fail[id] {
		return errors.New("Azure billing unavailable")
	}
	return nil
}

const (
	prvA = "prv_01jd2y5q8w3v6t9x0b1c2d3e4a"
	prvB = "prv_01jd2y5q8w3v6t9x0b1c2d3e4b"
)

func record(seq, name, pk, sk string) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{EventName: name, Change: events.DynamoDBStreamRecord{
		SequenceNumber: seq,
		Keys:           map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute(pk), "sk": events.NewStringAttribute(sk)},
	}}
}

// TestHandle: each provider item's cancels once per batch, in order;
// removals and other items are skipped; a failure is the batch item
// failure Lambda retries from, and ends the batch.
func TestHandle(t *testing.T) {
	for _, tt := range []struct {
		name      string
		records   []events.DynamoDBEventRecord
		fail      string
		wantCalls []string
		wantFail  []string
	}{
		{"one provider, twice in the batch", []events.DynamoDBEventRecord{
			record("1", "MODIFY", "ACCOUNT#a", "PROVIDER#"+prvA),
			record("2", "MODIFY", "ACCOUNT#a", "PROVIDER#"+prvA),
		}, "", []string{"a/" + prvA}, nil},
		{"removals and other items skipped", []events.DynamoDBEventRecord{
			record("1", "REMOVE", "ACCOUNT#a", "PROVIDER#"+prvA),
			record("2", "MODIFY", "INVITATION#aaaa", "INVITATION"),
			record("3", "INSERT", "ACCOUNT#b", "PROVIDER#"+prvB),
		}, "", []string{"b/" + prvB}, nil},
		{"a failure ends the batch", []events.DynamoDBEventRecord{
			record("1", "MODIFY", "ACCOUNT#a", "PROVIDER#"+prvA),
			record("2", "MODIFY", "ACCOUNT#b", "PROVIDER#"+prvB),
		}, prvA, []string{"a/" + prvA}, []string{"1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &fakeCanceller{fail: map[string]bool{tt.fail: true}}
			resp, err := (&Handler{Canceller: c}).Handle(context.Background(), events.DynamoDBEvent{Records: tt.records})
			var failed []string
			for _, f := range resp.BatchItemFailures {
				failed = append(failed, f.ItemIdentifier)
			}
			if err != nil || !slices.Equal(c.calls, tt.wantCalls) || !slices.Equal(failed, tt.wantFail) {
				t.Fatalf("Handle = %v; calls %v, want %v; failures %v, want %v", err, c.calls, tt.wantCalls, failed, tt.wantFail)
			}
		})
	}
}

// TestSampleEvent: the sample event of events/ (make invoke) decodes to a
// cancel for its provider.
func TestSampleEvent(t *testing.T) {
	raw, err := os.ReadFile("../../events/cancel-transfers.json")
	if err != nil {
		t.Fatal(err)
	}
	var e events.DynamoDBEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	c := &fakeCanceller{}
	if _, err := (&Handler{Canceller: c}).Handle(context.Background(), e); err != nil || len(c.calls) != 1 {
		t.Fatalf("sample event: %v, cancels %v", err, c.calls)
	}
}
