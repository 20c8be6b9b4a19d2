package provider

import (
	"strings"
	"testing"

	"github.com/partnercloud/azure/shared/agreement"
)

// movingSub is a provider whose subscription s1 (move route) is moving
// groups web (three resources) and db (one), and whose s2 was
// transferred.
func movingSub() *Provider {
	p := &Provider{Status: StatusConsolidating, AzureAdminEmail: "admin@contoso.example", BillingAdminEmail: "billing@contoso.example",
		Subscriptions: []Subscription{
			{ID: "s1", Route: string(agreement.MoveResources), State: SubscriptionMoving},
			{ID: "s2", Route: string(agreement.BillingTransfer), State: SubscriptionConsolidated},
		},
		MovePlan: &MovePlan{Version: 1, Target: "t", ApprovedAt: &tb, Subscriptions: []SubscriptionMove{{SubscriptionID: "s1", Groups: []GroupMove{
			{Name: "web", Moves: []string{"w1", "w2", "w3"}, State: GroupMoving, Operation: "op"},
			{Name: "db", Moves: []string{"d1"}, State: GroupMoving, Operation: "op2"},
		}}}},
	}
	return p
}

func TestRecordMoveFailure(t *testing.T) {
	failure := BlockedResource{Code: "ResourceMoveFailed", Message: "The batch move job failed."}
	tests := []struct {
		name       string
		places     MovePlaces
		wantGroup  string
		wantSub    SubscriptionState
		wantReason []string
		wantChange string
	}{
		{name: "half-way", places: MovePlaces{InTarget: []string{"w1"}, InSource: []string{"w2", "w3"}},
			wantGroup: GroupFailed, wantSub: SubscriptionFailed,
			wantReason: []string{"The move of resource group web failed: The batch move job failed (ResourceMoveFailed).", "1 of its 3 resources moved into the partner's Azure plan subscription before it failed; 2 stay in the subscription."},
			wantChange: "1 of the 3 resources of resource group web are now in the partner's Azure plan subscription"},
		{name: "one in neither group", places: MovePlaces{InTarget: []string{"w1"}, InSource: []string{"w2"}, Missing: []string{"w3"}},
			wantGroup: GroupFailed, wantSub: SubscriptionFailed,
			wantReason: []string{"1 of its 3 resources moved", "1 stay in the subscription and 1 are in neither resource group."}},
		{name: "nothing moved", places: MovePlaces{InSource: []string{"w1", "w2", "w3"}},
			wantGroup: GroupFailed, wantSub: SubscriptionFailed,
			wantReason: []string{"(ResourceMoveFailed). None of its 3 resources moved."},
			wantChange: "Nothing changed in how this subscription is billed."},
		{name: "every resource in the target: moved", places: MovePlaces{InTarget: []string{"w1", "w2", "w3"}},
			wantGroup: GroupMoved, wantSub: SubscriptionConsolidated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := movingSub()
			if err := p.RecordMoveFailure("s1", "web", failure, tt.places, tb); err != nil {
				t.Fatal(err)
			}
			if s, _ := p.Subscription("s1"); s.State != SubscriptionMoving {
				t.Fatalf("subscription %s while db still moves", s.State)
			}
			if err := p.RecordMoveResult("s1", "db", nil, tb); err != nil {
				t.Fatal(err)
			}
			g := p.GroupsOf("s1")[0]
			s, _ := p.Subscription("s1")
			if g.State != tt.wantGroup || s.State != tt.wantSub || g.Operation != "" {
				t.Fatalf("group %s (operation %q), subscription %s; want %s, %s", g.State, g.Operation, s.State, tt.wantGroup, tt.wantSub)
			}
			if tt.wantGroup == GroupFailed && (g.Failure == nil || *g.Failure != failure || g.MovedAt != nil || len(g.InTarget) != len(tt.places.InTarget)) {
				t.Errorf("failed group %+v", g)
			}
			if tt.wantSub == SubscriptionFailed && s.ConsolidatedAt != nil {
				t.Errorf("a failed subscription has consolidatedAt %v", s.ConsolidatedAt)
			}
			for _, w := range tt.wantReason {
				if !strings.Contains(s.FailureReason, w) {
					t.Errorf("reason %q does not say %q", s.FailureReason, w)
				}
			}
			if tt.wantChange != "" && !strings.Contains(p.BillingChange("s1"), tt.wantChange) {
				t.Errorf("billing change %q, want %q", p.BillingChange("s1"), tt.wantChange)
			}
			// Recorded once: the same answer again changes nothing.
			n := len(p.Timeline)
			if err := p.RecordMoveFailure("s1", "web", failure, tt.places, tb); err != nil || len(p.Timeline) != n {
				t.Errorf("recorded again: %v, %d events after %d", err, len(p.Timeline), n)
			}
		})
	}
	if err := movingSub().RecordMoveFailure("s1", "nope", failure, MovePlaces{}, tb); err == nil {
		t.Error("a group not in the plan was recorded")
	}
}

