package provider

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

var tl0 = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

func created() *Provider {
	return &Provider{Status: StatusPendingConsent, Timeline: []Event{{At: tl0, Status: StatusPendingConsent, What: "Provider created.", By: "user:u"}}}
}

func TestAddEventFoldsRepeatsOfOneKind(t *testing.T) {
	p := created()
	for i := range 1000 {
		p.AddEvent(Event{At: tl0.Add(time.Duration(i+1) * time.Minute), Status: p.Status, Kind: EventConsentResent, What: fmt.Sprintf("Consent email resent by user:%d.", i%3), By: fmt.Sprintf("user:%d", i%3)})
	}
	if len(p.Timeline) != 2 {
		t.Fatalf("%d events after 1,000 resends, want 2: %+v", len(p.Timeline), p.Timeline[:3])
	}
	ev := p.Timeline[1]
	if ev.Count != 1000 || ev.Occurrences() != 1000 || !ev.At.Equal(tl0.Add(1000*time.Minute)) || ev.FirstAt == nil || !ev.FirstAt.Equal(tl0.Add(time.Minute)) {
		t.Fatalf("folded event %+v", ev)
	}
	if ev.What != "Consent email resent by user:0." || ev.By != "user:0" {
		t.Fatalf("the folded event does not show the latest: %+v", ev)
	}

	// Another kind, or the same kind in another status, starts a new event.
	p.AddEvent(Event{At: tl0.Add(2000 * time.Minute), Status: p.Status, Kind: EventReminderSent, What: "Reminder sent."})
	p.Status = StatusAwaitingOwnerAccess
	p.AddEvent(Event{At: tl0.Add(2001 * time.Minute), Status: p.Status, Kind: EventReminderSent, What: "Reminder sent."})
	if len(p.Timeline) != 4 || p.Timeline[2].Count != 0 || p.Timeline[2].FirstAt != nil {
		t.Fatalf("timeline %+v", p.Timeline)
	}
}

func TestAddEventNeverFoldsEventsWithoutKind(t *testing.T) {
	p := created()
	for range 3 {
		p.AddEvent(Event{At: tl0, Status: p.Status, What: "Consent email sent.", By: "system"})
	}
	if len(p.Timeline) != 4 {
		t.Fatalf("a duplicate one-off event was folded: %+v", p.Timeline)
	}
}

func TestRemoveEventUndoesAddEvent(t *testing.T) {
	p := created()
	at := func(i int) time.Time { return tl0.Add(time.Duration(i) * time.Hour) }
	reminder := func(i int) Event {
		return Event{At: at(i), Status: p.Status, Kind: EventReminderSent, What: "Reminder email sent.", By: "system"}
	}
	p.AddEvent(reminder(1))
	p.AddEvent(reminder(2))
	p.AddEvent(reminder(3))
	if !p.RemoveEvent(reminder(3)) || p.Timeline[1].Count != 2 {
		t.Fatalf("after removing the third: %+v", p.Timeline)
	}
	// With three, the fold keeps the removed repeat's time (the one before
	// it is not kept); with two, the first comes back at its own time.
	if ev := p.Timeline[1]; !ev.At.Equal(at(3)) {
		t.Fatalf("after removing the third: %+v", ev)
	}
	if !p.RemoveEvent(Event{At: at(3), Kind: EventReminderSent, What: "Reminder email sent."}) {
		t.Fatalf("timeline %+v", p.Timeline)
	}
	if ev := p.Timeline[1]; ev.Count != 0 || ev.FirstAt != nil || !ev.At.Equal(at(1)) {
		t.Fatalf("back to one reminder: %+v", ev)
	}
	if !p.RemoveEvent(reminder(1)) || len(p.Timeline) != 1 {
		t.Fatalf("timeline %+v", p.Timeline)
	}
	if p.RemoveEvent(reminder(1)) {
		t.Fatal("removed an event twice")
	}
}

