package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/fakes"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
)

var (
	testNow   = time.Date(2025, 11, 25, 10, 0, 0, 0, time.UTC)
	testTerms = account.Terms{
		Partner:   account.TermsVersion{Document: account.PartnerTerms, Version: "2017-08", URL: "https://partner.example/terms"},
		Microsoft: account.TermsVersion{Document: account.MicrosoftTerms, Version: "2017-08", URL: "https://microsoft.example/terms"},
	}
	contact = "help@partner.example"
)

// The accounts of the local cloud's default scenario: one eligible, one
// failing each rule, and one failing them all.
var scenario = map[string]account.Account{
	"acct-eligible":          {Billable: true, USOffice: true},
	"acct-not-billable":      {Billable: false, USOffice: true},
	"acct-reseller":          {Billable: true, Reseller: true, USOffice: true},
	"acct-reseller-customer": {Billable: true, ResellerCustomer: true, USOffice: true},
	"acct-no-us-office":      {Billable: true, USOffice: false},
	"acct-demo":              {Billable: true, USOffice: true, Demo: true},
	"acct-internal":          {Billable: true, USOffice: true, Internal: true},
	"acct-everything-wrong":  {Reseller: true, ResellerCustomer: true, Demo: true, Internal: true},
	"acct-eligible-2":        {Billable: true, USOffice: true},
}

// fakeStore is an in-memory ProviderCreator with the store's documented
// behaviour: name claims (case-insensitive), idempotency records that win over
// a taken name, ids filled on create, not_found across accounts.
type fakeStore struct {
	mu          sync.Mutex
	accounts    map[string]account.Account
	acceptances map[string][]account.Acceptance
	providers   map[string]*provider.Provider // account/id → provider
	names       map[string]string             // account/lower name → id
	idem        map[string]store.IdempotencyRecord
	// fail makes a method return an error.
	fail map[string]error
	// beforeCreate runs at the start of CreateProvider (to simulate races).
	beforeCreate func(*fakeStore)
}

var _ ProviderCreator = (*fakeStore)(nil)

func newFakeStore() *fakeStore {
	f := &fakeStore{accounts: map[string]account.Account{}, acceptances: map[string][]account.Acceptance{},
		providers: map[string]*provider.Provider{}, names: map[string]string{}, idem: map[string]store.IdempotencyRecord{}, fail: map[string]error{}}
	for id, a := range scenario {
		a.ID = id
		f.accounts[id] = a
	}
	return f
}

func (f *fakeStore) GetAccount(_ context.Context, id string) (*account.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail["GetAccount"]; err != nil {
		return nil, err
	}
	a, ok := f.accounts[id]
	if !ok {
		return nil, nil
	}
	return &a, nil
}

func (f *fakeStore) TermsAccepted(_ context.Context, id string) ([]account.Acceptance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail["TermsAccepted"]; err != nil {
		return nil, err
	}
	return slices.Clone(f.acceptances[id]), nil
}

func (f *fakeStore) RecordAcceptances(_ context.Context, id string, acc []account.Acceptance) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail["RecordAcceptances"]; err != nil {
		return err
	}
	for _, a := range acc {
		if !slices.ContainsFunc(f.acceptances[id], func(b account.Acceptance) bool { return b.Document == a.Document && b.Version == a.Version }) {
			f.acceptances[id] = append(f.acceptances[id], a)
		}
	}
	return nil
}

func (f *fakeStore) GetIdempotency(_ context.Context, accountID, key string) (*store.IdempotencyRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail["GetIdempotency"]; err != nil {
		return nil, err
	}
	rec, ok := f.idem[accountID+"/"+key]
	if !ok {
		return nil, nil
	}
	return &rec, nil
}

func (f *fakeStore) CreateProvider(_ context.Context, p *provider.Provider, idem *store.IdempotencyRecord) error {
	if f.beforeCreate != nil {
		f.beforeCreate(f)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail["CreateProvider"]; err != nil {
		return err
	}
	if idem != nil {
		if _, used := f.idem[p.AccountID+"/"+idem.Key]; used {
			return store.ErrIdempotencyKeyUsed
		}
	}
	nameKey := p.AccountID + "/" + strings.ToLower(p.Name)
	if _, taken := f.names[nameKey]; taken {
		return apperr.New(apperr.NameTaken, "A provider with this name already exists in this account.")
	}
	if p.ID == "" { // as the store: an id chosen by the caller is kept
		p.ID = store.NewProviderID(p.CreatedAt)
	}
	p.Version = 1
	f.names[nameKey] = p.ID
	cp := *p
	f.providers[p.AccountID+"/"+p.ID] = &cp
	if idem != nil {
		idem.ProviderID = p.ID
		f.idem[p.AccountID+"/"+idem.Key] = *idem
	}
	return nil
}

func (f *fakeStore) GetProvider(_ context.Context, accountID, id string) (*provider.Provider, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.providers[accountID+"/"+id]
	if !ok {
		return nil, apperr.New(apperr.NotFound, "The provider does not exist.")
	}
	cp := *p
	return &cp, nil
}

func (f *fakeStore) UpdateProvider(_ context.Context, accountID, id string, mutate func(*provider.Provider) error) (*provider.Provider, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail["UpdateProvider"]; err != nil {
		return nil, err
	}
	p, ok := f.providers[accountID+"/"+id]
	if !ok {
		return nil, apperr.New(apperr.NotFound, "The provider does not exist.")
	}
	cp := *p
	if err := mutate(&cp); err != nil {
		return nil, err
	}
	cp.Version++
	f.providers[accountID+"/"+id] = &cp
	out := cp
	return &out, nil
}

func (f *fakeStore) stored(accountID, id string) provider.Provider {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.providers[accountID+"/"+id]
}

func (f *fakeStore) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.providers)
}

