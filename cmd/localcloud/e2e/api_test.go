package e2e

// End-to-end tests of the UI API (the routes of the README's API table)
// through the local cloud's API Gateway emulation and the real function
// binaries: exact statuses, error codes, the error body shape and
// X-Request-Id on every answer.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/partnercloud/azure/cmd/localcloud/internal/cloud"
	"github.com/partnercloud/azure/cmd/localcloud/internal/jwtissuer"
	"github.com/partnercloud/azure/shared/workflow"
)

const apiContact = "cloudintegration@partner.example"

// apiSuffix is a random suffix that keeps names and account ids unique across
// tests and runs sharing a cloud.
func apiSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return time.Now().Format("150405") + "-" + hex.EncodeToString(b[:])
}

// apiAccount are the eligibility attributes PUT /accounts/{id} takes.
type apiAccount struct {
	Name             string `json:"name,omitempty"`
	Billable         bool   `json:"billable"`
	Reseller         bool   `json:"reseller"`
	ResellerCustomer bool   `json:"resellerCustomer"`
	USOffice         bool   `json:"usOffice"`
	Demo             bool   `json:"demo"`
	Internal         bool   `json:"internal"`
}

func eligibleAPIAccount(name string) apiAccount {
	return apiAccount{Name: name, Billable: true, USOffice: true}
}

// operatorToken is a token with the operator role (of an unrelated account).
func (e *env) operatorToken(t *testing.T) string {
	return e.token(t, "acct-e2e-operators", "operator")
}

// putAccount writes an account record through the API as an operator.
func (e *env) putAccount(t *testing.T, id string, a apiAccount) {
	t.Helper()
	r := e.call(t, "PUT", "/accounts/"+id, e.operatorToken(t), a)
	wantAPIOK(t, r, 200)
	if r.json["accountId"] != id {
		t.Fatalf("PUT /accounts/%s answered %s", id, r.raw)
	}
}

// freshAccount makes a new eligible account and returns its id.
func (e *env) freshAccount(t *testing.T) string {
	t.Helper()
	id := "acct-e2e-" + apiSuffix()
	e.putAccount(t, id, eligibleAPIAccount("E2E Org "+id))
	return id
}

// cancelLater cancels the provider when the test ends, so that migrations
// left waiting for consent do not keep sending reminders.
func (e *env) cancelLater(t *testing.T, adminToken, id string) {
	t.Cleanup(func() {
		req, _ := http.NewRequest("POST", e.api+"/providers/"+id+"/cancel", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		if resp, err := e.http.Do(req); err == nil {
			resp.Body.Close()
		}
	})
}

// signedToken signs a token with the local cloud's key (read from its state
// directory), for claims the harness's token helper cannot make.
func (e *env) signedToken(t *testing.T, c jwtissuer.Claims) string {
	t.Helper()
	iss, err := jwtissuer.Load(filepath.Join(e.c.StateDir(), cloud.KeyFile))
	if err != nil {
		t.Fatalf("the local cloud's JWT key: %v", err)
	}
	tok, err := iss.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// wantAPIOK checks a successful answer: its status, X-Request-Id and JSON body.
func wantAPIOK(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	if r.header.Get("X-Request-Id") == "" {
		t.Errorf("no X-Request-Id on a %d answer", r.status)
	}
	if r.json == nil {
		t.Fatalf("%d answer is not a JSON object (Content-Type %q): %s", r.status, r.header.Get("Content-Type"), r.raw)
	}
}

// apiErrBody is the error body of every error answer: {"error":{...}}.
type apiErrBody struct {
	Code      string           `json:"code"`
	Message   string           `json:"message"`
	RequestID string           `json:"requestId"`
	Details   []map[string]any `json:"details"`
	Reasons   []string         `json:"reasons"`
	Contact   string           `json:"contact"`
}

// wantAPIError checks an error answer: status, code, X-Request-Id, and the
// body {"error":{"code","message","requestId","details"}} with nothing else
// at the top level and no internal text.
func wantAPIError(t *testing.T, r response, status int, code string) apiErrBody {
	t.Helper()
	if r.status != status || r.errorCode() != code {
		t.Fatalf("got %d %q, want %d %q: %s", r.status, r.errorCode(), status, code, r.raw)
	}
	reqID := r.header.Get("X-Request-Id")
	if reqID == "" {
		t.Errorf("no X-Request-Id on a %d answer", r.status)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type %q", ct)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(r.raw, &top); err != nil || len(top) != 1 || top["error"] == nil {
		t.Fatalf("error body is not {\"error\": {...}}: %s", r.raw)
	}
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(top["error"], &fields)
	for _, k := range []string{"code", "message", "requestId", "details"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("error body lacks %q: %s", k, r.raw)
		}
	}
	var e apiErrBody
	if err := json.Unmarshal(top["error"], &e); err != nil {
		t.Fatalf("error body: %v: %s", err, r.raw)
	}
	if e.Details == nil {
		t.Errorf("details is not an array: %s", r.raw)
	}
	if e.Message == "" {
		t.Errorf("empty message: %s", r.raw)
	}
	if e.RequestID == "" || e.RequestID != reqID {
		t.Errorf("requestId %q, X-Request-Id %q", e.RequestID, reqID)
	}
	for _, leak := range []string{"goroutine", ".go:", "panic", "dynamodb", "DynamoDB", "arn:aws"} {
		if strings.Contains(string(r.raw), leak) {
			t.Errorf("error body leaks internal text %q: %s", leak, r.raw)
		}
	}
	return e
}

// hasDetail reports whether the error names field with code.
func (e apiErrBody) hasDetail(field, code string) bool {
	for _, d := range e.Details {
		f, _ := d["field"].(string) // absent when the problem is not one field's
		if f == field && d["code"] == code {
			return true
		}
	}
	return false
}

func (e apiErrBody) detailCodes() []string {
	out := make([]string, 0, len(e.Details))
	for _, d := range e.Details {
		s, _ := d["code"].(string)
		out = append(out, s)
	}
	return out
}

// apiListed is a provider as GET /providers lists it.
type apiListed struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

// listAll follows the nextCursor chain of GET /providers.
func (e *env) listAll(t *testing.T, token string, limit int) [][]apiListed {
	t.Helper()
	var pages [][]apiListed
	cursor := ""
	for i := 0; i < 100; i++ {
		path := fmt.Sprintf("/providers?limit=%d", limit)
		if cursor != "" {
			path += "&cursor=" + apiQueryEscape(cursor)
		}
		r := e.call(t, "GET", path, token, nil)
		wantAPIOK(t, r, 200)
		var page struct {
			Providers  []apiListed `json:"providers"`
			NextCursor string      `json:"nextCursor"`
		}
		if err := json.Unmarshal(r.raw, &page); err != nil {
			t.Fatal(err)
		}
		if page.Providers == nil {
			t.Fatalf("providers is not an array: %s", r.raw)
		}
		pages = append(pages, page.Providers)
		if page.NextCursor == "" {
			return pages
		}
		cursor = page.NextCursor
	}
	t.Fatal("the cursor chain does not end")
	return nil
}

func apiQueryEscape(s string) string {
	r := strings.NewReplacer("%", "%25", "+", "%2B", "&", "%26", "=", "%3D", "#", "%23", " ", "%20", "/", "%2F")
	return r.Replace(s)
}

func apiNames(ps []apiListed) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

// TestAPIProviderOptions: GET /provider-options?type=azure.
func TestAPIProviderOptions(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	admin := e.token(t, "acct-eligible", "admin")
	member := e.token(t, "acct-eligible")
	type option struct {
		ID             string `json:"id"`
		Label          string `json:"label"`
		Description    string `json:"description"`
		CloudOptimized bool   `json:"cloudOptimized"`
	}
	tests := []struct {
		name   string
		path   string
		token  string
		status int
		code   string
		want   map[string]bool // option id → cloudOptimized
	}{
		{"admin", "/provider-options?type=azure", admin, 200, "", map[string]bool{"existing": false, "migrate": true, "new": true}},
		{"member", "/provider-options?type=azure", member, 200, "", map[string]bool{"existing": false}},
		{"no type", "/provider-options", admin, 400, "invalid_request", nil},
		{"other type", "/provider-options?type=aws", admin, 400, "invalid_request", nil},
		{"empty type", "/provider-options?type=", admin, 400, "invalid_request", nil},
		{"upper-case type", "/provider-options?type=AZURE", admin, 400, "invalid_request", nil},
		{"no token", "/provider-options?type=azure", "", 401, "unauthenticated", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call(t, "GET", tt.path, tt.token, nil)
			if tt.code != "" {
				er := wantAPIError(t, r, tt.status, tt.code)
				if tt.status == 400 && !er.hasDetail("type", "invalid") {
					t.Errorf("no detail for the type parameter: %s", r.raw)
				}
				return
			}
			wantAPIOK(t, r, tt.status)
			var body struct {
				Type    string   `json:"type"`
				Options []option `json:"options"`
			}
			if err := json.Unmarshal(r.raw, &body); err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, o := range body.Options {
				got[o.ID] = o.CloudOptimized
				if o.Label == "" || o.Description == "" {
					t.Errorf("option %s lacks a label or description: %s", o.ID, r.raw)
				}
			}
			if body.Type != "azure" || len(body.Options) != len(tt.want) || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("options %s, want %v", r.raw, tt.want)
			}
		})
	}
}

