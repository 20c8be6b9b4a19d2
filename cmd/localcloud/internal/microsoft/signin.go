package microsoft

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Sign-in: the OpenID Connect authorization-code flow of the Microsoft
// identity platform (v2.0), with PKCE and nonce, as the partner's
// application uses it to prove which tenant an administrator belongs to.
//
//	GET  /{tenant}/oauth2/v2.0/authorize   sign-in form (login, accept/decline)
//	POST /{tenant}/oauth2/v2.0/authorize   its submission: 302 to redirect_uri with code
//	POST /{tenant}/oauth2/v2.0/token       grant_type=authorization_code
//
// {tenant} is organizations, common, or a tenant id, name or domain.

const (
	// codeLifetime is how long an authorization code can be redeemed
	// ("typically about 10 minutes" in Microsoft's documentation).
	codeLifetime = 10 * time.Minute
	// idTokenLifetime is the lifetime of ID tokens.
	idTokenLifetime = time.Hour
	// sessionCookie is the browser's sign-in session at the double.
	sessionCookie = "ESTSAUTH"
	// GraphAppID is Microsoft Graph's application id, the audience of the
	// access token the authorization-code flow returns for OpenID scopes.
	GraphAppID = "00000003-0000-0000-c000-000000000000"
)

// authCode is an issued authorization code and what it was issued for.
type authCode struct {
	clientID    string
	redirectURI string
	challenge   string
	method      string // S256 or plain; "" without PKCE
	nonce       string
	scope       string
	tenantID    string
	user        User
	expires     time.Time
	redeemed    bool
}

// signInSession is a browser's sign-in at the double, found by the value of
// its cookie.
type signInSession struct {
	login    string
	tenantID string
	// state is the session_state sent with codes: a GUID, not the secret.
	state string
}

// authorizeRequest is an authorization request, from the query (GET) or
// the form's hidden fields (POST, which win).
type authorizeRequest struct {
	TenantKey           string
	ClientID            string
	ResponseType        string
	ResponseMode        string
	RedirectURI         string
	Scope               string
	State               string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              string
	LoginHint           string
}

type signInPage struct {
	authorizeRequest
	PartnerName string
	AppName     string
	Login       string
	Error       string
}

var signInTemplate = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Sign in to your account</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 34rem; margin: 3rem auto; padding: 0 1rem; }
label, input { display: block; }
input[type=email] { width: 100%; padding: .4rem; margin: .3rem 0 1rem; }
button { margin-right: .5rem; padding: .4rem 1.2rem; }
.error { color: #a4262c; border-left: 4px solid #a4262c; padding-left: .6rem; }
</style>
</head>
<body>
<main>
<h1>Sign in</h1>
<p><strong>{{.AppName}}</strong> ({{.PartnerName}}) wants to sign you in and read your basic profile (<code>{{.Scope}}</code>).</p>
<p>Local Microsoft double: no password is needed.</p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="response_type" value="{{.ResponseType}}">
<input type="hidden" name="response_mode" value="{{.ResponseMode}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="scope" value="{{.Scope}}">
<input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="nonce" value="{{.Nonce}}">
<input type="hidden" name="code_challenge" value="{{.CodeChallenge}}">
<input type="hidden" name="code_challenge_method" value="{{.CodeChallengeMethod}}">
<label for="login">Email</label>
<input type="email" id="login" name="login" value="{{.Login}}" autocomplete="username" placeholder="someone@contoso.example">
<button type="submit" name="decision" value="accept">Accept</button>
<button type="submit" name="decision" value="decline">Decline</button>
</form>
</main>
</body>
</html>
`))

// formPostTemplate answers response_mode=form_post as Microsoft does: a
// page that posts the response to the redirect URI.
var formPostTemplate = template.Must(template.New("formPost").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Working...</title></head>
<body onload="document.forms[0].submit()">
<form method="post" name="hiddenform" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{index . 0}}" value="{{index . 1}}">
{{end}}<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit"></noscript>
</form>
</body>
</html>
`))