// createBody is a valid migrate request with fields replaced (nil removes one).
func createBody(t testing.TB, with map[string]any) string {
	t.Helper()
	m := map[string]any{
		"name":            "Contoso production",
		"type":            "azure",
		"option":          "migrate",
		"azureAdminEmail": "it-admin@contoso.com",
		"subscriptionIds": []string{"00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-00000000000B"},
		"acceptedTerms":   map[string]string{"partner": "2017-08", "microsoft": "2017-08"},
	}
	for k, v := range with {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type reqOpt func(*api.Request)

func withHeader(k, v string) reqOpt { return func(r *api.Request) { r.Headers[k] = v } }
func withBase64() reqOpt {
	return func(r *api.Request) {
		r.Body, r.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(r.Body)), true
	}
}

func newRequest(claims map[string]string, body string, opts ...reqOpt) api.Request {
	req := apitest.Request("POST /providers", claims)
	req.Body = body
	for _, o := range opts {
		o(&req)
	}
	return req
}

const testStateMachine = "arn:aws:states:us-east-1:123456789012:stateMachine:partnercloud-migration"

// fakeDomains: "contoso" is taken, "unreachable" fails, the rest is free.
type fakeDomains struct{}

func (fakeDomains) CheckDomainAvailable(_ context.Context, prefix string) (bool, error) {
	switch prefix {
	case "contoso":
		return false, nil
	case "unreachable":
		return false, errors.New("partnercenter: unavailable: 429")
	}
	return true, nil
}

// newCustomerBody is a valid option-new request for a domain prefix.
func newCustomerBody(t testing.TB, prefix string) string {
	return newCustomerBodyWith(t, prefix, nil)
}

func newCustomerBodyWith(t testing.TB, prefix string, with map[string]any) string {
	m := map[string]any{"option": "new", "azureAdminEmail": nil, "subscriptionIds": nil, "company": map[string]any{
		"name": "Fabrikam Ltd", "domainPrefix": prefix,
		"address": map[string]any{"line1": "1 Main St", "city": "Redmond", "state": "WA", "postalCode": "98052", "country": "US"},
		"contact": map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@fabrikam.com", "phone": "+1 425 555 0100"},
	}}
	for k, v := range with {
		m[k] = v
	}
	return createBody(t, m)
}

func newHandler(st ProviderCreator) *Handler {
	return &Handler{Store: st, Domains: fakeDomains{}, Prover: &fakeProver{}, Secrets: &fakes.Secrets{},
		Terms: testTerms, Contact: contact, Now: func() time.Time { return testNow }}
}

// queuedStarts counts the provider's pending workflow starts.
func queuedStarts(p *provider.Provider) int {
	n := 0
	for _, e := range p.Outbox {
		if e.Kind == provider.NoticeStartWorkflow {
			n++
		}
	}
	return n
}

func do(t testing.TB, h *Handler, req api.Request) api.Response {
	t.Helper()
	resp, err := api.Handle(h.Handle)(context.Background(), req)
	if err != nil {
		t.Fatalf("handler returned an error: %v", err)
	}
	return resp
}

type view struct {
	provider.Provider
	NextStep    string `json:"nextStep"`
	rawHasARN   bool
	rawHasField map[string]bool
}

func decodeView(t testing.TB, resp api.Response, status int) view {
	t.Helper()
	var v view
	apitest.ExpectJSON(t, resp, status, &v)
	var raw map[string]any
	_ = json.Unmarshal([]byte(resp.Body), &raw)
	v.rawHasField = map[string]bool{}
	for k := range raw {
		v.rawHasField[k] = true
	}
	v.rawHasARN = strings.Contains(resp.Body, "arn:") || v.rawHasField["executionArn"]
	return v
}

func TestHandleErrors(t *testing.T) {
	admin := apitest.Admin("acct-eligible")
	newBody := newCustomerBody(t, "fabrikamnew")
	big := createBody(t, map[string]any{"name": strings.Repeat("x", provider.MaxBodyBytes)})
	exact := func(n int) string { // a body of exactly n bytes (an incomplete request)
		b := `{"name":"` + strings.Repeat("x", n-11) + `"}`
		if len(b) != n {
			t.Fatalf("body of %d bytes, want %d", len(b), n)
		}
		return b
	}
	tests := []struct {
		name        string
		req         api.Request
		fail        map[string]error
		wantCode    apperr.Code
		wantDetails []string // detail codes or fields that must be present, in order for reasons
	}{
		// 401
		{name: "no authorizer", req: newRequest(nil, createBody(t, nil)), wantCode: apperr.Unauthenticated},
		{name: "no sub", req: newRequest(apitest.Claims("", "acct-eligible", `["admin"]`), createBody(t, nil)), wantCode: apperr.Unauthenticated},
		{name: "no account_id", req: newRequest(apitest.Claims("u1", "", `["admin"]`), createBody(t, nil)), wantCode: apperr.Unauthenticated},
		{name: "account_id with a key separator", req: newRequest(apitest.Claims("u1", "acct#eligible", `["admin"]`), createBody(t, nil)), wantCode: apperr.Unauthenticated},
		{name: "foreign claims only", req: newRequest(map[string]string{"username": "u1", "custom:account": "acct-eligible", "cognito:groups": "admin"}, createBody(t, nil)), wantCode: apperr.Unauthenticated},
		{name: "401 before 413", req: newRequest(nil, big), wantCode: apperr.Unauthenticated},
		// 413
		{name: "65537 bytes", req: newRequest(admin, exact(provider.MaxBodyBytes+1)), wantCode: apperr.BodyTooLarge},
		{name: "oversized and malformed", req: newRequest(admin, strings.Repeat("{", provider.MaxBodyBytes+1)), wantCode: apperr.BodyTooLarge},
		{name: "Content-Length over the limit", req: newRequest(admin, createBody(t, nil), withHeader("Content-Length", strconv.Itoa(provider.MaxBodyBytes+1))), wantCode: apperr.BodyTooLarge},
		{name: "base64-encoded oversized body", req: newRequest(admin, exact(provider.MaxBodyBytes+1), withBase64()), wantCode: apperr.BodyTooLarge},
		// 400
		{name: "empty body", req: newRequest(admin, ""), wantCode: apperr.InvalidRequest},
		{name: "malformed JSON", req: newRequest(admin, `{"name": "x"`), wantCode: apperr.InvalidRequest, wantDetails: []string{"malformed_json"}},
		{name: "exactly 65536 bytes is parsed, not refused for size", req: newRequest(admin, exact(provider.MaxBodyBytes)), wantCode: apperr.InvalidRequest},
		{name: "unknown field", req: newRequest(admin, createBody(t, map[string]any{"billable": true})), wantCode: apperr.InvalidRequest, wantDetails: []string{"billable"}},
		{name: "wrong type", req: newRequest(admin, createBody(t, map[string]any{"subscriptionIds": 7})), wantCode: apperr.InvalidRequest, wantDetails: []string{"subscriptionIds"}},
		{name: "invalid fields", req: newRequest(admin, createBody(t, map[string]any{"name": "", "azureAdminEmail": "IT <it@contoso.com>", "subscriptionIds": []string{"nope"}})), wantCode: apperr.InvalidRequest, wantDetails: []string{"name", "azureAdminEmail", "subscriptionIds[0]"}},
		{name: "invalid base64", req: newRequest(admin, "%%%", func(r *api.Request) { r.IsBase64Encoded = true }), wantCode: apperr.InvalidRequest},
		{name: "empty Idempotency-Key", req: newRequest(admin, createBody(t, nil), withHeader("Idempotency-Key", "")), wantCode: apperr.InvalidRequest, wantDetails: []string{"Idempotency-Key"}},
		{name: "129-character Idempotency-Key", req: newRequest(admin, createBody(t, nil), withHeader("Idempotency-Key", strings.Repeat("k", 129))), wantCode: apperr.InvalidRequest, wantDetails: []string{"Idempotency-Key"}},
		{name: "non-ASCII Idempotency-Key", req: newRequest(admin, createBody(t, nil), withHeader("idempotency-key", "clé")), wantCode: apperr.InvalidRequest},
		{name: "control character in Idempotency-Key", req: newRequest(admin, createBody(t, nil), withHeader("idempotency-key", "a\tb")), wantCode: apperr.InvalidRequest},
		{name: "400 before 403", req: newRequest(apitest.Member("acct-eligible"), `{"option":"migrate"}`), wantCode: apperr.InvalidRequest},
		{name: "existing with invalid fields is 400", req: newRequest(admin, createBody(t, map[string]any{"option": "existing"})), wantCode: apperr.InvalidRequest},
		// 403
		{name: "migrate by a member", req: newRequest(apitest.Member("acct-eligible"), createBody(t, nil)), wantCode: apperr.AdminRequired},
		{name: "new by a member", req: newRequest(apitest.Member("acct-eligible"), newBody), wantCode: apperr.AdminRequired},
		{name: "roles claim without admin", req: newRequest(apitest.Claims("u1", "acct-eligible", "operator viewer"), createBody(t, nil)), wantCode: apperr.AdminRequired},
		{name: "403 before 422", req: newRequest(apitest.Member("acct-demo"), createBody(t, nil)), wantCode: apperr.AdminRequired},
		// 422, each reason alone and all together
		{name: "not billable", req: newRequest(apitest.Admin("acct-not-billable"), createBody(t, nil)), wantCode: apperr.Ineligible, wantDetails: []string{"not_billable"}},
		{name: "reseller", req: newRequest(apitest.Admin("acct-reseller"), createBody(t, nil)), wantCode: apperr.Ineligible, wantDetails: []string{"reseller"}},
		{name: "reseller customer", req: newRequest(apitest.Admin("acct-reseller-customer"), createBody(t, nil)), wantCode: apperr.Ineligible, wantDetails: []string{"reseller_customer"}},
		{name: "no US office", req: newRequest(apitest.Admin("acct-no-us-office"), createBody(t, nil)), wantCode: apperr.Ineligible, wantDetails: []string{"no_us_office"}},
		{name: "demo account", req: newRequest(apitest.Admin("acct-demo"), createBody(t, nil)), wantCode: apperr.Ineligible, wantDetails: []string{"demo_account"}},
		{name: "internal account", req: newRequest(apitest.Admin("acct-internal"), createBody(t, nil)), wantCode: apperr.Ineligible, wantDetails: []string{"internal_account"}},
		{name: "every reason", req: newRequest(apitest.Admin("acct-everything-wrong"), createBody(t, nil)), wantCode: apperr.Ineligible,
			wantDetails: []string{"not_billable", "reseller", "reseller_customer", "no_us_office", "demo_account", "internal_account"}},
		{name: "no account record", req: newRequest(apitest.Admin("acct-unknown"), createBody(t, nil)), wantCode: apperr.Ineligible, wantDetails: []string{"not_billable"}},
		{name: "422 before 428", req: newRequest(apitest.Admin("acct-demo"), createBody(t, map[string]any{"acceptedTerms": nil})), wantCode: apperr.Ineligible, wantDetails: []string{"demo_account"}},
		{name: "new is refused for an ineligible account", req: newRequest(apitest.Admin("acct-reseller"), newBody), wantCode: apperr.Ineligible, wantDetails: []string{"reseller"}},
		// 428
		{name: "terms missing", req: newRequest(admin, createBody(t, map[string]any{"acceptedTerms": nil})), wantCode: apperr.TermsNotAccepted, wantDetails: []string{"acceptedTerms.partner", "acceptedTerms.microsoft"}},
		{name: "one document missing", req: newRequest(admin, createBody(t, map[string]any{"acceptedTerms": map[string]string{"partner": "2017-08"}})), wantCode: apperr.TermsNotAccepted, wantDetails: []string{"acceptedTerms.microsoft"}},
		{name: "stale version in the request", req: newRequest(admin, createBody(t, map[string]any{"acceptedTerms": map[string]string{"partner": "2016-01", "microsoft": "2017-08"}})), wantCode: apperr.TermsOutdated, wantDetails: []string{"acceptedTerms.partner"}},
		// 409 and 503 of the Partner Center domain check, after 422 and 428
		{name: "new with a taken domain", req: newRequest(admin, newCustomerBody(t, "contoso")), wantCode: apperr.DomainTaken, wantDetails: []string{"company.domainPrefix"}},
		{name: "new when Partner Center fails", req: newRequest(admin, newCustomerBody(t, "unreachable")), wantCode: apperr.AzureUnavailable},
		{name: "new with a taken domain and no terms", req: newRequest(admin, newCustomerBodyWith(t, "contoso", map[string]any{"acceptedTerms": nil})), wantCode: apperr.TermsNotAccepted},
		// 500
		{name: "account read fails", req: newRequest(admin, createBody(t, nil)), fail: map[string]error{"GetAccount": errors.New(apitest.Fault)}, wantCode: apperr.Internal},
		{name: "terms read fails", req: newRequest(admin, createBody(t, nil)), fail: map[string]error{"TermsAccepted": errors.New(apitest.Fault)}, wantCode: apperr.Internal},
		{name: "terms write fails", req: newRequest(admin, createBody(t, nil)), fail: map[string]error{"RecordAcceptances": apperr.Wrap(errors.New(apitest.Fault), "put")}, wantCode: apperr.Internal},
		{name: "idempotency read fails", req: newRequest(admin, createBody(t, nil), withHeader("Idempotency-Key", "k1")), fail: map[string]error{"GetIdempotency": errors.New(apitest.Fault)}, wantCode: apperr.Internal},
		{name: "create fails", req: newRequest(admin, createBody(t, nil)), fail: map[string]error{"CreateProvider": errors.New(apitest.Fault)}, wantCode: apperr.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			for k, v := range tt.fail {
				st.fail[k] = v
			}
			h := newHandler(st)
			resp := do(t, h, tt.req)
			e := apitest.ExpectError(t, resp, api.HTTPStatus(tt.wantCode), tt.wantCode)
			if n := secretsOf(h).Creates; n != 0 {
				t.Errorf("a refused request stored %d secrets", n)
			}
			var got []string
			for _, d := range e.Details {
				if d.Field != "" {
					got = append(got, d.Field)
				} else {
					got = append(got, d.Code)
				}
			}
			if tt.wantCode == apperr.Ineligible {
				if !slices.Equal(got, tt.wantDetails) {
					t.Errorf("reasons = %v, want %v", got, tt.wantDetails)
				}
				if !strings.Contains(e.Message, contact) || !strings.Contains(string(e.Raw["contact"]), contact) {
					t.Errorf("contact missing: %s", resp.Body)
				}
			}
			for _, w := range tt.wantDetails {
				if !slices.Contains(got, w) {
					t.Errorf("details %v lack %q", got, w)
				}
			}
			if st.count() != 0 {
				t.Errorf("a refused request created %d providers", st.count())
			}
			if tt.wantCode != apperr.Internal && len(st.acceptances["acct-eligible"]) != 0 {
				t.Errorf("a refused request recorded terms: %+v", st.acceptances)
			}
		})
	}
}

