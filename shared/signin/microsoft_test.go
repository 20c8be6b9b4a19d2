package signin

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/golang-jwt/jwt/v5"
)

const (
	clientID = "10000000-0000-4000-8000-0000000000a1"
	tenantA  = "20000000-0000-4000-8000-000000000001"
	tenantB  = "30000000-0000-4000-8000-000000000001"
	userOID  = "20000000-0000-4000-8000-0000000000e1"
	verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	nonce    = "n-0S6_WzA2Mj"
)

// entra is a TLS stand-in for Entra ID's discovery, token and key endpoints.
// Each tenant has its own signing key; the token endpoint answers what the
// test put in idToken (or status/body when set).
type entra struct {
	srv  *httptest.Server
	keys map[string]*rsa.PrivateKey

	mu       sync.Mutex
	idToken  string
	status   int
	body     string
	verifier string // the code_verifier of the last token request
}

func newEntra(t *testing.T) *entra {
	t.Helper()
	e := &entra{keys: map[string]*rsa.PrivateKey{}}
	for _, tid := range []string{tenantA, tenantB} {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		e.keys[tid] = k
	}
	e.srv = httptest.NewTLSServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *entra) serve(w http.ResponseWriter, r *http.Request) {
	base := e.srv.URL
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
		_ = json.NewEncoder(w).Encode(map[string]any{
			"token_endpoint":         base + "/" + parts[0] + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/" + parts[0] + "/oauth2/v2.0/authorize",
			"issuer":                 base + "/{tenantid}/v2.0",
			"jwks_uri":               base + "/" + parts[0] + "/discovery/v2.0/keys",
		})
	case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
		_ = r.ParseForm()
		e.mu.Lock()
		e.verifier = r.PostForm.Get("code_verifier")
		status, body, tok := e.status, e.body, e.idToken
		e.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"token_type": "Bearer", "expires_in": 3599, "scope": "openid profile",
			"access_token": "graph-access-token", "id_token": tok,
		})
	case strings.HasSuffix(r.URL.Path, "/discovery/v2.0/keys"):
		k, ok := e.keys[parts[0]]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]any{{
			"kty": "RSA", "use": "sig", "kid": parts[0], "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
		}}})
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// claims are an ID token's claims as Entra ID writes them for tenant tid.
func (e *entra) claims(tid string, now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": e.srv.URL + "/" + tid + "/v2.0", "aud": clientID, "tid": tid, "oid": userOID,
		"sub": "pairwise-sub", "nonce": nonce, "name": "Contoso Administrator",
		"preferred_username": "admin@contoso.example", "ver": "2.0",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"wids": []string{RoleGlobalAdministrator},
	}
}

func (e *entra) sign(t *testing.T, signer string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = signer
	s, err := tok.SignedString(e.keys[signer])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *entra) answer(tok string, status int, body string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.idToken, e.status, e.body = tok, status, body
}

func (e *entra) redeemer(t *testing.T, now time.Time) *Microsoft {
	t.Helper()
	cred, err := confidential.NewCredFromSecret("partner-secret")
	if err != nil {
		t.Fatal(err)
	}
	return &Microsoft{
		Authority: e.srv.URL, ClientID: clientID, RedirectURI: "http://127.0.0.1:3000/consent/callback",
		Credential: cred, HTTPClient: e.srv.Client(), Now: func() time.Time { return now },
	}
}

