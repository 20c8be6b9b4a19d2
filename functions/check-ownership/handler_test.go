package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
	"github.com/partnercloud/azure/shared/workflow"
)

const (
	subA = "00000000-0000-0000-0000-00000000000a"
	subB = "00000000-0000-0000-0000-00000000000b"
)

// fakeChecker answers from a map of subscription → state.
type fakeChecker struct {
	mu     sync.Mutex
	states map[string]provider.SubscriptionState
	names  map[string]string // display names Resource Manager answers
	err    error
	asked  [][]string
}

func (f *fakeChecker) Check(_ context.Context, tenant, principal string, ids []string) (ownership.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, ids)
	if f.err != nil {
		return ownership.Result{}, f.err
	}
	if tenant != "tenant-1" {
		return ownership.Result{}, fmt.Errorf("unexpected tenant %q", tenant)
	}
	res := ownership.Result{PrincipalID: "sp-oid"}
	if len(ids) == 0 {
		for id := range f.states {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		st, ok := f.states[id]
		if !ok {
			st = provider.SubscriptionNotFound
		}
		res.Subscriptions = append(res.Subscriptions, ownership.Subscription{ID: id, State: st, DisplayName: f.names[id]})
	}
	return res, nil
}

var t0 = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

type env struct {
	h       *Handler
	s       *store.Store
	checker *fakeChecker
	now     time.Time
	p       *provider.Provider
}

func newEnv(t *testing.T, subs ...string) *env {
	t.Helper()
	s, _ := storetest.NewTestStore(t)
	e := &env{s: s, checker: &fakeChecker{states: map[string]provider.SubscriptionState{}}, now: t0}
	e.p = &provider.Provider{AccountID: "acct-1", Name: "Contoso", Type: provider.TypeAzure, Option: provider.OptionMigrate,
		Status: provider.StatusAwaitingOwnerAccess, TenantID: "tenant-1", CreatedBy: "user:u"}
	for _, id := range subs {
		e.p.Subscriptions = append(e.p.Subscriptions, provider.Subscription{ID: id, State: provider.SubscriptionPending})
	}
	if err := s.CreateProvider(context.Background(), e.p, nil); err != nil {
		t.Fatal(err)
	}
	e.h = &Handler{Store: s, Checker: e.checker,
		Deadline: 30 * 24 * time.Hour, Warning: 24 * time.Hour, Now: func() time.Time { return e.now }}
	return e
}

func (e *env) check(t *testing.T) (workflow.OwnershipOutput, error) {
	t.Helper()
	return e.h.Handle(context.Background(), workflow.OwnershipInput{Input: workflow.Input{AccountID: "acct-1", ProviderID: e.p.ID}, TenantID: "tenant-1"})
}

func (e *env) provider(t *testing.T) *provider.Provider {
	t.Helper()
	p, err := e.s.GetProvider(context.Background(), "acct-1", e.p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// outbox lists the kinds of the provider's pending notices.
func (e *env) outbox(t *testing.T) []provider.NoticeKind {
	t.Helper()
	var kinds []provider.NoticeKind
	for _, n := range e.provider(t).Outbox {
		kinds = append(kinds, n.Kind)
	}
	return kinds
}

func TestWaitNotifyAndComplete(t *testing.T) {
	e := newEnv(t, subA, subB)
	e.checker.states[subA] = provider.SubscriptionOwned
	e.checker.states[subB] = provider.SubscriptionMissingOwner

	_, err := e.check(t)
	if workflow.ErrorName(err) != "OwnershipPending" || !strings.Contains(err.Error(), subB) {
		t.Fatalf("first check: %v, want OwnershipPending naming %s", err, subB)
	}
	p := e.provider(t)
	if p.Subscriptions[0].State != provider.SubscriptionOwned || p.Subscriptions[0].ConfirmedAt == nil || p.Subscriptions[1].State != provider.SubscriptionMissingOwner {
		t.Fatalf("subscriptions %+v", p.Subscriptions)
	}
	if p.PrincipalID != "sp-oid" || !strings.Contains(p.NextStep(), "grant Owner to sp-oid") || !strings.Contains(p.NextStep(), subB) {
		t.Fatalf("next step %q", p.NextStep())
	}
	if got := e.outbox(t); !slices.Equal(got, []provider.NoticeKind{provider.NoticeOwnerWaitStarted}) || p.OutboxSince == nil {
		t.Fatalf("outbox %v (since %v), want the wait-started notice", got, p.OutboxSince)
	}
	events := len(p.Timeline)

	e.now = t0.Add(2 * time.Hour)
	if _, err := e.check(t); workflow.ErrorName(err) != "OwnershipPending" {
		t.Fatalf("second check: %v", err)
	}
	if p := e.provider(t); len(p.Timeline) != events || len(p.Outbox) != 1 {
		t.Fatalf("an unchanged check added events (%d → %d) or notices (%v)", events, len(p.Timeline), e.outbox(t))
	}

	e.now = t0.Add(29*24*time.Hour + time.Hour)
	if _, err := e.check(t); workflow.ErrorName(err) != "OwnershipPending" {
		t.Fatalf("near deadline: %v", err)
	}
	want := []provider.NoticeKind{provider.NoticeOwnerWaitStarted, provider.NoticeOwnerDeadlineNear}
	if got := e.outbox(t); !slices.Equal(got, want) {
		t.Fatalf("outbox %v, want %v", got, want)
	}
	e.now = e.now.Add(time.Hour)
	e.check(t)
	if got := e.outbox(t); !slices.Equal(got, want) {
		t.Fatalf("the deadline notice was claimed twice: %v", got)
	}

	e.checker.states[subB] = provider.SubscriptionOwned
	out, err := e.check(t)
	if err != nil {
		t.Fatalf("after the grant: %v", err)
	}
	if len(out.Subscriptions) != 2 || out.Subscriptions[1].ConfirmedAt == nil || !out.Subscriptions[0].ConfirmedAt.Equal(t0) {
		t.Fatalf("output %+v", out.Subscriptions)
	}
}

func TestDeadlineAndErrors(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(e *env)
		want    string
	}{
		{"deadline passed", func(e *env) {
			e.checker.states[subA] = provider.SubscriptionMissingOwner
			e.check(t)
			e.now = t0.Add(30 * 24 * time.Hour)
		}, "OwnershipDeadlineExceeded"},
		{"consent revoked", func(e *env) { e.checker.err = fmt.Errorf("x: %w", ownership.ErrConsentRevoked) }, "ConsentRevoked"},
		{"azure unavailable", func(e *env) { e.checker.err = fmt.Errorf("x: %w", ownership.ErrUnavailable) }, "TransientError"},
		{"cancelled meanwhile", func(e *env) {
			e.s.UpdateProvider(context.Background(), "acct-1", e.p.ID, func(p *provider.Provider) error { p.Status = provider.StatusCancelled; return nil })
		}, "InvalidInput"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, subA)
			tt.prepare(e)
			_, err := e.check(t)
			if got := workflow.ErrorName(err); got != tt.want {
				t.Fatalf("error %v (%s), want %s", err, got, tt.want)
			}
		})
	}
}