func TestHandleCreates(t *testing.T) {
	earlier := []account.Acceptance{
		{Document: account.PartnerTerms, Version: "2017-08", AcceptedBy: "someone-else", AcceptedAt: testNow.Add(-48 * time.Hour)},
		{Document: account.MicrosoftTerms, Version: "2017-08", AcceptedBy: "someone-else", AcceptedAt: testNow.Add(-48 * time.Hour)},
	}
	tests := []struct {
		name        string
		claims      map[string]string
		body        string
		opts        []reqOpt
		acceptances []account.Acceptance
		wantNewDocs []account.Document // acceptances this request records
		wantSubs    []string
	}{
		{name: "terms accepted in the request", claims: apitest.Admin("acct-eligible"), body: createBody(t, nil),
			wantNewDocs: []account.Document{account.PartnerTerms, account.MicrosoftTerms},
			wantSubs:    []string{"00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-00000000000b"}},
		{name: "terms accepted before", claims: apitest.Admin("acct-eligible"), body: createBody(t, map[string]any{"acceptedTerms": nil}), acceptances: earlier,
			wantSubs: []string{"00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-00000000000b"}},
		{name: "terms accepted before and again", claims: apitest.Admin("acct-eligible"), body: createBody(t, nil), acceptances: earlier,
			wantSubs: []string{"00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-00000000000b"}},
		{name: "one before, one in the request", claims: apitest.Admin("acct-eligible"), body: createBody(t, map[string]any{"acceptedTerms": map[string]string{"microsoft": "2017-08"}}), acceptances: earlier[:1],
			wantNewDocs: []account.Document{account.MicrosoftTerms}, wantSubs: []string{"00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-00000000000b"}},
		{name: "no subscriptions named", claims: apitest.Admin("acct-eligible"), body: createBody(t, map[string]any{"subscriptionIds": nil}),
			wantNewDocs: []account.Document{account.PartnerTerms, account.MicrosoftTerms}, wantSubs: []string{}},
		{name: "roles as a space-separated string", claims: apitest.Claims("user-admin", "acct-eligible", "viewer admin"), body: createBody(t, nil),
			wantNewDocs: []account.Document{account.PartnerTerms, account.MicrosoftTerms}, wantSubs: []string{"00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-00000000000b"}},
		{name: "roles as API Gateway's flattened array", claims: apitest.Claims("user-admin", "acct-eligible", "[viewer admin]"), body: createBody(t, nil),
			wantNewDocs: []account.Document{account.PartnerTerms, account.MicrosoftTerms}, wantSubs: []string{"00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-00000000000b"}},
		{name: "base64-encoded body", claims: apitest.Admin("acct-eligible"), body: createBody(t, nil), opts: []reqOpt{withBase64()},
			wantNewDocs: []account.Document{account.PartnerTerms, account.MicrosoftTerms}, wantSubs: []string{"00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-00000000000b"}},
		{name: "with an Idempotency-Key", claims: apitest.Admin("acct-eligible"), body: createBody(t, nil), opts: []reqOpt{withHeader("Idempotency-Key", strings.Repeat("~", 128))},
			wantNewDocs: []account.Document{account.PartnerTerms, account.MicrosoftTerms}, wantSubs: []string{"00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-00000000000b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			st.acceptances["acct-eligible"] = slices.Clone(tt.acceptances)
			h := newHandler(st)
			resp := do(t, h, newRequest(tt.claims, tt.body, tt.opts...))
			v := decodeView(t, resp, 202)
			checkCreated(t, v, "acct-eligible", tt.claims["sub"])
			checkQueued(t, st, "acct-eligible", v.ID)
			if resp.Headers["Location"] != "/providers/"+v.ID {
				t.Errorf("Location = %q", resp.Headers["Location"])
			}
			var subs []string
			for _, s := range v.Subscriptions {
				subs = append(subs, s.ID)
				if s.State != provider.SubscriptionPending {
					t.Errorf("subscription %s state %s", s.ID, s.State)
				}
			}
			if !slices.Equal(subs, tt.wantSubs) && !(len(subs) == 0 && len(tt.wantSubs) == 0) {
				t.Errorf("subscriptions = %v, want %v", subs, tt.wantSubs)
			}
			recorded := st.acceptances["acct-eligible"][len(tt.acceptances):]
			var docs []account.Document
			for _, a := range recorded {
				docs = append(docs, a.Document)
				if a.AcceptedBy != tt.claims["sub"] || !a.AcceptedAt.Equal(testNow) || a.Version != "2017-08" {
					t.Errorf("recorded %+v, want by %s at %s", a, tt.claims["sub"], testNow)
				}
			}
			if !slices.Equal(docs, tt.wantNewDocs) {
				t.Errorf("recorded %v, want %v", docs, tt.wantNewDocs)
			}
			if st.count() != 1 {
				t.Errorf("%d providers", st.count())
			}
		})
	}
}

