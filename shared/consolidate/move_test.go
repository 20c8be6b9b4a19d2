package consolidate

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/agreement"
	"github.com/partnercloud/azure/shared/moves"
	"github.com/partnercloud/azure/shared/provider"
)

var moveAt = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

// memStore is one provider in memory; cancelAfter, when set, cancels it
// after that many writes (as a cancel landing while a run goes on).
type memStore struct {
	p           provider.Provider
	writes      int
	cancelAfter int
}

func (m *memStore) GetProvider(context.Context, string, string) (*provider.Provider, error) {
	q := m.p
	return &q, nil
}

func (m *memStore) UpdateProvider(_ context.Context, _, _ string, mutate func(*provider.Provider) error) (*provider.Provider, error) {
	if m.cancelAfter > 0 && m.writes == m.cancelAfter {
		m.p.Status = provider.StatusCancelled
	}
	q := m.p
	if err := mutate(&q); err != nil {
		return nil, err
	}
	m.p, m.writes = q, m.writes+1
	r := m.p
	return &r, nil
}

// fakeMover answers each Move with the next of moves (errors included) and
// records the groups asked; Follow answers follow, Locate places (or
// locateErr).
type fakeMover struct {
	Mover
	answers   []func() (moves.Progress, error)
	asked     []string
	follow    moves.Progress
	places    map[string]moves.Where
	locateErr error
	located   int
}

func (f *fakeMover) Follow(context.Context, string, string, string) (moves.Progress, error) {
	return f.follow, nil
}

func (f *fakeMover) Locate(_ context.Context, _, _, _ string, ids []string, _ string) ([]moves.Placement, error) {
	f.located++
	if f.locateErr != nil {
		return nil, f.locateErr
	}
	out := []moves.Placement{}
	for _, id := range ids {
		out = append(out, moves.Placement{ID: id, Where: f.places[id]})
	}
	return out, nil
}

func (f *fakeMover) Move(_ context.Context, _, _, group string, _ []string, _ string) (moves.Progress, error) {
	f.asked = append(f.asked, group)
	if len(f.answers) == 0 {
		return moves.Progress{Done: true}, nil
	}
	a := f.answers[0]
	f.answers = f.answers[1:]
	return a()
}

// approvedPlan is a migration whose …01 plan (groups a and b) was approved.
func approvedPlan() provider.Provider {
	return provider.Provider{
		AccountID: "acct", ID: "prv", TenantID: "tenant", Status: provider.StatusConsolidating,
		Target:        &provider.TargetPlan{SubscriptionID: "target"},
		Subscriptions: []provider.Subscription{{ID: "s1", Route: string(agreement.MoveResources), State: provider.SubscriptionMoving}},
		MovePlan: &provider.MovePlan{Version: 1, Target: "target", ApprovedAt: &moveAt, Subscriptions: []provider.SubscriptionMove{{SubscriptionID: "s1", Groups: []provider.GroupMove{
			{Name: "a", Moves: []string{"/subscriptions/s1/resourceGroups/a/providers/X/y/r1"}, State: provider.GroupPlanned},
			{Name: "b", Moves: []string{"/subscriptions/s1/resourceGroups/b/providers/X/y/r2"}, State: provider.GroupPlanned},
		}}}},
	}
}

var moveNotFound = func() (moves.Progress, error) {
	return moves.Progress{}, fmt.Errorf("%w (ResourceNotFound)", moves.ErrNotFound)
}