type apiTerms struct {
	Document   string  `json:"document"`
	Version    string  `json:"version"`
	URL        string  `json:"url"`
	Accepted   bool    `json:"accepted"`
	AcceptedAt *string `json:"acceptedAt"`
	AcceptedBy string  `json:"acceptedBy"`
}

func (e *env) getTerms(t *testing.T, token string) []apiTerms {
	t.Helper()
	r := e.call(t, "GET", "/terms", token, nil)
	wantAPIOK(t, r, 200)
	var body struct {
		Terms []apiTerms `json:"terms"`
	}
	if err := json.Unmarshal(r.raw, &body); err != nil {
		t.Fatal(err)
	}
	return body.Terms
}

// TestAPITerms: GET /terms before and after a creation that accepted the
// terms in its request, for a fresh account; and unauthenticated.
func TestAPITerms(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	acct := e.freshAccount(t)
	admin := e.token(t, acct, "admin")
	member := e.token(t, acct)

	before := e.getTerms(t, member)
	if len(before) != 2 || before[0].Document != "partner" || before[1].Document != "microsoft" {
		t.Fatalf("terms: %+v", before)
	}
	for _, tv := range before {
		if tv.Version != "2017-08" || !strings.HasPrefix(tv.URL, "https://") || tv.Accepted || tv.AcceptedAt != nil || tv.AcceptedBy != "" {
			t.Errorf("fresh account's terms: %+v", tv)
		}
	}

	id := e.create(t, admin, migrate("Terms "+apiSuffix(), ownedSub))
	e.cancelLater(t, admin, id)

	after := e.getTerms(t, member) // the account's acceptance, seen by any member
	if len(after) != 2 {
		t.Fatalf("terms: %+v", after)
	}
	for _, tv := range after {
		if !tv.Accepted || tv.AcceptedAt == nil || tv.AcceptedBy != "local-user@"+acct || tv.Version != "2017-08" {
			t.Errorf("terms after acceptance: %+v", tv)
		}
	}
	// Another fresh account is not affected.
	other := e.freshAccount(t)
	for _, tv := range e.getTerms(t, e.token(t, other)) {
		if tv.Accepted {
			t.Errorf("another account's acceptance leaked: %+v", tv)
		}
	}
	wantAPIError(t, e.call(t, "GET", "/terms", "", nil), 401, "unauthenticated")
}

// TestAPICreateIneligible: each scenario account fails exactly its rule; an
// account failing every rule gets every reason; the contact address is there.
func TestAPICreateIneligible(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	all := "acct-e2e-all-" + apiSuffix()
	e.putAccount(t, all, apiAccount{Billable: false, Reseller: true, ResellerCustomer: true, USOffice: false, Demo: true, Internal: true})
	some := "acct-e2e-some-" + apiSuffix()
	e.putAccount(t, some, apiAccount{Billable: true, Reseller: true, USOffice: false, Internal: true})
	unknown := "acct-e2e-unknown-" + apiSuffix() // no record at all

	tests := []struct {
		account string
		reasons []string
	}{
		{"acct-not-billable", []string{"not_billable"}},
		{"acct-reseller", []string{"reseller"}},
		{"acct-reseller-customer", []string{"reseller_customer"}},
		{"acct-no-us-office", []string{"no_us_office"}},
		{"acct-demo", []string{"demo_account"}},
		{"acct-internal", []string{"internal_account"}},
		{all, []string{"not_billable", "reseller", "reseller_customer", "no_us_office", "demo_account", "internal_account"}},
		{some, []string{"reseller", "no_us_office", "internal_account"}},
		{unknown, []string{"not_billable"}},
	}
	for _, tt := range tests {
		t.Run(tt.account, func(t *testing.T) {
			t.Parallel()
			tok := e.token(t, tt.account, "admin")
			name := "Ineligible " + apiSuffix()
			r := e.call(t, "POST", "/providers", tok, migrate(name, ownedSub))
			er := wantAPIError(t, r, 422, "ineligible")
			if got := er.detailCodes(); !slices.Equal(got, tt.reasons) {
				t.Errorf("details codes %v, want %v", got, tt.reasons)
			}
			if !slices.Equal(er.Reasons, tt.reasons) {
				t.Errorf("error.reasons %v, want %v", er.Reasons, tt.reasons)
			}
			if er.Contact != apiContact || !strings.Contains(er.Message, apiContact) {
				t.Errorf("contact %q, message %q", er.Contact, er.Message)
			}
			for _, d := range er.Details {
				if m, _ := d["message"].(string); m == "" {
					t.Errorf("reason without a message: %v", d)
				}
			}
			// Nothing was created.
			lr := e.call(t, "GET", "/providers", tok, nil)
			wantAPIOK(t, lr, 200)
			if strings.Contains(string(lr.raw), name) {
				t.Errorf("an ineligible request created a provider: %s", lr.raw)
			}
		})
	}
	t.Run("new option", func(t *testing.T) {
		t.Parallel()
		body := newCustomerBody("New "+apiSuffix(), "ineligiblenew")
		er := wantAPIError(t, e.call(t, "POST", "/providers", e.token(t, "acct-demo", "admin"), body), 422, "ineligible")
		if !slices.Equal(er.Reasons, []string{"demo_account"}) {
			t.Errorf("reasons %v", er.Reasons)
		}
	})
}