// checkQueued checks that the stored provider carries one pending start of
// its workflow, for the outbox relay, and no execution yet.
func checkQueued(t testing.TB, st *fakeStore, accountID, id string) {
	t.Helper()
	p := st.stored(accountID, id)
	if n := queuedStarts(&p); n != 1 || p.OutboxSince == nil || p.ExecutionARN != "" {
		t.Fatalf("provider %s: %d workflow starts queued (outbox since %v), execution %q; want one queued", id, n, p.OutboxSince, p.ExecutionARN)
	}
}

// TestHandleCreatesNew: option new creates a provisioning provider with its
// company and starts the new-customer workflow, not the migration.
func TestHandleCreatesNew(t *testing.T) {
	st := newFakeStore()
	h := newHandler(st)
	resp := do(t, h, newRequest(apitest.Admin("acct-eligible"), newCustomerBody(t, "fabrikamnew"), withHeader("Idempotency-Key", "new-1")))
	v := decodeView(t, resp, 202)
	if v.Status != provider.StatusProvisioning || v.Option != provider.OptionNew || v.Company == nil || v.Company.DomainPrefix != "fabrikamnew" || len(v.Subscriptions) != 0 {
		t.Fatalf("created %+v", v.Provider)
	}
	checkQueued(t, st, "acct-eligible", v.ID)
	// A replay with the same key is answered from the record, though the
	// domain is now the provider's own, and queues nothing more.
	resp = do(t, h, newRequest(apitest.Admin("acct-eligible"), newCustomerBody(t, "fabrikamnew"), withHeader("Idempotency-Key", "new-1")))
	if w := decodeView(t, resp, 202); w.ID != v.ID {
		t.Fatalf("replay created %s, want %s", w.ID, v.ID)
	}
	checkQueued(t, st, "acct-eligible", v.ID)
}

