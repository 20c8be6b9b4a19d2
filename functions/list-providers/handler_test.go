package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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

// fakeLister records what it was asked and answers from fields.
type fakeLister struct {
	gotAccount, gotCursor string
	gotLimit              int
	providers             []provider.Provider
	next                  string
	skipped               int
	err                   error
}

func (f *fakeLister) ListProvidersPage(_ context.Context, accountID string, limit int, cursor string) (store.ProviderPage, error) {
	f.gotAccount, f.gotLimit, f.gotCursor = accountID, limit, cursor
	return store.ProviderPage{Providers: f.providers, Next: f.next, Skipped: f.skipped}, f.err
}

type listBody struct {
	Providers []struct {
		provider.Provider
		NextStep *string `json:"nextStep"`
	} `json:"providers"`
	NextCursor string `json:"nextCursor"`
}

func TestHandle(t *testing.T) {
	sample := []provider.Provider{
		{AccountID: "acct-1", ID: "prv_2", Name: "B", Status: provider.StatusPendingConsent, ExecutionARN: "arn:aws:states:us-east-1:1:execution:x:y"},
		{AccountID: "acct-1", ID: "prv_1", Name: "A", Status: provider.StatusActive},
	}
	badCursor := apperr.New(apperr.InvalidRequest, "The cursor is not valid; start again from the first page.")
	tests := []struct {
		name       string
		claims     map[string]string
		query      map[string]string
		storeErr   error
		wantCode   apperr.Code
		wantLimit  int
		wantCursor string
	}{
		{name: "default limit", claims: apitest.Member("acct-1"), wantLimit: 20},
		{name: "limit 1", claims: apitest.Member("acct-1"), query: map[string]string{"limit": "1"}, wantLimit: 1},
		{name: "limit 100 with a cursor", claims: apitest.Admin("acct-1"), query: map[string]string{"limit": "100", "cursor": "abc"}, wantLimit: 100, wantCursor: "abc"},
		{name: "limit 0", claims: apitest.Member("acct-1"), query: map[string]string{"limit": "0"}, wantCode: apperr.InvalidRequest},
		{name: "limit 101", claims: apitest.Member("acct-1"), query: map[string]string{"limit": "101"}, wantCode: apperr.InvalidRequest},
		{name: "negative limit", claims: apitest.Member("acct-1"), query: map[string]string{"limit": "-5"}, wantCode: apperr.InvalidRequest},
		{name: "limit not a number", claims: apitest.Member("acct-1"), query: map[string]string{"limit": "ten"}, wantCode: apperr.InvalidRequest},
		{name: "empty limit", claims: apitest.Member("acct-1"), query: map[string]string{"limit": ""}, wantCode: apperr.InvalidRequest},
		{name: "huge cursor", claims: apitest.Member("acct-1"), query: map[string]string{"cursor": strings.Repeat("c", 5000)}, wantCode: apperr.InvalidRequest},
		{name: "cursor the store refuses", claims: apitest.Member("acct-1"), query: map[string]string{"cursor": "forged"}, storeErr: badCursor, wantCode: apperr.InvalidRequest},
		{name: "no account_id", claims: apitest.Claims("u", "", ""), wantCode: apperr.Unauthenticated},
		{name: "no sub", claims: apitest.Claims("", "acct-1", ""), wantCode: apperr.Unauthenticated},
		{name: "store fault", claims: apitest.Member("acct-1"), storeErr: errors.New(apitest.Fault), wantCode: apperr.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &fakeLister{providers: sample, next: "next-page", err: tt.storeErr}
			req := apitest.Request("GET /providers", tt.claims)
			req.QueryStringParameters = tt.query
			resp, err := api.Handle((&Handler{Store: st}).Handle)(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantCode != "" {
				apitest.ExpectError(t, resp, api.HTTPStatus(tt.wantCode), tt.wantCode)
				return
			}
			var body listBody
			apitest.ExpectJSON(t, resp, 200, &body)
			if st.gotAccount != "acct-1" || st.gotLimit != tt.wantLimit || st.gotCursor != tt.wantCursor {
				t.Errorf("store asked for %q limit %d cursor %q", st.gotAccount, st.gotLimit, st.gotCursor)
			}
			if len(body.Providers) != 2 || body.Providers[0].ID != "prv_2" || body.NextCursor != "next-page" {
				t.Fatalf("body = %s", resp.Body)
			}
			for _, p := range body.Providers {
				if p.NextStep == nil {
					t.Errorf("%s has no nextStep", p.ID)
				}
			}
			if strings.Contains(resp.Body, "arn:aws") {
				t.Errorf("body shows the execution ARN: %s", resp.Body)
			}
		})
	}
}

func TestHandleEmpty(t *testing.T) {
	resp, err := api.Handle((&Handler{Store: &fakeLister{}}).Handle)(context.Background(), apitest.Request("GET /providers", apitest.Member("acct-1")))
	if err != nil {
		t.Fatal(err)
	}
	apitest.ExpectJSON(t, resp, 200, nil)
	if resp.Body != `{"providers":[]}` {
		t.Fatalf("body = %s", resp.Body)
	}
}

