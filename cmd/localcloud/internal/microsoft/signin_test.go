package microsoft

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/coreos/go-oidc/v3/oidc"
)

const (
	signInRedirect = "https://partner.example/signin/callback"
	contosoDev     = "20000000-0000-4000-8000-0000000000e2"
	fabrikamAdmin  = "30000000-0000-4000-8000-0000000000e1"
)

// browser is a user agent with cookies that does not follow redirects.
type browser struct {
	e *env
	c *http.Client
}

func newBrowser(t *testing.T, e *env) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := *e.client
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{e: e, c: &c}
}

func (b *browser) get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) post(t *testing.T, u string, fields url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := b.c.PostForm(u, fields)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

type pkce struct{ verifier, challenge string }

func newPKCE() pkce {
	v := randomToken(32)
	sum := sha256.Sum256([]byte(v))
	return pkce{v, base64.RawURLEncoding.EncodeToString(sum[:])}
}

// authorizeQuery is the request the product sends (shared/signin).
func authorizeQuery(p pkce, nonce, state string) url.Values {
	return url.Values{
		"client_id":             {partnerApp},
		"response_type":         {"code"},
		"response_mode":         {"query"},
		"redirect_uri":          {signInRedirect},
		"scope":                 {"openid profile"},
		"state":                 {state},
		"nonce":                 {nonce},
		"code_challenge":        {p.challenge},
		"code_challenge_method": {"S256"},
		"prompt":                {"select_account"},
	}
}

func (b *browser) authorizeURL(tenant string, q url.Values) string {
	return b.e.url + "/" + tenant + "/oauth2/v2.0/authorize?" + q.Encode()
}

// signIn shows the sign-in form, checks that its hidden fields carry the
// request, and submits it with login and decision as a browser does (to the
// same URL). It returns the answer to the submission.
func (b *browser) signIn(t *testing.T, tenant string, q url.Values, login, decision string) (*http.Response, string) {
	t.Helper()
	resp, page := b.get(t, b.authorizeURL(tenant, q))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in form: %d %s", resp.StatusCode, page)
	}
	fields := url.Values{}
	for _, k := range []string{"client_id", "response_type", "response_mode", "redirect_uri", "scope", "state", "nonce", "code_challenge", "code_challenge_method"} {
		want := `name="` + k + `" value="` + attrEscape(q.Get(k)) + `"`
		if !strings.Contains(page, want) {
			t.Fatalf("form lacks %s:\n%s", want, page)
		}
		fields.Set(k, q.Get(k))
	}
	for _, want := range []string{`name="login"`, `name="decision" value="accept"`, `name="decision" value="decline"`, `method="post"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("form lacks %s:\n%s", want, page)
		}
	}
	if login != "" {
		fields.Set("login", login)
	}
	fields.Set("decision", decision)
	return b.post(t, b.authorizeURL(tenant, q), fields)
}

// attrEscape escapes as html/template does in attribute values, for
// the values used here.
func attrEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "+", "&#43;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")
	return r.Replace(s)
}

// codeFrom reads the code from a sign-in redirect, checking its shape.
func codeFrom(t *testing.T, resp *http.Response, state string) string {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status = %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != signInRedirect || q.Get("code") == "" || q.Get("state") != state || q.Get("session_state") == "" || q.Get("error") != "" {
		t.Fatalf("Location = %s", loc)
	}
	return q.Get("code")
}

// redeem exchanges a code as the product does: MSAL's confidential client.
func (e *env) redeem(t *testing.T, code, redirect, verifier string) (confidential.AuthResult, error) {
	t.Helper()
	cred, err := confidential.NewCredFromSecret(partnerSecret)
	if err != nil {
		t.Fatal(err)
	}
	client, err := confidential.New(e.url+"/organizations", partnerApp, cred,
		confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(e.client))
	if err != nil {
		t.Fatal(err)
	}
	return client.AcquireTokenByAuthCode(context.Background(), code, redirect, []string{"openid", "profile"}, confidential.WithChallenge(verifier))
}

// verifyIDToken checks an ID token as the product does: go-oidc against the
// keys of tenant keysOf, with the issuer of tenant issuerOf.
func (e *env) verifyIDToken(raw, keysOf, issuerOf string) (*oidc.IDToken, error) {
	ctx := oidc.ClientContext(context.Background(), e.client)
	keys := oidc.NewRemoteKeySet(ctx, e.url+"/"+keysOf+"/discovery/v2.0/keys")
	v := oidc.NewVerifier(e.url+"/"+issuerOf+"/v2.0", keys, &oidc.Config{
		ClientID:             partnerApp,
		SupportedSigningAlgs: []string{oidc.RS256},
		Now:                  e.srv.now,
	})
	return v.Verify(ctx, raw)
}

// idClaims are the ID token claims the product reads.
type idClaims struct {
	TID      string   `json:"tid"`
	OID      string   `json:"oid"`
	Name     string   `json:"name"`
	Username string   `json:"preferred_username"`
	Nonce    string   `json:"nonce"`
	Ver      string   `json:"ver"`
	WIDs     []string `json:"wids"`
}

func TestSignInThenAdminConsent(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	b := newBrowser(t, e)
	p := newPKCE()
	q := authorizeQuery(p, "nonce-1", "st-1")

	resp, _ := b.signIn(t, "organizations", q, "Admin@Contoso.example", "accept")
	code := codeFrom(t, resp, "st-1")
	st := e.srv.State()
	if st.AuthorizationCodes != 1 || st.SignInSessions != 1 {
		t.Fatalf("state: %d codes, %d sessions", st.AuthorizationCodes, st.SignInSessions)
	}
	cookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{sessionCookie + "=", "HttpOnly", "Secure", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Fatalf("Set-Cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(resp.Header.Get("Location"), strings.Split(strings.TrimPrefix(cookie, sessionCookie+"="), ";")[0]) {
		t.Fatal("the session secret leaks into the redirect")
	}

	res, err := e.redeem(t, code, signInRedirect, p.verifier)
	if err != nil {
		t.Fatalf("AcquireTokenByAuthCode: %v", err)
	}
	if e.srv.State().AuthorizationCodes != 0 {
		t.Fatal("a redeemed code still counts as waiting")
	}
	if res.IDToken.TenantID != contosoTenant || res.Account.HomeAccountID != contosoAdmin+"."+contosoTenant {
		t.Fatalf("MSAL result: tid %q home account %q", res.IDToken.TenantID, res.Account.HomeAccountID)
	}
	tok, err := e.verifyIDToken(res.IDToken.RawToken, contosoTenant, contosoTenant)
	if err != nil {
		t.Fatalf("ID token does not verify against contoso's keys: %v", err)
	}
	var c idClaims
	if err := tok.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if c.TID != contosoTenant || c.OID != contosoAdmin || c.Nonce != "nonce-1" || c.Ver != "2.0" ||
		c.Username != "admin@contoso.example" || c.Name != "Contoso Administrator" ||
		len(c.WIDs) != 1 || c.WIDs[0] != GlobalAdministratorRoleID {
		t.Fatalf("ID token claims = %+v", c)
	}
	if tok.Subject == "" || tok.Subject == contosoAdmin || tok.Audience[0] != partnerApp || !tok.Expiry.Equal(tok.IssuedAt.Add(time.Hour)) {
		t.Fatalf("sub %q aud %v iat %v exp %v", tok.Subject, tok.Audience, tok.IssuedAt, tok.Expiry)
	}
	at := claimsOf(t, res.AccessToken)
	if at["aud"] != GraphAppID || at["tid"] != contosoTenant || at["oid"] != contosoAdmin || at["idtyp"] != "user" || !strings.Contains(at["scp"].(string), "User.Read") {
		t.Fatalf("access token claims = %v", at)
	}

	// The same browser at the admin-consent page: signed in already.
	cq := url.Values{"client_id": {partnerApp}, "scope": {managementScope}, "redirect_uri": {signInRedirect}, "state": {"st-2"}}
	consentURL := e.url + "/" + contosoTenant + "/v2.0/adminconsent?" + cq.Encode()
	resp, page := b.get(t, consentURL)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `value="admin@contoso.example"`) {
		t.Fatalf("consent page not prefilled: %d %s", resp.StatusCode, page)
	}
	fields := url.Values{"client_id": {partnerApp}, "scope": {managementScope}, "redirect_uri": {signInRedirect}, "state": {"st-2"}, "decision": {"accept"}}
	resp, page = b.post(t, consentURL, fields)
	want := signInRedirect + "?admin_consent=True&tenant=" + contosoTenant + "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default&state=st-2"
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
		t.Fatalf("consent without login: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	if calls := e.srv.Calls(); calls[CallAuthorize] != 2 || calls[CallAdminConsent] != 2 {
		t.Fatalf("calls = %v", calls)
	}

	// A browser without the session still needs the login field.
	resp, page = newBrowser(t, e).post(t, consentURL, fields)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Enter the administrator") {
		t.Fatalf("consent without login nor session: %d %s", resp.StatusCode, page)
	}
}

func TestSignInOfUserWithoutDirectoryRole(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	b := newBrowser(t, e)
	p := newPKCE()
	resp, _ := b.signIn(t, contosoTenant, authorizeQuery(p, "n-dev", "s"), "dev@contoso.example", "accept")
	res, err := e.redeem(t, codeFrom(t, resp, "s"), signInRedirect, p.verifier)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.verifyIDToken(res.IDToken.RawToken, "contoso", contosoTenant)
	if err != nil {
		t.Fatal(err)
	}
	raw := map[string]any{}
	_ = tok.Claims(&raw)
	if _, ok := raw["wids"]; ok || raw["oid"] != contosoDev || raw["nonce"] != "n-dev" {
		t.Fatalf("claims of dev = %v", raw)
	}

	// Signed in as dev, the admin-consent page refuses consent.
	fields := url.Values{"client_id": {partnerApp}, "scope": {managementScope}, "redirect_uri": {signInRedirect}, "state": {"s"}, "login": {""}, "decision": {"accept"}}
	resp, page := b.post(t, e.url+"/organizations/v2.0/adminconsent", fields)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "AADSTS90094") || !strings.Contains(page, `value="dev@contoso.example"`) {
		t.Fatalf("consent by dev: %d %s", resp.StatusCode, page)
	}
}

func TestSignInWithRoles(t *testing.T) {
	sc := defaultScenario(t)
	sc.Tenants[0].Users[1].Roles = []string{"Cloud Application Administrator", PrivilegedRoleAdministratorRoleID}
	e := newEnv(t, sc)
	p := newPKCE()
	resp, _ := newBrowser(t, e).signIn(t, "organizations", authorizeQuery(p, "n", "s"), "dev@contoso.example", "accept")
	res, err := e.redeem(t, codeFrom(t, resp, "s"), signInRedirect, p.verifier)
	if err != nil {
		t.Fatal(err)
	}
	var c idClaims
	_ = json.Unmarshal(mustPayload(t, res.IDToken.RawToken), &c)
	if len(c.WIDs) != 2 || c.WIDs[0] != CloudApplicationAdministratorRoleID || c.WIDs[1] != PrivilegedRoleAdministratorRoleID {
		t.Fatalf("wids = %v", c.WIDs)
	}
}

func mustPayload(t *testing.T, jwt string) []byte {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignInDeclineAndFormErrors(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	q := authorizeQuery(newPKCE(), "n", "st-9")

	resp, _ := newBrowser(t, e).signIn(t, "organizations", q, "", "decline")
	want := signInRedirect + "?error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent+to+access+the+app.&state=st-9"
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
		t.Fatalf("decline: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	tests := []struct{ name, tenant, login, want string }{
		{"unknown user", "organizations", "nobody@contoso.example", "AADSTS50034"},
		{"user of another tenant", "contoso", "admin@fabrikam.example", "AADSTS50020"},
		{"no login", "organizations", "", "Enter a valid email address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, page := newBrowser(t, e).signIn(t, tc.tenant, q, tc.login, "accept")
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" || !strings.Contains(page, tc.want) || !strings.Contains(page, `name="login"`) {
				t.Fatalf("%d %q %s", resp.StatusCode, resp.Header.Get("Location"), page)
			}
		})
	}
	if st := e.srv.State(); st.AuthorizationCodes != 0 || st.SignInSessions != 0 {
		t.Fatalf("state after refusals: %+v", st)
	}
}

func TestAuthorizeRequestErrors(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	p := newPKCE()
	with := func(k, v string) url.Values {
		q := authorizeQuery(p, "n", "s")
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	// Errors shown on Microsoft's page: nothing is sent to the redirect URI.
	pages := []struct {
		name, tenant string
		q            url.Values
		want         string
	}{
		{"unknown client", "organizations", with("client_id", "99999999-0000-4000-8000-000000000000"), "AADSTS700016"},
		{"contoso's own app", "organizations", with("client_id", contosoApp), "AADSTS700016"},
		{"http off localhost", "organizations", with("redirect_uri", "http://partner.example/cb"), "AADSTS50011"},
		{"no redirect", "organizations", with("redirect_uri", ""), "AADSTS900144"},
		{"unknown tenant", "nowhere.example", authorizeQuery(p, "n", "s"), "AADSTS90002"},
		{"consumers", "consumers", authorizeQuery(p, "n", "s"), "AADSTS9002332"},
	}
	for _, tc := range pages {
		t.Run(tc.name, func(t *testing.T) {
			resp, page := newBrowser(t, e).get(t, e.url+"/"+tc.tenant+"/oauth2/v2.0/authorize?"+tc.q.Encode())
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(page, tc.want) {
				t.Fatalf("%d %q %s", resp.StatusCode, resp.Header.Get("Location"), page)
			}
		})
	}
	// Errors sent to the redirect URI.
	redirects := []struct {
		name     string
		q        url.Values
		err, sts string
	}{
		{"implicit", with("response_type", "token"), "unsupported_response_type", "AADSTS70005"},
		{"no response_type", with("response_type", ""), "invalid_request", "AADSTS900144"},
		{"no openid", with("scope", "profile"), "invalid_scope", "AADSTS70011"},
		{"bad challenge method", with("code_challenge_method", "S512"), "invalid_request", "AADSTS90100"},
		{"short challenge", with("code_challenge", "abc"), "invalid_request", "AADSTS501491"},
		{"silent without session", with("prompt", "none"), "login_required", "AADSTS50058"},
	}
	for _, tc := range redirects {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := newBrowser(t, e).get(t, e.url+"/organizations/oauth2/v2.0/authorize?"+tc.q.Encode())
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), signInRedirect+"?") ||
				loc.Query().Get("error") != tc.err || !strings.HasPrefix(loc.Query().Get("error_description"), tc.sts+":") || loc.Query().Get("state") != "s" {
				t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

func TestAuthorizeResponseModesAndSilentSignIn(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	b := newBrowser(t, e)
	p := newPKCE()

	q := authorizeQuery(p, "n", "s1")
	q.Set("response_mode", "fragment")
	resp, _ := b.signIn(t, "organizations", q, "admin@contoso.example", "accept")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, signInRedirect+"#code=") || !strings.Contains(loc, "&state=s1") {
		t.Fatalf("fragment: %d %q", resp.StatusCode, loc)
	}

	q = authorizeQuery(p, "n", "s2")
	q.Set("response_mode", "form_post")
	resp, page := b.signIn(t, "organizations", q, "admin@contoso.example", "accept")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `action="`+signInRedirect+`"`) || !strings.Contains(page, `name="code"`) || !strings.Contains(page, `name="state" value="s2"`) {
		t.Fatalf("form_post: %d %s", resp.StatusCode, page)
	}

	// prompt=none with the session: a code at once, no page.
	q = authorizeQuery(p, "n-silent", "s3")
	q.Set("prompt", "none")
	resp, _ = b.get(t, b.authorizeURL(contosoTenant, q))
	res, err := e.redeem(t, codeFrom(t, resp, "s3"), signInRedirect, p.verifier)
	if err != nil || res.IDToken.Oid != contosoAdmin {
		t.Fatalf("silent sign-in: %v %+v", err, res.IDToken)
	}
	// ... but not in a tenant the session's user is not in.
	resp, _ = b.get(t, b.authorizeURL("fabrikam", q))
	if loc := resp.Header.Get("Location"); !strings.Contains(loc, "error=login_required") {
		t.Fatalf("silent sign-in in fabrikam: %q", loc)
	}
}

// tokenError posts a token request and returns status, error and AADSTS code.
func tokenError(t *testing.T, e *env, tenant string, form url.Values) (int, string, float64) {
	t.Helper()
	resp, err := e.client.PostForm(e.url+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	codes, _ := body["error_codes"].([]any)
	desc, _ := body["error_description"].(string)
	if resp.StatusCode != http.StatusOK && (len(codes) != 1 || !strings.HasPrefix(desc, "AADSTS")) {
		t.Fatalf("error shape: %d %v", resp.StatusCode, body)
	}
	if len(codes) == 0 {
		return resp.StatusCode, "", 0
	}
	e2, _ := body["error"].(string)
	return resp.StatusCode, e2, codes[0].(float64)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestCodeRedemptionErrors(t *testing.T) {
	clk := &clock{t: time.Now()}
	e := newEnvWith(t, defaultScenario(t), Options{Now: clk.Now})
	b := newBrowser(t, e)
	p := newPKCE()
	newCode := func() string {
		resp, _ := b.signIn(t, "organizations", authorizeQuery(p, "n", "s"), "admin@contoso.example", "accept")
		return codeFrom(t, resp, "s")
	}
	form := func(code string, kv ...string) url.Values {
		f := url.Values{"grant_type": {"authorization_code"}, "client_id": {partnerApp}, "client_secret": {partnerSecret}, "code": {code},
			"redirect_uri": {signInRedirect}, "code_verifier": {p.verifier}, "scope": {"openid offline_access profile"}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				f.Del(kv[i])
			} else {
				f.Set(kv[i], kv[i+1])
			}
		}
		return f
	}

	code := newCode()
	tests := []struct {
		name, tenant string
		form         url.Values
		status       int
		err          string
		aadsts       float64
	}{
		{"unknown code", "organizations", form("not-a-code"), 400, "invalid_grant", 70000},
		{"wrong verifier", "organizations", form(code, "code_verifier", newPKCE().verifier), 400, "invalid_grant", 501481},
		{"no verifier", "organizations", form(code, "code_verifier", ""), 400, "invalid_grant", 501481},
		{"other redirect_uri", "organizations", form(code, "redirect_uri", "https://partner.example/other"), 400, "invalid_client", 500112},
		{"other tenant", "fabrikam", form(code), 400, "invalid_grant", 700005},
		{"wrong secret", "organizations", form(code, "client_secret", "nope"), 401, "invalid_client", 7000215},
		{"no secret", "organizations", form(code, "client_secret", ""), 401, "invalid_client", 7000218},
		{"unknown client", "organizations", form(code, "client_id", "99999999-0000-4000-8000-000000000000"), 400, "unauthorized_client", 700016},
		{"contoso's own app", "contoso", form(code, "client_id", contosoApp, "client_secret", contosoAppSecret), 400, "invalid_grant", 70000},
		{"no code", "organizations", form(""), 400, "invalid_request", 900144},
		{"other resource", "organizations", form(code, "scope", managementScope), 400, "invalid_scope", 70011},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, errCode, aadsts := tokenError(t, e, tc.tenant, tc.form)
			if status != tc.status || errCode != tc.err || aadsts != tc.aadsts {
				t.Fatalf("got %d %s %v, want %d %s %v", status, errCode, aadsts, tc.status, tc.err, tc.aadsts)
			}
		})
	}

	// None of the failures used the code up; the right request succeeds
	// (at the tenant's own endpoint too), once.
	if status, _, _ := tokenError(t, e, "contoso.example", form(code, "client_info", "1")); status != http.StatusOK {
		t.Fatalf("redemption after failures: %d", status)
	}
	if status, errCode, aadsts := tokenError(t, e, "organizations", form(code)); status != 400 || errCode != "invalid_grant" || aadsts != 54005 {
		t.Fatalf("replay: %d %s %v", status, errCode, aadsts)
	}
	// MSAL surfaces Microsoft's code, as the product's error mapping expects.
	if _, err := e.redeem(t, code, signInRedirect, p.verifier); err == nil || !strings.Contains(err.Error(), "AADSTS54005") {
		t.Fatalf("MSAL replay: %v", err)
	}

	// A code lives ten minutes.
	code = newCode()
	clk.Advance(10*time.Minute + time.Second)
	if status, errCode, aadsts := tokenError(t, e, "organizations", form(code)); status != 400 || errCode != "invalid_grant" || aadsts != 70008 {
		t.Fatalf("expired: %d %s %v", status, errCode, aadsts)
	}
	code = newCode()
	clk.Advance(9 * time.Minute)
	if _, err := e.redeem(t, code, signInRedirect, p.verifier); err != nil {
		t.Fatalf("redemption within ten minutes: %v", err)
	}

	// A plain PKCE challenge is the verifier itself.
	q := authorizeQuery(p, "n", "s")
	q.Set("code_challenge", p.verifier+"-plain-verifier")
	q.Set("code_challenge_method", "plain")
	resp, _ := b.signIn(t, "organizations", q, "admin@contoso.example", "accept")
	code = codeFrom(t, resp, "s")
	if status, _, aadsts := tokenError(t, e, "organizations", form(code)); aadsts != 501481 {
		t.Fatalf("plain challenge with the S256 verifier: %d %v", status, aadsts)
	}
	if status, _, _ := tokenError(t, e, "organizations", form(code, "code_verifier", p.verifier+"-plain-verifier")); status != http.StatusOK {
		t.Fatalf("plain challenge: %d", status)
	}
}

func TestTokenResponseOfCodeRedemption(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	p := newPKCE()
	resp, _ := newBrowser(t, e).signIn(t, "organizations", authorizeQuery(p, "n", "s"), "admin@contoso.example", "accept")
	code := codeFrom(t, resp, "s")
	r, err := e.client.PostForm(e.url+"/organizations/oauth2/v2.0/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {signInRedirect}, "code_verifier": {p.verifier},
		"scope": {"openid offline_access profile"}, "client_info": {"1"}, "client_id": {partnerApp}, "client_secret": {partnerSecret},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	if r.StatusCode != http.StatusOK || body["token_type"] != "Bearer" || body["expires_in"] != float64(3599) || body["scope"] != "openid profile User.Read" ||
		body["access_token"] == nil || body["id_token"] == nil || body["refresh_token"] == nil || body["client_info"] == nil {
		t.Fatalf("%d %v", r.StatusCode, body)
	}
	ci, _ := base64.RawURLEncoding.DecodeString(body["client_info"].(string))
	if !bytes.Equal(ci, []byte(`{"uid":"`+contosoAdmin+`","utid":"`+contosoTenant+`"}`)) {
		t.Fatalf("client_info = %s", ci)
	}
	// The Graph token does not open Resource Manager.
	req, _ := http.NewRequest("GET", e.url+"/subscriptions?api-version=2022-12-01", nil)
	req.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
	arm, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	arm.Body.Close()
	if arm.StatusCode != http.StatusUnauthorized {
		t.Fatalf("ARM with a Graph token: %d", arm.StatusCode)
	}
}

func TestIDTokenKeysPerTenant(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	signIn := func(login string) string {
		p := newPKCE()
		resp, _ := newBrowser(t, e).signIn(t, "organizations", authorizeQuery(p, "n", "s"), login, "accept")
		res, err := e.redeem(t, codeFrom(t, resp, "s"), signInRedirect, p.verifier)
		if err != nil {
			t.Fatal(err)
		}
		return res.IDToken.RawToken
	}
	contoso, fabrikam := signIn("admin@contoso.example"), signIn("admin@fabrikam.example")

	kids := func(tenant string) []string {
		resp, err := e.client.Get(e.url + "/" + tenant + "/discovery/v2.0/keys")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var jwks struct {
			Keys []struct{ Kid, Kty, Use, Issuer string }
		}
		_ = json.NewDecoder(resp.Body).Decode(&jwks)
		var out []string
		for _, k := range jwks.Keys {
			out = append(out, k.Kid)
		}
		return out
	}
	ck, fk, ok := kids("contoso"), kids(fabrikamTenant), kids("organizations")
	if len(ck) != 2 || len(fk) != 2 || ck[0] != e.srv.keyID || fk[0] != e.srv.keyID || ck[1] == fk[1] || ck[1] == ck[0] || len(ok) < 3 {
		t.Fatalf("kids: contoso %v fabrikam %v organizations %v", ck, fk, ok)
	}
	header := func(tok string) map[string]any {
		h := map[string]any{}
		b, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
		_ = json.Unmarshal(b, &h)
		return h
	}
	if h := header(contoso); h["kid"] != ck[1] || h["alg"] != "RS256" || h["typ"] != "JWT" {
		t.Fatalf("contoso ID token header = %v", h)
	}

	if _, err := e.verifyIDToken(fabrikam, fabrikamTenant, fabrikamTenant); err != nil {
		t.Fatalf("fabrikam's token against fabrikam's keys: %v", err)
	}
	if _, err := e.verifyIDToken(contoso, fabrikamTenant, contosoTenant); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("contoso's token verified against fabrikam's keys: %v", err)
	}
	if _, err := e.verifyIDToken(contoso, contosoTenant, fabrikamTenant); err == nil || !strings.Contains(err.Error(), "different provider") {
		t.Fatalf("contoso's token accepted with fabrikam's issuer: %v", err)
	}

	resp, err := e.client.Get(e.url + "/nowhere.example/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("keys of an unknown tenant: %d", resp.StatusCode)
	}
}

func TestDiscoveryOfMultiTenantAuthorities(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	get := func(tenant string) map[string]any {
		resp, err := e.client.Get(e.url + "/" + tenant + "/v2.0/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		return doc
	}
	for _, key := range []string{"organizations", "common"} {
		doc := get(key)
		if doc["token_endpoint"] != e.url+"/"+key+"/oauth2/v2.0/token" || doc["authorization_endpoint"] != e.url+"/"+key+"/oauth2/v2.0/authorize" ||
			doc["jwks_uri"] != e.url+"/"+key+"/discovery/v2.0/keys" || doc["issuer"] != e.url+"/{tenantid}/v2.0" {
			t.Fatalf("%s: %v", key, doc)
		}
	}
	doc := get("contoso.example")
	if doc["token_endpoint"] != e.url+"/"+contosoTenant+"/oauth2/v2.0/token" || doc["issuer"] != e.url+"/"+contosoTenant+"/v2.0" {
		t.Fatalf("contoso: %v", doc)
	}
}

func TestAuthorizeFaultsAndReset(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	b := newBrowser(t, e)
	p := newPKCE()
	q := authorizeQuery(p, "n", "s")
	if err := e.srv.SetFault(Fault{Call: CallAuthorize, Status: 503, RetryAfter: 1, Count: 1}); err != nil {
		t.Fatal(err)
	}
	resp, _ := b.get(t, b.authorizeURL("organizations", q))
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("fault: %d", resp.StatusCode)
	}
	resp, _ = b.signIn(t, "organizations", q, "admin@contoso.example", "accept")
	code := codeFrom(t, resp, "s")
	if resp, page := b.get(t, e.url+"/_control"); resp.StatusCode != http.StatusOK || !strings.Contains(page, "1 authorization code(s) waiting") || !strings.Contains(page, "1 browser session(s)") {
		t.Fatalf("control page: %d %s", resp.StatusCode, page)
	}

	// A reset forgets codes and sessions (not the signing keys).
	e.srv.Reset()
	if st := e.srv.State(); st.AuthorizationCodes != 0 || st.SignInSessions != 0 {
		t.Fatalf("after reset: %+v", st)
	}
	if _, _, aadsts := tokenError(t, e, "organizations", url.Values{"grant_type": {"authorization_code"}, "client_id": {partnerApp}, "client_secret": {partnerSecret},
		"code": {code}, "redirect_uri": {signInRedirect}, "code_verifier": {p.verifier}}); aadsts != 70000 {
		t.Fatalf("code after reset: %v", aadsts)
	}
	if resp, page := b.get(t, b.authorizeURL("organizations", q)); resp.StatusCode != http.StatusOK || strings.Contains(page, `value="admin@contoso.example"`) {
		t.Fatalf("session survived the reset: %s", page)
	}
}
