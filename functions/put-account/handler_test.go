package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store/storetest"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

var testNow = time.Date(2025, 11, 25, 10, 0, 0, 0, time.UTC)

// fakeWriter keeps the last account written.
type fakeWriter struct {
	put *account.Account
	err error
}

func (f *fakeWriter) PutAccount(_ context.Context, a account.Account) error {
	if f.err != nil {
		return f.err
	}
	f.put = &a
	return nil
}

const validBody = `{"name":"Eligible Org","billable":true,"reseller":false,"resellerCustomer":false,"usOffice":true,"demo":false,"internal":true}`

// without removes a field from validBody.
func without(field string) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(validBody), &m)
	delete(m, field)
	b, _ := json.Marshal(m)
	return string(b)
}

func operator() map[string]string { return apitest.Claims("op-1", "acct-partner", `["operator"]`) }

func newRequest(claims map[string]string, accountID, body string) api.Request {
	req := apitest.Request("PUT /accounts/{accountId}", claims)
	req.PathParameters = map[string]string{"accountId": accountID}
	req.Body = body
	return req
}

func TestHandle(t *testing.T) {
	tests := []struct {
		name        string
		req         api.Request
		storeErr    error
		wantCode    apperr.Code
		wantDetails []string
		wantName    string
	}{
		{name: "operator writes an account", req: newRequest(operator(), "acct-eligible", validBody), wantName: "Eligible Org"},
		{name: "roles space-separated", req: newRequest(apitest.Claims("op-1", "acct-partner", "admin operator"), "acct-eligible", validBody), wantName: "Eligible Org"},
		{name: "name is optional", req: newRequest(operator(), "acct-eligible", without("name"))},
		{name: "base64-encoded body", req: func() api.Request {
			r := newRequest(operator(), "acct-eligible", base64.StdEncoding.EncodeToString([]byte(validBody)))
			r.IsBase64Encoded = true
			return r
		}(), wantName: "Eligible Org"},
		{name: "no authorizer", req: newRequest(nil, "acct-eligible", validBody), wantCode: apperr.Unauthenticated},
		{name: "no sub", req: newRequest(apitest.Claims("", "acct-partner", `["operator"]`), "acct-eligible", validBody), wantCode: apperr.Unauthenticated},
		{name: "no account_id", req: newRequest(apitest.Claims("op-1", "", `["operator"]`), "acct-eligible", validBody), wantCode: apperr.Unauthenticated},
		{name: "admin is not operator", req: newRequest(apitest.Admin("acct-eligible"), "acct-eligible", validBody), wantCode: apperr.OperatorRequired},
		{name: "role that merely contains operator", req: newRequest(apitest.Claims("u", "a", `["operators"]`), "acct-eligible", validBody), wantCode: apperr.OperatorRequired},
		{name: "empty account id", req: newRequest(operator(), "", validBody), wantCode: apperr.InvalidRequest, wantDetails: []string{"accountId"}},
		{name: "account id with a key separator", req: newRequest(operator(), "acct#1", validBody), wantCode: apperr.InvalidRequest, wantDetails: []string{"accountId"}},
		{name: "account id too long", req: newRequest(operator(), strings.Repeat("a", 129), validBody), wantCode: apperr.InvalidRequest, wantDetails: []string{"accountId"}},
		{name: "account id with a control character", req: newRequest(operator(), "acct\n1", validBody), wantCode: apperr.InvalidRequest, wantDetails: []string{"accountId"}},
		{name: "65537 bytes", req: newRequest(operator(), "acct-eligible", `{"name":"`+strings.Repeat("x", provider.MaxBodyBytes-10)+`"}`), wantCode: apperr.BodyTooLarge},
		{name: "empty body", req: newRequest(operator(), "acct-eligible", ""), wantCode: apperr.InvalidRequest},
		{name: "malformed", req: newRequest(operator(), "acct-eligible", `{"billable":tru`), wantCode: apperr.InvalidRequest},
		{name: "null", req: newRequest(operator(), "acct-eligible", `null`), wantCode: apperr.InvalidRequest,
			wantDetails: []string{"billable", "reseller", "resellerCustomer", "usOffice", "demo", "internal"}},
		{name: "missing billable", req: newRequest(operator(), "acct-eligible", without("billable")), wantCode: apperr.InvalidRequest, wantDetails: []string{"billable"}},
		{name: "missing usOffice", req: newRequest(operator(), "acct-eligible", without("usOffice")), wantCode: apperr.InvalidRequest, wantDetails: []string{"usOffice"}},
		{name: "missing internal", req: newRequest(operator(), "acct-eligible", without("internal")), wantCode: apperr.InvalidRequest, wantDetails: []string{"internal"}},
		{name: "boolean as a string", req: newRequest(operator(), "acct-eligible", strings.Replace(validBody, `"demo":false`, `"demo":"false"`, 1)), wantCode: apperr.InvalidRequest, wantDetails: []string{"demo"}},
		{name: "boolean as null", req: newRequest(operator(), "acct-eligible", strings.Replace(validBody, `"demo":false`, `"demo":null`, 1)), wantCode: apperr.InvalidRequest, wantDetails: []string{"demo"}},
		{name: "unknown field", req: newRequest(operator(), "acct-eligible", strings.Replace(validBody, `{`, `{"accountId":"acct-other",`, 1)), wantCode: apperr.InvalidRequest, wantDetails: []string{"accountId"}},
		{name: "name with a newline", req: newRequest(operator(), "acct-eligible", strings.Replace(validBody, "Eligible Org", `Eligible\nOrg`, 1)), wantCode: apperr.InvalidRequest, wantDetails: []string{"name"}},
		{name: "name too long", req: newRequest(operator(), "acct-eligible", strings.Replace(validBody, "Eligible Org", strings.Repeat("n", 201), 1)), wantCode: apperr.InvalidRequest, wantDetails: []string{"name"}},
		{name: "store fault", req: newRequest(operator(), "acct-eligible", validBody), storeErr: errors.New(apitest.Fault), wantCode: apperr.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &fakeWriter{err: tt.storeErr}
			h := &Handler{Store: st, Now: func() time.Time { return testNow }}
			resp, err := api.Handle(h.Handle)(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantCode != "" {
				e := apitest.ExpectError(t, resp, api.HTTPStatus(tt.wantCode), tt.wantCode)
				var fields []string
				for _, d := range e.Details {
					fields = append(fields, d.Field)
				}
				for _, f := range tt.wantDetails {
					if !slices.Contains(fields, f) {
						t.Errorf("details %v lack %q", fields, f)
					}
				}
				if st.put != nil && tt.wantCode != apperr.Internal {
					t.Error("a refused request wrote the account")
				}
				return
			}
			var got account.Account
			apitest.ExpectJSON(t, resp, 200, &got)
			want := account.Account{ID: "acct-eligible", Name: tt.wantName, Billable: true, USOffice: true, Internal: true, UpdatedAt: testNow, UpdatedBy: "operator:op-1"}
			if got != want || st.put == nil || *st.put != want {
				t.Fatalf("answered %+v, stored %+v, want %+v", got, st.put, want)
			}
		})
	}
}

