package microsoft

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Claims are the claims of an access token the double issues. They follow
// Entra ID's app-only tokens (client credentials) and, with scp, name, upn
// and wids, its delegated tokens (authorization code).
type Claims struct {
	jwt.RegisteredClaims
	// Audience is the resource (aud), a single string as Entra ID writes it.
	Audience string `json:"aud"`
	// TenantID is the tenant the token was issued in (tid).
	TenantID string `json:"tid"`
	// ObjectID is the object id of the calling service principal (oid).
	ObjectID string `json:"oid"`
	// AppID is the client id of the calling application (appid).
	AppID string `json:"appid"`
	// AppIDACR is 1 for client-secret authentication.
	AppIDACR string `json:"appidacr"`
	IDType   string `json:"idtyp"`
	IDP      string `json:"idp"`
	Version  string `json:"ver"`
	UTI      string `json:"uti"`
	// Scope (scp), Name, UPN and WIDs are set in delegated (user) tokens
	// only, issued by the authorization-code flow.
	Scope string   `json:"scp,omitempty"`
	Name  string   `json:"name,omitempty"`
	UPN   string   `json:"upn,omitempty"`
	WIDs  []string `json:"wids,omitempty"`
}

// issuer is the token issuer for a tenant, matching the openid-configuration.
func issuer(r *http.Request, tenantID string) string {
	return baseURL(r) + "/" + tenantID + "/v2.0"
}

// entraError answers with Entra ID's OAuth2 error shape.
func (s *Server) entraError(w http.ResponseWriter, r *http.Request, status int, code string, aadsts int, msg string) {
	now := s.now().UTC()
	trace, corr := uuid.NewString(), uuid.NewString()
	desc := fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, msg, trace, corr, now.Format("2006-01-02 15:04:05Z"))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error":             code,
		"error_description": desc,
		"error_codes":       []int{aadsts},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         fmt.Sprintf("%s/error?code=%d", baseURL(r), aadsts),
	})
}

func tenantNotFoundMessage(t string) string {
	return fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", t)
}

func appNotFoundMessage(appID, tenant string) string {
	return fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", appID, tenant)
}

// serveOpenIDConfiguration serves the tenant discovery document MSAL reads
// before its first token request. For common and organizations, as at
// Microsoft, the endpoints keep the path's key and the issuer holds the
// literal placeholder {tenantid} (the issuer of a token is that of the
// tenant the user signed in to).
func (s *Server) serveOpenIDConfiguration(w http.ResponseWriter, r *http.Request, tenantKey string) {
	s.count(CallDiscovery)
	if s.injectFault(w, r, CallDiscovery) {
		return
	}
	var key, tid string
	switch lower := strings.ToLower(tenantKey); lower {
	case "common", "organizations":
		key, tid = lower, "{tenantid}"
	default:
		s.mu.Lock()
		t := s.tenant(tenantKey)
		s.mu.Unlock()
		if t == nil {
			s.entraError(w, r, http.StatusBadRequest, "invalid_tenant", 90002, tenantNotFoundMessage(tenantKey))
			return
		}
		key, tid = t.ID, t.ID
	}
	base := baseURL(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/" + key + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/" + key + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                base + "/" + tid + "/v2.0",
		"request_uri_parameter_supported":       false,
		"authorization_endpoint":                base + "/" + key + "/oauth2/v2.0/authorize",
		"end_session_endpoint":                  base + "/" + key + "/oauth2/v2.0/logout",
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "preferred_username", "name", "tid", "ver", "oid", "wids"},
		"tenant_region_scope":                   "NA",
		"cloud_instance_name":                   "microsoftonline.com",
		"cloud_graph_host_name":                 "graph.windows.net",
		"msgraph_host":                          "graph.microsoft.com",
	})
}

// signingKey is an RSA key with its key id.
type signingKey struct {
	key *rsa.PrivateKey
	kid string
}

// newSigningKey makes a 2048-bit RSA key whose kid is, like Microsoft's,
// a base64url thumbprint.
func newSigningKey() (*signingKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(key.PublicKey.N.Bytes())
	return &signingKey{key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:])}, nil
}