// serveAuthorize serves the authorization endpoint: a sign-in form on GET
// and, on POST, the decision, answered with a redirect as Microsoft does.
// An unknown tenant or application or a redirect URI that is not allowed
// gets an error page, never a redirect.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request, tenantKey string) {
	s.count(CallAuthorize)
	if s.injectFault(w, r, CallAuthorize) {
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		consentErrorPage(w, "AADSTS900144: The request could not be read.")
		return
	}
	// r.Form holds the query and, on POST, the form's fields first.
	f := r.Form
	req := authorizeRequest{
		TenantKey:           tenantKey,
		ClientID:            f.Get("client_id"),
		ResponseType:        f.Get("response_type"),
		ResponseMode:        f.Get("response_mode"),
		RedirectURI:         f.Get("redirect_uri"),
		Scope:               f.Get("scope"),
		State:               f.Get("state"),
		Nonce:               f.Get("nonce"),
		CodeChallenge:       f.Get("code_challenge"),
		CodeChallengeMethod: f.Get("code_challenge_method"),
		Prompt:              f.Get("prompt"),
		LoginHint:           f.Get("login_hint"),
	}
	pathTenant, msg := s.validateAuthorize(req)
	if msg != "" {
		consentErrorPage(w, msg)
		return
	}
	fail := func(code, desc string) {
		s.authorizeRespond(w, r, req, [][2]string{{"error", code}, {"error_description", desc}})
	}
	switch req.ResponseMode {
	case "", "query", "fragment", "form_post":
	default:
		mode := req.ResponseMode
		req.ResponseMode = "query"
		fail("invalid_request", fmt.Sprintf("AADSTS70007: The app returned an unsupported value of 'response_mode': '%s'. Use query, fragment or form_post.", mode))
		return
	}
	switch {
	case req.ResponseType == "":
		fail("invalid_request", "AADSTS900144: The request body must contain the following parameter: 'response_type'.")
		return
	case req.ResponseType != "code":
		fail("unsupported_response_type", fmt.Sprintf("AADSTS70005: response_type '%s' is not supported. The local Microsoft double supports the authorization code flow (response_type=code) only.", req.ResponseType))
		return
	case req.Scope == "":
		fail("invalid_request", "AADSTS900144: The request body must contain the following parameter: 'scope'.")
		return
	case !hasScope(req.Scope, "openid"):
		fail("invalid_scope", fmt.Sprintf("AADSTS70011: The provided value for the input parameter 'scope' isn't valid. The scope %s isn't valid: the local Microsoft double signs users in with OpenID Connect only, so the scope must contain openid.", req.Scope))
		return
	}
	if req.CodeChallenge != "" {
		if req.CodeChallengeMethod == "" {
			req.CodeChallengeMethod = "plain" // RFC 7636 §4.3
		}
		if req.CodeChallengeMethod != "S256" && req.CodeChallengeMethod != "plain" {
			fail("invalid_request", fmt.Sprintf("AADSTS90100: The parameter 'code_challenge_method' is empty or not valid: '%s'. Use S256 or plain.", req.CodeChallengeMethod))
			return
		}
		if n := len(req.CodeChallenge); n < 43 || n > 128 {
			fail("invalid_request", "AADSTS501491: Invalid size of Code_Challenge parameter.")
			return
		}
	} else {
		req.CodeChallengeMethod = ""
	}

	sess := s.session(r)
	if req.Prompt == "none" && r.Method == http.MethodGet {
		// A silent request: the browser's session or an error, never a page.
		if sess != nil {
			s.mu.Lock()
			t, u, msg := s.lookupUser(pathTenant, sess.login)
			s.mu.Unlock()
			if msg == "" {
				s.completeSignIn(w, r, req, t, u)
				return
			}
		}
		fail("login_required", "AADSTS50058: A silent sign-in request was sent but no user is signed in.")
		return
	}

	page := signInPage{authorizeRequest: req, PartnerName: s.scenario.Partner.Name, AppName: s.scenario.Partner.AppName, Login: req.LoginHint}
	if page.AppName == "" {
		page.AppName = s.scenario.Partner.Name
	}
	if page.Login == "" && sess != nil {
		page.Login = sess.login
	}
	if r.Method == http.MethodGet {
		renderSignIn(w, http.StatusOK, page)
		return
	}

	switch r.PostForm.Get("decision") {
	case "decline":
		fail("access_denied", declinedDescription)
		return
	case "accept":
	default:
		page.Error = "Choose Accept or Decline."
		renderSignIn(w, http.StatusBadRequest, page)
		return
	}
	login := strings.TrimSpace(r.PostForm.Get("login"))
	if login == "" && sess != nil {
		login = sess.login
	}
	page.Login = login
	if login == "" {
		page.Error = "Enter a valid email address, phone number, or Skype name."
		renderSignIn(w, http.StatusOK, page)
		return
	}
	s.mu.Lock()
	t, u, msg := s.lookupUser(pathTenant, login)
	s.mu.Unlock()
	if msg != "" {
		page.Error = msg
		renderSignIn(w, http.StatusOK, page)
		return
	}
	s.completeSignIn(w, r, req, t, u)
}