func TestTimelineHardCap(t *testing.T) {
	p := created()
	// Events without a kind (or alternating kinds) do not fold: the cap holds.
	for i := range 1000 {
		p.AddEvent(Event{At: tl0.Add(time.Duration(i+1) * time.Second), Status: p.Status, What: fmt.Sprintf("event %d", i), By: "system"})
	}
	if len(p.Timeline) != MaxTimelineEvents {
		t.Fatalf("%d events, want %d", len(p.Timeline), MaxTimelineEvents)
	}
	if p.Timeline[0].What != "Provider created." {
		t.Fatalf("the first event was dropped: %+v", p.Timeline[0])
	}
	marker := p.Timeline[1]
	shown := len(p.Timeline) - 2
	if marker.Kind != EventOmitted || marker.Count != 1000-shown || !strings.Contains(marker.What, fmt.Sprint(1000-shown)) ||
		marker.FirstAt == nil || !marker.FirstAt.Equal(tl0.Add(time.Second)) {
		t.Fatalf("marker %+v", marker)
	}
	if last := p.Timeline[len(p.Timeline)-1]; last.What != "event 999" {
		t.Fatalf("last %+v", last)
	}
	if next := p.Timeline[2]; next.What != fmt.Sprintf("event %d", 1000-shown) {
		t.Fatalf("first shown %+v", next)
	}
}

func TestAddEventClipsText(t *testing.T) {
	p := created()
	p.AddEvent(Event{At: tl0, What: strings.Repeat("é", MaxEventText), By: strings.Repeat("b", 1000)})
	ev := p.Timeline[1]
	if len(ev.What) > MaxEventText || !strings.HasSuffix(ev.What, "…") || !strings.HasPrefix(ev.What, "éé") || len(ev.By) > MaxEventBy {
		t.Fatalf("event %q by %q", ev.What, ev.By)
	}
	for _, r := range ev.What {
		if r == '\uFFFD' {
			t.Fatal("a character was cut in two")
		}
	}
}

// TestItemStaysSmall: a migration of 100 subscriptions that sees 1,000
// reminders, 1,000 resends and 1,000 ownership checks, interleaved (so
// folding alone does not help), and long texts, stays far under DynamoDB's
// 400 KB item limit.
func TestItemStaysSmall(t *testing.T) {
	p := created()
	p.AccountID, p.ID, p.Name, p.Type, p.Option = "acct-1", "prov-1", strings.Repeat("n", 100), TypeAzure, OptionMigrate
	for i := range 100 {
		id := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		p.Subscriptions = append(p.Subscriptions, Subscription{ID: id, State: SubscriptionMissingOwner})
		p.Permissions = append(p.Permissions, Permission{Kind: PermissionOwner, ObservedAt: tl0, ID: id, PrincipalID: "11111111-1111-1111-1111-111111111111", Scope: "/subscriptions/" + id,
			Description: "Owner on /subscriptions/" + id + " for principal 11111111-1111-1111-1111-111111111111."})
	}
	long := strings.Repeat("x", 5000)
	for i := range 1000 {
		at := tl0.Add(time.Duration(i) * time.Minute)
		p.AddEvent(Event{At: at, Status: p.Status, Kind: EventReminderSent, What: "Reminder email sent to the Azure administrator (a***@contoso.com).", By: "system"})
		p.AddEvent(Event{At: at, Status: p.Status, Kind: EventConsentResent, What: "Consent email resent by user:" + long, By: "user:" + long})
		p.AddEvent(Event{At: at, Status: p.Status, Kind: EventOwnershipChecked, What: "Ownership checked: " + long, By: "system"})
	}
	if len(p.Timeline) > MaxTimelineEvents {
		t.Fatalf("%d events", len(p.Timeline))
	}
	total := 0
	for _, ev := range p.Timeline {
		total += ev.Occurrences()
	}
	if total != 3001 {
		t.Fatalf("the timeline accounts for %d events, want 3,001", total)
	}
	size := itemSize(t, p)
	if size > 150*1024 {
		t.Fatalf("item of %d bytes", size)
	}
	t.Logf("item size %d bytes, %d events", size, len(p.Timeline))

	// Same kind in a row: folded to a handful of events.
	q := created()
	for i := range 1000 {
		q.AddEvent(Event{At: tl0.Add(time.Duration(i) * time.Minute), Status: q.Status, Kind: EventOwnershipChecked, What: "Ownership checked.", By: "system"})
	}
	if len(q.Timeline) != 2 || itemSize(t, q) > 2048 {
		t.Fatalf("%d events, %d bytes", len(q.Timeline), itemSize(t, q))
	}
}

// itemSize approximates DynamoDB's item size: attribute names and values.
func itemSize(t *testing.T, p *Provider) int {
	t.Helper()
	item, err := attributevalue.MarshalMap(p)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for k, v := range item {
		n += len(k) + avSize(v)
	}
	return n
}

func avSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return len(v.Value)/2 + 2
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + avSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + avSize(e)
		}
		return n
	}
	return 0
}
