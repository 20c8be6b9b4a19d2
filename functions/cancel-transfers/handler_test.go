package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
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

// TestHandle: provider items are cancelled for (once per batch, through
// stream.Deliver); other items are not; a failure is the batch item
// failure.
func TestHandle(t *testing.T) {
	c := &fakeCanceller{fail: map[string]bool{prvB: true}}
	resp, err := (&Handler{Canceller: c}).Handle(context.Background(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		record("1", "MODIFY", "ACCOUNT#a", "PROVIDER#"+prvA),
		record("2", "MODIFY", "INVITATION#"+strings.Repeat("a", 64), "INVITATION"),
		record("3", "MODIFY", "ACCOUNT#b", "PROVIDER#"+prvB),
	}})
	if err != nil || !slices.Equal(c.calls, []string{"a/" + prvA, "b/" + prvB}) ||
		len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "3" {
		t.Fatalf("Handle = %v; calls %v, failures %+v", err, c.calls, resp.BatchItemFailures)
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