// completeSignIn signs the user in to the browser's session, issues an
// authorization code and sends it to the redirect URI.
func (s *Server) completeSignIn(w http.ResponseWriter, r *http.Request, req authorizeRequest, t *tenantState, u User) {
	sess := s.startSession(w, r, u.UserPrincipalName, t.ID)
	code := randomToken(48)
	now := s.now()
	s.mu.Lock()
	for k, c := range s.codes {
		if now.After(c.expires.Add(time.Hour)) {
			delete(s.codes, k)
		}
	}
	s.codes[code] = &authCode{
		clientID:    req.ClientID,
		redirectURI: req.RedirectURI,
		challenge:   req.CodeChallenge,
		method:      req.CodeChallengeMethod,
		nonce:       req.Nonce,
		scope:       req.Scope,
		tenantID:    t.ID,
		user:        u,
		expires:     now.Add(codeLifetime),
	}
	s.mu.Unlock()
	s.authorizeRespond(w, r, req, [][2]string{{"code", code}, {"session_state", sess.state}})
}

// validateAuthorize checks the tenant in the path, the client id and the
// redirect URI. It returns the path's tenant (nil for organizations and
// common) or an error message for the error page.
func (s *Server) validateAuthorize(req authorizeRequest) (*tenantState, string) {
	var pathTenant *tenantState
	partner := s.scenario.Partner
	switch strings.ToLower(req.TenantKey) {
	case "organizations", "common":
	case "consumers":
		return nil, fmt.Sprintf("AADSTS9002332: Application '%s'(%s) is configured for use by Microsoft Entra users only. Please do not use the /consumers endpoint to serve this request.", partner.AppID, partner.AppName)
	default:
		s.mu.Lock()
		pathTenant = s.tenant(req.TenantKey)
		s.mu.Unlock()
		if pathTenant == nil {
			return nil, "AADSTS90002: " + tenantNotFoundMessage(req.TenantKey)
		}
	}
	switch {
	case req.ClientID == "":
		return nil, "AADSTS900144: The request body must contain the following parameter: 'client_id'."
	case !strings.EqualFold(req.ClientID, partner.AppID):
		dir := req.TenantKey
		if pathTenant != nil {
			dir = pathTenant.Name
		}
		return nil, "AADSTS700016: " + appNotFoundMessage(req.ClientID, dir)
	}
	if msg := checkRedirectURI(req.RedirectURI, partner); msg != "" {
		return nil, msg
	}
	return pathTenant, ""
}

// lookupUser finds a user by sign-in name across tenants; when the path
// names a tenant the user must belong to it. It returns a message for the
// form otherwise. s.mu must be held.
func (s *Server) lookupUser(pathTenant *tenantState, login string) (*tenantState, User, string) {
	for _, t := range s.tenants {
		for _, u := range t.Users {
			if !strings.EqualFold(u.UserPrincipalName, login) {
				continue
			}
			if pathTenant != nil && pathTenant != t {
				return nil, User{}, fmt.Sprintf("AADSTS50020: User account '%s' from identity provider '%s' does not exist in tenant '%s' and cannot access the application '%s' in that tenant.", login, t.Name, pathTenant.Name, s.scenario.Partner.AppID)
			}
			return t, u, ""
		}
	}
	return nil, User{}, fmt.Sprintf("AADSTS50034: The user account %s does not exist in the directory. Check the email address and try again.", login)
}

