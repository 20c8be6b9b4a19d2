// Package e2e drives the whole product through the local cloud's HTTP API,
// as the platform's UI and the customer's Azure administrator would: the
// real function binaries behind the API Gateway emulation, the migration
// state machine on the local Step Functions engine, email through the SES
// outbox, and Microsoft sign-in and Azure through the TLS double.
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/partnercloud/azure/cmd/localcloud/internal/cloud"
)

// Scenario ids (cmd/localcloud/scenario/default.json).
const (
	contosoTenant = "20000000-0000-4000-8000-000000000001"
	ownedSub      = "20000000-0000-4000-8000-000000000101"
	missingSub    = "20000000-0000-4000-8000-000000000102"
	unknownSub    = "20000000-0000-4000-8000-0000000009ff"
	contosoAdmin  = "admin@contoso.example"
	partnerSP     = "20000000-0000-4000-8000-0000000000b1"
)

// env is one running local cloud and clients for it.
type env struct {
	c      *cloud.Cloud
	api    string
	ep     map[string]string
	http   *http.Client // trusts the Microsoft double's CA
	logBuf *lockedBuffer

	// contosoMu is held by the test whose administrator signed in to
	// contoso (holdContoso): one tenant, one open or active provider.
	contosoMu sync.Mutex
	holders   sync.Map // test name → holding
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
	clouds    sync.Map // name → *env
	startMu   sync.Mutex
)

// Clouds are shared by the tests of this package: "standard" runs 2000
// times faster than real time; "fast" runs a day a second, for the 14-day
// expiry and the 30-day ownership deadline; "faults" is for fault injection.
var cloudConfigs = map[string]struct {
	scale     float64
	overrides map[string]string
}{
	"standard": {2000, nil},
	"fast":     {86400, map[string]string{"STATE_TTL": "2m"}},
	// "faults" is the fault-injection tests' own (their switches are
	// cloud-wide): 10000 times, so the invitation's 14 days last two
	// minutes and the sign-in states half a minute, longer than a consent
	// slowed by retries of throttled calls.
	"faults": {10000, map[string]string{"STATE_TTL": "100h"}},
	"health": {2000, nil},
}

// cloudParams are template parameters by cloud. The scheduled health checks
// call Microsoft for every active provider, and would take the fault tests'
// injected faults or send health emails amid other tests' counts: every
// cloud but "health" runs them once in ten years of local time (at most
// once an hour of real time at 86400); "health" every hour of local time,
// 1.8 s at 2000.
var cloudParams = map[string]map[string]string{
	"health": {"HealthCheckIntervalMinutes": "60"},
}

func paramsFor(name string) map[string]string {
	if p, ok := cloudParams[name]; ok {
		return p
	}
	return map[string]string{"HealthCheckIntervalMinutes": "5256000"}
}

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode")
		os.Exit(0)
	}
	code := m.Run()
	clouds.Range(func(_, v any) bool { v.(*env).c.Close(); return true })
	if binDir != "" {
		os.RemoveAll(filepath.Dir(binDir))
	}
	os.Exit(code)
}

// cloudFor returns the shared cloud of that name, starting it on first use.
func cloudFor(t *testing.T, name string) *env {
	t.Helper()
	startMu.Lock()
	defer startMu.Unlock()
	if e, ok := clouds.Load(name); ok {
		return e.(*env)
	}
	cfg := cloudConfigs[name]
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	state, err := os.MkdirTemp("", "e2e-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	skip := false
	if binDir != "" {
		// Functions were built for the first cloud: reuse them.
		if err := os.Symlink(binDir, filepath.Join(state, "bin")); err != nil {
			t.Fatal(err)
		}
		skip = true
	}
	logs := &lockedBuffer{}
	local := "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := cloud.Start(ctx, cloud.Options{
		Root: root, StateDir: state, TimeScale: cfg.scale, EnvOverrides: cfg.overrides, Parameters: paramsFor(name), SkipBuild: skip,
		APIAddr: local, DynamoAddr: local, StepFunctionsAddr: local, SESAddr: local, OutboxAddr: local, SecretsManagerAddr: local, MicrosoftAddr: local, EventsAddr: local,
		Log: logs, Console: io.Discard, MaxInstances: 6,
	})
	if err != nil {
		t.Fatalf("start the %s local cloud: %v\n%s", name, err, logs.String())
	}
	if binDir == "" {
		binDir = filepath.Join(state, "bin")
	}
	ep := c.Endpoints()
	ca, err := os.ReadFile(ep["microsoftCA"])
	if err != nil {
		t.Fatalf("the Microsoft double's CA: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	jar, _ := cookiejar.New(nil)
	e := &env{c: c, api: c.APIURL(), ep: ep, logBuf: logs, http: &http.Client{
		Timeout:   30 * time.Second,
		Jar:       jar,
		Transport: validateAPI(t, c.APIURL(), &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}),
	}}
	clouds.Store(name, e)
	return e
}