// TestWithStore pages through the real store: newest first, every provider
// once, nothing of another account.
func TestWithStore(t *testing.T) {
	ctx := context.Background()
	st, _ := storetest.NewTestStore(t)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 25 {
		for _, acct := range []string{"acct-1", "acct-2"} {
			p := &provider.Provider{AccountID: acct, Name: fmt.Sprintf("p%02d", i), Type: provider.TypeAzure, Option: provider.OptionMigrate,
				Status: provider.StatusPendingConsent, CreatedAt: base.Add(time.Duration(i) * time.Minute)}
			p.ID = store.NewProviderID(p.CreatedAt)
			if err := st.CreateProvider(ctx, p, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	h := &Handler{Store: st}
	var names []string
	cursor, pages := "", 0
	for {
		req := apitest.Request("GET /providers", apitest.Member("acct-1"))
		req.QueryStringParameters = map[string]string{"limit": "10"}
		if cursor != "" {
			req.QueryStringParameters["cursor"] = cursor
		}
		resp, err := api.Handle(h.Handle)(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		var body listBody
		apitest.ExpectJSON(t, resp, 200, &body)
		pages++
		for _, p := range body.Providers {
			if p.AccountID != "acct-1" {
				t.Fatalf("another account's provider listed: %+v", p.Provider)
			}
			names = append(names, p.Name)
		}
		if body.NextCursor == "" {
			break
		}
		cursor = body.NextCursor
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if pages != 3 || len(names) != 25 {
		t.Fatalf("%d pages, %d providers", pages, len(names))
	}
	for i, n := range names {
		if want := fmt.Sprintf("p%02d", 24-i); n != want {
			t.Fatalf("position %d is %s, want %s (newest first)", i, n, want)
		}
	}

	req := apitest.Request("GET /providers", apitest.Member("acct-1"))
	req.QueryStringParameters = map[string]string{"cursor": "not-a-cursor"}
	resp, err := api.Handle(h.Handle)(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	apitest.ExpectError(t, resp, 400, apperr.InvalidRequest)
}

func TestEvent(t *testing.T) {
	req := apitest.LoadEvent(t, "../../events/list-providers.json")
	resp, err := api.Handle((&Handler{Store: &fakeLister{}}).Handle)(context.Background(), req)
	if err != nil || resp.StatusCode != 200 || resp.Headers["X-Request-Id"] != req.RequestContext.RequestID {
		t.Fatalf("event answered %d %v: %s", resp.StatusCode, err, resp.Body)
	}
}

// TestSkippedIsReported: items the store could not read are counted in the
// optional field skipped, which is absent when none were.
func TestSkippedIsReported(t *testing.T) {
	st := &fakeLister{providers: []provider.Provider{{AccountID: "acct-1", ID: "prv_1", Name: "A", Status: provider.StatusActive}}, skipped: 2}
	resp, err := api.Handle((&Handler{Store: st}).Handle)(context.Background(), apitest.Request("GET /providers", apitest.Member("acct-1")))
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Providers []provider.View `json:"providers"`
		Skipped   int             `json:"skipped"`
	}
	apitest.ExpectJSON(t, resp, 200, &body)
	if len(body.Providers) != 1 || body.Skipped != 2 {
		t.Fatalf("body = %s", resp.Body)
	}
}

// TestWithStoreSkipsUndecodableItem: one provider item that does not decode
// (here: subscriptions stored as a string, what the local cloud's DynamoDB
// once gave back) does not take the account's list down.
func TestWithStoreSkipsUndecodableItem(t *testing.T) {
	ctx := context.Background()
	st, client := storetest.NewTestStore(t)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		p := &provider.Provider{AccountID: "acct-1", Name: fmt.Sprintf("p%d", i), Type: provider.TypeAzure, Option: provider.OptionMigrate,
			Status: provider.StatusPendingConsent, CreatedAt: base.Add(time.Duration(i) * time.Minute)}
		if err := st.CreateProvider(ctx, p, nil); err != nil {
			t.Fatal(err)
		}
	}
	bad := store.NewProviderID(base.Add(time.Hour))
	_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(storetest.TableName), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "ACCOUNT#acct-1"}, "sk": &types.AttributeValueMemberS{Value: "PROVIDER#" + bad},
		"id": &types.AttributeValueMemberS{Value: bad}, "status": &types.AttributeValueMemberS{Value: "pending_consent"},
		"subscriptions": &types.AttributeValueMemberS{Value: "pending_consent"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := api.Handle((&Handler{Store: st}).Handle)(ctx, apitest.Request("GET /providers", apitest.Member("acct-1")))
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Providers []provider.View `json:"providers"`
		Skipped   int             `json:"skipped"`
	}
	apitest.ExpectJSON(t, resp, 200, &body)
	if len(body.Providers) != 3 || body.Skipped != 1 || body.Providers[0].Name != "p2" {
		t.Fatalf("body = %s", resp.Body)
	}
}