// authorizeRespond sends an authorization response (params, then state) to
// the redirect URI in the request's response mode.
func (s *Server) authorizeRespond(w http.ResponseWriter, r *http.Request, req authorizeRequest, params [][2]string) {
	switch req.ResponseMode {
	case "form_post":
		if req.State != "" {
			params = append(params, [2]string{"state", req.State})
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_ = formPostTemplate.Execute(w, struct {
			Action string
			Fields [][2]string
		}{req.RedirectURI, params})
	case "fragment":
		if req.State != "" {
			params = append(params, [2]string{"state", req.State})
		}
		v := make([]string, 0, len(params))
		for _, p := range params {
			v = append(v, url.QueryEscape(p[0])+"="+url.QueryEscape(p[1]))
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Location", req.RedirectURI+"#"+strings.Join(v, "&"))
		w.WriteHeader(http.StatusFound)
	default:
		redirectWith(w, r, req.RedirectURI, params, req.State)
	}
}

func renderSignIn(w http.ResponseWriter, status int, page signInPage) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = signInTemplate.Execute(w, page)
}

// startSession signs the browser in as login: a new session and its cookie
// (HttpOnly, Secure, SameSite=Lax, for the double's host, ending with the
// browser session).
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, login, tenantID string) signInSession {
	id := randomToken(32)
	sess := signInSession{login: login, tenantID: tenantID, state: uuid.NewString()}
	s.mu.Lock()
	if c, err := r.Cookie(sessionCookie); err == nil {
		delete(s.sessions, c.Value)
	}
	s.sessions[id] = &sess
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    id,
		Path:     "/",
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteLaxMode,
	})
	return sess
}

// session returns the browser's sign-in session, or nil.
func (s *Server) session(r *http.Request) *signInSession {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[c.Value]
	if !ok {
		return nil
	}
	out := *sess
	return &out
}

