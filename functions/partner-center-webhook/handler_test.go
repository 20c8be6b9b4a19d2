package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/gdap"
	"github.com/partnercloud/azure/shared/partnercenter"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/relationship"
	"github.com/partnercloud/azure/shared/relationship/check"
	"github.com/partnercloud/azure/shared/store"
)

const tenant = "8f6e3c1a-0000-4000-8000-00000000c0c0"

type fakeVerifier struct {
	ev  partnercenter.Event
	err error
}

func (f fakeVerifier) Verify(context.Context, http.Header, []byte) (partnercenter.Event, error) {
	return f.ev, f.err
}

type fakeStore struct{ p *provider.Provider }

func (f fakeStore) TenantHolderOf(_ context.Context, id string) (store.TenantHolder, bool, error) {
	if f.p == nil || id != tenant {
		return store.TenantHolder{}, false, nil
	}
	return store.TenantHolder{AccountID: f.p.AccountID, ProviderID: f.p.ID}, true, nil
}

func (f fakeStore) GetProvider(_ context.Context, acct, id string) (*provider.Provider, error) {
	if f.p == nil || f.p.ID != id {
		return nil, apperr.New(apperr.NotFound, "The provider does not exist.")
	}
	return f.p, nil
}

func (f fakeStore) FindProvider(ctx context.Context, id string) (*provider.Provider, error) {
	return f.GetProvider(ctx, "", id)
}

type fakeGraph map[string]string // relationship id → display name

func (g fakeGraph) Get(_ context.Context, id string) (gdap.Relationship, error) {
	name, ok := g[id]
	if !ok {
		return gdap.Relationship{}, gdap.ErrNotFound
	}
	return gdap.Relationship{ID: id, DisplayName: name}, nil
}

type fakeChecker struct {
	checked []string
	err     error
}

func (f *fakeChecker) Check(_ context.Context, p *provider.Provider, token string) (check.Result, error) {
	f.checked = append(f.checked, p.ID+"/"+token)
	return check.Result{Outcome: relationship.Confirmed}, f.err
}

// TestWebhook: who an event is about, and what is answered.
func TestWebhook(t *testing.T) {
	p := &provider.Provider{AccountID: "acct-1", ID: "prv_1", Option: provider.OptionMigrate, Status: provider.StatusAwaitingCustomer,
		Relationships: &provider.Relationships{GDAPID: "rel-1"}}
	ended := *p
	ended.Status = provider.StatusCancelled
	graph := fakeGraph{"rel-1": gdap.DisplayName("prv_1"), "rel-x": "Someone else's", "rel-2": gdap.DisplayName("prv_1")}
	reseller := partnercenter.Event{EventName: partnercenter.EventResellerRelationshipAccepted, ResourceURI: "https://api.partnercenter.microsoft.com/v1/customers/" + tenant}
	approved := func(id string) partnercenter.Event {
		return partnercenter.Event{EventName: partnercenter.EventGranularAdminRelationshipApproved, ResourceURI: "https://graph.microsoft.com/v1.0/tenantRelationships/delegatedAdminRelationships/" + id}
	}
	for _, tc := range []struct {
		name       string
		verifier   fakeVerifier
		p          *provider.Provider
		checkErr   error
		wantStatus int
		wantOut    string
		wantChecks int
	}{
		{"forged or unsigned", fakeVerifier{err: partnercenter.ErrWebhookUnauthenticated}, p, nil, 401, "", 0},
		{"not an event", fakeVerifier{err: partnercenter.ErrInvalidEvent}, p, nil, 400, "", 0},
		{"reseller accepted by the provider's tenant", fakeVerifier{ev: reseller}, p, nil, 200, "confirmed", 1},
		{"reseller accepted by a tenant nobody signed in to", fakeVerifier{ev: reseller}, nil, nil, 200, "ignored", 0},
		{"GDAP approved, found by display name", fakeVerifier{ev: approved("rel-1")}, p, nil, 200, "confirmed", 1},
		{"GDAP of someone else", fakeVerifier{ev: approved("rel-x")}, p, nil, 200, "ignored", 0},
		{"GDAP unknown to Graph", fakeVerifier{ev: approved("rel-404")}, p, nil, 200, "ignored", 0},
		{"GDAP named after the provider but not its relationship", fakeVerifier{ev: approved("rel-2")}, p, nil, 200, "ignored", 0},
		{"a provider that ended", fakeVerifier{ev: approved("rel-1")}, &ended, nil, 200, "ignored", 0},
		{"another event", fakeVerifier{ev: partnercenter.Event{EventName: "test-created", ResourceURI: "https://x.example/a/b"}}, p, nil, 200, "ignored", 0},
		{"Microsoft unavailable: delivered again later", fakeVerifier{ev: reseller}, p, gdap.ErrUnavailable, 503, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &fakeChecker{err: tc.checkErr}
			h := &Handler{Verifier: tc.verifier, Store: fakeStore{tc.p}, Relationships: graph, Checker: c}
			resp, err := h.Handle(context.Background(), api.Request{RouteKey: "POST /webhooks/partner-center", Body: "{}",
				Headers:        map[string]string{"authorization": "Signature x"},
				RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "r1"}})
			if err != nil || resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d (%v), want %d: %s", resp.StatusCode, err, tc.wantStatus, resp.Body)
			}
			if tc.wantOut != "" {
				var a Answer
				if json.Unmarshal([]byte(resp.Body), &a) != nil || a.Outcome != tc.wantOut {
					t.Errorf("answer %s, want outcome %s", resp.Body, tc.wantOut)
				}
			}
			if len(c.checked) != tc.wantChecks || tc.wantChecks > 0 && c.checked[0] != "prv_1/" {
				t.Errorf("checks %v, want %d without a token", c.checked, tc.wantChecks)
			}
		})
	}
}