// TestAPICreateAuth: authentication (401) and the administrator rule (403).
func TestAPICreateAuth(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	acct := e.freshAccount(t)
	valid := e.token(t, acct, "admin")
	parts := strings.Split(valid, ".")
	sig := []byte(parts[2])
	if sig[5] == 'A' {
		sig[5] = 'B'
	} else {
		sig[5] = 'A'
	}
	tampered := parts[0] + "." + parts[1] + "." + string(sig)
	// A payload swapped for another account's, signature kept.
	other := strings.Split(e.token(t, "acct-eligible", "admin"), ".")
	swapped := parts[0] + "." + other[1] + "." + parts[2]
	claims := cloud.UserClaims(acct, []string{"admin"})
	claims.TTL = -time.Minute
	expired := e.signedToken(t, claims)
	noAccount := e.signedToken(t, jwtissuer.Claims{Subject: "someone", Roles: []string{"admin"}})

	body := migrate("Auth "+apiSuffix(), ownedSub)
	tests := []struct {
		name    string
		headers []string
		token   string
		status  int
		code    string
	}{
		{"no token", nil, "", 401, "unauthenticated"},
		{"garbage token", nil, "garbage", 401, "unauthenticated"},
		{"tampered signature", nil, tampered, 401, "unauthenticated"},
		{"swapped payload", nil, swapped, 401, "unauthenticated"},
		{"expired", nil, expired, 401, "unauthenticated"},
		{"not bearer", []string{"Authorization", "Basic dXNlcjpwYXNz"}, "", 401, "unauthenticated"},
		{"no account_id claim", nil, noAccount, 401, "unauthenticated"},
		{"member migrate", nil, e.token(t, acct), 403, "admin_required"},
		{"operator is not admin", nil, e.token(t, acct, "operator"), 403, "admin_required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call(t, "POST", "/providers", tt.token, body, tt.headers...)
			wantAPIError(t, r, tt.status, tt.code)
			if tt.status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer (%q)", r.header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("member new", func(t *testing.T) {
		b := newCustomerBody("New "+apiSuffix(), "membernew")
		wantAPIError(t, e.call(t, "POST", "/providers", e.token(t, acct), b), 403, "admin_required")
	})
	// Nothing was created by any of them.
	lr := e.call(t, "GET", "/providers", valid, nil)
	wantAPIOK(t, lr, 200)
	if ps, _ := lr.json["providers"].([]any); len(ps) != 0 {
		t.Errorf("refused requests created providers: %s", lr.raw)
	}
}

// TestAPICreateTerms: the terms rules (428 until both are accepted) for a fresh account.
func TestAPICreateTerms(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	acct := e.freshAccount(t)
	admin := e.token(t, acct, "admin")
	without := func(name string) map[string]any {
		b := migrate(name, ownedSub)
		delete(b, "acceptedTerms")
		return b
	}
	withTerms := func(name, partner, microsoft string) map[string]any {
		b := migrate(name, ownedSub)
		b["acceptedTerms"] = map[string]string{"partner": partner, "microsoft": microsoft}
		return b
	}
	onlyPartner := migrate("x", ownedSub)
	onlyPartner["acceptedTerms"] = map[string]string{"partner": "2017-08"}

	t.Run("missing", func(t *testing.T) {
		er := wantAPIError(t, e.call(t, "POST", "/providers", admin, without("Terms missing "+apiSuffix())), 428, "terms_not_accepted")
		if !er.hasDetail("acceptedTerms.partner", "not_accepted") || !er.hasDetail("acceptedTerms.microsoft", "not_accepted") {
			t.Errorf("details: %+v", er.Details)
		}
	})
	t.Run("one document only", func(t *testing.T) {
		onlyPartner["name"] = "Terms partner only " + apiSuffix()
		er := wantAPIError(t, e.call(t, "POST", "/providers", admin, onlyPartner), 428, "terms_not_accepted")
		if !er.hasDetail("acceptedTerms.microsoft", "not_accepted") || er.hasDetail("acceptedTerms.partner", "not_accepted") {
			t.Errorf("details: %+v", er.Details)
		}
	})
	for _, tt := range []struct{ name, partner, microsoft string }{
		{"both stale", "2016-01", "2016-01"},
		{"partner stale", "2016-01", "2017-08"},
		{"microsoft stale", "2017-08", "2017-07"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			er := wantAPIError(t, e.call(t, "POST", "/providers", admin, withTerms("Terms stale "+apiSuffix(), tt.partner, tt.microsoft)), 428, "terms_outdated")
			if (tt.partner != "2017-08") != er.hasDetail("acceptedTerms.partner", "outdated") ||
				(tt.microsoft != "2017-08") != er.hasDetail("acceptedTerms.microsoft", "outdated") {
				t.Errorf("details: %+v", er.Details)
			}
		})
	}
	// None of the refusals recorded an acceptance.
	for _, tv := range e.getTerms(t, admin) {
		if tv.Accepted {
			t.Fatalf("a refused request recorded acceptance: %+v", tv)
		}
	}
	first := e.create(t, admin, migrate("Terms accepted "+apiSuffix(), ownedSub))
	e.cancelLater(t, admin, first)
	t.Run("accepted earlier, omitted now", func(t *testing.T) {
		r := e.call(t, "POST", "/providers", admin, without("Terms omitted "+apiSuffix()))
		wantAPIOK(t, r, 202)
		e.cancelLater(t, admin, r.json["id"].(string))
	})
	t.Run("accepted earlier, stale now", func(t *testing.T) {
		wantAPIError(t, e.call(t, "POST", "/providers", admin, withTerms("Terms stale later "+apiSuffix(), "2016-01", "2017-08")), 428, "terms_outdated")
	})
}