// idTokenKey returns the tenant's ID-token signing key, made on first use
// and kept for the server's life (a reset does not change it).
func (s *Server) idTokenKey(tenantID string) (*signingKey, error) {
	s.idKeysMu.Lock()
	defer s.idKeysMu.Unlock()
	if k, ok := s.idKeys[tenantID]; ok {
		return k, nil
	}
	k, err := newSigningKey()
	if err != nil {
		return nil, err
	}
	s.idKeys[tenantID] = k
	return k, nil
}

func jwk(pub *rsa.PublicKey, kid, iss string) map[string]any {
	k := map[string]any{
		"kty": "RSA",
		"use": "sig",
		"kid": kid,
		"alg": "RS256",
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
	if iss != "" {
		k["issuer"] = iss
	}
	return k
}

// serveKeys serves a tenant's JWKS: the access-token signing key and the
// tenant's own ID-token signing key, so that an ID token of one tenant does
// not verify against another tenant's keys. common and organizations list
// every tenant's ID-token key, as Microsoft's common keys cover all tenants.
func (s *Server) serveKeys(w http.ResponseWriter, r *http.Request, tenantKey string) {
	s.count(CallDiscovery)
	if s.injectFault(w, r, CallDiscovery) {
		return
	}
	var tenants []string
	iss := func(tid string) string { return baseURL(r) + "/" + tid + "/v2.0" }
	switch strings.ToLower(tenantKey) {
	case "common", "organizations":
		s.mu.Lock()
		for _, t := range s.tenants {
			tenants = append(tenants, t.ID)
		}
		s.mu.Unlock()
	default:
		s.mu.Lock()
		t := s.tenant(tenantKey)
		s.mu.Unlock()
		if t == nil {
			s.entraError(w, r, http.StatusBadRequest, "invalid_tenant", 90002, tenantNotFoundMessage(tenantKey))
			return
		}
		tenants = []string{t.ID}
	}
	keys := []map[string]any{jwk(&s.key.PublicKey, s.keyID, "")}
	for _, tid := range tenants {
		k, err := s.idTokenKey(tid)
		if err != nil {
			s.entraError(w, r, http.StatusInternalServerError, "server_error", 90033, "Could not make the signing key.")
			return
		}
		keys = append(keys, jwk(&k.key.PublicKey, k.kid, iss(tid)))
	}
	w.Header().Set("Cache-Control", "max-age=86400, private")
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// serveToken implements the client-credentials grant and, in signin.go, the
// authorization-code grant.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, tenantKey string) {
	s.count(CallToken)
	if s.injectFault(w, r, CallToken) {
		return
	}
	if r.Method != http.MethodPost {
		s.entraError(w, r, http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests.")
		return
	}
	if err := r.ParseForm(); err != nil {
		s.entraError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must be application/x-www-form-urlencoded.")
		return
	}
	form := r.PostForm
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		clientID, secret = u, p
	}

	if form.Get("grant_type") == "authorization_code" {
		s.redeemCode(w, r, tenantKey, form, clientID, secret)
		return
	}

	s.mu.Lock()
	t := s.tenant(tenantKey)
	s.mu.Unlock()
	if t == nil {
		s.entraError(w, r, http.StatusBadRequest, "invalid_request", 90002, tenantNotFoundMessage(tenantKey))
		return
	}
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		if gt == "" {
			s.entraError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		} else {
			s.entraError(w, r, http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'. The local Microsoft double supports client_credentials and authorization_code only.", gt))
		}
		return
	}
	if clientID == "" {
		s.entraError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	scope := form.Get("scope")
	if scope == "" {
		s.entraError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
		return
	}
	// MSAL adds the OpenID Connect scopes, which Entra ID ignores here.
	var rest []string
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case "openid", "offline_access", "profile", "email":
		default:
			rest = append(rest, sc)
		}
	}
	resource, ok := "", false
	if len(rest) == 1 {
		resource, ok = strings.CutSuffix(rest[0], "/.default")
	}
	if !ok {
		s.entraError(w, r, http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope))
		return
	}
	resource = s.audience(resource)
	if resource == "" {
		s.entraError(w, r, http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", strings.TrimSuffix(scope, "/.default"), t.DisplayName))
		return
	}

	oid, wantSecret, found := s.servicePrincipal(t, clientID)
	if !found {
		s.entraError(w, r, http.StatusBadRequest, "unauthorized_client", 700016, appNotFoundMessage(clientID, t.Name))
		return
	}
	if !s.clientAuthenticated(w, r, form, clientID, secret, wantSecret) {
		return
	}

	now := s.now().UTC()
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer(r, t.ID),
			Subject:   oid,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.lifetime)),
		},
		Audience: resource,
		TenantID: t.ID,
		ObjectID: oid,
		AppID:    strings.ToLower(clientID),
		AppIDACR: "1",
		IDType:   "app",
		IDP:      issuer(r, t.ID),
		Version:  "1.0",
		UTI:      strings.ReplaceAll(uuid.NewString(), "-", ""),
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = s.keyID
	signed, err := tok.SignedString(s.key)
	if err != nil {
		s.entraError(w, r, http.StatusInternalServerError, "server_error", 90033, "Could not sign the token.")
		return
	}
	secs := int(s.lifetime / time.Second)
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     secs,
		"ext_expires_in": secs,
		"access_token":   signed,
	})
}

