package provider

import (
	"strings"
	"testing"
	"time"
)

// TestRepeatedChecksKeepTheTimelineSmall: 1,000 checks whose result flips
// each time (missing, not found, missing, …) fold into one event.
func TestRepeatedChecksKeepTheTimelineSmall(t *testing.T) {
	now := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	q := &Provider{Status: StatusAwaitingOwnerAccess, Timeline: []Event{{At: now, Status: StatusPendingConsent, What: "Provider created."}}}
	id := "00000000-0000-0000-0000-000000000001"
	for i := range 1000 {
		state := SubscriptionMissingOwner
		if i%2 == 1 {
			state = SubscriptionNotFound
		}
		if err := q.RecordOwnershipCheck([]Subscription{{ID: id, State: state}}, "sp", false, now.Add(time.Duration(i)*time.Minute), 30*24*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if len(q.Timeline) != 2 || q.Timeline[1].Count != 1000 || q.Timeline[1].Kind != EventOwnershipChecked ||
		!strings.Contains(q.Timeline[1].What, "not_found") || q.OwnershipWait.Checks != 1000 {
		t.Fatalf("timeline %+v", q.Timeline)
	}
}