// TestAPICreateValidation: invalid bodies are 400 invalid_request naming the
// field; an oversized body is 413.
func TestAPICreateValidation(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	acct := e.freshAccount(t)
	admin := e.token(t, acct, "admin")
	with := func(k string, v any) map[string]any {
		b := migrate("Validation "+apiSuffix(), ownedSub)
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	valid, _ := json.Marshal(migrate("Validation "+apiSuffix(), ownedSub))
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("30000000-0000-4000-8000-%012d", i)
		}
		return out
	}
	longEmail := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 180) + ".example" // 253
	longEmail = strings.Repeat("c", 255-len(longEmail)) + longEmail
	type detail struct{ field, code string }
	tests := []struct {
		name    string
		body    any
		headers []string
		status  int
		code    string
		want    []detail // details that must be present
	}{
		{"empty name", with("name", ""), nil, 400, "invalid_request", []detail{{"name", "invalid"}}},
		{"blank name", with("name", "   "), nil, 400, "invalid_request", []detail{{"name", "invalid"}}},
		{"missing name", with("name", nil), nil, 400, "invalid_request", []detail{{"name", "invalid"}}},
		{"101-character name", with("name", strings.Repeat("n", 101)), nil, 400, "invalid_request", []detail{{"name", "invalid"}}},
		{"101 runes name", with("name", strings.Repeat("é", 101)), nil, 400, "invalid_request", []detail{{"name", "invalid"}}},
		{"name with leading space", with("name", " leading"), nil, 400, "invalid_request", []detail{{"name", "invalid"}}},
		{"control character in name", with("name", "bell\u0007name"), nil, 400, "invalid_request", []detail{{"name", "invalid"}}},
		{"newline in name", with("name", "two\nlines"), nil, 400, "invalid_request", []detail{{"name", "invalid"}}},
		{"NUL in name", with("name", "nul\u0000name"), nil, 400, "invalid_request", []detail{{"name", "invalid"}}},
		{"email with display name", with("azureAdminEmail", "Admin <admin@contoso.example>"), nil, 400, "invalid_request", []detail{{"azureAdminEmail", "invalid"}}},
		{"email with CRLF", with("azureAdminEmail", "admin@contoso.example\r\nBcc: x@evil.example"), nil, 400, "invalid_request", []detail{{"azureAdminEmail", "invalid"}}},
		{"two emails", with("azureAdminEmail", "a@contoso.example,b@contoso.example"), nil, 400, "invalid_request", []detail{{"azureAdminEmail", "invalid"}}},
		{"255-character email", with("azureAdminEmail", longEmail), nil, 400, "invalid_request", []detail{{"azureAdminEmail", "invalid"}}},
		{"email without domain", with("azureAdminEmail", "admin"), nil, 400, "invalid_request", []detail{{"azureAdminEmail", "invalid"}}},
		{"missing email", with("azureAdminEmail", nil), nil, 400, "invalid_request", []detail{{"azureAdminEmail", "invalid"}}},
		{"bad GUID", with("subscriptionIds", []string{"not-a-guid"}), nil, 400, "invalid_request", []detail{{"subscriptionIds[0]", "invalid"}}},
		{"braced GUID", with("subscriptionIds", []string{ownedSub, "{" + missingSub + "}"}), nil, 400, "invalid_request", []detail{{"subscriptionIds[1]", "invalid"}}},
		{"GUID without dashes", with("subscriptionIds", []string{strings.ReplaceAll(ownedSub, "-", "")}), nil, 400, "invalid_request", []detail{{"subscriptionIds[0]", "invalid"}}},
		{"duplicate GUID", with("subscriptionIds", []string{ownedSub, missingSub, ownedSub}), nil, 400, "invalid_request", []detail{{"subscriptionIds[2]", "duplicate"}}},
		{"duplicate GUID in another case", with("subscriptionIds", []string{"aaaaaaaa-0000-4000-8000-000000000001", "AAAAAAAA-0000-4000-8000-000000000001"}), nil, 400, "invalid_request", []detail{{"subscriptionIds[1]", "duplicate"}}},
		{"101 subscription ids", with("subscriptionIds", ids(101)), nil, 400, "invalid_request", []detail{{"subscriptionIds", "too_many"}}},
		{"wrong type", with("type", "aws"), nil, 400, "invalid_request", []detail{{"type", "invalid"}}},
		{"unknown option", with("option", "steal"), nil, 400, "invalid_request", []detail{{"option", "invalid"}}},
		{"credentials with migrate", with("tenantId", contosoTenant), nil, 400, "invalid_request", []detail{{"tenantId", "not_allowed"}}},
		{"unknown field", with("billable", true), nil, 400, "invalid_request", []detail{{"billable", "unknown_field"}}},
		{"name is a number", with("name", 42), nil, 400, "invalid_request", []detail{{"name", "wrong_type"}}},
		{"subscriptionIds is a string", with("subscriptionIds", ownedSub), nil, 400, "invalid_request", []detail{{"subscriptionIds", "wrong_type"}}},
		{"acceptedTerms is a bool", with("acceptedTerms", true), nil, 400, "invalid_request", []detail{{"acceptedTerms", "wrong_type"}}},
		{"subscription id is a number", with("subscriptionIds", []any{1}), nil, 400, "invalid_request", []detail{{"subscriptionIds", "wrong_type"}}},
		{"trailing object", string(valid) + `{}`, nil, 400, "invalid_request", nil},
		{"trailing garbage", string(valid) + `x`, nil, 400, "invalid_request", nil},
		{"malformed JSON", `{"name": "x",`, nil, 400, "invalid_request", []detail{{"", "malformed_json"}}},
		{"array body", `[]`, nil, 400, "invalid_request", nil},
		{"empty body", ``, nil, 400, "invalid_request", nil},
		{"invalid UTF-8", []byte("{\"name\": \"\xff\xfe\"}"), nil, 400, "invalid_request", nil},
		{"Idempotency-Key too long", migrate("Validation "+apiSuffix(), ownedSub), []string{"Idempotency-Key", strings.Repeat("k", 129)}, 400, "invalid_request", []detail{{"Idempotency-Key", "invalid"}}},
		{"body over 64 KiB", `{"name":"` + strings.Repeat("x", 64<<10) + `"}`, nil, 413, "body_too_large", nil},
		{"body over 64 KiB, valid JSON", with("subscriptionIds", ids(2000)), nil, 413, "body_too_large", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := e.call(t, "POST", "/providers", admin, tt.body, tt.headers...)
			er := wantAPIError(t, r, tt.status, tt.code)
			for _, d := range tt.want {
				if !er.hasDetail(d.field, d.code) {
					t.Errorf("no detail {field %q, code %q}: %s", d.field, d.code, r.raw)
				}
			}
			for _, d := range er.Details {
				if m, _ := d["message"].(string); m == "" {
					t.Errorf("detail without a message: %v", d)
				}
			}
			if strings.Contains(string(r.raw), "evil.example") || strings.Contains(string(r.raw), "bell") {
				t.Errorf("the answer echoes the input: %s", r.raw)
			}
		})
	}
	t.Run("several fields at once", func(t *testing.T) {
		t.Parallel()
		b := migrate("", "nope", "nope")
		b["azureAdminEmail"] = "Admin <a@b.example>"
		er := wantAPIError(t, e.call(t, "POST", "/providers", admin, b), 400, "invalid_request")
		for _, d := range []detail{{"name", "invalid"}, {"azureAdminEmail", "invalid"}, {"subscriptionIds[0]", "invalid"}, {"subscriptionIds[1]", "invalid"}} {
			if !er.hasDetail(d.field, d.code) {
				t.Errorf("no detail %v: %+v", d, er.Details)
			}
		}
	})
	// Nothing invalid was created; the boundaries are accepted.
	t.Run("boundaries accepted", func(t *testing.T) {
		t.Parallel()
		name := strings.Repeat("b", 100-len(apiSuffix())) + apiSuffix()
		r := e.call(t, "POST", "/providers", admin, migrate(name, ids(100)...))
		wantAPIOK(t, r, 202)
		e.cancelLater(t, admin, r.json["id"].(string))
		if r.json["name"] != name || len(r.json["subscriptions"].([]any)) != 100 {
			t.Errorf("created: %s", r.raw)
		}
		upper := strings.ToUpper("aaaaaaaa-0000-4000-8000-00000000abcd")
		r = e.call(t, "POST", "/providers", admin, migrate("Upper GUID "+apiSuffix(), upper))
		wantAPIOK(t, r, 202)
		e.cancelLater(t, admin, r.json["id"].(string))
		if subs := r.json["subscriptions"].([]any); subs[0].(map[string]any)["id"] != strings.ToLower(upper) {
			t.Errorf("subscription id not lower-cased: %s", r.raw)
		}
	})
}

