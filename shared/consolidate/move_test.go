package consolidate

import (
	"context"
	"fmt"
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
// records the groups asked.
type fakeMover struct {
	Mover
	answers []func() (moves.Progress, error)
	asked   []string
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