func (e *env) token(t *testing.T, account string, roles ...string) string {
	t.Helper()
	tok, err := e.c.Token(account, roles)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// response is an HTTP answer with its body decoded when it is JSON.
type response struct {
	status int
	header http.Header
	raw    []byte
	json   map[string]any
}

func (r response) errorCode() string {
	if e, ok := r.json["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

// call sends a request to the API; body is marshalled unless it is a string or []byte.
func (e *env) call(t *testing.T, method, path, token string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.api+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return e.send(t, req)
}

func (e *env) send(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(raw, &r.json)
	}
	return r
}

// migrate is a valid migrate body for name.
func migrate(name string, subs ...string) map[string]any {
	if subs == nil {
		subs = []string{}
	}
	return map[string]any{
		"name": name, "type": "azure", "option": "migrate", "azureAdminEmail": contosoAdmin,
		"subscriptionIds": subs, "acceptedTerms": map[string]string{"partner": "2017-08", "microsoft": "2017-08"},
	}
}

// providerView is the part of GET /providers/{id} the tests read.
type providerView struct {
	ID            string `json:"id"`
	Status        string `json:"status"`
	TenantID      string `json:"tenantId"`
	Billing       string `json:"billing"`
	FailureReason string `json:"failureReason"`
	NextStep      string `json:"nextStep"`
	Permissions   []struct {
		Kind        string  `json:"kind"`
		Description string  `json:"description"`
		State       string  `json:"state"`
		ObservedAt  string  `json:"observedAt"`
		ID          string  `json:"id"`
		PrincipalID string  `json:"principalId"`
		EndsAt      *string `json:"endsAt"`
	} `json:"permissions"`
	Steps []struct {
		Name           string  `json:"name"`
		SubscriptionID string  `json:"subscriptionId"`
		Status         string  `json:"status"`
		State          string  `json:"state"`
		ObservedAt     *string `json:"observedAt"`
		Actor          string  `json:"actor"`
		Link           string  `json:"link"`
	} `json:"steps"`
	Subscriptions []struct {
		ID          string  `json:"id"`
		State       string  `json:"state"`
		Route       string  `json:"route"`
		ConfirmedAt *string `json:"confirmedAt"`
	} `json:"subscriptions"`
	Timeline []struct {
		Status string `json:"status"`
		What   string `json:"what"`
		By     string `json:"by"`
		Count  int    `json:"count"` // repeats folded into the event
	} `json:"timeline"`
}

func (e *env) get(t *testing.T, token, id string) providerView {
	t.Helper()
	r := e.call(t, "GET", "/providers/"+id, token, nil)
	if r.status != 200 {
		t.Fatalf("GET /providers/%s: %d %s", id, r.status, r.raw)
	}
	var p providerView
	if err := json.Unmarshal(r.raw, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// create makes a migration and returns its id.
func (e *env) create(t *testing.T, token string, body map[string]any) string {
	t.Helper()
	r := e.call(t, "POST", "/providers", token, body)
	if r.status != 202 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	return r.json["id"].(string)
}

// waitFor polls the provider until done holds or the timeout passes.
func (e *env) waitFor(t *testing.T, token, id string, timeout time.Duration, what string, done func(providerView) bool) providerView {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var p providerView
	for time.Now().Before(deadline) {
		p = e.get(t, token, id)
		if done(p) {
			return p
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("provider %s: %s not reached in %v; last: status %s, subscriptions %+v, timeline %+v\nlogs:\n%s", id, what, timeout, p.Status, p.Subscriptions, p.Timeline, tail(e.logBuf.String(), 4000))
	return p
}

func (e *env) waitStatus(t *testing.T, token, id, status string, timeout time.Duration) providerView {
	t.Helper()
	return e.waitFor(t, token, id, timeout, "status "+status, func(p providerView) bool { return p.Status == status })
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// message is an email in the outbox.
type message struct {
	ID      string   `json:"id"`
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	Links   []string `json:"links"`
	Text    string   `json:"text"`
	HTML    string   `json:"html"`
	File    string   `json:"file"`
}

func (e *env) messages(t *testing.T) []message {
	t.Helper()
	resp, err := e.http.Get(e.ep["outbox"] + "/messages")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ms []message
	if err := json.NewDecoder(resp.Body).Decode(&ms); err != nil {
		t.Fatal(err)
	}
	return ms
}

// waitMessage waits for an email to `to` whose subject contains `subject`
// and whose text contains `mark` (a provider's name, say).
func (e *env) waitMessage(t *testing.T, to, subject, mark string, timeout time.Duration) message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, m := range e.messages(t) {
			if len(m.To) > 0 && m.To[0] == to && strings.Contains(m.Subject, subject) && strings.Contains(m.Text+m.Subject, mark) {
				return m
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no email to %s with %q (%s) in %v", to, subject, mark, timeout)
	return message{}
}

func (e *env) countMessages(t *testing.T, to, subject, mark string) int {
	t.Helper()
	n := 0
	for _, m := range e.messages(t) {
		if len(m.To) > 0 && m.To[0] == to && strings.Contains(m.Subject, subject) && strings.Contains(m.Text+m.Subject, mark) {
			n++
		}
	}
	return n
}

// consentLink is the /consent/ link of an invitation email.
func (e *env) consentLink(t *testing.T, m message) string {
	t.Helper()
	for _, l := range m.Links {
		if strings.HasPrefix(l, e.api+"/consent/") {
			return l
		}
	}
	t.Fatalf("no consent link in %q: %v", m.Subject, m.Links)
	return ""
}

// control posts to the Microsoft double's control API.
func (e *env) control(t *testing.T, path string, body any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	resp, err := e.http.Post(e.ep["microsoft"]+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("control %s: %d %s", path, resp.StatusCode, b)
	}
}

// page is a fetched HTML page.
type page struct {
	url    *url.URL
	status int
	header http.Header
	body   string
	doc    *html.Node
}

func (e *env) fetch(t *testing.T, method, u string, form url.Values) page {
	t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	doc, err := html.Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: not HTML: %v", u, err)
	}
	return page{url: resp.Request.URL, status: resp.StatusCode, header: resp.Header, body: string(raw), doc: doc}
}

// text is the page's visible text, white space folded.
func (p page) text() string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "style" || n.Data == "head") {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteString(" ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(p.doc)
	return strings.Join(strings.Fields(b.String()), " ")
}

// links returns every href on the page.
func (p page) links() []string {
	var out []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				if a.Key == "href" {
					out = append(out, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(p.doc)
	return out
}

// form returns the first form's action (resolved) and its hidden fields.
func (p page) form(t *testing.T) (string, url.Values) {
	t.Helper()
	var action string
	vals := url.Values{}
	found := false
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "form" && !found {
			found = true
			for _, a := range n.Attr {
				if a.Key == "action" {
					action = a.Val
				}
			}
		}
		if n.Type == html.ElementNode && n.Data == "input" {
			var typ, name, val string
			for _, a := range n.Attr {
				switch a.Key {
				case "type":
					typ = a.Val
				case "name":
					name = a.Val
				case "value":
					val = a.Val
				}
			}
			if typ == "hidden" && name != "" {
				vals.Set(name, val)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(p.doc)
	if !found {
		t.Fatalf("no form on %s: %s", p.url, tail(p.body, 2000))
	}
	u, err := p.url.Parse(action)
	if err != nil {
		t.Fatal(err)
	}
	return u.String(), vals
}

// microsoftLink is the sign-in link on the landing page (Microsoft's
// OpenID Connect authorization endpoint).
func (e *env) microsoftLink(t *testing.T, landing page) string {
	t.Helper()
	for _, l := range landing.links() {
		if strings.HasPrefix(l, e.ep["microsoft"]) && strings.Contains(l, "/oauth2/v2.0/authorize") {
			return l
		}
	}
	t.Fatalf("no sign-in link on the landing page: %s", tail(landing.body, 2000))
	return ""
}

// signIn plays the administrator at Microsoft from the landing page's
// sign-in link: each of Microsoft's pages (the sign-in, then admin consent)
// is submitted with login and the decision button, redirects are followed,
// until the browser is back on the product's pages. An accepted sign-in to
// contoso holds the tenant for this test (holdContoso).
func (e *env) signIn(t *testing.T, signInURL, login, decision string) page {
	t.Helper()
	if decision == "accept" {
		e.holdContoso(t)
	}
	return e.throughMicrosoft(t, e.fetch(t, "GET", signInURL, nil), login, decision)
}

// throughMicrosoft submits each of Microsoft's pages from p on with login
// and decision, following redirects, and returns the first page that is
// not Microsoft's.
func (e *env) throughMicrosoft(t *testing.T, p page, login, decision string) page {
	t.Helper()
	for i := 0; i < 3 && p.status == 200 && strings.HasPrefix(p.url.String(), e.ep["microsoft"]); i++ {
		action, vals := p.form(t)
		vals.Set("login", login)
		vals.Set("decision", decision)
		p = e.fetch(t, "POST", action, vals)
	}
	return p
}

// consent does the administrator's whole path for a provider: the email,
// the landing page, Microsoft, and the callback's result page; when the
// administrator accepts, they then accept the reseller relationship and
// approve the admin relationship on the admin center's pages the email
// links to (acceptRelationships), so that the migration goes on to Owner.
func (e *env) consent(t *testing.T, providerName, decision string) page {
	t.Helper()
	m := e.waitMessage(t, contosoAdmin, "approve moving", providerName, 20*time.Second)
	result := e.consentOnly(t, m, decision)
	if decision == "accept" && result.status == 200 {
		e.acceptRelationships(t, m)
	}
	return result
}

// consentOnly is the sign-in and admin consent from the email m's link,
// without the relationship steps.
func (e *env) consentOnly(t *testing.T, m message, decision string) page {
	t.Helper()
	landing := e.fetch(t, "GET", e.consentLink(t, m), nil)
	if landing.status != 200 {
		t.Fatalf("landing page: %d %s", landing.status, landing.text())
	}
	return e.signIn(t, e.microsoftLink(t, landing), contosoAdmin, decision)
}

// resellerLink and approvalLink are the admin center links of an email (or
// a page's links).
func resellerLink(t *testing.T, links []string) string {
	t.Helper()
	for _, l := range links {
		if strings.Contains(l, "invType=ResellerRelationship") {
			return l
		}
	}
	t.Fatalf("no reseller invitation link in %v", links)
	return ""
}

func approvalLink(t *testing.T, links []string) string {
	t.Helper()
	for _, l := range links {
		if strings.Contains(l, "granularAdminRelationships/") {
			return l
		}
	}
	t.Fatalf("no admin relationship approval link in %v", links)
	return ""
}

// acceptRelationships plays the customer's Global Administrator on the
// Microsoft 365 admin center's pages the email m links to: the reseller
// invitation, accepted, then the admin relationship's approval page,
// approved.
func (e *env) acceptRelationships(t *testing.T, m message) {
	t.Helper()
	e.acceptReseller(t, resellerLink(t, m.Links), contosoAdmin)
	e.approveGDAP(t, approvalLink(t, m.Links), contosoAdmin, "accept")
}

// acceptReseller submits the reseller invitation page at link as login.
func (e *env) acceptReseller(t *testing.T, link, login string) page {
	t.Helper()
	pg := e.fetch(t, "GET", link, nil)
	if pg.status != 200 {
		t.Fatalf("reseller invitation page: %d %s", pg.status, pg.text())
	}
	action, vals := pg.form(t)
	vals.Set("login", login)
	vals.Set("decision", "accept")
	done := e.fetch(t, "POST", action, vals)
	if done.status != 200 || !strings.Contains(done.text(), "accepted") {
		t.Fatalf("reseller invitation as %s: %d %s", login, done.status, done.text())
	}
	return done
}

// approveGDAP submits the admin relationship's approval page at link (the
// relationship id in its fragment, which a browser does not send: the
// page's script puts it in the form, as done here) with decision.
func (e *env) approveGDAP(t *testing.T, link, login, decision string) page {
	t.Helper()
	id := link[strings.LastIndex(link, "/")+1:]
	pg := e.fetch(t, "GET", link, nil)
	if pg.status != 200 {
		t.Fatalf("admin relationship page: %d %s", pg.status, pg.text())
	}
	action, vals := pg.form(t)
	vals.Set("relationshipId", id)
	vals.Set("login", login)
	vals.Set("decision", decision)
	return e.fetch(t, "POST", action, vals)
}

// acceptRelationshipsFor does the relationship steps of the provider named
// name (its invitation email's links), after a consent made without them.
func (e *env) acceptRelationshipsFor(t *testing.T, name string) {
	t.Helper()
	e.acceptRelationships(t, e.waitMessage(t, contosoAdmin, "approve moving", name, 20*time.Second))
}