// TestAPICreateConflicts: a name taken (case-insensitively), and the
// Idempotency-Key replay and reuse.
func TestAPICreateConflicts(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	acct := e.freshAccount(t)
	admin := e.token(t, acct, "admin")

	name := "Conflict " + apiSuffix()
	r := e.call(t, "POST", "/providers", admin, migrate(name, ownedSub))
	wantAPIOK(t, r, 202)
	first := r.json["id"].(string)
	e.cancelLater(t, admin, first)
	if r.header.Get("Location") != "/providers/"+first || r.json["status"] != "pending_consent" {
		t.Errorf("created: Location %q, %s", r.header.Get("Location"), r.raw)
	}
	for _, n := range []string{name, strings.ToUpper(name), strings.ToLower(name)} {
		wantAPIError(t, e.call(t, "POST", "/providers", admin, migrate(n, missingSub)), 409, "name_taken")
	}
	// The same name in another account is fine.
	other := e.freshAccount(t)
	otherAdmin := e.token(t, other, "admin")
	oid := e.create(t, otherAdmin, migrate(name, ownedSub))
	e.cancelLater(t, otherAdmin, oid)

	key := "idem-" + apiSuffix()
	body := migrate("Idempotent "+apiSuffix(), ownedSub)
	r1 := e.call(t, "POST", "/providers", admin, body, "Idempotency-Key", key)
	wantAPIOK(t, r1, 202)
	id := r1.json["id"].(string)
	e.cancelLater(t, admin, id)
	r2 := e.call(t, "POST", "/providers", admin, body, "Idempotency-Key", key)
	wantAPIOK(t, r2, 202)
	if r2.json["id"] != id || r2.json["name"] != body["name"] {
		t.Errorf("replay answered %s, want id %s", r2.raw, id)
	}
	changed := migrate(body["name"].(string), ownedSub, missingSub)
	wantAPIError(t, e.call(t, "POST", "/providers", admin, changed, "Idempotency-Key", key), 409, "idempotency_key_reused")
	renamed := migrate("Idempotent other "+apiSuffix(), ownedSub)
	wantAPIError(t, e.call(t, "POST", "/providers", admin, renamed, "Idempotency-Key", key), 409, "idempotency_key_reused")
	// The same key in another account is another request.
	r3 := e.call(t, "POST", "/providers", otherAdmin, body, "Idempotency-Key", key)
	wantAPIOK(t, r3, 202)
	e.cancelLater(t, otherAdmin, r3.json["id"].(string))
	if r3.json["id"] == id {
		t.Errorf("another account's key replayed this account's provider")
	}
	// Without the key, the same body is a name conflict.
	wantAPIError(t, e.call(t, "POST", "/providers", admin, body), 409, "name_taken")

	pages := e.listAll(t, admin, 100)
	if len(pages) != 1 || len(pages[0]) != 2 {
		t.Fatalf("the account lists %d pages, %+v; want its 2 providers", len(pages), pages)
	}
}

// tryCall is call for goroutines: it returns transport errors instead of
// failing the test.
func (e *env) tryCall(method, path, token string, body any, headers ...string) (response, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return response{}, err
	}
	req, err := http.NewRequest(method, e.api+path, bytes.NewReader(raw))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	r := response{status: resp.StatusCode, header: resp.Header, raw: b}
	_ = json.Unmarshal(b, &r.json)
	return r, nil
}

// TestAPICreateConcurrentSameName: 50 simultaneous creations of one name in
// one account make exactly one provider.
func TestAPICreateConcurrentSameName(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	acct := e.freshAccount(t)
	admin := e.token(t, acct, "admin")
	// Accept the terms first, so the 50 requests race on the name only.
	warm := e.create(t, admin, migrate("Warm-up "+apiSuffix(), ownedSub))
	e.cancelLater(t, admin, warm)

	name := "Concurrent " + apiSuffix()
	const n = 50
	results := make([]response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			// Alternate the name's case: the uniqueness is case-insensitive.
			nm := name
			if i%2 == 1 {
				nm = strings.ToUpper(name)
			}
			results[i], errs[i] = e.tryCall("POST", "/providers", admin, migrate(nm, ownedSub))
		}(i)
	}
	close(start)
	wg.Wait()
	created, taken := 0, 0
	var id string
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		switch {
		case r.status == 202:
			created++
			id, _ = r.json["id"].(string)
		case r.status == 409 && r.errorCode() == "name_taken":
			wantAPIError(t, r, 409, "name_taken")
			taken++
		default:
			t.Errorf("request %d: %d %s", i, r.status, r.raw)
		}
		if r.header.Get("X-Request-Id") == "" {
			t.Errorf("request %d: no X-Request-Id", i)
		}
	}
	if created != 1 || taken != n-1 {
		t.Fatalf("%d created, %d name_taken; want 1 and %d", created, taken, n-1)
	}
	e.cancelLater(t, admin, id)
	count := 0
	for _, page := range e.listAll(t, admin, 100) {
		for _, p := range page {
			if strings.EqualFold(p.Name, name) {
				count++
				if p.ID != id {
					t.Errorf("apiListed %s, created %s", p.ID, id)
				}
			}
		}
	}
	if count != 1 {
		t.Fatalf("GET /providers lists %d providers named %q, want 1", count, name)
	}
}

// TestAPICreateConcurrentSameKey: 20 simultaneous retries of one request
// with one Idempotency-Key all answer 202 with the one provider they made.
func TestAPICreateConcurrentSameKey(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	acct := e.freshAccount(t)
	admin := e.token(t, acct, "admin")
	warm := e.create(t, admin, migrate("Warm-up "+apiSuffix(), ownedSub))
	e.cancelLater(t, admin, warm)

	body := migrate("Same key "+apiSuffix(), ownedSub)
	key := "retry-" + apiSuffix()
	const n = 20
	results := make([]response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			results[i], errs[i] = e.tryCall("POST", "/providers", admin, body, "Idempotency-Key", key)
		}(i)
	}
	close(start)
	wg.Wait()
	ids := map[string]int{}
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if r.status != 202 || r.header.Get("X-Request-Id") == "" {
			t.Errorf("request %d: %d %s", i, r.status, r.raw)
			continue
		}
		id, _ := r.json["id"].(string)
		ids[id]++
	}
	if len(ids) != 1 {
		t.Fatalf("the retries answered providers %v, want one", ids)
	}
	for id := range ids {
		e.cancelLater(t, admin, id)
	}
	count := 0
	for _, page := range e.listAll(t, admin, 100) {
		for _, p := range page {
			if p.Name == body["name"] {
				count++
			}
		}
	}
	if count != 1 {
		t.Fatalf("GET /providers lists %d providers named %q, want 1", count, body["name"])
	}
}