// checkCreated checks the provider a create returns.
func checkCreated(t testing.TB, v view, accountID, sub string) {
	t.Helper()
	if !store.ValidProviderID(v.ID) || v.AccountID != accountID || v.Type != "azure" || v.Option != provider.OptionMigrate {
		t.Errorf("provider = %+v", v.Provider)
	}
	if v.Status != provider.StatusPendingConsent {
		t.Errorf("status = %s", v.Status)
	}
	if len(v.Timeline) != 1 {
		t.Fatalf("timeline = %+v", v.Timeline)
	}
	ev := v.Timeline[0]
	if ev.Status != provider.StatusPendingConsent || ev.By != "user:"+sub || ev.At.IsZero() {
		t.Errorf("event = %+v", ev)
	}
	if !strings.Contains(ev.What, "Provider created") || !strings.Contains(ev.What, "i***@contoso.com") || strings.Contains(ev.What, "it-admin@") {
		t.Errorf("event what = %q", ev.What)
	}
	if v.NextStep == "" || !v.rawHasField["nextStep"] {
		t.Error("no nextStep")
	}
	if v.rawHasARN {
		t.Error("the response shows an execution ARN")
	}
}

func TestIdempotency(t *testing.T) {
	admin := apitest.Admin("acct-eligible")
	st := newFakeStore()
	h := newHandler(st)
	first := decodeView(t, do(t, h, newRequest(admin, createBody(t, nil), withHeader("Idempotency-Key", "key-1"))), 202)
	checkQueued(t, st, "acct-eligible", first.ID)

	t.Run("same key, same body: the same provider, nothing more queued", func(t *testing.T) {
		again := decodeView(t, do(t, h, newRequest(admin, createBody(t, nil), withHeader("idempotency-key", "key-1"))), 202)
		if again.ID != first.ID || st.count() != 1 {
			t.Fatalf("replay made %s (first %s), %d providers", again.ID, first.ID, st.count())
		}
		checkQueued(t, st, "acct-eligible", first.ID)
		if v := st.stored("acct-eligible", first.ID).Version; v != 1 {
			t.Fatalf("a replay right after the create wrote the provider (version %d)", v)
		}
	})
	t.Run("same key, same body base64-encoded: the same provider", func(t *testing.T) {
		again := decodeView(t, do(t, h, newRequest(admin, createBody(t, nil), withHeader("Idempotency-Key", "key-1"), withBase64())), 202)
		if again.ID != first.ID {
			t.Fatalf("replay made %s", again.ID)
		}
	})
	t.Run("same key, another body", func(t *testing.T) {
		resp := do(t, h, newRequest(admin, createBody(t, map[string]any{"name": "Other"}), withHeader("Idempotency-Key", "key-1")))
		apitest.ExpectError(t, resp, 409, apperr.IdempotencyConflict)
		if st.count() != 1 {
			t.Fatalf("%d providers", st.count())
		}
		checkQueued(t, st, "acct-eligible", first.ID)
	})
	t.Run("same key, same body in another account", func(t *testing.T) {
		other := decodeView(t, do(t, h, newRequest(apitest.Admin("acct-eligible-2"), createBody(t, nil), withHeader("Idempotency-Key", "key-1"))), 202)
		if other.ID == first.ID || other.AccountID != "acct-eligible-2" {
			t.Fatalf("other account got %+v", other.Provider)
		}
	})
	t.Run("another key, same name", func(t *testing.T) {
		apitest.ExpectError(t, do(t, h, newRequest(admin, createBody(t, map[string]any{"name": "CONTOSO PRODUCTION"}), withHeader("Idempotency-Key", "key-2"))), 409, apperr.NameTaken)
	})
	t.Run("no key, same name", func(t *testing.T) {
		apitest.ExpectError(t, do(t, h, newRequest(admin, createBody(t, nil))), 409, apperr.NameTaken)
	})
	t.Run("lost race on the key: answer as the winner", func(t *testing.T) {
		// The record appears between the handler's read and its create.
		st.beforeCreate = func(f *fakeStore) {
			f.beforeCreate = nil
			f.mu.Lock()
			f.idem["acct-eligible/key-3"] = store.IdempotencyRecord{Key: "key-3", BodyHash: f.idem["acct-eligible/key-1"].BodyHash, ProviderID: first.ID}
			f.mu.Unlock()
		}
		again := decodeView(t, do(t, h, newRequest(admin, createBody(t, nil), withHeader("Idempotency-Key", "key-3"))), 202)
		if again.ID != first.ID {
			t.Fatalf("got %s, want the winner's %s", again.ID, first.ID)
		}
	})
	t.Run("lost race on the key with another body", func(t *testing.T) {
		st.beforeCreate = func(f *fakeStore) {
			f.beforeCreate = nil
			f.mu.Lock()
			f.idem["acct-eligible/key-4"] = store.IdempotencyRecord{Key: "key-4", BodyHash: "other", ProviderID: first.ID}
			f.mu.Unlock()
		}
		apitest.ExpectError(t, do(t, h, newRequest(admin, createBody(t, map[string]any{"name": "Fresh"}), withHeader("Idempotency-Key", "key-4"))), 409, apperr.IdempotencyConflict)
	})
}

