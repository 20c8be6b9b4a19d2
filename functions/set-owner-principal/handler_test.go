package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
)

const principal = "20000000-0000-4000-8000-0000000000e9"

func setup(t *testing.T, status provider.Status) (*Handler, *store.Store, *provider.Provider) {
	t.Helper()
	s, _ := storetest.NewTestStore(t)
	p := &provider.Provider{AccountID: "acct-other", Name: "Contoso", Type: provider.TypeAzure, Option: provider.OptionMigrate, Status: status, CreatedBy: "user:u"}
	if err := s.CreateProvider(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	return &Handler{Store: s, Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }}, s, p
}

func request(claims map[string]string, id, body string) api.Request {
	req := apitest.Request("PUT /providers/{id}/owner-principal", claims)
	req.PathParameters = map[string]string{"id": id}
	req.Body = body
	return req
}

func TestSetOwnerPrincipal(t *testing.T) {
	operator := apitest.Claims("op-1", "acct-partner", `["operator"]`)
	tests := []struct {
		name   string
		status provider.Status
		claims map[string]string
		id     string
		body   string
		want   int
		code   apperr.Code
	}{
		{"operator sets it across accounts", provider.StatusAwaitingOwnerAccess, operator, "", `{"principalId":"` + principal + `"}`, 200, ""},
		{"empty resets to the app", provider.StatusPendingConsent, operator, "", `{"principalId":""}`, 200, ""},
		{"admin is not an operator", provider.StatusAwaitingOwnerAccess, apitest.Admin("acct-other"), "", `{"principalId":"` + principal + `"}`, 403, apperr.OperatorRequired},
		{"no claims", provider.StatusAwaitingOwnerAccess, nil, "", `{}`, 401, apperr.Unauthenticated},
		{"not a GUID", provider.StatusAwaitingOwnerAccess, operator, "", `{"principalId":"admin@contoso"}`, 400, apperr.InvalidRequest},
		{"missing field", provider.StatusAwaitingOwnerAccess, operator, "", `{}`, 400, apperr.InvalidRequest},
		{"unknown field", provider.StatusAwaitingOwnerAccess, operator, "", `{"principalId":"` + principal + `","x":1}`, 400, apperr.InvalidRequest},
		{"finished migration", provider.StatusActive, operator, "", `{"principalId":"` + principal + `"}`, 409, apperr.InvalidState},
		{"unknown provider", provider.StatusAwaitingOwnerAccess, operator, "prv_01jd2y5q8w3v6t9x0b1c2d3e4f", `{"principalId":"` + principal + `"}`, 404, apperr.NotFound},
		{"garbage id", provider.StatusAwaitingOwnerAccess, operator, "../../etc", `{"principalId":"` + principal + `"}`, 404, apperr.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, s, p := setup(t, tt.status)
			id := tt.id
			if id == "" {
				id = p.ID
			}
			resp, _ := api.Handle(h.Handle)(context.Background(), request(tt.claims, id, tt.body))
			got, _ := s.GetProvider(context.Background(), p.AccountID, p.ID)
			if tt.code != "" {
				apitest.ExpectError(t, resp, tt.want, tt.code)
				if got.Version != p.Version || got.OwnerPrincipal != "" {
					t.Fatal("a refused request changed the provider")
				}
				return
			}
			var view map[string]any
			apitest.ExpectJSON(t, resp, tt.want, &view)
			var b body
			json.Unmarshal([]byte(tt.body), &b)
			if got.OwnerPrincipal != *b.PrincipalID {
				t.Fatalf("owner principal %q, want %q", got.OwnerPrincipal, *b.PrincipalID)
			}
			if *b.PrincipalID != "" && (len(got.Timeline) != 1 || got.Timeline[0].By != "operator:op-1") {
				t.Fatalf("timeline %+v", got.Timeline)
			}
		})
	}
}

func TestEvent(t *testing.T) {
	req := apitest.LoadEvent(t, "../../events/set-owner-principal.json")
	h, _, p := setup(t, provider.StatusAwaitingOwnerAccess)
	req.PathParameters["id"] = p.ID
	resp, _ := api.Handle(h.Handle)(context.Background(), req)
	if resp.StatusCode != 200 {
		t.Fatalf("event answered %d: %s", resp.StatusCode, resp.Body)
	}
}