// TestAPIListAndGetProviders: pagination newest first, the cursor chain, bad
// page parameters, and isolation between accounts.
func TestAPIListAndGetProviders(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	acct := e.freshAccount(t)
	admin := e.token(t, acct, "admin")
	member := e.token(t, acct)

	byID := map[string]string{}
	var names []string
	for i := 1; i <= 5; i++ {
		name := fmt.Sprintf("List %d %s", i, apiSuffix())
		id := e.create(t, admin, migrate(name, ownedSub))
		e.cancelLater(t, admin, id)
		byID[id] = name
		names = append(names, name)
		time.Sleep(5 * time.Millisecond)
	}
	want := slices.Clone(names)
	slices.Reverse(want) // newest first

	pages := e.listAll(t, member, 2)
	var got []string
	sizes := []int{}
	for _, p := range pages {
		sizes = append(sizes, len(p))
		got = append(got, apiNames(p)...)
	}
	if !slices.Equal(got, want) || !slices.Equal(sizes, []int{2, 2, 1}) {
		t.Fatalf("pages %v of %v, want [2 2 1] of %v", sizes, got, want)
	}
	seen := map[string]bool{}
	for _, p := range pages {
		for _, pv := range p {
			if seen[pv.ID] {
				t.Errorf("%s apiListed twice", pv.ID)
			}
			seen[pv.ID] = true
			if pv.Status == "" {
				t.Errorf("apiListed provider without status: %+v", pv)
			}
		}
	}
	// The default page holds all five, newest first.
	all := e.listAll(t, member, 20)
	if len(all) != 1 || !slices.Equal(apiNames(all[0]), want) {
		t.Errorf("limit=20: %d pages %v", len(all), all)
	}
	r := e.call(t, "GET", "/providers", member, nil)
	wantAPIOK(t, r, 200)
	if _, ok := r.json["nextCursor"]; ok || len(r.json["providers"].([]any)) != 5 {
		t.Errorf("default page: %s", r.raw)
	}

	// Another account's provider.
	other := e.freshAccount(t)
	otherAdmin := e.token(t, other, "admin")
	foreign := e.create(t, otherAdmin, migrate("Foreign "+apiSuffix(), ownedSub))
	e.cancelLater(t, otherAdmin, foreign)
	mine := names[0]
	var mineID string
	for id, n := range byID {
		if n == mine {
			mineID = id
		}
	}
	p := e.get(t, member, mineID)
	if p.ID != mineID || p.Status != "pending_consent" || len(p.Timeline) == 0 || p.NextStep == "" {
		t.Errorf("GET own provider: %+v", p)
	}

	bad := []struct {
		name, path string
		status     int
		code       string
		field      string
	}{
		{"limit 0", "/providers?limit=0", 400, "invalid_request", "limit"},
		{"limit 101", "/providers?limit=101", 400, "invalid_request", "limit"},
		{"limit -1", "/providers?limit=-1", 400, "invalid_request", "limit"},
		{"limit abc", "/providers?limit=abc", 400, "invalid_request", "limit"},
		{"limit empty", "/providers?limit=", 400, "invalid_request", "limit"},
		{"garbage cursor", "/providers?cursor=garbage", 400, "invalid_request", "cursor"},
		{"base64 garbage cursor", "/providers?cursor=eyJmb28iOiJiYXIifQ", 400, "invalid_request", "cursor"},
		{"huge cursor", "/providers?cursor=" + strings.Repeat("A", 2000), 400, "invalid_request", "cursor"},
		{"another account's provider", "/providers/" + foreign, 404, "not_found", ""},
		{"unknown id", "/providers/prv_01hzzzzzzzzzzzzzzzzzzzzzzz", 404, "not_found", ""},
		{"malformed id", "/providers/not-an-id", 404, "not_found", ""},
		{"upper-case id", "/providers/" + strings.ToUpper(mineID), 404, "not_found", ""},
		{"encoded traversal", "/providers/..%2F..%2Fterms", 404, "not_found", ""},
		{"dot-dot segment", "/providers/%2e%2e", 404, "not_found", ""},
		{"traversal into another account", "/providers/..%2F..%2FACCOUNT%23" + other + "%2FPROVIDER%23" + foreign, 404, "not_found", ""},
		{"NUL in id", "/providers/prv_%00", 404, "not_found", ""},
		{"no such route", "/providers/" + mineID + "/nothing", 404, "not_found", ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call(t, "GET", tt.path, member, nil)
			er := wantAPIError(t, r, tt.status, tt.code)
			if tt.field != "" && !er.hasDetail(tt.field, "invalid") {
				t.Errorf("no detail for %s: %s", tt.field, r.raw)
			}
			if strings.Contains(string(r.raw), foreign) && tt.code == "not_found" && !strings.HasPrefix(tt.name, "traversal") {
				t.Errorf("the answer names the foreign provider: %s", r.raw)
			}
		})
	}
	// The other account's list shows only its provider; this account's does not show it.
	for _, page := range e.listAll(t, member, 100) {
		for _, pv := range page {
			if pv.ID == foreign {
				t.Errorf("this account lists another account's provider")
			}
		}
	}
	op := e.listAll(t, otherAdmin, 100)
	if len(op) != 1 || len(op[0]) != 1 || op[0][0].ID != foreign {
		t.Errorf("the other account lists %+v", op)
	}
	// A cursor of one account used by another shows nothing of the first.
	r = e.call(t, "GET", "/providers?limit=2", member, nil)
	if cur, _ := r.json["nextCursor"].(string); cur != "" {
		r2 := e.call(t, "GET", "/providers?limit=2&cursor="+apiQueryEscape(cur), otherAdmin, nil)
		if r2.status == 200 {
			for _, id := range []string{mineID} {
				if strings.Contains(string(r2.raw), id) {
					t.Errorf("another account's cursor reveals providers: %s", r2.raw)
				}
			}
			wantAPIOK(t, r2, 200)
		} else {
			wantAPIError(t, r2, 400, "invalid_request")
		}
	}
	wantAPIError(t, e.call(t, "GET", "/providers", "", nil), 401, "unauthenticated")
	wantAPIError(t, e.call(t, "GET", "/providers/"+mineID, "", nil), 401, "unauthenticated")
}

