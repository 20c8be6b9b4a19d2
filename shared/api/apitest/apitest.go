// Package apitest builds API Gateway HTTP API requests for handler tests and
// checks responses against the API's contract (status, X-Request-Id, the
// error body shape, no internal text).
package apitest

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
)

// RequestID is the API Gateway request id of every request built here.
const RequestID = "req-apitest-0001"

// Fault is the text of injected internal errors; no response body may contain it.
const Fault = "dynamodb: ProvisionedThroughputExceeded on table secret-table"

// Claims returns JWT claims for a user of an account with roles given as
// API Gateway passes them (a JSON-array string, a space-separated string, …).
func Claims(sub, accountID, roles string) map[string]string {
	c := map[string]string{}
	if sub != "" {
		c["sub"] = sub
	}
	if accountID != "" {
		c["account_id"] = accountID
	}
	if roles != "" {
		c["roles"] = roles
	}
	return c
}

// Admin is an organization administrator of accountID.
func Admin(accountID string) map[string]string {
	return Claims("user-admin", accountID, `["admin"]`)
}

// Member is a user of accountID without roles.
func Member(accountID string) map[string]string {
	return Claims("user-member", accountID, "")
}

// Request returns a payload 2.0 request for routeKey ("GET /providers") with
// the claims in the JWT authorizer context (none when claims is nil).
func Request(routeKey string, claims map[string]string) api.Request {
	method, path, _ := strings.Cut(routeKey, " ")
	req := api.Request{
		Version:  "2.0",
		RouteKey: routeKey,
		RawPath:  path,
		Headers:  map[string]string{"content-type": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:  routeKey,
			RequestID: RequestID,
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path},
		},
	}
	if claims != nil {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return req
}

// LoadEvent decodes an event file as `sam local invoke -e` takes it.
func LoadEvent(t testing.TB, path string) api.Request {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read event: %v", err)
	}
	var req api.Request
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		t.Fatalf("event %s is not an API Gateway HTTP API 2.0 request: %v", path, err)
	}
	return req
}

// ErrorBody is the error body of every error answer: {"error":{...}}.
type ErrorBody struct {
	Code      apperr.Code     `json:"code"`
	Message   string          `json:"message"`
	RequestID string          `json:"requestId"`
	Details   []apperr.Detail `json:"details"`
	// Raw holds every top-level field of the error object.
	Raw map[string]json.RawMessage `json:"-"`
}

// ExpectError checks that resp is the error with status and code, carries
// X-Request-Id, has exactly the spec's shape (plus safe extra fields), and
// shows no internal error text.
func ExpectError(t testing.TB, resp api.Response, status int, code apperr.Code) ErrorBody {
	t.Helper()
	checkCommon(t, resp, status)
	var outer map[string]json.RawMessage
	if err := json.Unmarshal([]byte(resp.Body), &outer); err != nil || len(outer) != 1 || outer["error"] == nil {
		t.Fatalf("error body is not {\"error\":{...}}: %s", resp.Body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(outer["error"], &raw); err != nil {
		t.Fatalf("error object: %v: %s", err, resp.Body)
	}
	for _, k := range []string{"code", "message", "requestId", "details"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("error body lacks %q: %s", k, resp.Body)
		}
	}
	if string(raw["details"]) == "null" {
		t.Errorf("details is null, want an array: %s", resp.Body)
	}
	var e ErrorBody
	if err := json.Unmarshal(outer["error"], &e); err != nil {
		t.Fatalf("error object: %v: %s", err, resp.Body)
	}
	e.Raw = raw
	if e.Code != code {
		t.Errorf("code = %q, want %q (body %s)", e.Code, code, resp.Body)
	}
	if e.RequestID != RequestID {
		t.Errorf("requestId = %q, want %q", e.RequestID, RequestID)
	}
	if e.Message == "" {
		t.Error("empty message")
	}
	return e
}

// ExpectJSON checks status and headers and decodes the body into v.
func ExpectJSON(t testing.TB, resp api.Response, status int, v any) {
	t.Helper()
	checkCommon(t, resp, status)
	if v == nil {
		return
	}
	if err := json.Unmarshal([]byte(resp.Body), v); err != nil {
		t.Fatalf("body: %v: %s", err, resp.Body)
	}
}

func checkCommon(t testing.TB, resp api.Response, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, status, resp.Body)
	}
	if got := resp.Headers["X-Request-Id"]; got != RequestID {
		t.Errorf("X-Request-Id = %q, want %q", got, RequestID)
	}
	if ct := resp.Headers["Content-Type"]; ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	for _, bad := range []string{Fault, "goroutine ", "panic", "runtime error"} {
		if strings.Contains(resp.Body, bad) {
			t.Fatalf("response body shows internal text %q: %s", bad, resp.Body)
		}
	}
}