// TestWithStore writes through the real store and reads the account back.
func TestWithStore(t *testing.T) {
	ctx := context.Background()
	st, _ := storetest.NewTestStore(t)
	h := &Handler{Store: st, Now: func() time.Time { return testNow }}
	for _, body := range []string{validBody, strings.Replace(validBody, `"internal":true`, `"internal":false`, 1)} {
		resp, err := api.Handle(h.Handle)(ctx, newRequest(operator(), "acct-eligible", body))
		if err != nil {
			t.Fatal(err)
		}
		apitest.ExpectJSON(t, resp, 200, nil)
	}
	a, err := st.GetAccount(ctx, "acct-eligible")
	if err != nil || a == nil {
		t.Fatalf("GetAccount = %v, %v", a, err)
	}
	if a.Internal || !a.Billable || a.Name != "Eligible Org" || a.UpdatedBy != "operator:op-1" || !a.UpdatedAt.Equal(testNow) {
		t.Fatalf("stored %+v", a)
	}
	if r := account.Ineligibility(a); len(r) != 0 {
		t.Fatalf("stored account is ineligible: %v", r)
	}
}

func TestEvent(t *testing.T) {
	req := apitest.LoadEvent(t, "../../events/put-account.json")
	h := &Handler{Store: &fakeWriter{}, Now: time.Now}
	resp, err := api.Handle(h.Handle)(context.Background(), req)
	if err != nil || resp.StatusCode != 200 || resp.Headers["X-Request-Id"] != req.RequestContext.RequestID {
		t.Fatalf("event answered %d %v: %s", resp.StatusCode, err, resp.Body)
	}
}
