package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/partnercloud/azure/shared/providerevents"
)

type fakePublisher struct {
	got    []providerevents.Event
	failAt int // index of the first failed event; -1 none
}

func (f *fakePublisher) Publish(_ context.Context, evs []providerevents.Event) ([]int, error) {
	f.got = append(f.got, evs...)
	if f.failAt < 0 || f.failAt >= len(evs) {
		return nil, nil
	}
	var failed []int
	for i := f.failAt; i < len(evs); i++ {
		failed = append(failed, i)
	}
	return failed, errors.New("EventBridge throttled")
}

func rec(seq, id, oldStatus, newStatus string) events.DynamoDBEventRecord {
	img := func(status, version string) map[string]events.DynamoDBAttributeValue {
		if status == "" {
			return nil
		}
		return map[string]events.DynamoDBAttributeValue{
			"id": events.NewStringAttribute(id), "accountId": events.NewStringAttribute("acct-1"), "option": events.NewStringAttribute("migrate"),
			"status": events.NewStringAttribute(status), "version": events.NewNumberAttribute(version), "updatedAt": events.NewStringAttribute("2026-05-01T09:00:00Z"),
		}
	}
	return events.DynamoDBEventRecord{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{
		SequenceNumber: seq, OldImage: img(oldStatus, "1"), NewImage: img(newStatus, "2"),
		Keys: map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("ACCOUNT#acct-1"), "sk": events.NewStringAttribute("PROVIDER#" + id)},
	}}
}

func TestHandle(t *testing.T) {
	batch := []events.DynamoDBEventRecord{
		rec("10", "prv_a", "pending_consent", "awaiting_customer"),
		rec("11", "prv_b", "active", "active"), // no change
		rec("12", "prv_c", "awaiting_owner_access", "active"),
		rec("13", "prv_d", "", ""), // unreadable: no image
		rec("14", "prv_e", "awaiting_customer", "failed"),
	}
	tests := []struct {
		name      string
		failAt    int
		wantIDs   []string
		wantRetry string
	}{
		{"every change published", -1, []string{"prv_a", "prv_c", "prv_e"}, ""},
		{"retried from the record of the first event refused", 1, []string{"prv_a", "prv_c", "prv_e"}, "12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePublisher{failAt: tt.failAt}
			resp, err := (&Handler{Publisher: pub}).Handle(context.Background(), events.DynamoDBEvent{Records: batch})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range pub.got {
				ids = append(ids, e.ProviderID)
			}
			if !slices.Equal(ids, tt.wantIDs) {
				t.Fatalf("published %v, want %v", ids, tt.wantIDs)
			}
			retry := ""
			if len(resp.BatchItemFailures) == 1 {
				retry = resp.BatchItemFailures[0].ItemIdentifier
			}
			if retry != tt.wantRetry || len(resp.BatchItemFailures) > 1 {
				t.Fatalf("batch item failures %+v, want %q", resp.BatchItemFailures, tt.wantRetry)
			}
		})
	}
}

func TestSampleEvent(t *testing.T) {
	raw, err := os.ReadFile("../../events/publish-events.json")
	if err != nil {
		t.Fatal(err)
	}
	var e events.DynamoDBEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	pub := &fakePublisher{failAt: -1}
	if _, err := (&Handler{Publisher: pub}).Handle(context.Background(), e); err != nil || len(pub.got) != 1 || pub.got[0].DetailType != providerevents.DetailTypeStatus {
		t.Fatalf("sample event: %v, published %+v", err, pub.got)
	}
}