// audience maps a requested resource to the accepted audience spelling, or "".
func (s *Server) audience(resource string) string {
	for _, a := range s.resources {
		if strings.EqualFold(strings.TrimSuffix(a, "/"), strings.TrimSuffix(resource, "/")) {
			return resource
		}
	}
	return ""
}

// servicePrincipal finds the service principal of an application in a
// tenant: the partner application's once consented, or one of the tenant's
// own applications. It returns the object id and the expected secret.
func (s *Server) servicePrincipal(t *tenantState, clientID string) (oid, secret string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.EqualFold(clientID, s.scenario.Partner.AppID) {
		if !t.consented {
			return "", "", false
		}
		return strings.ToLower(t.PartnerServicePrincipalID), s.scenario.Partner.ClientSecret, true
	}
	for _, a := range t.Apps {
		if strings.EqualFold(a.AppID, clientID) {
			return strings.ToLower(a.ServicePrincipalID), a.ClientSecret, true
		}
	}
	return "", "", false
}

// errToken describes why a bearer token was refused, in ARM's terms.
type errToken struct {
	code, msg string
}

func (e *errToken) Error() string { return e.code + ": " + e.msg }

// verifyToken checks a bearer token the double issued and returns its claims.
func (s *Server) verifyToken(raw string) (*Claims, error) {
	claims := &Claims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		return &s.key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(s.now), jwt.WithExpirationRequired())
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		exp := time.Time{}
		if claims.ExpiresAt != nil {
			exp = claims.ExpiresAt.Time
		}
		return nil, &errToken{"ExpiredAuthenticationToken", fmt.Sprintf("The access token expiry UTC time '%s' is earlier than current UTC time '%s'.", exp.UTC().Format("1/2/2006 3:04:05 PM"), s.now().UTC().Format("1/2/2006 3:04:05 PM"))}
	case err != nil:
		return nil, &errToken{"InvalidAuthenticationToken", "The access token is invalid."}
	}
	if s.audience(claims.Audience) == "" {
		return nil, &errToken{"InvalidAuthenticationTokenAudience", fmt.Sprintf("The access token has been obtained for wrong audience or resource '%s'. It should exactly match with one of the allowed audiences %s.", claims.Audience, strings.Join(s.resources, ","))}
	}
	return claims, nil
}

// clientAuthenticated checks a confidential client's secret as Entra ID's
// token endpoint does (the double accepts secrets only), answering the
// error itself; false when the request was refused.
func (s *Server) clientAuthenticated(w http.ResponseWriter, r *http.Request, form url.Values, clientID, secret, wantSecret string) bool {
	switch {
	case form.Get("client_assertion") != "":
		s.entraError(w, r, http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation. The local Microsoft double accepts client secrets only.")
	case secret == "":
		s.entraError(w, r, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	case subtle.ConstantTimeCompare([]byte(secret), []byte(wantSecret)) != 1:
		s.entraError(w, r, http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID))
	default:
		return true
	}
	return false
}
