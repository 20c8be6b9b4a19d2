package provider

import (
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/agreement"
	"github.com/partnercloud/azure/shared/apperr"
)

var tb = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

func fourSubs() *Provider {
	return &Provider{Option: OptionMigrate, Status: StatusAwaitingOwnerAccess, Subscriptions: []Subscription{
		{ID: "s1", State: SubscriptionOwned}, {ID: "s2", State: SubscriptionMissingOwner},
		{ID: "s3", State: SubscriptionPending}, {ID: "s4", State: SubscriptionPending},
	}}
}

func decision(r agreement.Route) agreement.Decision {
	return agreement.Decision{Agreement: agreement.PayAsYouGo, Route: r, Reason: "because", CustomerAction: "do this"}
}

func TestRecordRoute(t *testing.T) {
	tests := []struct {
		route agreement.Route
		want  SubscriptionState
	}{
		{agreement.MoveResources, SubscriptionOwned},
		{agreement.BillingTransfer, SubscriptionOwned},
		{agreement.AlreadyPartner, SubscriptionConsolidated},
		{agreement.NotMovable, SubscriptionNotMovable},
	}
	for _, tt := range tests {
		t.Run(string(tt.route), func(t *testing.T) {
			p := fourSubs()
			if ok, err := p.RecordRoute("S1", "PayAsYouGo_2014-09-01", decision(tt.route), tb); !ok || err != nil {
				t.Fatalf("first: %v %v", ok, err)
			}
			s := p.Subscriptions[0]
			if s.State != tt.want || s.Route != string(tt.route) || s.QuotaID == "" || s.RouteReason != "because" || s.ClassifiedAt == nil {
				t.Fatalf("subscription %+v", s)
			}
			if (s.ConsolidatedAt != nil) != (tt.want == SubscriptionConsolidated) {
				t.Fatalf("consolidatedAt %v", s.ConsolidatedAt)
			}
			if ok, _ := p.RecordRoute("s1", "x", decision(agreement.NotMovable), tb); ok || p.Subscriptions[0].Route != string(tt.route) {
				t.Fatal("a second classification changed the route")
			}
		})
	}
	if _, err := fourSubs().RecordRoute("nope", "", decision(agreement.NotMovable), tb); !apperr.Is(err, apperr.InvalidRequest) {
		t.Fatalf("unknown subscription: %v", err)
	}
}

func TestRecordTransfer(t *testing.T) {
	tests := []struct {
		status     string
		want       SubscriptionState
		wantReason string
	}{
		{TransferPending, SubscriptionTransferPending, ""},
		{TransferInProgress, SubscriptionTransferPending, ""},
		{TransferCompleted, SubscriptionConsolidated, ""},
		{TransferCompletedWithErrors, SubscriptionConsolidated, ""},
		{TransferDeclined, SubscriptionFailed, "declined"},
		{TransferExpired, SubscriptionFailed, "expired"},
		{TransferFailed, SubscriptionFailed, "failed"},
		{TransferCanceled, SubscriptionFailed, "cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			p := fourSubs()
			p.RecordRoute("s3", "EnterpriseAgreement_2014-09-01", decision(agreement.BillingTransfer), tb)
			if _, err := p.RecordTransfer("s3", Transfer{Name: "pt1", Status: tt.status, NotMoved: []string{"support plan"}}, tb.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			s := p.Subscriptions[2]
			if s.State != tt.want || !strings.Contains(s.FailureReason, tt.wantReason) || s.Transfer.Status != tt.status || !s.Transfer.ObservedAt.Equal(tb.Add(time.Hour)) {
				t.Fatalf("subscription %+v transfer %+v", s, s.Transfer)
			}
			// A final state is kept whatever is reported later.
			if tt.want.Final() {
				if changed, _ := p.RecordTransfer("s3", Transfer{Name: "pt1", Status: TransferPending}, tb.Add(2*time.Hour)); changed || p.Subscriptions[2].State != tt.want {
					t.Fatal("a final state changed")
				}
			}
		})
	}
	if _, err := fourSubs().RecordTransfer("s1", Transfer{Status: TransferCompleted}, tb); !apperr.Is(err, apperr.InvalidState) {
		t.Fatalf("a subscription not on the transfer route: %v", err)
	}
}

