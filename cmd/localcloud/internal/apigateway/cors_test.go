package apigateway

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnercloud/azure/cmd/localcloud/internal/jwtissuer"
	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
)

// corsFromRepoTemplate reads the CORS configuration of the repository's
// template.yaml with the CorsAllowedOrigins parameter set to origins.
func corsFromRepoTemplate(t *testing.T, origins string) *CORS {
	t.Helper()
	params := map[string]string{"CorsAllowedOrigins": origins}
	tmpl, err := samtemplate.Load(filepath.Join("..", "..", "..", "..", "template.yaml"), params)
	if err != nil {
		t.Fatal(err)
	}
	c, err := CORSFromTemplate(tmpl, tmpl.Resolver(params))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCORSFromTemplate(t *testing.T) {
	if c := corsFromRepoTemplate(t, ""); c != nil {
		t.Errorf("no allowed origins must configure no CORS, got %+v", *c)
	}
	c := corsFromRepoTemplate(t, "https://app.partner.example,http://localhost:5173")
	if c == nil {
		t.Fatal("no CORS configuration with two origins")
	}
	if strings.Join(c.AllowOrigins, " ") != "https://app.partner.example http://localhost:5173" {
		t.Errorf("origins %v", c.AllowOrigins)
	}
	for _, want := range []struct {
		what string
		list []string
		item string
	}{
		{"methods", c.AllowMethods, "GET"}, {"methods", c.AllowMethods, "POST"}, {"methods", c.AllowMethods, "PUT"}, {"methods", c.AllowMethods, "DELETE"},
		{"headers", c.AllowHeaders, "Authorization"}, {"headers", c.AllowHeaders, "Content-Type"}, {"headers", c.AllowHeaders, "Idempotency-Key"},
		{"exposed headers", c.ExposeHeaders, "X-Request-Id"},
	} {
		if !strings.Contains(","+strings.Join(want.list, ",")+",", ","+want.item+",") {
			t.Errorf("%s %v lack %s", want.what, want.list, want.item)
		}
	}
	if c.MaxAge <= 0 || c.AllowCredentials {
		t.Errorf("max age %d, credentials %v", c.MaxAge, c.AllowCredentials)
	}
}

// TestCORSGateway: with the template's configuration the gateway answers a
// preflight itself, adds the headers to an allowed origin's response (in
// place of the function's own), and gives a refused origin none.
func TestCORSGateway(t *testing.T) {
	const app, evil = "https://app.partner.example", "https://evil.example"
	iss, err := jwtissuer.New("http://127.0.0.1:3000/local-issuer", "partner-cloud")
	if err != nil {
		t.Fatal(err)
	}
	tok := token(t, iss, jwtissuer.Claims{Subject: "u", AccountID: "a", Roles: []string{"admin"}})
	newGateway := func(cors *CORS) (*Gateway, *fakeInvoker) {
		inv := &fakeInvoker{out: `{"statusCode":202,"headers":{"X-Request-Id":"r-1","Access-Control-Allow-Origin":"*"},"body":"{}"}`}
		g, err := New(Config{Routes: testRoutes, Invoker: inv, Verifier: iss, CORS: cors})
		if err != nil {
			t.Fatal(err)
		}
		return g, inv
	}
	preflight := func(origin string) *http.Request {
		r := httptest.NewRequest("OPTIONS", "/providers", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", "POST")
		r.Header.Set("Access-Control-Request-Headers", "authorization,content-type,idempotency-key")
		return r
	}
	actual := func(origin string) *http.Request {
		r := httptest.NewRequest("POST", "/providers", strings.NewReader(`{}`))
		r.Header.Set("Origin", origin)
		r.Header.Set("Authorization", "Bearer "+tok)
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	cors := corsFromRepoTemplate(t, app)
	tests := []struct {
		name       string
		cors       *CORS
		req        *http.Request
		wantStatus int
		wantInvoke bool
		want       map[string]string // header → value; "" means absent
	}{
		{"preflight from the UI", cors, preflight(app), 204, false, map[string]string{
			"Access-Control-Allow-Origin":  app,
			"Access-Control-Allow-Methods": "GET,POST,PUT,DELETE,OPTIONS",
			"Access-Control-Allow-Headers": "Authorization,Content-Type,Idempotency-Key",
			"Access-Control-Max-Age":       "600",
		}},
		{"preflight from a refused origin", cors, preflight(evil), 204, false, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "", "Access-Control-Allow-Headers": "", "Access-Control-Max-Age": "",
		}},
		{"request from the UI", cors, actual(app), 202, true, map[string]string{
			"Access-Control-Allow-Origin":   app,
			"Access-Control-Expose-Headers": "X-Request-Id,Retry-After",
			"X-Request-Id":                  "r-1",
		}},
		{"request from a refused origin", cors, actual(evil), 202, true, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": "", "X-Request-Id": "r-1",
		}},
		{"no configuration: the function's headers pass", nil, actual(app), 202, true, map[string]string{
			"Access-Control-Allow-Origin": "*",
		}},
		{"no configuration: OPTIONS is routed (no route)", nil, preflight(app), 404, false, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, inv := newGateway(tc.cors)
			rec := do(g, tc.req)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.wantStatus, rec.Body)
			}
			if invoked := inv.fn != ""; invoked != tc.wantInvoke {
				t.Errorf("function invoked: %v, want %v", invoked, tc.wantInvoke)
			}
			for k, v := range tc.want {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}
