package apigateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/partnercloud/azure/cmd/localcloud/internal/jwtissuer"
	"github.com/partnercloud/azure/cmd/localcloud/internal/lambdahost"
	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
)

// fakeInvoker records the last event and answers with a fixed output.
type fakeInvoker struct {
	fn    string
	event events.APIGatewayV2HTTPRequest
	raw   []byte
	out   string
	err   error
}

func (f *fakeInvoker) Invoke(_ context.Context, fn string, payload []byte) ([]byte, error) {
	f.fn, f.raw = fn, payload
	f.event = events.APIGatewayV2HTTPRequest{}
	_ = json.Unmarshal(payload, &f.event)
	return []byte(f.out), f.err
}

var testRoutes = []Route{
	{Method: "POST", Path: "/providers", Function: "CreateProvider", Auth: true},
	{Method: "GET", Path: "/providers", Function: "ListProviders", Auth: true},
	{Method: "GET", Path: "/providers/{id}", Function: "GetProvider", Auth: true},
	{Method: "GET", Path: "/providers/mine", Function: "Mine", Auth: true},
	{Method: "ANY", Path: "/providers/{id}/cancel", Function: "AnyCancel", Auth: true},
	{Method: "POST", Path: "/providers/{id}/cancel", Function: "PostCancel", Auth: true},
	{Method: "GET", Path: "/consent/{invitationId}", Function: "Consent"},
	{Method: "GET", Path: "/files/{proxy+}", Function: "Files"},
	{Method: "GET", Path: "/scoped", Function: "Scoped", Auth: true, Scopes: []string{"providers:read"}},
}

func setup(t *testing.T) (*Gateway, *fakeInvoker, *jwtissuer.Issuer) {
	t.Helper()
	iss, err := jwtissuer.New("http://127.0.0.1:3000/local-issuer", "partner-cloud")
	if err != nil {
		t.Fatal(err)
	}
	inv := &fakeInvoker{out: `{"statusCode":200,"body":"ok"}`}
	g, err := New(Config{Routes: testRoutes, Invoker: inv, Verifier: iss})
	if err != nil {
		t.Fatal(err)
	}
	return g, inv, iss
}

