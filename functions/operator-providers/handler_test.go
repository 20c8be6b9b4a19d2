package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
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

// fakeLister records the query and answers from fields.
type fakeLister struct {
	got   *store.OperatorQuery
	page  store.OperatorPage
	err   error
	calls int
}

func (f *fakeLister) ListOperatorProviders(_ context.Context, q store.OperatorQuery) (store.OperatorPage, error) {
	f.calls++
	f.got = &q
	return f.page, f.err
}

var _ Lister = (*fakeLister)(nil)
var _ Lister = (*store.Store)(nil)

type listBody struct {
	Providers []struct {
		AccountID    string     `json:"accountId"`
		ID           string     `json:"id"`
		Name         string     `json:"name"`
		Status       string     `json:"status"`
		Stuck        *bool      `json:"stuck"`
		WaitingSince *time.Time `json:"waitingSince"`
		NextStep     *string    `json:"nextStep"`
	} `json:"providers"`
	NextCursor string `json:"nextCursor"`
}

func operator() map[string]string { return apitest.Claims("op-1", "acct-partner", `["operator"]`) }

func call(t *testing.T, h *Handler, claims map[string]string, query map[string]string) api.Response {
	t.Helper()
	req := apitest.Request("GET /operator/providers", claims)
	req.QueryStringParameters = query
	resp, err := api.Handle(h.Handle)(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestHandleQuery: what reaches the store, and what is refused before it
// (a detail naming each parameter at fault).
func TestHandleQuery(t *testing.T) {
	tests := []struct {
		name       string
		query      map[string]string
		want       store.OperatorQuery
		wantFields []string
	}{
		{name: "defaults", want: store.OperatorQuery{Limit: 20, StuckAfter: 48 * time.Hour}},
		{name: "every parameter",
			query: map[string]string{"status": "awaiting_customer", "health": "attention", "stuck": "true", "limit": "100", "cursor": "abc"},
			want:  store.OperatorQuery{Status: provider.StatusAwaitingCustomer, Health: provider.HealthAttention, Stuck: true, StuckAfter: 48 * time.Hour, Limit: 100, Cursor: "abc"}},
		{name: "stuck false", query: map[string]string{"stuck": "false", "health": "ok", "status": "active", "limit": "1"},
			want: store.OperatorQuery{Status: provider.StatusActive, Health: provider.HealthOK, StuckAfter: 48 * time.Hour, Limit: 1}},
		{name: "unknown status", query: map[string]string{"status": "stuck"}, wantFields: []string{"status"}},
		{name: "empty status", query: map[string]string{"status": ""}, wantFields: []string{"status"}},
		{name: "upper-case status", query: map[string]string{"status": "ACTIVE"}, wantFields: []string{"status"}},
		{name: "unknown health", query: map[string]string{"health": "bad"}, wantFields: []string{"health"}},
		{name: "stuck yes", query: map[string]string{"stuck": "yes"}, wantFields: []string{"stuck"}},
		{name: "stuck empty", query: map[string]string{"stuck": ""}, wantFields: []string{"stuck"}},
		{name: "limit 0", query: map[string]string{"limit": "0"}, wantFields: []string{"limit"}},
		{name: "limit 101", query: map[string]string{"limit": "101"}, wantFields: []string{"limit"}},
		{name: "limit ten", query: map[string]string{"limit": "ten"}, wantFields: []string{"limit"}},
		{name: "huge cursor", query: map[string]string{"cursor": strings.Repeat("c", 1025)}, wantFields: []string{"cursor"}},
		{name: "several at once", query: map[string]string{"status": "x", "health": "y", "limit": "-1"}, wantFields: []string{"status", "health", "limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &fakeLister{}
			resp := call(t, &Handler{Store: st, StuckAfter: 48 * time.Hour}, operator(), tt.query)
			if tt.wantFields != nil {
				e := apitest.ExpectError(t, resp, 400, apperr.InvalidRequest)
				var fields []string
				for _, d := range e.Details {
					fields = append(fields, d.Field)
				}
				if !slices.Equal(fields, tt.wantFields) || st.calls != 0 {
					t.Fatalf("details %+v, store called %d times", e.Details, st.calls)
				}
				return
			}
			apitest.ExpectJSON(t, resp, 200, nil)
			if st.got == nil || *st.got != tt.want {
				t.Fatalf("store asked %+v, want %+v", st.got, tt.want)
			}
			if resp.Body != `{"providers":[]}` {
				t.Fatalf("body %s", resp.Body)
			}
		})
	}
}

// TestHandleRoles: only the operators' role (OPERATOR_ROLE's, "operator"
// by default) lists, and the store is not asked otherwise; no token's
// claims is unauthenticated.
func TestHandleRoles(t *testing.T) {
	tests := []struct {
		name, configured string
		claims           map[string]string
		want             int
		code             apperr.Code
	}{
		{"operator", "", operator(), 200, ""},
		{"operator among other roles", "", apitest.Claims("op-1", "acct-partner", "admin operator"), 200, ""},
		{"configured role", "partner-ops", apitest.Claims("op-1", "acct-partner", `["partner-ops"]`), 200, ""},
		{"default role when another is configured", "partner-ops", operator(), 403, apperr.OperatorRequired},
		{"administrator", "", apitest.Admin("acct-1"), 403, apperr.OperatorRequired},
		{"member", "", apitest.Member("acct-1"), 403, apperr.OperatorRequired},
		{"no claims", "", nil, 401, apperr.Unauthenticated},
		{"no account", "", apitest.Claims("op-1", "", `["operator"]`), 401, apperr.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &fakeLister{}
			// A bad query too: the role is checked first.
			resp := call(t, &Handler{Store: st, OperatorRole: tt.configured}, tt.claims, map[string]string{"status": "nope"})
			if tt.want != 200 {
				apitest.ExpectError(t, resp, tt.want, tt.code)
				if st.calls != 0 {
					t.Fatal("the store was asked")
				}
				return
			}
			apitest.ExpectError(t, resp, 400, apperr.InvalidRequest)
			resp = call(t, &Handler{Store: st, OperatorRole: tt.configured}, tt.claims, nil)
			apitest.ExpectJSON(t, resp, 200, nil)
		})
	}
}

// TestHandleView: every provider is shown as GET /providers shows it, with
// its account, stuck judged at the page's AsOf, and waitingSince while
// open; store errors keep their codes.
func TestHandleView(t *testing.T) {
	asOf := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	since := asOf.Add(-100 * time.Hour)
	st := &fakeLister{page: store.OperatorPage{AsOf: asOf, Next: "next-page", Providers: []provider.Provider{
		{AccountID: "acct-1", ID: "prv_1", Name: "A", Status: provider.StatusAwaitingOwnerAccess, OwnershipWait: &provider.OwnershipWait{StartedAt: since},
			ExecutionARN: "arn:aws:states:us-east-1:1:execution:x:y"},
		{AccountID: "acct-2", ID: "prv_2", Name: "B", Status: provider.StatusAwaitingOwnerAccess, OwnershipWait: &provider.OwnershipWait{StartedAt: asOf.Add(-time.Hour)}},
		{AccountID: "acct-2", ID: "prv_3", Name: "C", Status: provider.StatusActive},
	}}}
	resp := call(t, &Handler{Store: st}, operator(), map[string]string{"stuck": "true"})
	var body listBody
	apitest.ExpectJSON(t, resp, 200, &body)
	if len(body.Providers) != 3 || body.NextCursor != "next-page" || strings.Contains(resp.Body, "arn:aws") {
		t.Fatalf("body %s", resp.Body)
	}
	want := []struct {
		account string
		stuck   bool
		since   *time.Time
	}{{"acct-1", true, &since}, {"acct-2", false, ptr(asOf.Add(-time.Hour))}, {"acct-2", false, nil}}
	for i, p := range body.Providers {
		w := want[i]
		if p.AccountID != w.account || p.Stuck == nil || *p.Stuck != w.stuck || (p.WaitingSince == nil) != (w.since == nil) ||
			p.WaitingSince != nil && !p.WaitingSince.Equal(*w.since) || p.NextStep == nil {
			t.Errorf("provider %d: %+v", i, p)
		}
	}
	if st.got.StuckAfter != DefaultStuckAfter {
		t.Errorf("threshold %v, want the default", st.got.StuckAfter)
	}

	for _, tc := range []struct {
		err  error
		code apperr.Code
	}{
		{apperr.New(apperr.InvalidRequest, "The cursor is not valid; start again from the first page."), apperr.InvalidRequest},
		{errors.New(apitest.Fault), apperr.Internal},
	} {
		resp := call(t, &Handler{Store: &fakeLister{err: tc.err}}, operator(), nil)
		apitest.ExpectError(t, resp, api.HTTPStatus(tc.code), tc.code)
	}
}

func ptr(t time.Time) *time.Time { return &t }

// TestWithStore pages through the real store as an operator: both
// accounts, stuck ones first with the flag set, then the rest, each once;
// a status filter; the cursor of one listing refused by another.
func TestWithStore(t *testing.T) {
	ctx := context.Background()
	s, _ := storetest.NewTestStore(t)
	now := time.Now().UTC()
	var stuckNames []string
	for i := range 12 {
		p := &provider.Provider{AccountID: []string{"acct-1", "acct-2"}[i%2], Name: fmt.Sprintf("p%02d", i), Type: provider.TypeAzure,
			Option: provider.OptionMigrate, Status: provider.StatusAwaitingCustomer, CreatedAt: now.Add(time.Duration(i-20) * time.Minute)}
		p.UpdatedAt = p.CreatedAt
		switch {
		case i%4 == 0:
			p.CurrentStep = &provider.StepWaitMark{Key: provider.StepGDAP, Since: now.Add(-time.Duration(100+i) * time.Hour)}
			stuckNames = append([]string{p.Name}, stuckNames...) // the later, the shorter the wait
		case i%4 == 1:
			p.Status = provider.StatusActive
		}
		if err := s.CreateProvider(ctx, p, nil); err != nil {
			t.Fatal(err)
		}
	}
	h := &Handler{Store: s}
	list := func(query map[string]string) ([]string, []bool) {
		var names []string
		var stuck []bool
		for pages := 0; ; pages++ {
			resp := call(t, h, operator(), query)
			var body listBody
			apitest.ExpectJSON(t, resp, 200, &body)
			for _, p := range body.Providers {
				names = append(names, p.Name)
				stuck = append(stuck, *p.Stuck)
			}
			if body.NextCursor == "" || pages > 20 {
				return names, stuck
			}
			query["cursor"] = body.NextCursor
		}
	}
	names, stuck := list(map[string]string{"stuck": "true", "limit": "2"})
	if len(names) != 12 || !slices.Equal(names[:3], stuckNames) {
		t.Fatalf("listed %v, want %v first", names, stuckNames)
	}
	for i, s := range stuck {
		if s != (i < 3) {
			t.Fatalf("%s stuck %v", names[i], s)
		}
	}
	names, _ = list(map[string]string{"status": "active", "limit": "2"})
	if !slices.Equal(names, []string{"p09", "p05", "p01"}) {
		t.Fatalf("active: %v", names)
	}
	first := call(t, h, operator(), map[string]string{"status": "active", "limit": "1"})
	var body listBody
	apitest.ExpectJSON(t, first, 200, &body)
	resp := call(t, h, operator(), map[string]string{"status": "awaiting_customer", "cursor": body.NextCursor})
	if e := apitest.ExpectError(t, resp, 400, apperr.InvalidRequest); len(e.Details) != 1 || e.Details[0].Field != "cursor" {
		t.Fatalf("details %+v", e.Details)
	}
}