func TestRedeem(t *testing.T) {
	e := newEntra(t)
	now := time.Now().Truncate(time.Second)
	with := func(tid string, change func(jwt.MapClaims)) jwt.MapClaims {
		c := e.claims(tid, now)
		if change != nil {
			change(c)
		}
		return c
	}
	hs256 := func() string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, e.claims(tenantA, now)).SignedString([]byte("k"))
		return s
	}()
	tests := []struct {
		name      string
		token     string
		status    int
		body      string
		want      error
		wantAdmin bool
	}{
		{name: "global administrator", token: e.sign(t, tenantA, with(tenantA, nil)), wantAdmin: true},
		{name: "no directory role", token: e.sign(t, tenantA, with(tenantA, func(c jwt.MapClaims) { delete(c, "wids") }))},
		{name: "another audience", token: e.sign(t, tenantA, with(tenantA, func(c jwt.MapClaims) { c["aud"] = "00000003-0000-0000-c000-000000000000" })), want: ErrTokenInvalid},
		{name: "signed with another tenant's key", token: e.sign(t, tenantB, with(tenantA, nil)), want: ErrTokenInvalid},
		{name: "issuer of another tenant", token: e.sign(t, tenantA, with(tenantA, func(c jwt.MapClaims) { c["iss"] = e.srv.URL + "/" + tenantB + "/v2.0" })), want: ErrTokenInvalid},
		{name: "nonce mismatch", token: e.sign(t, tenantA, with(tenantA, func(c jwt.MapClaims) { c["nonce"] = "other" })), want: ErrTokenInvalid},
		{name: "no nonce", token: e.sign(t, tenantA, with(tenantA, func(c jwt.MapClaims) { delete(c, "nonce") })), want: ErrTokenInvalid},
		{name: "expired", token: e.sign(t, tenantA, with(tenantA, func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })), want: ErrTokenInvalid},
		{name: "no tid", token: e.sign(t, tenantA, with(tenantA, func(c jwt.MapClaims) { delete(c, "tid") })), want: ErrTokenInvalid},
		{name: "tid not a GUID", token: e.sign(t, tenantA, with(tenantA, func(c jwt.MapClaims) { c["tid"] = "contoso" })), want: ErrTokenInvalid},
		{name: "no oid", token: e.sign(t, tenantA, with(tenantA, func(c jwt.MapClaims) { delete(c, "oid") })), want: ErrTokenInvalid},
		{name: "HS256", token: hs256, want: ErrTokenInvalid},
		{name: "not a JWT", token: "not-a-jwt", want: ErrTokenInvalid},
		{name: "code refused", status: 400, body: `{"error":"invalid_grant","error_description":"AADSTS54005: OAuth2 Authorization code was already redeemed."}`, want: ErrCodeRejected},
		{name: "PKCE mismatch", status: 400, body: `{"error":"invalid_grant","error_description":"AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request."}`, want: ErrCodeRejected},
		{name: "throttled", status: 429, body: `{"error":"temporarily_unavailable"}`, want: ErrUnavailable},
		{name: "server error", status: 503, body: `{"error":"temporarily_unavailable"}`, want: ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.answer(tt.token, tt.status, tt.body)
			p, err := e.redeemer(t, now).Redeem(context.Background(), "code-1", verifier, nonce)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Redeem error = %v, want %v", err, tt.want)
			}
			e.mu.Lock()
			sent := e.verifier
			e.mu.Unlock()
			if sent != verifier {
				t.Fatalf("code_verifier sent = %q, want %q", sent, verifier)
			}
			if tt.want != nil {
				if strings.Contains(err.Error(), "code-1") || strings.Contains(err.Error(), "graph-access-token") {
					t.Fatalf("the error text carries the authorization code or a token: %v", err)
				}
				return
			}
			if p.TenantID != tenantA || p.ObjectID != userOID {
				t.Fatalf("proof = %+v", p)
			}
			if p.CanGrantAdminConsent() != tt.wantAdmin {
				t.Fatalf("CanGrantAdminConsent = %v, want %v (roles %v)", !tt.wantAdmin, tt.wantAdmin, p.Roles)
			}
		})
	}
}

func TestCanGrantAdminConsent(t *testing.T) {
	for _, tt := range []struct {
		roles []string
		want  bool
	}{
		{nil, false},
		{[]string{"b79fbf4d-3ef9-4689-8143-76b194e85509"}, false}, // the default "member" role
		{[]string{RoleGlobalAdministrator}, true},
		{[]string{strings.ToUpper(RolePrivilegedRoleAdministrator)}, true},
		{[]string{"x", RoleCloudApplicationAdministrator}, true},
	} {
		if got := (Proof{Roles: tt.roles}).CanGrantAdminConsent(); got != tt.want {
			t.Errorf("roles %v: %v, want %v", tt.roles, got, tt.want)
		}
	}
}