// redeemCode implements the token endpoint's authorization-code grant.
// Client authentication comes first, then the code: unknown, issued for
// another tenant, already redeemed, expired, issued to another client, for
// another redirect URI, or a PKCE verifier that does not match, each with
// Microsoft's error. A code is used up by its first successful redemption.
func (s *Server) redeemCode(w http.ResponseWriter, r *http.Request, tenantKey string, form url.Values, clientID, secret string) {
	var pathTenant *tenantState
	partner := s.scenario.Partner
	switch strings.ToLower(tenantKey) {
	case "organizations", "common":
	case "consumers":
		s.entraError(w, r, http.StatusBadRequest, "invalid_request", 9002332, fmt.Sprintf("Application '%s'(%s) is configured for use by Microsoft Entra users only. Please do not use the /consumers endpoint to serve this request.", partner.AppID, partner.AppName))
		return
	default:
		s.mu.Lock()
		pathTenant = s.tenant(tenantKey)
		s.mu.Unlock()
		if pathTenant == nil {
			s.entraError(w, r, http.StatusBadRequest, "invalid_request", 90002, tenantNotFoundMessage(tenantKey))
			return
		}
	}
	if clientID == "" {
		s.entraError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}

	// Client authentication: the partner's multi-tenant application, or a
	// tenant's own application (which can hold no code of the partner's).
	wantSecret, found := "", false
	if strings.EqualFold(clientID, partner.AppID) {
		wantSecret, found = partner.ClientSecret, true
	} else {
		s.mu.Lock()
		for _, t := range s.tenants {
			if pathTenant != nil && t != pathTenant {
				continue
			}
			for _, a := range t.Apps {
				if strings.EqualFold(a.AppID, clientID) {
					wantSecret, found = a.ClientSecret, true
				}
			}
		}
		s.mu.Unlock()
	}
	if !found {
		dir := tenantKey
		if pathTenant != nil {
			dir = pathTenant.Name
		}
		s.entraError(w, r, http.StatusBadRequest, "unauthorized_client", 700016, appNotFoundMessage(clientID, dir))
		return
	}
	if !s.clientAuthenticated(w, r, form, clientID, secret, wantSecret) {
		return
	}

	code, redirectURI := form.Get("code"), form.Get("redirect_uri")
	switch {
	case code == "":
		s.entraError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'code'.")
		return
	case redirectURI == "":
		s.entraError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'redirect_uri'.")
		return
	}
	for _, sc := range strings.Fields(form.Get("scope")) {
		switch strings.ToLower(sc) {
		case "openid", "profile", "email", "offline_access", "user.read", "https://graph.microsoft.com/user.read", "https://graph.microsoft.com/.default":
		default:
			s.entraError(w, r, http.StatusBadRequest, "invalid_scope", 70011, fmt.Sprintf("The provided value for the input parameter 'scope' isn't valid. The scope %s isn't valid: the local Microsoft double's authorization code flow issues Microsoft Graph User.Read tokens only.", sc))
			return
		}
	}

	now := s.now()
	s.mu.Lock()
	c := s.codes[code]
	var status, aadsts int
	var errCode, msg string
	switch {
	case c == nil:
		status, errCode, aadsts, msg = http.StatusBadRequest, "invalid_grant", 70000, "The provided value for the 'code' parameter is not valid."
	case pathTenant != nil && pathTenant.ID != c.tenantID:
		status, errCode, aadsts, msg = http.StatusBadRequest, "invalid_grant", 700005, "Provided Authorization Code is intended to use against other tenant, thus rejected."
	case c.redeemed:
		status, errCode, aadsts, msg = http.StatusBadRequest, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."
	case !now.Before(c.expires):
		status, errCode, aadsts, msg = http.StatusBadRequest, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource."
	case !strings.EqualFold(c.clientID, clientID):
		status, errCode, aadsts, msg = http.StatusBadRequest, "invalid_grant", 70000, "The provided value for the 'code' parameter is not valid. The code was issued to a different client."
	case c.redirectURI != redirectURI:
		// Microsoft files a reply-address mismatch under invalid_client.
		status, errCode, aadsts, msg = http.StatusBadRequest, "invalid_client", 500112, fmt.Sprintf("The reply address '%s' does not match the reply address '%s' provided when requesting Authorization code.", redirectURI, c.redirectURI)
	case c.challenge != "" && !pkceMatches(c.challenge, c.method, form.Get("code_verifier")):
		status, errCode, aadsts, msg = http.StatusBadRequest, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request."
	default:
		c.redeemed = true
	}
	var grant authCode
	if c != nil {
		grant = *c
	}
	s.mu.Unlock()
	if status != 0 {
		s.entraError(w, r, status, errCode, aadsts, msg)
		return
	}
	s.issueUserTokens(w, r, grant, form)
}