func TestMoveGroups(t *testing.T) {
	started := func() (moves.Progress, error) { return moves.Progress{Token: "op"}, nil }
	tests := []struct {
		name        string
		cancelAfter int
		answers     []func() (moves.Progress, error)
		wantAsked   []string
		wantStates  [2]string
		wantErr     bool
	}{
		{name: "both start", answers: []func() (moves.Progress, error){started, started},
			wantAsked: []string{"a", "b"}, wantStates: [2]string{provider.GroupMoving, provider.GroupMoving}},
		// Cancelled while a's move was being asked (after a's intent): a's
		// move goes on, b never starts.
		{name: "cancelled while the first starts", cancelAfter: 1, answers: []func() (moves.Progress, error){started},
			wantAsked: []string{"a"}, wantStates: [2]string{provider.GroupMoving, provider.GroupPlanned}},
		// A move of a accepted earlier ended between the look at its
		// resources and the ask (404): asked again, they are found moved.
		{name: "refused as not found, then found moved", answers: []func() (moves.Progress, error){moveNotFound, func() (moves.Progress, error) { return moves.Progress{Done: true}, nil }, started},
			wantAsked: []string{"a", "a", "b"}, wantStates: [2]string{provider.GroupMoved, provider.GroupMoving}},
		{name: "not found twice", answers: []func() (moves.Progress, error){moveNotFound, moveNotFound},
			wantAsked: []string{"a", "a"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &memStore{p: approvedPlan(), cancelAfter: tt.cancelAfter}
			mv := &fakeMover{answers: tt.answers}
			c := &Consolidator{Store: st, Mover: mv, Now: func() time.Time { return moveAt }}
			p := st.p
			s, _ := p.Subscription("s1")
			_, err := c.moveGroups(context.Background(), &p, s, moveAt)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if fmt.Sprint(mv.asked) != fmt.Sprint(tt.wantAsked) {
				t.Errorf("moves asked for %v, want %v", mv.asked, tt.wantAsked)
			}
			if tt.wantErr {
				return
			}
			for i, g := range st.p.GroupsOf("s1") {
				if g.State != tt.wantStates[i] {
					t.Errorf("group %s is %s, want %s", g.Name, g.State, tt.wantStates[i])
				}
			}
		})
	}
}

func TestRecordMoveIntentEnded(t *testing.T) {
	p := approvedPlan()
	p.Status = provider.StatusCancelled
	if err := p.RecordMoveIntent("s1", "a", moveAt); err == nil {
		t.Fatal("a cancelled migration recorded a move intent")
	}
	if g := p.GroupsOf("s1")[0]; g.State != provider.GroupPlanned || g.StartedAt != nil {
		t.Fatalf("group after a refused intent: %+v", g)
	}
}

// failingPlan is a migration whose …01 group a (two resources) is moving
// under operation "op" and group b (one resource) is planned.
func failingPlan() provider.Provider {
	p := approvedPlan()
	p.AzureAdminEmail = "admin@contoso.example"
	g := &p.MovePlan.Subscriptions[0].Groups[0]
	g.Moves = append(g.Moves, "/subscriptions/s1/resourceGroups/a/providers/X/y/r3")
	g.State, g.Operation, g.StartedAt = provider.GroupMoving, "op", &moveAt
	return p
}