// TestWithStore runs the handler over the real store on an embedded DynamoDB.
func TestWithStore(t *testing.T) {
	ctx := context.Background()
	newStore := func(t *testing.T) *store.Store {
		st, _ := storetest.NewTestStore(t)
		for id, a := range scenario {
			a.ID = id
			if err := st.PutAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		return st
	}
	admin := apitest.Admin("acct-eligible")

	t.Run("create, read back, replay, reuse, name taken", func(t *testing.T) {
		st := newStore(t)
		h := newHandler(st)
		v := decodeView(t, do(t, h, newRequest(admin, createBody(t, nil), withHeader("Idempotency-Key", "k"))), 202)
		checkCreated(t, v, "acct-eligible", "user-admin")
		stored, err := st.GetProvider(ctx, "acct-eligible", v.ID)
		if err != nil || stored.Name != "Contoso production" || len(stored.Subscriptions) != 2 || stored.Version != 1 ||
			queuedStarts(stored) != 1 || stored.OutboxSince == nil || stored.RequesterName != "" || stored.RequesterEmail != "" {
			t.Fatalf("stored = %+v, %v", stored, err)
		}
		acc, err := st.TermsAccepted(ctx, "acct-eligible")
		if err != nil || len(acc) != 2 || acc[0].AcceptedBy != "user-admin" {
			t.Fatalf("acceptances = %+v, %v", acc, err)
		}
		again := decodeView(t, do(t, h, newRequest(admin, createBody(t, nil), withHeader("Idempotency-Key", "k"))), 202)
		if again.ID != v.ID {
			t.Fatalf("replay %s, want %s", again.ID, v.ID)
		}
		apitest.ExpectError(t, do(t, h, newRequest(admin, createBody(t, map[string]any{"name": "B"}), withHeader("Idempotency-Key", "k"))), 409, apperr.IdempotencyConflict)
		apitest.ExpectError(t, do(t, h, newRequest(admin, createBody(t, map[string]any{"name": "contoso PRODUCTION"}))), 409, apperr.NameTaken)
		// Terms now accepted earlier: a request without acceptedTerms passes.
		decodeView(t, do(t, h, newRequest(admin, createBody(t, map[string]any{"name": "Second", "acceptedTerms": nil}))), 202)
		ps, _, err := st.ListProviders(ctx, "acct-eligible", 100, "")
		if err != nil || len(ps) != 2 {
			t.Fatalf("providers = %d, %v", len(ps), err)
		}
	})

	t.Run("eligibility from the stored account", func(t *testing.T) {
		st := newStore(t)
		resp := do(t, newHandler(st), newRequest(apitest.Admin("acct-everything-wrong"), createBody(t, nil)))
		e := apitest.ExpectError(t, resp, 422, apperr.Ineligible)
		if len(e.Details) != 6 {
			t.Fatalf("reasons = %+v", e.Details)
		}
	})

	t.Run("50 concurrent creations of one name make one provider", func(t *testing.T) {
		st := newStore(t)
		h := newHandler(st)
		statuses := concurrently(t, 50, func(i int) api.Request {
			return newRequest(admin, createBody(t, map[string]any{"subscriptionIds": []string{fmt.Sprintf("00000000-0000-0000-0000-%012d", i)}}))
		}, h)
		if statuses[202] != 1 || statuses[409] != 49 {
			t.Fatalf("statuses = %v, want one 202 and 49 409", statuses)
		}
		ps, _, err := st.ListProviders(ctx, "acct-eligible", 100, "")
		if err != nil || len(ps) != 1 {
			t.Fatalf("providers = %d, %v", len(ps), err)
		}
		if stored, err := st.GetProvider(ctx, "acct-eligible", ps[0].ID); err != nil || queuedStarts(stored) != 1 {
			t.Fatalf("stored = %+v, %v; want one workflow start queued", stored, err)
		}
	})

	t.Run("50 concurrent requests with one key make one provider", func(t *testing.T) {
		st := newStore(t)
		h := newHandler(st)
		var mu sync.Mutex
		ids := map[string]bool{}
		statuses := concurrentlyWith(t, 50, func(int) api.Request {
			return newRequest(admin, createBody(t, nil), withHeader("Idempotency-Key", "same-key"))
		}, h, func(resp api.Response) {
			var v view
			if json.Unmarshal([]byte(resp.Body), &v) == nil && v.ID != "" {
				mu.Lock()
				ids[v.ID] = true
				mu.Unlock()
			}
		})
		if statuses[202] != 50 || len(ids) != 1 {
			t.Fatalf("statuses = %v, ids = %v; want fifty 202 with one id", statuses, ids)
		}
		ps, _, err := st.ListProviders(ctx, "acct-eligible", 100, "")
		if err != nil || len(ps) != 1 {
			t.Fatalf("providers = %d, %v", len(ps), err)
		}
		// The one provider carries one workflow start; no answer wrote it
		// again.
		stored, err := st.GetProvider(ctx, "acct-eligible", ps[0].ID)
		if err != nil || queuedStarts(stored) != 1 || stored.Version != 1 {
			t.Fatalf("stored = %+v, %v", stored, err)
		}
	})
}

func concurrently(t *testing.T, n int, req func(int) api.Request, h *Handler) map[int]int {
	return concurrentlyWith(t, n, req, h, func(api.Response) {})
}

// concurrentlyWith sends n requests at once and counts the statuses.
func concurrentlyWith(t *testing.T, n int, req func(int) api.Request, h *Handler, each func(api.Response)) map[int]int {
	t.Helper()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
		start    = make(chan struct{})
	)
	for i := range n {
		r := req(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := api.Handle(h.Handle)(context.Background(), r)
			if err != nil {
				t.Error(err)
				return
			}
			if resp.StatusCode != 202 && resp.StatusCode != 409 {
				t.Errorf("status %d: %s", resp.StatusCode, resp.Body)
			}
			each(resp)
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return statuses
}

func TestMain(m *testing.M) {
	if os.Getenv("CREATE_PROVIDER_RUN_MAIN") == "1" {
		main() // TestBadConfig: must exit before lambda.Start
		os.Exit(0)
	}
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

// TestBadConfig runs main with bad configuration: it must log one JSON line
// naming every bad variable and exit 1.
func TestBadConfig(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{"CREATE_PROVIDER_RUN_MAIN=1", "TERMS_PARTNER_VERSION=2017-08", "TERMS_PARTNER_URL=not a url",
		"TERMS_MICROSOFT_VERSION=2017-08", "CONTACT_EMAIL=Help <help@partner.example>", "AZURE_AUTHORITY_HOST=http://login.example",
		"PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit = %v, want status 1; output %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !json.Valid([]byte(lines[0])) {
		t.Fatalf("want one JSON line, got:\n%s", out)
	}
	for _, name := range []string{"TABLE_NAME", "TERMS_PARTNER_URL", "TERMS_MICROSOFT_URL", "CONTACT_EMAIL", "AZURE_AUTHORITY_HOST"} {
		if !strings.Contains(lines[0], name) {
			t.Errorf("the log line does not name %s: %s", name, lines[0])
		}
	}
}

// TestLogs checks what one create logs: the provider id and the request id,
// never the full email address.
func TestLogs(t *testing.T) {
	var buf bytes.Buffer
	ctx := logging.With(context.Background(), slog.New(slog.NewJSONHandler(&buf, nil)))
	h := newHandler(newFakeStore())
	resp, err := api.Handle(h.Handle)(ctx, newRequest(apitest.Admin("acct-eligible"), createBody(t, nil)))
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("status %d %v", resp.StatusCode, err)
	}
	out := buf.String()
	for _, want := range []string{`"provider_id":"prv_`, `"request_id":"` + apitest.RequestID + `"`, `"azure_admin":"i***@contoso.com"`} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "it-admin@contoso.com") {
		t.Errorf("logs show the full email:\n%s", out)
	}
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line %d is not JSON: %s", i, line)
		}
	}
}