func TestMovePlanLifecycle(t *testing.T) {
	p := fourSubs()
	p.RecordRoute("s1", "PayAsYouGo_2014-09-01", decision(agreement.MoveResources), tb)
	p.RecordRoute("s2", "PayAsYouGo_2014-09-01", decision(agreement.MoveResources), tb)
	report := func() []GroupMove {
		return []GroupMove{
			{Name: "web", Moves: []string{"/subscriptions/s1/resourceGroups/web/providers/x/a"}},
			{Name: "batch", Moves: []string{"/subscriptions/s1/resourceGroups/batch/providers/x/b"}, Blocked: []BlockedResource{{ID: "c", Code: "ResourceMoveNotSupported", Message: "no"}}},
		}
	}
	if _, err := p.ApproveMovePlan(1, "user:a", tb); !apperr.Is(err, apperr.InvalidState) {
		t.Fatalf("approve before any report: %v", err)
	}
	if ok, err := p.RecordMoveReport("s1", "target", report(), tb); !ok || err != nil || p.MovePlan.Version != 1 || p.Subscriptions[0].State != SubscriptionAwaitingApproval {
		t.Fatalf("first report: %v %v %+v", ok, err, p.MovePlan)
	}
	if ok, _ := p.RecordMoveReport("s1", "target", report(), tb); ok || p.MovePlan.Version != 1 {
		t.Fatal("the same report made a new version")
	}
	// s2's report: version 2; approving version 1 is stale.
	p.RecordMoveReport("s2", "target", []GroupMove{{Name: "dev", Moves: []string{"/subscriptions/s2/resourceGroups/dev/providers/x/d"}}}, tb)
	if p.MovePlan.Version != 2 {
		t.Fatalf("version %d", p.MovePlan.Version)
	}
	if _, err := p.ApproveMovePlan(1, "user:a", tb); !apperr.Is(err, apperr.InvalidState) || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("stale approval: %v", err)
	}
	if ok, err := p.ApproveMovePlan(2, "user:a", tb.Add(time.Minute)); !ok || err != nil || p.Subscriptions[0].State != SubscriptionMoving || p.Subscriptions[1].State != SubscriptionMoving {
		t.Fatalf("approval: %v %v %+v", ok, err, p.Subscriptions)
	}
	if ok, err := p.ApproveMovePlan(2, "user:a", tb.Add(time.Minute)); ok || err != nil {
		t.Fatalf("approving again: %v %v", ok, err)
	}
	// s1: web moves, batch moves (its blocked resource stays): consolidated.
	p.RecordMoveStarted("s1", "web", "op-1")
	if g := p.group("s1", "web"); g.State != GroupMoving || g.Operation != "op-1" {
		t.Fatalf("group %+v", g)
	}
	p.RecordMoveResult("s1", "web", nil, tb.Add(time.Hour))
	if p.Subscriptions[0].State != SubscriptionMoving {
		t.Fatal("consolidated before every group moved")
	}
	p.RecordMoveResult("s1", "batch", nil, tb.Add(time.Hour))
	if s := p.Subscriptions[0]; s.State != SubscriptionConsolidated || s.ConsolidatedAt == nil {
		t.Fatalf("s1 %+v", s)
	}
	// s2: its move fails half-way.
	p.RecordMoveResult("s2", "dev", &BlockedResource{Code: "ResourceMoveFailed", Message: "the target is locked"}, tb.Add(time.Hour))
	if s := p.Subscriptions[1]; s.State != SubscriptionFailed || !strings.Contains(s.FailureReason, "dev") {
		t.Fatalf("s2 %+v", s)
	}
	if done, _, _ := p.BillingOutcome(); done {
		t.Fatal("done while s3 and s4 have no route")
	}
	p.RecordRoute("s3", "x", decision(agreement.AlreadyPartner), tb)
	p.RecordRoute("s4", "x", decision(agreement.NotMovable), tb)
	if done, billing, err := p.BillingOutcome(); !done || err != nil || billing != BillingPartiallyConsolidated {
		t.Fatalf("outcome %v %q %v", done, billing, err)
	}
	if v := p.View(); v.MovePlan.Warning == "" || p.MovePlan.Warning != "" {
		t.Fatal("the view must carry the warning, the stored plan not")
	}
}

func TestBillingOutcome(t *testing.T) {
	tests := []struct {
		name    string
		states  []SubscriptionState
		done    bool
		billing string
		fails   bool
	}{
		{"all consolidated", []SubscriptionState{SubscriptionConsolidated, SubscriptionConsolidated}, true, BillingConsolidated, false},
		{"one not movable", []SubscriptionState{SubscriptionConsolidated, SubscriptionNotMovable}, true, BillingPartiallyConsolidated, false},
		{"one failed", []SubscriptionState{SubscriptionFailed, SubscriptionConsolidated}, true, BillingPartiallyConsolidated, false},
		{"none consolidated", []SubscriptionState{SubscriptionFailed, SubscriptionNotMovable}, true, "", true},
		{"one on its way", []SubscriptionState{SubscriptionConsolidated, SubscriptionMoving}, false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Provider{}
			for i, s := range tt.states {
				p.Subscriptions = append(p.Subscriptions, Subscription{ID: string(rune('a' + i)), State: s})
			}
			done, billing, err := p.BillingOutcome()
			if done != tt.done || billing != tt.billing || (err != nil) != tt.fails {
				t.Fatalf("%v %q %v", done, billing, err)
			}
		})
	}
}