func token(t *testing.T, iss *jwtissuer.Issuer, c jwtissuer.Claims) string {
	t.Helper()
	tok, err := iss.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func do(g http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	return rec
}

func TestRouting(t *testing.T) {
	g, inv, iss := setup(t)
	auth := "Bearer " + token(t, iss, jwtissuer.Claims{Subject: "u", AccountID: "a", Roles: []string{"admin"}})
	tests := []struct {
		method, path string
		wantFn       string
		wantRoute    string
		wantParams   map[string]string
	}{
		{"POST", "/providers", "CreateProvider", "POST /providers", nil},
		{"GET", "/providers", "ListProviders", "GET /providers", nil},
		{"GET", "/providers/p-1", "GetProvider", "GET /providers/{id}", map[string]string{"id": "p-1"}},
		{"GET", "/providers/mine", "Mine", "GET /providers/mine", nil},
		{"GET", "/providers/a%20b", "GetProvider", "GET /providers/{id}", map[string]string{"id": "a b"}},
		{"POST", "/providers/p-1/cancel", "PostCancel", "POST /providers/{id}/cancel", map[string]string{"id": "p-1"}},
		{"DELETE", "/providers/p-1/cancel", "AnyCancel", "ANY /providers/{id}/cancel", map[string]string{"id": "p-1"}},
		{"GET", "/files/a/b/c.txt", "Files", "GET /files/{proxy+}", map[string]string{"proxy": "a/b/c.txt"}},
		{"GET", "/consent/inv-1", "Consent", "GET /consent/{invitationId}", map[string]string{"invitationId": "inv-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			req.Header.Set("Authorization", auth)
			rec := do(g, req)
			if rec.Code != 200 || inv.fn != tc.wantFn {
				t.Fatalf("status %d fn %q, want 200 %q (%s)", rec.Code, inv.fn, tc.wantFn, rec.Body)
			}
			if inv.event.RouteKey != tc.wantRoute || inv.event.RequestContext.RouteKey != tc.wantRoute {
				t.Errorf("routeKey %q", inv.event.RouteKey)
			}
			if !reflect.DeepEqual(inv.event.PathParameters, tc.wantParams) {
				t.Errorf("pathParameters %v, want %v", inv.event.PathParameters, tc.wantParams)
			}
		})
	}
	for _, path := range []string{"/nope", "/providers/p-1/other", "/files", "/providers/"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", auth)
		rec := do(g, req)
		assertError(t, rec, 404, "not_found")
	}
	req := httptest.NewRequest("PUT", "/providers", nil)
	req.Header.Set("Authorization", auth)
	assertError(t, do(g, req), 404, "not_found")
}

func assertError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	var body struct {
		Error struct {
			Code, Message, RequestID string
			Details                  []any
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	if rec.Code != status || body.Error.Code != code || body.Error.Message == "" || body.Error.Details == nil {
		t.Errorf("got %d %s, want %d %s", rec.Code, rec.Body, status, code)
	}
	if id := rec.Header().Get("X-Request-Id"); id == "" || id != body.Error.RequestID || id != rec.Header().Get("Apigw-Requestid") {
		t.Errorf("request ids: header %q body %q apigw %q", id, body.Error.RequestID, rec.Header().Get("Apigw-Requestid"))
	}
}

func TestAuthorizer(t *testing.T) {
	g, inv, iss := setup(t)
	other, _ := jwtissuer.New(iss.Issuer, iss.Audience)
	good := token(t, iss, jwtissuer.Claims{Subject: "user-1", AccountID: "acct-eligible", Roles: []string{"admin", "member"}, Scope: "providers:read"})
	tests := []struct {
		name, header string
		path         string
		wantStatus   int
		wantCode     string
	}{
		{"no header", "", "/providers", 401, "unauthenticated"},
		{"not bearer jwt", "Basic dXNlcjpwYXNz", "/providers", 401, "unauthenticated"},
		{"other key", "Bearer " + token(t, other, jwtissuer.Claims{Subject: "u"}), "/providers", 401, "unauthenticated"},
		{"expired", "Bearer " + token(t, iss, jwtissuer.Claims{Subject: "u", TTL: -time.Minute}), "/providers", 401, "unauthenticated"},
		{"good", "Bearer " + good, "/providers", 200, ""},
		{"good without Bearer prefix", good, "/providers", 200, ""},
		{"public route without token", "", "/consent/x", 200, ""},
		{"scope present", "Bearer " + good, "/scoped", 200, ""},
		{"scope missing", "Bearer " + token(t, iss, jwtissuer.Claims{Subject: "u"}), "/scoped", 403, "forbidden"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv.fn = ""
			req := httptest.NewRequest("GET", tc.path, nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := do(g, req)
			if tc.wantStatus != 200 {
				assertError(t, rec, tc.wantStatus, tc.wantCode)
				if inv.fn != "" {
					t.Error("function invoked despite failed authorization")
				}
				return
			}
			if rec.Code != 200 {
				t.Fatalf("status %d %s", rec.Code, rec.Body)
			}
		})
	}
	// Claims arrive where API Gateway puts them, every value a string.
	req := httptest.NewRequest("GET", "/providers", nil)
	req.Header.Set("Authorization", "Bearer "+good)
	do(g, req)
	jwtd := inv.event.RequestContext.Authorizer.JWT
	c := jwtd.Claims
	if c["sub"] != "user-1" || c["account_id"] != "acct-eligible" || c["roles"] != `["admin","member"]` || c["iss"] != iss.Issuer || c["aud"] != iss.Audience {
		t.Errorf("claims %v", c)
	}
	if len(c["exp"]) != 10 || strings.ContainsAny(c["exp"], "e.") {
		t.Errorf("exp rendered as %q", c["exp"])
	}
	if !reflect.DeepEqual(jwtd.Scopes, []string{"providers:read"}) {
		t.Errorf("scopes %v", jwtd.Scopes)
	}
	// A public route gets no authorizer context.
	do(g, httptest.NewRequest("GET", "/consent/x", nil))
	if strings.Contains(string(inv.raw), `"authorizer"`) {
		t.Errorf("public route event has an authorizer: %s", inv.raw)
	}
}

func TestEventShape(t *testing.T) {
	g, inv, _ := setup(t)
	req := httptest.NewRequest("GET", "/consent/inv%2F1?b=2&a=1&a=x%20y&empty=", strings.NewReader(`{"x":1}`))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	req.Header.Set("Cookie", "s=1; theme=dark")
	req.Header.Set("User-Agent", "curl/8")
	req.Host = "127.0.0.1:3000"
	req.RemoteAddr = "127.0.0.1:5555"
	before := time.Now()
	rec := do(g, req)
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	ev := inv.event
	checks := []struct {
		name      string
		got, want any
	}{
		{"version", ev.Version, "2.0"},
		{"rawPath", ev.RawPath, "/consent/inv%2F1"},
		{"rawQueryString", ev.RawQueryString, "b=2&a=1&a=x%20y&empty="},
		{"query", ev.QueryStringParameters, map[string]string{"a": "1,x y", "b": "2", "empty": ""}},
		{"path params", ev.PathParameters, map[string]string{"invitationId": "inv/1"}},
		{"cookies", ev.Cookies, []string{"s=1", "theme=dark"}},
		{"multi header", ev.Headers["x-multi"], "one,two"},
		{"cookie header removed", ev.Headers["cookie"], ""},
		{"content-type", ev.Headers["content-type"], "application/json; charset=utf-8"},
		{"host", ev.Headers["host"], "127.0.0.1:3000"},
		{"x-forwarded-for", ev.Headers["x-forwarded-for"], "127.0.0.1"},
		{"body", ev.Body, `{"x":1}`},
		{"base64", ev.IsBase64Encoded, false},
		{"stage", ev.RequestContext.Stage, "$default"},
		{"accountId", ev.RequestContext.AccountID, "000000000000"},
		{"apiId", ev.RequestContext.APIID, "local"},
		{"domainName", ev.RequestContext.DomainName, "127.0.0.1"},
		{"method", ev.RequestContext.HTTP.Method, "GET"},
		{"http path", ev.RequestContext.HTTP.Path, "/consent/inv/1"},
		{"protocol", ev.RequestContext.HTTP.Protocol, "HTTP/1.1"},
		{"sourceIp", ev.RequestContext.HTTP.SourceIP, "127.0.0.1"},
		{"userAgent", ev.RequestContext.HTTP.UserAgent, "curl/8"},
		{"requestId", ev.RequestContext.RequestID, rec.Header().Get("Apigw-Requestid")},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	if d := time.UnixMilli(ev.RequestContext.TimeEpoch).Sub(before); d < -time.Second || d > time.Second {
		t.Errorf("timeEpoch off by %v", d)
	}
	if _, err := time.Parse("02/Jan/2006:15:04:05 -0700", ev.RequestContext.Time); err != nil {
		t.Errorf("time %q: %v", ev.RequestContext.Time, err)
	}
	// Request ids are unique per request.
	first := ev.RequestContext.RequestID
	do(g, httptest.NewRequest("GET", "/consent/x", nil))
	if inv.event.RequestContext.RequestID == first {
		t.Error("request id reused")
	}
	// A binary body is base64-encoded; an empty one is absent.
	bin := []byte{0, 1, 2, 255}
	req = httptest.NewRequest("GET", "/consent/x", strings.NewReader(string(bin)))
	req.Header.Set("Content-Type", "application/octet-stream")
	do(g, req)
	if !inv.event.IsBase64Encoded || inv.event.Body != base64.StdEncoding.EncodeToString(bin) {
		t.Errorf("binary body %q base64=%v", inv.event.Body, inv.event.IsBase64Encoded)
	}
	do(g, httptest.NewRequest("GET", "/consent/x", nil))
	if strings.Contains(string(inv.raw), `"body"`) || strings.Contains(string(inv.raw), `"queryStringParameters"`) || strings.Contains(string(inv.raw), `"cookies"`) {
		t.Errorf("empty fields present: %s", inv.raw)
	}
}

func TestResponses(t *testing.T) {
	g, inv, _ := setup(t)
	tests := []struct {
		name, out  string
		err        error
		wantStatus int
		wantBody   string
		wantHeader map[string][]string
		wantCode   string
	}{
		{name: "structured", out: `{"statusCode":202,"headers":{"Content-Type":"application/json","X-Request-Id":"fn-id"},"body":"{\"id\":\"p\"}"}`,
			wantStatus: 202, wantBody: `{"id":"p"}`, wantHeader: map[string][]string{"Content-Type": {"application/json"}, "X-Request-Id": {"fn-id"}}},
		{name: "cookies and multi-value", out: `{"statusCode":200,"cookies":["a=1; Path=/","b=2"],"multiValueHeaders":{"X-M":["1","2"]},"body":""}`,
			wantStatus: 200, wantHeader: map[string][]string{"Set-Cookie": {"a=1; Path=/", "b=2"}, "X-M": {"1", "2"}}},
		{name: "base64 body", out: `{"statusCode":200,"isBase64Encoded":true,"headers":{"content-type":"image/png"},"body":"AAEC/w=="}`,
			wantStatus: 200, wantBody: "\x00\x01\x02\xff"},
		{name: "plain object", out: `{"hello":"world"}`, wantStatus: 200, wantBody: `{"hello":"world"}`,
			wantHeader: map[string][]string{"Content-Type": {"application/json"}}},
		{name: "plain string", out: `"hi"`, wantStatus: 200, wantBody: `"hi"`},
		{name: "function error", err: &lambdahost.FunctionError{ErrorType: "Boom", ErrorMessage: "secret detail"}, wantStatus: 500, wantCode: "internal"},
		{name: "invoke failure", err: errors.New("no such function"), wantStatus: 500, wantCode: "internal"},
		{name: "bad status", out: `{"statusCode":"x"}`, wantStatus: 500, wantCode: "internal"},
		{name: "not json", out: `oops`, wantStatus: 500, wantCode: "internal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv.out, inv.err = tc.out, tc.err
			rec := do(g, httptest.NewRequest("GET", "/consent/x", nil))
			if tc.wantCode != "" {
				assertError(t, rec, tc.wantStatus, tc.wantCode)
				if strings.Contains(rec.Body.String(), "secret detail") {
					t.Error("function error text leaked")
				}
				return
			}
			if rec.Code != tc.wantStatus || rec.Body.String() != tc.wantBody {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, tc.wantStatus, tc.wantBody)
			}
			for k, v := range tc.wantHeader {
				if got := rec.Header().Values(k); !reflect.DeepEqual(got, v) {
					t.Errorf("header %s = %v, want %v", k, got, v)
				}
			}
			if rec.Header().Get("X-Request-Id") == "" || rec.Header().Get("Apigw-Requestid") == "" {
				t.Error("request id headers missing")
			}
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	g, inv, _ := setup(t)
	inv.fn = ""
	req := httptest.NewRequest("GET", "/consent/x", strings.NewReader(strings.Repeat("a", MaxBody+1)))
	req.Header.Set("Content-Type", "text/plain")
	assertError(t, do(g, req), 413, "body_too_large")
	if inv.fn != "" {
		t.Error("function invoked")
	}
}

func TestRoutesFromTemplate(t *testing.T) {
	tmpl, err := samtemplate.Parse([]byte(`
Globals:
  HttpApi:
    Auth:
      DefaultAuthorizer: Jwt
      Authorizers:
        Jwt: {JwtConfiguration: {issuer: https://i/, audience: [a]}}
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
  Create:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Post: {Type: HttpApi, Properties: {Path: /providers, Method: post}}
        Consent: {Type: HttpApi, Properties: {Path: "/consent/{id}", Method: GET, Auth: {Authorizer: NONE}}}
        OnApi: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /other, Method: any}}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	routes, err := RoutesFromTemplate(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	want := []Route{
		{Method: "POST", Path: "/providers", Function: "Create", Auth: true},
		{Method: "GET", Path: "/consent/{id}", Function: "Create", Auth: false},
		// The explicit Api has no DefaultAuthorizer: public, as on AWS.
		{Method: "ANY", Path: "/other", Function: "Create", Auth: false},
	}
	if !reflect.DeepEqual(routes, want) {
		t.Errorf("routes\n got %+v\nwant %+v", routes, want)
	}
	if _, err := New(Config{Routes: []Route{want[0], want[0]}, Invoker: &fakeInvoker{}, Verifier: &jwtissuer.Issuer{}}); err == nil {
		t.Error("duplicate route accepted")
	}
}

// TestWithRealLambda runs the gateway in front of the Lambda host and the
// test function, which echoes the event it received as the response body.
func TestWithRealLambda(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "../lambdahost/testdata/echo")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	host := lambdahost.New(lambdahost.Options{})
	defer host.Close()
	if err := host.Register(lambdahost.Function{Name: "Echo", Binary: bin, Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	iss, _ := jwtissuer.New("http://127.0.0.1/iss", "aud")
	g, err := New(Config{Routes: []Route{{Method: "POST", Path: "/providers/{id}", Function: "Echo", Auth: true}}, Invoker: host, Verifier: iss})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	tok, _ := iss.Sign(jwtissuer.Claims{Subject: "u", AccountID: "acct-eligible", Roles: []string{"admin"}})
	req, _ := http.NewRequest("POST", srv.URL+"/providers/p-9?x=1", strings.NewReader(`{"name":"n"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, body)
	}
	// The function decoded the event with aws-lambda-go's own types.
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.PathParameters["id"] != "p-9" || ev.Body != `{"name":"n"}` || ev.RequestContext.Authorizer.JWT.Claims["account_id"] != "acct-eligible" || ev.QueryStringParameters["x"] != "1" {
		t.Errorf("event %+v", ev)
	}
}
