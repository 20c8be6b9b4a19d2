package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/fakes"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
)

var t0 = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

const (
	token    = "tok_abcdefghijklmnopqrstuvwxyz0123456789"
	password = "Initial-P@ss-9f8e7d"
	arn      = "arn:aws:secretsmanager:us-east-1:123456789012:secret:initial-admin"
)

func setup(t *testing.T, expires time.Time) (*Handler, *store.Store, *fakes.Secrets, *provider.Provider) {
	t.Helper()
	s, _ := storetest.NewTestStore(t)
	s.Now = func() time.Time { return t0 }
	sum := sha256.Sum256([]byte(token))
	p := &provider.Provider{AccountID: "acct-1", Name: "Fabrikam", Type: provider.TypeAzure, Option: provider.OptionNew, Status: provider.StatusActive, CreatedBy: "user:u",
		InitialAdmin: &provider.InitialAdmin{UserName: "admin@fabrikam.onmicrosoft.com", SecretARN: arn, TokenHash: hex.EncodeToString(sum[:]), ExpiresAt: &expires}}
	if err := s.CreateProvider(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	sec := &fakes.Secrets{}
	sec.Put(arn, `{"userName":"admin@fabrikam.onmicrosoft.com","password":"`+password+`"}`)
	return &Handler{Store: s, Secrets: sec, Now: func() time.Time { return t0 }}, s, sec, p
}

// open is the GET of the emailed link.
func open(id, tok string) api.Request {
	req := api.Request{PathParameters: map[string]string{"id": id}, QueryStringParameters: map[string]string{"token": tok}}
	req.RequestContext.HTTP.Method = "GET"
	return req
}

// submit is the POST of the page's form, from the page itself.
func submit(id, tok string) api.Request {
	return api.Request{
		PathParameters: map[string]string{"id": id},
		Headers: map[string]string{
			"content-type":   "application/x-www-form-urlencoded",
			"host":           "api.partner.example",
			"origin":         "null",
			"sec-fetch-site": "same-origin",
		},
		Body: url.Values{"token": {tok}}.Encode(),
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"},
		},
	}
}

// TestOpenTwiceThenShownOnce: opening the link (a mail scanner, a preview,
// the person) uses nothing up; the button's POST shows the credentials
// once, and a second POST is 410.
func TestOpenTwiceThenShownOnce(t *testing.T) {
	h, s, sec, p := setup(t, t0.Add(time.Hour))
	ctx := context.Background()
	for i := range 2 {
		resp, err := h.Handle(ctx, open(p.ID, token))
		if err != nil || resp.StatusCode != 200 || strings.Contains(resp.Body, password) {
			t.Fatalf("GET %d: %d %v %s", i+1, resp.StatusCode, err, resp.Body)
		}
		if !strings.Contains(resp.Body, `<form method="post" action="initial-credentials">`) || !strings.Contains(resp.Body, `name="token" value="`+token+`"`) {
			t.Fatalf("GET %d: no form posting the token: %s", i+1, resp.Body)
		}
		checkPageHeaders(t, resp)
		if len(sec.All()) != 1 || sec.Deletes != 0 {
			t.Fatalf("GET %d touched the secret", i+1)
		}
		if q, _ := s.GetProvider(ctx, p.AccountID, p.ID); q.InitialAdmin.ViewedAt != nil || q.Version != p.Version {
			t.Fatalf("GET %d recorded a use", i+1)
		}
	}
	resp, err := h.Handle(ctx, submit(p.ID, token))
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, password) {
		t.Fatalf("POST: %d %v %s", resp.StatusCode, err, resp.Body)
	}
	checkPageHeaders(t, resp)
	if len(sec.All()) != 0 {
		t.Fatal("the secret was not deleted")
	}
	q, _ := s.GetProvider(ctx, p.AccountID, p.ID)
	if q.InitialAdmin.ViewedAt == nil {
		t.Fatal("the use was not recorded")
	}
	for _, req := range []api.Request{submit(p.ID, token), open(p.ID, token)} {
		resp, _ = h.Handle(ctx, req)
		if resp.StatusCode != 410 || strings.Contains(resp.Body, password) || strings.Contains(resp.Body, "<form") {
			t.Fatalf("%s after the use: %d %s", req.RequestContext.HTTP.Method, resp.StatusCode, resp.Body)
		}
	}
}

func checkPageHeaders(t *testing.T, resp api.Response) {
	t.Helper()
	for k, v := range map[string]string{
		"Cache-Control":             "no-store",
		"X-Frame-Options":           "DENY",
		"Referrer-Policy":           "no-referrer",
		"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
		"Content-Type":              "text/html; charset=utf-8",
	} {
		if resp.Headers[k] != v {
			t.Errorf("%s: %q, want %q", k, resp.Headers[k], v)
		}
	}
	csp := resp.Headers["Content-Security-Policy"]
	for _, d := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("Content-Security-Policy %q lacks %s", csp, d)
		}
	}
}