// TestAPIPutAccount: the operator route and its effect on eligibility.
func TestAPIPutAccount(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	acct := "acct-e2e-put-" + apiSuffix()
	op := e.operatorToken(t)
	admin := e.token(t, acct, "admin")
	good := eligibleAPIAccount("Put Org")

	tests := []struct {
		name   string
		path   string
		token  string
		body   any
		status int
		code   string
		field  string
	}{
		{"no token", "/accounts/" + acct, "", good, 401, "unauthenticated", ""},
		{"admin is not operator", "/accounts/" + acct, admin, good, 403, "operator_required", ""},
		{"member", "/accounts/" + acct, e.token(t, acct), good, 403, "operator_required", ""},
		{"missing flags", "/accounts/" + acct, op, map[string]any{"billable": true}, 400, "invalid_request", "usOffice"},
		{"flag as string", "/accounts/" + acct, op, map[string]any{"billable": "yes", "reseller": false, "resellerCustomer": false, "usOffice": true, "demo": false, "internal": false}, 400, "invalid_request", "billable"},
		{"unknown field", "/accounts/" + acct, op, map[string]any{"billable": true, "reseller": false, "resellerCustomer": false, "usOffice": true, "demo": false, "internal": false, "admin": true}, 400, "invalid_request", "admin"},
		{"control character in name", "/accounts/" + acct, op, map[string]any{"name": "a\u0007b", "billable": true, "reseller": false, "resellerCustomer": false, "usOffice": true, "demo": false, "internal": false}, 400, "invalid_request", "name"},
		{"malformed JSON", "/accounts/" + acct, op, `{"billable":`, 400, "invalid_request", ""},
		{"empty body", "/accounts/" + acct, op, ``, 400, "invalid_request", ""},
		{"trailing data", "/accounts/" + acct, op, `{"billable":true,"reseller":false,"resellerCustomer":false,"usOffice":true,"demo":false,"internal":false} {}`, 400, "invalid_request", ""},
		{"'#' in account id", "/accounts/a%23b", op, good, 400, "invalid_request", "accountId"},
		{"body over 64 KiB", "/accounts/" + acct, op, `{"name":"` + strings.Repeat("x", 70000) + `"}`, 413, "body_too_large", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call(t, "PUT", tt.path, tt.token, tt.body)
			er := wantAPIError(t, r, tt.status, tt.code)
			if tt.field != "" {
				found := false
				for _, d := range er.Details {
					found = found || d["field"] == tt.field
				}
				if !found {
					t.Errorf("no detail for %s: %s", tt.field, r.raw)
				}
			}
		})
	}
	// None of the refused writes made the account eligible.
	name := "Put " + apiSuffix()
	er := wantAPIError(t, e.call(t, "POST", "/providers", admin, migrate(name, ownedSub)), 422, "ineligible")
	if !slices.Equal(er.Reasons, []string{"not_billable"}) {
		t.Fatalf("an account with no record: reasons %v", er.Reasons)
	}

	// Make it a demo account: the next POST says so.
	demo := good
	demo.Demo, demo.USOffice = true, false
	e.putAccount(t, acct, demo)
	er = wantAPIError(t, e.call(t, "POST", "/providers", admin, migrate(name, ownedSub)), 422, "ineligible")
	if !slices.Equal(er.Reasons, []string{"no_us_office", "demo_account"}) {
		t.Fatalf("after PUT demo: reasons %v", er.Reasons)
	}
	// Eligible: the next POST creates.
	r := e.call(t, "PUT", "/accounts/"+acct, op, good)
	wantAPIOK(t, r, 200)
	if r.json["billable"] != true || r.json["demo"] != false || r.json["name"] != "Put Org" || r.json["updatedBy"] == "" {
		t.Errorf("PUT answer: %s", r.raw)
	}
	r = e.call(t, "POST", "/providers", admin, migrate(name, ownedSub))
	wantAPIOK(t, r, 202)
	e.cancelLater(t, admin, r.json["id"].(string))
	// And back: ineligible again, whatever was accepted before.
	e.putAccount(t, acct, apiAccount{Billable: true, USOffice: true, Internal: true})
	er = wantAPIError(t, e.call(t, "POST", "/providers", admin, migrate("Put again "+apiSuffix(), ownedSub)), 422, "ineligible")
	if !slices.Equal(er.Reasons, []string{"internal_account"}) {
		t.Fatalf("after PUT internal: reasons %v", er.Reasons)
	}
}

// inviteMessages are the invitation and resent emails of a provider, in outbox order.
func (e *env) inviteMessages(t *testing.T, name string) (invites, resent []message) {
	t.Helper()
	for _, m := range e.messages(t) {
		if len(m.To) == 0 || m.To[0] != contosoAdmin || !strings.Contains(m.Subject, "approve moving") || !strings.Contains(m.Text, name) {
			continue
		}
		if strings.HasPrefix(m.Subject, "Resent:") {
			resent = append(resent, m)
		} else {
			invites = append(invites, m)
		}
	}
	return invites, resent
}

