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

type fakeRelay struct {
	calls []string
	fail  map[string]bool
}

func (f *fakeRelay) Resume(_ context.Context, hash string) error {
	f.calls = append(f.calls, "invitation/"+hash[:4])
	if f.fail[hash] {
		return errors.New("Step Functions unavailable")
	}
	return nil
}

func (f *fakeRelay) Deliver(_ context.Context, account, id string) error {
	f.calls = append(f.calls, account+"/"+id)
	if f.fail[id] {
		return errors.New("SES unavailable")
	}
	return nil
}

var (
	hashA = strings.Repeat("a", 64)
	hashB = strings.Repeat("b", 64)
)

const (
	prvA = "prv_01jd2y5q8w3v6t9x0b1c2d3e4a"
	prvB = "prv_01jd2y5q8w3v6t9x0b1c2d3e4b"
	prvC = "prv_01jd2y5q8w3v6t9x0b1c2d3e4c"
)

func record(seq, name, pk, sk string) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{EventName: name, Change: events.DynamoDBStreamRecord{
		SequenceNumber: seq,
		Keys:           map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute(pk), "sk": events.NewStringAttribute(sk)},
	}}
}

func TestHandle(t *testing.T) {
	tests := []struct {
		name      string
		records   []events.DynamoDBEventRecord
		fail      []string
		wantCalls []string
		wantFail  []string
	}{
		{"each provider delivered once per batch, in order",
			[]events.DynamoDBEventRecord{
				record("1", "MODIFY", "ACCOUNT#a1", "PROVIDER#"+prvA),
				record("2", "INSERT", "ACCOUNT#a2", "PROVIDER#"+prvB),
				record("3", "MODIFY", "ACCOUNT#a1", "PROVIDER#"+prvA),
			}, nil, []string{"a1/" + prvA, "a2/" + prvB}, nil},
		{"other items and removals are not deliveries",
			[]events.DynamoDBEventRecord{
				record("1", "MODIFY", "ACCOUNT#a1", "NAME#contoso"),
				record("2", "REMOVE", "ACCOUNT#a1", "PROVIDER#"+prvA),
				record("3", "MODIFY", "TENANT#t", "PROVIDER#"+prvA),
				record("4", "MODIFY", "ACCOUNT#a1", "PROVIDER#not-an-id"),
			}, nil, nil, nil},
		{"invitations resumed, once per batch, in order with the providers",
			[]events.DynamoDBEventRecord{
				record("1", "MODIFY", "INVITATION#"+hashA, "INVITATION"),
				record("2", "MODIFY", "ACCOUNT#a1", "PROVIDER#"+prvA),
				record("3", "MODIFY", "INVITATION#"+hashA, "INVITATION"),
				record("4", "MODIFY", "INVITATION#short", "INVITATION"),
				record("5", "MODIFY", "INVITATION#"+hashB, "STATE"),
			}, nil, []string{"invitation/aaaa", "a1/" + prvA}, nil},
		{"a failed resume is the batch's failure point",
			[]events.DynamoDBEventRecord{
				record("7", "MODIFY", "INVITATION#"+hashB, "INVITATION"),
				record("8", "MODIFY", "ACCOUNT#a1", "PROVIDER#"+prvA),
			}, []string{hashB}, []string{"invitation/bbbb"}, []string{"7"}},
		{"a failed delivery is the batch's failure point",
			[]events.DynamoDBEventRecord{
				record("1", "MODIFY", "ACCOUNT#a1", "PROVIDER#"+prvA),
				record("2", "MODIFY", "ACCOUNT#a1", "PROVIDER#"+prvB),
				record("3", "MODIFY", "ACCOUNT#a1", "PROVIDER#"+prvC),
			}, []string{prvB}, []string{"a1/" + prvA, "a1/" + prvB}, []string{"2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			relay := &fakeRelay{fail: map[string]bool{}}
			for _, id := range tt.fail {
				relay.fail[id] = true
			}
			h := &Handler{Relay: relay, Resumer: relay}
			resp, err := h.Handle(context.Background(), events.DynamoDBEvent{Records: tt.records})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(relay.calls, tt.wantCalls) {
				t.Fatalf("deliveries %v, want %v", relay.calls, tt.wantCalls)
			}
			var failed []string
			for _, f := range resp.BatchItemFailures {
				failed = append(failed, f.ItemIdentifier)
			}
			if !slices.Equal(failed, tt.wantFail) {
				t.Fatalf("batch item failures %v, want %v", failed, tt.wantFail)
			}
		})
	}
}

// TestSampleEvent: the sample event of events/ (make invoke) decodes to a
// delivery for its provider.
func TestSampleEvent(t *testing.T) {
	raw, err := os.ReadFile("../../events/outbox-relay.json")
	if err != nil {
		t.Fatal(err)
	}
	var e events.DynamoDBEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	relay := &fakeRelay{}
	if _, err := (&Handler{Relay: relay, Resumer: relay}).Handle(context.Background(), e); err != nil || len(relay.calls) != 1 {
		t.Fatalf("sample event: %v, deliveries %v", err, relay.calls)
	}
}