// TestPostRefusals: a POST from another site, not a form, or with the
// token elsewhere than the form body, uses nothing up.
func TestPostRefusals(t *testing.T) {
	tests := []struct {
		name   string
		change func(*api.Request)
		want   int
	}{
		{"cross-site", func(r *api.Request) { r.Headers["sec-fetch-site"] = "cross-site" }, 403},
		{"same-site", func(r *api.Request) { r.Headers["sec-fetch-site"] = "same-site" }, 403},
		{"foreign origin", func(r *api.Request) {
			delete(r.Headers, "sec-fetch-site")
			r.Headers["origin"] = "https://evil.example"
		}, 403},
		{"origin of another scheme", func(r *api.Request) {
			delete(r.Headers, "sec-fetch-site")
			r.Headers["origin"] = "javascript://api.partner.example"
		}, 403},
		{"json", func(r *api.Request) { r.Headers["content-type"] = "application/json" }, 415},
		{"multipart", func(r *api.Request) { r.Headers["content-type"] = "multipart/form-data; boundary=x" }, 415},
		{"no content type", func(r *api.Request) { delete(r.Headers, "content-type") }, 415},
		{"token in the query only", func(r *api.Request) {
			r.Body = ""
			r.QueryStringParameters = map[string]string{"token": token}
		}, 404},
		{"token twice", func(r *api.Request) { r.Body = url.Values{"token": {token, token}}.Encode() }, 404},
		{"wrong token", func(r *api.Request) { r.Body = "token=tok_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz" }, 404},
		{"body too large", func(r *api.Request) { r.Body = "token=" + token + "&x=" + strings.Repeat("a", maxFormBytes) }, 413},
		{"method", func(r *api.Request) { r.RequestContext.HTTP.Method = "PUT" }, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, s, sec, p := setup(t, t0.Add(time.Hour))
			req := submit(p.ID, token)
			tt.change(&req)
			resp, _ := h.Handle(context.Background(), req)
			if resp.StatusCode != tt.want || strings.Contains(resp.Body, password) {
				t.Fatalf("%d, want %d: %s", resp.StatusCode, tt.want, resp.Body)
			}
			if len(sec.All()) != 1 {
				t.Fatal("the secret was deleted")
			}
			if q, _ := s.GetProvider(context.Background(), p.AccountID, p.ID); q.InitialAdmin.ViewedAt != nil {
				t.Fatal("a use was recorded")
			}
		})
	}
}

// TestPostAccepted: the page's own POST as browsers send it.
func TestPostAccepted(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
	}{
		{"same-origin, origin null (no-referrer page)", map[string]string{"sec-fetch-site": "same-origin", "origin": "null"}},
		{"typed by the user", map[string]string{"sec-fetch-site": "none"}},
		{"origin of the host, no fetch metadata", map[string]string{"origin": "https://API.partner.example"}},
		{"origin of the public base URL", map[string]string{"origin": "https://links.partner.example", "host": "abc123.execute-api.us-east-1.amazonaws.com"}},
		{"no origin, no fetch metadata (not a browser)", map[string]string{}},
		{"content type with charset", map[string]string{"content-type": "application/x-www-form-urlencoded; charset=UTF-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _, _, p := setup(t, t0.Add(time.Hour))
			h.PublicBaseURL = "https://links.partner.example/"
			req := submit(p.ID, token)
			delete(req.Headers, "sec-fetch-site")
			delete(req.Headers, "origin")
			for k, v := range tt.headers {
				req.Headers[k] = v
			}
			resp, _ := h.Handle(context.Background(), req)
			if resp.StatusCode != 200 || !strings.Contains(resp.Body, password) {
				t.Fatalf("%d: %s", resp.StatusCode, resp.Body)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name    string
		expires time.Duration
		id, tok string
		getErr  error
		want    int
	}{
		{"wrong token", time.Hour, "", "tok_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", nil, 404},
		{"malformed token", time.Hour, "", "<script>", nil, 404},
		{"no token", time.Hour, "", "", nil, 404},
		{"unknown provider", time.Hour, "prv_01jd2y5q8w3v6t9x0b1c2d3e4f", token, nil, 404},
		{"expired", -time.Minute, "", token, nil, 410},
		{"secret unreadable", time.Hour, "", token, errors.New("throttled"), 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _, sec, p := setup(t, t0.Add(tt.expires))
			sec.GetErr = tt.getErr
			id := tt.id
			if id == "" {
				id = p.ID
			}
			for _, req := range []api.Request{open(id, tt.tok), submit(id, tt.tok)} {
				want := tt.want
				if req.RequestContext.HTTP.Method == "GET" && tt.getErr != nil {
					want = 200 // the page with the button does not read the secret
				}
				resp, _ := h.Handle(context.Background(), req)
				if resp.StatusCode != want || strings.Contains(resp.Body, password) {
					t.Fatalf("%s: %d, want %d: %s", req.RequestContext.HTTP.Method, resp.StatusCode, want, resp.Body)
				}
			}
			if tt.want == 410 && len(sec.All()) != 0 {
				t.Fatal("an expired link left the secret")
			}
		})
	}
}

// TestConcurrentUses: of simultaneous uses, exactly one shows the password.
func TestConcurrentUses(t *testing.T) {
	h, _, _, p := setup(t, t0.Add(time.Hour))
	var wg sync.WaitGroup
	var mu sync.Mutex
	shown := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := h.Handle(context.Background(), submit(p.ID, token))
			if strings.Contains(resp.Body, password) {
				mu.Lock()
				shown++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if shown != 1 {
		t.Fatalf("the password was shown %d times", shown)
	}
}

// TestEvent runs the sam local invoke event: no such provider, so 404.
func TestEvent(t *testing.T) {
	req := apitest.LoadEvent(t, "../../events/initial-credentials.json")
	h, _, _, _ := setup(t, t0.Add(time.Hour))
	resp, err := api.Handle(h.Handle)(context.Background(), req)
	if err != nil || resp.StatusCode != 404 || resp.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("event answered %d %v", resp.StatusCode, err)
	}
}