func TestDiscoversSubscriptionsWhenNoneNamed(t *testing.T) {
	e := newEnv(t)
	e.checker.states[subA] = provider.SubscriptionOwned
	out, err := e.check(t)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.checker.asked) != 1 || len(e.checker.asked[0]) != 0 {
		t.Fatalf("checker asked for %v, want discovery (no ids)", e.checker.asked)
	}
	if len(out.Subscriptions) != 1 || out.Subscriptions[0].ID != subA {
		t.Fatalf("discovered %+v", out.Subscriptions)
	}
	e.check(t)
	if len(e.checker.asked[1]) != 0 {
		t.Fatal("later checks must keep discovering")
	}
}

// TestEvent runs the sam local invoke event through the handler.
func TestEvent(t *testing.T) {
	raw, err := os.ReadFile("../../events/check-ownership.json")
	if err != nil {
		t.Fatal(err)
	}
	var in workflow.OwnershipInput
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || in.TenantID == "" {
		t.Fatalf("event does not decode into the task input: %v", err)
	}
	e := newEnv(t, subA)
	e.checker.states[subA] = provider.SubscriptionOwned
	in.AccountID, in.ProviderID, in.TenantID = "acct-1", e.p.ID, "tenant-1"
	if _, err := e.h.Handle(context.Background(), in); err != nil {
		t.Fatalf("Handle: %v", err)
	}
}

// TestDisplayNamesRecordedAndShown: the check records each subscription's
// display name and the partner application's; the next step and the
// representatives' notice is claimed (package notice renders it).
func TestDisplayNamesRecordedAndShown(t *testing.T) {
	tests := []struct {
		name     string
		appName  string
		names    map[string]string
		wantNext string
	}{
		{
			name:     "names known",
			appName:  "Partner Cloud for Azure",
			names:    map[string]string{subA: "Contoso Production", subB: "Contoso Development"},
			wantNext: "The Azure administrator must grant Owner to Partner Cloud for Azure (sp-oid) on 1 subscription: Contoso Development (" + subB + ").",
		},
		{
			name:     "names unknown",
			wantNext: "The Azure administrator must grant Owner to sp-oid on 1 subscription: " + subB + ".",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, subA, subB)
			e.h.AppName = tt.appName
			e.checker.states[subA] = provider.SubscriptionOwned
			e.checker.states[subB] = provider.SubscriptionMissingOwner
			e.checker.names = tt.names
			if _, err := e.check(t); workflow.ErrorName(err) != "OwnershipPending" {
				t.Fatalf("check: %v", err)
			}
			p := e.provider(t)
			if p.Subscriptions[0].DisplayName != tt.names[subA] || p.Subscriptions[1].DisplayName != tt.names[subB] || p.PartnerAppName != tt.appName {
				t.Fatalf("recorded %+v, app %q", p.Subscriptions, p.PartnerAppName)
			}
			if !strings.HasPrefix(p.NextStep(), tt.wantNext+" ") || !strings.HasSuffix(p.NextStep(), "by 31 May 2026, 00:00 UTC.") {
				t.Fatalf("next step %q", p.NextStep())
			}
			if got := e.outbox(t); len(got) != 1 {
				t.Fatalf("outbox %v", got)
			}
		})
	}
}