// TestMoveFailsHalfWay: a group's move operation ends failed: where its
// resources are is read from Resource Manager and recorded (nothing is
// said to have moved that Resource Manager does not list in the target,
// and the failed group is never asked again); the group fails with
// Microsoft's code and message, the others go on, and once they ended the
// subscription fails with the reason and its notices are written; a
// failure with every resource in the target is a move; a refusal while
// the groups are locked waits; a failed look is retried.
func TestMoveFailsHalfWay(t *testing.T) {
	const (
		r1 = "/subscriptions/s1/resourceGroups/a/providers/X/y/r1"
		r3 = "/subscriptions/s1/resourceGroups/a/providers/X/y/r3"
	)
	failed := moves.Progress{Done: true, Failure: &moves.Failure{Code: "ResourceMoveFailed", Message: "The batch move job failed: 1 of the 2 resources were not moved."}}
	tests := []struct {
		name       string
		follow     moves.Progress
		places     map[string]moves.Where
		locateErr  error
		cancelled  bool
		wantErr    bool
		wantA      string
		wantTarget []string
		wantSource []string
		wantSub    provider.SubscriptionState
		wantReason []string
		wantEvent  string
		wantEmails int
	}{
		{name: "half-way", follow: failed, places: map[string]moves.Where{r1: moves.InTarget, r3: moves.InSource},
			wantA: provider.GroupFailed, wantTarget: []string{r1}, wantSource: []string{r3}, wantSub: provider.SubscriptionFailed,
			wantReason: []string{"resource group a failed", "1 of the 2 resources were not moved", "(ResourceMoveFailed)", "1 of its 2 resources moved into the partner's Azure plan subscription", "1 stay in the subscription"},
			wantEvent:  "the move of resource group a failed", wantEmails: 2},
		{name: "nothing moved", follow: moves.Progress{Done: true, Failure: &moves.Failure{Code: "ResourceMoveTimedOut", Message: "Moving resources did not finish within allowed time '04:00:00'."}},
			places: map[string]moves.Where{r1: moves.InSource, r3: moves.InSource},
			wantA:  provider.GroupFailed, wantSource: []string{r1, r3}, wantSub: provider.SubscriptionFailed,
			wantReason: []string{"(ResourceMoveTimedOut)", "None of its 2 resources moved"}, wantEmails: 2},
		{name: "all in the target despite the failure", follow: failed, places: map[string]moves.Where{r1: moves.InTarget, r3: moves.InTarget},
			wantA: provider.GroupMoved, wantSub: provider.SubscriptionConsolidated,
			wantEvent: "Azure reported the move of resource group a failed"},
		{name: "cancelled meanwhile: recorded, no notices", follow: failed, places: map[string]moves.Where{r1: moves.InTarget, r3: moves.InSource}, cancelled: true,
			wantA: provider.GroupFailed, wantTarget: []string{r1}, wantSource: []string{r3}, wantSub: provider.SubscriptionMoving},
		{name: "locked: waits", follow: moves.Progress{Done: true, Failure: &moves.Failure{Code: "ScopeLocked", Message: "locked"}},
			wantA: provider.GroupMoving, wantSub: provider.SubscriptionMoving},
		{name: "the look fails: retried", follow: failed, locateErr: fmt.Errorf("%w: list", moves.ErrNotFound), wantErr: true,
			wantA: provider.GroupMoving, wantSub: provider.SubscriptionMoving},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := failingPlan()
			if tt.cancelled {
				p.Status = provider.StatusCancelled
			}
			st := &memStore{p: p}
			mv := &fakeMover{follow: tt.follow, places: tt.places, locateErr: tt.locateErr}
			c := &Consolidator{Store: st, Mover: mv, Now: func() time.Time { return moveAt }}
			s, _ := p.Subscription("s1")
			_, err := c.moveGroups(context.Background(), &p, s, moveAt)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			q := st.p
			a := q.GroupsOf("s1")[0]
			if a.State != tt.wantA || fmt.Sprint(a.InTarget) != fmt.Sprint(tt.wantTarget) || fmt.Sprint(a.InSource) != fmt.Sprint(tt.wantSource) {
				t.Errorf("group a: %s, in target %v, in source %v; want %s, %v, %v", a.State, a.InTarget, a.InSource, tt.wantA, tt.wantTarget, tt.wantSource)
			}
			if tt.wantA == provider.GroupFailed && (a.Failure == nil || a.Failure.Code != tt.follow.Failure.Code || a.Failure.Message != tt.follow.Failure.Message) {
				t.Errorf("group a's failure %+v, want Microsoft's %+v", a.Failure, tt.follow.Failure)
			}
			if tt.wantA == provider.GroupMoving && a.Operation != "op" {
				t.Errorf("group a lost its operation: %+v", a)
			}
			for _, g := range mv.asked {
				if g == "a" {
					t.Errorf("the move of group a was asked again: %v", mv.asked)
				}
			}
			sub, _ := q.Subscription("s1")
			if sub.State != tt.wantSub {
				t.Errorf("subscription %s, want %s", sub.State, tt.wantSub)
			}
			if sub.State != provider.SubscriptionConsolidated && sub.ConsolidatedAt != nil {
				t.Errorf("consolidated at %v while %s", sub.ConsolidatedAt, sub.State)
			}
			for _, w := range tt.wantReason {
				if !strings.Contains(sub.FailureReason, w) {
					t.Errorf("reason %q does not say %q", sub.FailureReason, w)
				}
			}
			if tt.wantEvent != "" && !hasEvent(q, tt.wantEvent) {
				t.Errorf("no timeline event saying %q: %+v", tt.wantEvent, q.Timeline)
			}
			emails := 0
			for _, e := range q.Outbox {
				if e.Kind == provider.NoticeBillingFailed && e.Subscription == "s1" {
					emails++
				}
			}
			if emails != tt.wantEmails {
				t.Errorf("%d billing_failed notices, want %d", emails, tt.wantEmails)
			}
			if tt.follow.Failure.Code == "ScopeLocked" && mv.located != 0 {
				t.Errorf("a refusal while locked looked for the resources (%d)", mv.located)
			}
		})
	}
}

func hasEvent(p provider.Provider, what string) bool {
	for _, e := range p.Timeline {
		if strings.Contains(e.What, what) {
			return true
		}
	}
	return false
}
