package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

func TestHandle(t *testing.T) {
	tests := []struct {
		name     string
		claims   map[string]string
		query    map[string]string
		wantCode apperr.Code
		wantIDs  []provider.Option
	}{
		{name: "admin (JSON-array roles) sees every option", claims: apitest.Admin("acct-1"), query: map[string]string{"type": "azure"},
			wantIDs: []provider.Option{provider.OptionExisting, provider.OptionMigrate, provider.OptionNew}},
		{name: "admin (space-separated roles) sees every option", claims: apitest.Claims("u", "acct-1", "operator admin"), query: map[string]string{"type": "azure"},
			wantIDs: []provider.Option{provider.OptionExisting, provider.OptionMigrate, provider.OptionNew}},
		{name: "member sees existing only", claims: apitest.Member("acct-1"), query: map[string]string{"type": "azure"}, wantIDs: []provider.Option{provider.OptionExisting}},
		{name: "role that merely contains admin", claims: apitest.Claims("u", "acct-1", `["administrator"]`), query: map[string]string{"type": "azure"}, wantIDs: []provider.Option{provider.OptionExisting}},
		{name: "missing type", claims: apitest.Admin("acct-1"), wantCode: apperr.InvalidRequest},
		{name: "other type", claims: apitest.Admin("acct-1"), query: map[string]string{"type": "aws"}, wantCode: apperr.InvalidRequest},
		{name: "type in another case", claims: apitest.Admin("acct-1"), query: map[string]string{"type": "Azure"}, wantCode: apperr.InvalidRequest},
		{name: "no authorizer", claims: nil, query: map[string]string{"type": "azure"}, wantCode: apperr.Unauthenticated},
		{name: "no sub", claims: apitest.Claims("", "acct-1", `["admin"]`), query: map[string]string{"type": "azure"}, wantCode: apperr.Unauthenticated},
		{name: "no account_id", claims: apitest.Claims("u", "", `["admin"]`), query: map[string]string{"type": "azure"}, wantCode: apperr.Unauthenticated},
		{name: "foreign claims only", claims: map[string]string{"email": "a@b.example", "cognito:groups": "admin"}, query: map[string]string{"type": "azure"}, wantCode: apperr.Unauthenticated},
	}
	h := &Handler{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := apitest.Request("GET /provider-options", tt.claims)
			req.QueryStringParameters = tt.query
			resp, err := api.Handle(h.Handle)(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantCode != "" {
				apitest.ExpectError(t, resp, api.HTTPStatus(tt.wantCode), tt.wantCode)
				return
			}
			var body struct {
				Type    string                `json:"type"`
				Options []provider.OptionInfo `json:"options"`
			}
			apitest.ExpectJSON(t, resp, 200, &body)
			if body.Type != "azure" || len(body.Options) != len(tt.wantIDs) {
				t.Fatalf("body = %+v", body)
			}
			for i, o := range body.Options {
				if o.ID != tt.wantIDs[i] || o.Description == "" || o.Label == "" {
					t.Errorf("option %d = %+v", i, o)
				}
				if o.CloudOptimized != (o.ID != provider.OptionExisting) {
					t.Errorf("option %s cloudOptimized = %v", o.ID, o.CloudOptimized)
				}
			}
		})
	}
}

func TestEvent(t *testing.T) {
	req := apitest.LoadEvent(t, "../../events/provider-options.json")
	resp, err := api.Handle((&Handler{}).Handle)(context.Background(), req)
	if err != nil || resp.StatusCode != 200 || resp.Headers["X-Request-Id"] != req.RequestContext.RequestID {
		t.Fatalf("event answered %d %v: %s", resp.StatusCode, err, resp.Body)
	}
}