// pkceMatches checks a PKCE verifier against the challenge (RFC 7636 §4.6).
func pkceMatches(challenge, method, verifier string) bool {
	if verifier == "" {
		return false
	}
	want := verifier
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// issueUserTokens answers a redeemed code: a Microsoft Graph access token,
// an ID token signed with the user's tenant's key, a refresh token when
// offline_access was asked for, and client_info when MSAL asks for it.
func (s *Server) issueUserTokens(w http.ResponseWriter, r *http.Request, c authCode, form url.Values) {
	key, err := s.idTokenKey(c.tenantID)
	if err != nil {
		s.entraError(w, r, http.StatusInternalServerError, "server_error", 90033, "Could not make the signing key.")
		return
	}
	now := s.now().UTC()
	u, tid := c.user, c.tenantID
	oid := strings.ToLower(u.ID)
	profile := hasScope(c.scope, "profile")
	wids := u.DirectoryRoles()

	// The granted scopes: the OpenID scopes asked for and Graph's User.Read.
	var granted []string
	for _, sc := range []string{"openid", "profile", "email"} {
		if hasScope(c.scope, sc) || hasScope(form.Get("scope"), sc) {
			granted = append(granted, sc)
		}
	}
	granted = append(granted, "User.Read")
	scope := strings.Join(granted, " ")

	at := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer(r, tid),
			Subject:   pairwiseSubject(GraphAppID, tid, oid),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.lifetime)),
		},
		Audience: GraphAppID,
		TenantID: tid,
		ObjectID: oid,
		AppID:    strings.ToLower(c.clientID),
		AppIDACR: "1",
		IDType:   "user",
		IDP:      issuer(r, tid),
		Version:  "1.0",
		UTI:      randomToken(16),
		Scope:    scope,
		Name:     u.DisplayName,
		UPN:      u.UserPrincipalName,
		WIDs:     wids,
	}
	atok := jwt.NewWithClaims(jwt.SigningMethodRS256, at)
	atok.Header["kid"] = s.keyID
	accessToken, err := atok.SignedString(s.key)
	if err != nil {
		s.entraError(w, r, http.StatusInternalServerError, "server_error", 90033, "Could not sign the token.")
		return
	}

	id := jwt.MapClaims{
		"aud": strings.ToLower(c.clientID),
		"iss": issuer(r, tid),
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(idTokenLifetime).Unix(),
		"aio": randomToken(40),
		"rh":  randomToken(32),
		"sub": pairwiseSubject(c.clientID, tid, oid),
		"tid": tid,
		"uti": randomToken(16),
		"ver": "2.0",
	}
	if c.nonce != "" {
		id["nonce"] = c.nonce
	}
	if profile {
		id["oid"] = oid
		id["preferred_username"] = u.UserPrincipalName
		if u.DisplayName != "" {
			id["name"] = u.DisplayName
		}
	}
	if len(wids) > 0 {
		id["wids"] = wids
	}
	s.mu.Lock()
	tamper := s.idTokenTamper
	s.mu.Unlock()
	signer := key.key
	switch tamper {
	case "audience":
		id["aud"] = GraphAppID
	case "nonce":
		id["nonce"] = "tampered-" + randomToken(8)
	case "issuer":
		id["iss"] = issuer(r, s.scenario.Partner.TenantID)
	case "expired":
		id["iat"], id["nbf"], id["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	case "signature":
		if signer, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			s.entraError(w, r, http.StatusInternalServerError, "server_error", 90033, "Could not make a key.")
			return
		}
	}
	itok := jwt.NewWithClaims(jwt.SigningMethodRS256, id)
	itok.Header["kid"] = key.kid
	idToken, err := itok.SignedString(signer)
	if err != nil {
		s.entraError(w, r, http.StatusInternalServerError, "server_error", 90033, "Could not sign the token.")
		return
	}

	secs := int(s.lifetime / time.Second)
	body := map[string]any{
		"token_type":     "Bearer",
		"scope":          scope,
		"expires_in":     secs,
		"ext_expires_in": secs,
		"access_token":   accessToken,
		"id_token":       idToken,
	}
	if hasScope(c.scope, "offline_access") || hasScope(form.Get("scope"), "offline_access") {
		// Opaque; the double does not redeem refresh tokens.
		body["refresh_token"] = "1.A" + randomToken(96)
	}
	if form.Get("client_info") == "1" {
		ci, _ := json.Marshal(map[string]string{"uid": oid, "utid": tid})
		body["client_info"] = base64.RawURLEncoding.EncodeToString(ci)
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, http.StatusOK, body)
}

// pairwiseSubject is the sub claim: the same user gets a different, stable
// value per application (and tenant), as at Microsoft.
func pairwiseSubject(appID, tenantID, userID string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(appID) + "|" + strings.ToLower(tenantID) + "|" + strings.ToLower(userID)))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// hasScope tells whether a space-separated scope list holds sc.
func hasScope(scopes, sc string) bool {
	for _, s := range strings.Fields(scopes) {
		if strings.EqualFold(s, sc) {
			return true
		}
	}
	return false
}

// randomToken is n random bytes in base64url.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