func TestEvent(t *testing.T) {
	req := apitest.LoadEvent(t, "../../events/create-provider.json")
	h := newHandler(newFakeStore())
	resp, err := api.Handle(h.Handle)(context.Background(), req)
	if err != nil || resp.StatusCode != 202 || resp.Headers["X-Request-Id"] != req.RequestContext.RequestID {
		t.Fatalf("event answered %d %v: %s", resp.StatusCode, err, resp.Body)
	}
}

// TestReplayRearmsStalledStart: a replay finding the workflow start still
// pending a minute after the create writes the provider again (the stream
// wakes the relay once more), once per replay; sooner, or for a provider
// that ended, it writes nothing; a failed write is the replay's 500, and
// the next replay writes.
func TestReplayRearmsStalledStart(t *testing.T) {
	admin := apitest.Admin("acct-eligible")
	st := newFakeStore()
	h := newHandler(st)
	now := testNow
	h.Now = func() time.Time { return now }
	req := newRequest(admin, createBody(t, nil), withHeader("Idempotency-Key", "k"))
	v := decodeView(t, do(t, h, req), 202)
	version := func() int { return st.stored("acct-eligible", v.ID).Version }

	now = testNow.Add(provider.WorkflowStartStall - time.Second)
	decodeView(t, do(t, h, req), 202)
	if version() != 1 {
		t.Fatalf("a replay within %v wrote the provider", provider.WorkflowStartStall)
	}
	now = testNow.Add(provider.WorkflowStartStall)
	st.fail["UpdateProvider"] = errors.New(apitest.Fault)
	apitest.ExpectError(t, do(t, h, req), 500, apperr.Internal)
	delete(st.fail, "UpdateProvider")
	if w := decodeView(t, do(t, h, req), 202); w.ID != v.ID || version() != 2 {
		t.Fatalf("stalled replay: %s, version %d; want %s re-armed (version 2)", w.ID, version(), v.ID)
	}
	checkQueued(t, st, "acct-eligible", v.ID)
	decodeView(t, do(t, h, req), 202)
	if version() != 3 {
		t.Fatalf("version %d after a second stalled replay, want 3", version())
	}
	st.providers["acct-eligible/"+v.ID].Status = provider.StatusCancelled
	if w := decodeView(t, do(t, h, req), 202); w.Status != provider.StatusCancelled || version() != 3 {
		t.Fatalf("replay of a cancelled provider: status %s, version %d", w.Status, version())
	}
}

