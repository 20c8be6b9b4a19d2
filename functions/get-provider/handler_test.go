package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

// fakeGetter keeps providers by account and id, as the store's keys do.
type fakeGetter struct {
	providers map[string]*provider.Provider // account/id
	err       error
}

func (f *fakeGetter) GetProvider(_ context.Context, accountID, id string) (*provider.Provider, error) {
	if f.err != nil {
		return nil, f.err
	}
	p, ok := f.providers[accountID+"/"+id]
	if !ok {
		return nil, apperr.New(apperr.NotFound, "The provider does not exist.")
	}
	return p, nil
}

var (
	created = time.Date(2025, 11, 25, 10, 0, 0, 0, time.UTC)
	waiting = &provider.Provider{
		AccountID: "acct-1", ID: "prv_01jd2y5q8w3v6t9x0b1c2d3e4f", Name: "Contoso production", Type: provider.TypeAzure,
		Option: provider.OptionMigrate, Status: provider.StatusAwaitingOwnerAccess, AzureAdminEmail: "it-admin@contoso.com",
		Subscriptions: []provider.Subscription{
			{ID: "00000000-0000-0000-0000-000000000001", State: provider.SubscriptionOwned, ConfirmedAt: &created},
			{ID: "00000000-0000-0000-0000-000000000002", State: provider.SubscriptionMissingOwner},
		},
		ExecutionARN: "arn:aws:states:us-east-1:123456789012:execution:migration:prv",
		Timeline: []provider.Event{
			{At: created, Status: provider.StatusPendingConsent, What: "Provider created", By: "user:u1"},
			{At: created.Add(time.Hour), Status: provider.StatusAwaitingOwnerAccess, What: "Consent granted", By: "azure-admin"},
		},
	}
)

type getBody struct {
	provider.Provider
	NextStep string `json:"nextStep"`
}

func TestHandle(t *testing.T) {
	st := &fakeGetter{providers: map[string]*provider.Provider{"acct-1/" + waiting.ID: waiting}}
	tests := []struct {
		name     string
		claims   map[string]string
		id       string
		storeErr error
		wantCode apperr.Code
	}{
		{name: "own provider", claims: apitest.Member("acct-1"), id: waiting.ID},
		{name: "another account's provider", claims: apitest.Admin("acct-2"), id: waiting.ID, wantCode: apperr.NotFound},
		{name: "unknown id", claims: apitest.Member("acct-1"), id: "prv_01jd2y5q8w3v6t9x0b1c2d3e4g", wantCode: apperr.NotFound},
		{name: "no id", claims: apitest.Member("acct-1"), id: "", wantCode: apperr.NotFound},
		{name: "no sub", claims: apitest.Claims("", "acct-1", ""), id: waiting.ID, wantCode: apperr.Unauthenticated},
		{name: "no account_id", claims: apitest.Claims("u1", "", `["admin"]`), id: waiting.ID, wantCode: apperr.Unauthenticated},
		{name: "store fault", claims: apitest.Member("acct-1"), id: waiting.ID, storeErr: errors.New(apitest.Fault), wantCode: apperr.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st.err = tt.storeErr
			req := apitest.Request("GET /providers/{id}", tt.claims)
			req.PathParameters = map[string]string{"id": tt.id}
			resp, err := api.Handle((&Handler{Store: st}).Handle)(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantCode != "" {
				e := apitest.ExpectError(t, resp, api.HTTPStatus(tt.wantCode), tt.wantCode)
				if tt.wantCode == apperr.NotFound && strings.Contains(resp.Body, "acct-1") {
					t.Errorf("404 reveals the owner: %s", e.Message)
				}
				return
			}
			var body getBody
			apitest.ExpectJSON(t, resp, 200, &body)
			if body.ID != waiting.ID || body.Status != provider.StatusAwaitingOwnerAccess || len(body.Timeline) != 2 || len(body.Subscriptions) != 2 {
				t.Fatalf("body = %s", resp.Body)
			}
			if body.Subscriptions[1].State != provider.SubscriptionMissingOwner {
				t.Errorf("subscription state = %s", body.Subscriptions[1].State)
			}
			if !strings.Contains(body.NextStep, "00000000-0000-0000-0000-000000000002") || strings.Contains(body.NextStep, "000000000001") {
				t.Errorf("nextStep = %q", body.NextStep)
			}
			if strings.Contains(resp.Body, "arn:aws") || strings.Contains(resp.Body, "executionArn") {
				t.Errorf("body shows the execution ARN: %s", resp.Body)
			}
		})
	}
}

// TestWithStore reads through the real store: malformed ids and another
// account's provider are 404, never 500.
func TestWithStore(t *testing.T) {
	ctx := context.Background()
	st, _ := storetest.NewTestStore(t)
	p := &provider.Provider{AccountID: "acct-1", Name: "Contoso", Type: provider.TypeAzure, Option: provider.OptionMigrate,
		Status: provider.StatusPendingConsent, CreatedAt: created, ExecutionARN: "arn:aws:states:us-east-1:1:execution:m:e",
		Timeline: []provider.Event{{At: created, Status: provider.StatusPendingConsent, What: "Provider created", By: "user:u1"}}}
	if err := st.CreateProvider(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	h := &Handler{Store: st}
	tests := []struct {
		name, account, id string
		want              int
	}{
		{"own provider", "acct-1", p.ID, 200},
		{"another account's provider", "acct-2", p.ID, 404},
		{"upper-cased id", "acct-1", strings.ToUpper(p.ID), 404},
		{"well-formed unknown id", "acct-1", store.NewProviderID(created), 404},
		{"not an id", "acct-1", "../../etc/passwd", 404},
		{"key separator", "acct-1", "prv_x#PROVIDER", 404},
		{"empty", "acct-1", "", 404},
		{"very long", "acct-1", strings.Repeat("a", 5000), 404},
		{"NUL", "acct-1", "prv_\x00", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := apitest.Request("GET /providers/{id}", apitest.Member(tt.account))
			req.PathParameters = map[string]string{"id": tt.id}
			resp, err := api.Handle(h.Handle)(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != 200 {
				apitest.ExpectError(t, resp, tt.want, apperr.NotFound)
				return
			}
			var body getBody
			apitest.ExpectJSON(t, resp, 200, &body)
			if body.ID != p.ID || body.NextStep == "" || len(body.Timeline) != 1 || strings.Contains(resp.Body, "arn:aws") {
				t.Fatalf("body = %s", resp.Body)
			}
		})
	}
}

func TestEvent(t *testing.T) {
	req := apitest.LoadEvent(t, "../../events/get-provider.json")
	id := req.PathParameters["id"]
	if !store.ValidProviderID(id) {
		t.Fatalf("the event's id %q is not a provider id", id)
	}
	p := *waiting
	p.AccountID, p.ID = req.RequestContext.Authorizer.JWT.Claims["account_id"], id
	st := &fakeGetter{providers: map[string]*provider.Provider{p.AccountID + "/" + id: &p}}
	resp, err := api.Handle((&Handler{Store: st}).Handle)(context.Background(), req)
	if err != nil || resp.StatusCode != 200 || resp.Headers["X-Request-Id"] != req.RequestContext.RequestID {
		t.Fatalf("event answered %d %v: %s", resp.StatusCode, err, resp.Body)
	}
}