func TestRecordMoveFailureTimeline(t *testing.T) {
	p := movingSub()
	p.RecordMoveFailure("s1", "web", BlockedResource{Code: "ResourceMoveTimedOut", Message: "Moving resources did not finish within allowed time '04:00:00'."}, MovePlaces{InTarget: []string{"w1", "w2", "w3"}}, tb)
	p.RecordMoveFailure("s1", "db", BlockedResource{Code: "ResourceMoveFailed", Message: "failed"}, MovePlaces{InSource: []string{"d1"}}, tb)
	var said []string
	for _, e := range p.Timeline {
		said = append(said, e.What)
	}
	all := strings.Join(said, "\n")
	for _, w := range []string{
		"Subscription s1: Azure reported the move of resource group web failed: Moving resources did not finish within allowed time '04:00:00' (ResourceMoveTimedOut); Azure Resource Manager lists all its resources in the target.",
		"Subscription s1: resource group web moved (3 resources).",
		"Subscription s1: the move of resource group db failed: failed (ResourceMoveFailed). None of its 1 resources moved.",
	} {
		if !strings.Contains(all, w) {
			t.Errorf("timeline does not say %q:\n%s", w, all)
		}
	}
	if s, _ := p.Subscription("s1"); s.State != SubscriptionFailed || strings.Contains(s.FailureReason, "web") {
		t.Errorf("s1 %s: %q; want failed naming db only", s.State, s.FailureReason)
	}
}

func TestCustomerContact(t *testing.T) {
	p := movingSub()
	if got := p.CustomerContact("s1"); got != "admin@contoso.example" {
		t.Errorf("move route: %q, want the Azure administrator", got)
	}
	if got := p.CustomerContact("s2"); got != "billing@contoso.example" {
		t.Errorf("transfer route: %q, want the billing administrator", got)
	}
}

func TestMoveWaits(t *testing.T) {
	for code, want := range map[string]bool{"ScopeLocked": true, "ResourceGroupLocked": true, "ResourceMoveFailed": false, "ResourceMoveTimedOut": false, "ResourceMoveValidationFailed": false} {
		if MoveWaits(code) != want {
			t.Errorf("MoveWaits(%s) = %v", code, !want)
		}
	}
}

// TestPartnerBilledAfterHalfWay: resources a failed move left in the Azure
// plan subscription are billed by the partner: the health check follows
// that subscription; a failed move that moved nothing adds nothing.
func TestPartnerBilledAfterHalfWay(t *testing.T) {
	for _, tt := range []struct {
		name   string
		places MovePlaces
		want   bool
	}{
		{"half-way", MovePlaces{InTarget: []string{"w1"}, InSource: []string{"w2", "w3"}}, true},
		{"nothing moved", MovePlaces{InSource: []string{"w1", "w2", "w3"}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := movingSub()
			p.Option, p.Target = OptionMigrate, &TargetPlan{SubscriptionID: "t"}
			p.RecordMoveFailure("s1", "web", BlockedResource{Code: "ResourceMoveFailed", Message: "failed"}, tt.places, tb)
			p.RecordMoveFailure("s1", "db", BlockedResource{Code: "ResourceMoveFailed", Message: "failed"}, MovePlaces{InSource: []string{"d1"}}, tb)
			got := false
			for _, s := range p.partnerBilled() {
				got = got || s.ID == "t"
			}
			if got != tt.want {
				t.Errorf("the Azure plan subscription followed: %v, want %v", got, tt.want)
			}
		})
	}
}