// waitInvitationSent waits for the invitation email and for the provider to
// record it (nextStep names the expiry).
func (e *env) waitInvitationSent(t *testing.T, token, id, name string) message {
	t.Helper()
	var m message
	deadline := time.Now().Add(30 * time.Second)
	for m.Subject == "" && time.Now().Before(deadline) {
		if invites, _ := e.inviteMessages(t, name); len(invites) > 0 {
			m = invites[0]
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if m.Subject == "" {
		t.Fatalf("no invitation email for %q", name)
	}
	e.waitFor(t, token, id, 20*time.Second, "invitation recorded", func(p providerView) bool {
		return p.Status == "pending_consent" && strings.Contains(p.NextStep, "expires on")
	})
	return m
}

// TestAPIResend: POST /providers/{id}/resend.
func TestAPIResend(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	acct := e.freshAccount(t)
	admin := e.token(t, acct, "admin")
	name := "Resend " + apiSuffix()
	id := e.create(t, admin, migrate(name, ownedSub))
	e.cancelLater(t, admin, id)

	// Right after creation the email may not be out yet.
	early := e.call(t, "POST", "/providers/"+id+"/resend", admin, nil)
	resent := false
	switch early.status {
	case 409:
		wantAPIError(t, early, 409, "invalid_state")
	case 202:
		wantAPIOK(t, early, 202)
		resent = true
	default:
		t.Fatalf("resend right after creation: %d %s", early.status, early.raw)
	}

	invite := e.waitInvitationSent(t, admin, id, name)
	link := e.consentLink(t, invite)
	if !resent {
		r := e.call(t, "POST", "/providers/"+id+"/resend", admin, nil)
		wantAPIOK(t, r, 202)
		if r.json["id"] != id || r.json["status"] != "pending_consent" {
			t.Errorf("resend answered %s", r.raw)
		}
	}
	var again message
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		invites, rs := e.inviteMessages(t, name)
		if len(invites) != 1 {
			t.Fatalf("%d invitation emails", len(invites))
		}
		if len(rs) > 0 {
			if len(rs) != 1 {
				t.Fatalf("%d resent emails", len(rs))
			}
			again = rs[0]
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if again.Subject == "" {
		t.Fatal("no Resent: email")
	}
	if !strings.HasPrefix(again.Subject, "Resent: ") || strings.TrimPrefix(again.Subject, "Resent: ") != invite.Subject {
		t.Errorf("resent subject %q, invitation %q", again.Subject, invite.Subject)
	}
	if got := e.consentLink(t, again); got != link {
		t.Errorf("resent link %s, invitation link %s", got, link)
	}
	gr := e.call(t, "GET", "/providers/"+id, admin, nil)
	wantAPIOK(t, gr, 200)
	invitationID := link[strings.LastIndex(link, "/")+1:]
	for _, secret := range []string{invitationID, "nonce", "hash", "taskToken", "executionArn", "arn:aws", "requester@"} {
		if strings.Contains(string(gr.raw), secret) {
			t.Errorf("GET /providers/{id} shows %q: %s", secret, gr.raw)
		}
	}
	p := e.get(t, admin, id)
	found := false
	for _, ev := range p.Timeline {
		found = found || strings.Contains(ev.What, "resent")
	}
	if !found {
		t.Errorf("timeline lacks the resend: %+v", p.Timeline)
	}

	// At most once per 5 minutes.
	r := e.call(t, "POST", "/providers/"+id+"/resend", admin, nil)
	er := wantAPIError(t, r, 429, "too_many_requests")
	if n, ok := r.json["error"].(map[string]any)["retryAfterSeconds"].(float64); !ok || n < 1 {
		t.Errorf("no retryAfterSeconds: %s", r.raw)
	}
	ra := r.header.Get("Retry-After")
	var secs int
	if _, err := fmt.Sscan(ra, &secs); err != nil || secs < 1 || secs > 300 {
		t.Errorf("Retry-After %q", ra)
	}
	if !strings.Contains(er.Message, "5 minutes") {
		t.Errorf("429 message %q", er.Message)
	}
	// A member of the account is refused the same way (the limit is the provider's).
	wantAPIError(t, e.call(t, "POST", "/providers/"+id+"/resend", e.token(t, acct), nil), 429, "too_many_requests")
	if _, rs := e.inviteMessages(t, name); len(rs) != 1 {
		t.Errorf("%d resent emails after the refused resends", len(rs))
	}

	// Another account: not found, whoever asks.
	other := e.freshAccount(t)
	wantAPIError(t, e.call(t, "POST", "/providers/"+id+"/resend", e.token(t, other, "admin"), nil), 404, "not_found")
	wantAPIError(t, e.call(t, "POST", "/providers/not-an-id/resend", admin, nil), 404, "not_found")
	wantAPIError(t, e.call(t, "POST", "/providers/"+id+"/resend", "", nil), 401, "unauthenticated")
}

// TestAPICancel: POST /providers/{id}/cancel while waiting for consent.
func TestAPICancel(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	acct := e.freshAccount(t)
	admin := e.token(t, acct, "admin")
	name := "Cancel " + apiSuffix()
	id := e.create(t, admin, migrate(name, ownedSub))
	invite := e.waitInvitationSent(t, admin, id, name)
	link := e.consentLink(t, invite)
	if pg := e.fetch(t, "GET", link, nil); pg.status != 200 {
		t.Fatalf("the consent link before cancel: %d %s", pg.status, pg.text())
	}

	// Only administrators; another account sees nothing.
	wantAPIError(t, e.call(t, "POST", "/providers/"+id+"/cancel", e.token(t, acct), nil), 403, "admin_required")
	other := e.freshAccount(t)
	wantAPIError(t, e.call(t, "POST", "/providers/"+id+"/cancel", e.token(t, other, "admin"), nil), 404, "not_found")
	wantAPIError(t, e.call(t, "POST", "/providers/"+id+"/cancel", "", nil), 401, "unauthenticated")
	wantAPIError(t, e.call(t, "POST", "/providers/prv_01hzzzzzzzzzzzzzzzzzzzzzzz/cancel", admin, nil), 404, "not_found")
	if p := e.get(t, admin, id); p.Status != "pending_consent" {
		t.Fatalf("refused cancels changed the provider: %+v", p)
	}

	r := e.call(t, "POST", "/providers/"+id+"/cancel", admin, nil)
	wantAPIOK(t, r, 200)
	if r.json["id"] != id || r.json["status"] != "cancelled" {
		t.Fatalf("cancel answered %s", r.raw)
	}
	p := e.get(t, admin, id)
	cancels := 0
	for _, ev := range p.Timeline {
		if ev.Status == "cancelled" && strings.Contains(ev.What, "Cancelled by") {
			cancels++
			if !strings.Contains(ev.By, "local-user@"+acct) {
				t.Errorf("cancel event by %q", ev.By)
			}
		}
	}
	if p.Status != "cancelled" || cancels != 1 {
		t.Errorf("after cancel: status %s, %d cancel events: %+v", p.Status, cancels, p.Timeline)
	}

	// The link stops working.
	if pg := e.fetch(t, "GET", link, nil); pg.status != 410 {
		t.Errorf("the consent link after cancel: %d %s", pg.status, pg.text())
	}

	// Idempotent; resend has nothing to send.
	r = e.call(t, "POST", "/providers/"+id+"/cancel", admin, nil)
	wantAPIOK(t, r, 200)
	if r.json["status"] != "cancelled" {
		t.Errorf("second cancel: %s", r.raw)
	}
	wantAPIError(t, e.call(t, "POST", "/providers/"+id+"/resend", admin, nil), 409, "invalid_state")
	p = e.get(t, admin, id)
	cancels = 0
	for _, ev := range p.Timeline {
		if ev.Status == "cancelled" {
			cancels++
		}
	}
	if cancels != 1 {
		t.Errorf("%d cancelled events after two cancels: %+v", cancels, p.Timeline)
	}

	// The execution is stopped.
	if status := e.executionStatus(t, id); status != sfntypes.ExecutionStatusAborted {
		t.Errorf("execution provider-%s: status %q, want ABORTED", id, status)
	}
	// The stopped workflow does not move the provider afterwards.
	time.Sleep(500 * time.Millisecond)
	if p := e.get(t, admin, id); p.Status != "cancelled" {
		t.Errorf("after the execution stopped: %+v", p)
	}
}

// executionStatus is the status of the provider's execution
// ("provider-<id>") once it is no longer RUNNING (or RUNNING after 30 s), read
// with the AWS SDK's Step Functions client from the local endpoint.
func (e *env) executionStatus(t *testing.T, providerID string) sfntypes.ExecutionStatus {
	t.Helper()
	ctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	client := sfn.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")},
		func(o *sfn.Options) { o.BaseEndpoint = aws.String(e.ep["stepfunctions"]) })
	sms, err := client.ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var arns []string
	for _, sm := range sms.StateMachines {
		arns = append(arns, aws.ToString(sm.StateMachineArn))
	}
	sort.Strings(arns)
	for _, sm := range arns {
		arn := aws.String(workflow.ExecutionARN(sm, providerID))
		out, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: arn})
		if err != nil {
			continue
		}
		if aws.ToString(out.Name) != "provider-"+providerID {
			t.Errorf("execution name %q", aws.ToString(out.Name))
		}
		for out.Status == sfntypes.ExecutionStatusRunning && ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
			if o, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: arn}); err == nil {
				out = o
			}
		}
		return out.Status
	}
	t.Fatalf("no execution provider-%s on state machines %v", providerID, arns)
	return ""
}

// TestAPICancelImmediately: a cancel right after the create, racing the
// invitation task: the provider stays cancelled, the execution is aborted
// and any email that went out carries a dead link.
func TestAPICancelImmediately(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	acct := e.freshAccount(t)
	admin := e.token(t, acct, "admin")
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("Cancel at once %d %s", i, apiSuffix())
		id := e.create(t, admin, migrate(name, ownedSub))
		r := e.call(t, "POST", "/providers/"+id+"/cancel", admin, nil)
		wantAPIOK(t, r, 200)
		if r.json["status"] != "cancelled" {
			t.Fatalf("cancel answered %s", r.raw)
		}
		if status := e.executionStatus(t, id); status != sfntypes.ExecutionStatusAborted && status != sfntypes.ExecutionStatusSucceeded && status != sfntypes.ExecutionStatusFailed {
			t.Errorf("execution of a cancelled provider: %s", status)
		}
		time.Sleep(300 * time.Millisecond)
		p := e.get(t, admin, id)
		if p.Status != "cancelled" {
			t.Errorf("after an immediate cancel: %+v", p)
		}
		invites, _ := e.inviteMessages(t, name)
		for _, m := range invites {
			if pg := e.fetch(t, "GET", e.consentLink(t, m), nil); pg.status != 410 {
				t.Errorf("the link of a cancelled provider answers %d: %s", pg.status, pg.text())
			}
		}
	}
}