// TestRequesterClaims: the name and email claims are kept on the provider
// (for the consent email and the outcome email), an invalid email is dropped,
// and neither the email nor the ARN is shown in the response.
func TestRequesterClaims(t *testing.T) {
	withClaims := func(extra map[string]string) map[string]string {
		c := apitest.Admin("acct-eligible")
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	tests := []struct {
		name                string
		claims              map[string]string
		wantName, wantEmail string
	}{
		{"name and email", withClaims(map[string]string{"name": " Dana Admin ", "email": "dana@eligible.example"}), "Dana Admin", "dana@eligible.example"},
		{"no claims", withClaims(nil), "", ""},
		{"email with a display name", withClaims(map[string]string{"name": "Dana", "email": "Dana <dana@eligible.example>"}), "Dana", ""},
		{"email with CR/LF", withClaims(map[string]string{"email": "dana@eligible.example\r\nBcc: x@evil.example"}), "", ""},
		{"name with control characters", withClaims(map[string]string{"name": "Dana\r\nBcc: x@evil.example", "email": "dana@eligible.example"}), "", "dana@eligible.example"},
		{"long name is cut", withClaims(map[string]string{"name": strings.Repeat("é", 150)}), strings.Repeat("é", api.MaxCallerNameLen), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			resp := do(t, newHandler(st), newRequest(tt.claims, createBody(t, nil)))
			v := decodeView(t, resp, 202)
			stored := st.stored("acct-eligible", v.ID)
			if stored.RequesterName != tt.wantName || stored.RequesterEmail != tt.wantEmail {
				t.Fatalf("requester %q <%s>, want %q <%s>", stored.RequesterName, stored.RequesterEmail, tt.wantName, tt.wantEmail)
			}
			if v.RequesterName != tt.wantName {
				t.Errorf("response requesterName %q", v.RequesterName)
			}
			if strings.Contains(resp.Body, "dana@") || strings.Contains(resp.Body, "arn:") {
				t.Errorf("response shows the requester's email or the ARN: %s", resp.Body)
			}
		})
	}
}
