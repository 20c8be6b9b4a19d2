package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/fakes"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/notice"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/signin"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
	"github.com/partnercloud/azure/shared/workflow"
)

const (
	tenantID   = "7d3f4a1e-1b2c-4d5e-8f90-a1b2c3d4e5f6"
	otherTID   = "11111111-2222-3333-4444-555555555555"
	appOID     = "0c0ffee0-aaaa-bbbb-cccc-dddddddddddd"
	taskToken  = "AQCEAAAAKgAAAAMAAAAAAAAAAT-task-token-secret"
	adminEmail = "it-admin@contoso.example"
	sub1       = "00000000-0000-0000-0000-000000000001"
	sub2       = "00000000-0000-0000-0000-000000000002"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// fakeVerifier answers TenantOf: by default the tenant asked, with appOID.
type fakeVerifier struct {
	mu    sync.Mutex
	calls int
	// answer, when set, decides each call (attempt counts from 1).
	answer func(attempt int, tenant string) (string, string, error)
}

func (f *fakeVerifier) TenantOf(_ context.Context, tenant string) (string, string, error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	answer := f.answer
	f.mu.Unlock()
	if answer != nil {
		return answer(n, tenant)
	}
	return tenant, appOID, nil
}

func (f *fakeVerifier) count() int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls }

// fakeSignIn answers Redeem with proof (or err) and records what it got.
type fakeSignIn struct {
	mu              sync.Mutex
	calls           int
	proof           signin.Proof
	err             error
	verifier, nonce string
}

func (f *fakeSignIn) Redeem(_ context.Context, code, verifier, nonce string) (signin.Proof, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.verifier, f.nonce = verifier, nonce
	if f.err != nil {
		return signin.Proof{}, f.err
	}
	return f.proof, nil
}

// adminProof is a Global Administrator's sign-in in tenantID.
var adminProof = signin.Proof{TenantID: tenantID, ObjectID: "5e1f0000-0000-4000-8000-0000000000e1", Name: "Contoso Admin",
	Username: adminEmail, Roles: []string{signin.RoleGlobalAdministrator}}

type env struct {
	h     *Handler
	store *store.Store
	tasks *fakes.Tasks
	// hashes are the invitations of the env's providers; relayErr what
	// resuming their workflow returned.
	hashes   []string
	relayMu  sync.Mutex
	relayErr []error
	verifier *fakeVerifier
	signIn   *fakeSignIn
	now      time.Time
	mu       sync.Mutex
	p        *provider.Provider
	id       string // the invitation id of the email link
	hash     string
	logs     *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

var testKey = consent.Key(bytes.Repeat([]byte{3}, 32))

var testSite = Site{
	PartnerName:     "Partner Cloud",
	ContactEmail:    "help@partner.example",
	PartnerTenantID: "99999999-8888-7777-6666-555555555555",
	PublicBaseURL:   "https://api.partner.example/",
	ClientID:        "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
	AppName:         "Partner Cloud for Azure",
	AuthorityHost:   "https://login.microsoftonline.com/",
	ResourceManager: "https://management.azure.com",
}

func newEnv(t testing.TB) *env {
	t.Helper()
	s, _ := storetest.NewTestStore(t)
	e := &env{store: s, tasks: &fakes.Tasks{}, verifier: &fakeVerifier{}, signIn: &fakeSignIn{proof: adminProof}, now: t0, logs: &syncBuffer{}}
	s.Now = e.clock
	if err := s.PutAccount(context.Background(), account.Account{ID: "acct-1", Name: "Contoso Ltd", Billable: true, USOffice: true}); err != nil {
		t.Fatal(err)
	}
	e.h = &Handler{Store: s, Tenants: e.verifier, SignIn: e.signIn, Key: testKey, Site: testSite, StateTTL: 30 * time.Minute, Now: e.clock}
	e.p, e.id = e.addProvider(t, "Contoso", []string{sub1, sub2}, "")
	e.hash = consent.Hash(e.id)
	return e
}

// handle serves req, then does what the outbox relay does once the table's
// stream delivers the writes: it resumes the workflow's wait of every
// invitation of the env that the request closed (notice.Resumer).
func (e *env) handle(ctx context.Context, req api.Request) (api.Response, error) {
	resp, err := e.h.Handle(ctx, req)
	// Lambda reads a stream shard in order, one batch at a time: the relay
	// never runs twice at once for one item.
	e.relayMu.Lock()
	defer e.relayMu.Unlock()
	r := &notice.Resumer{Invitations: e.store, Tasks: e.tasks}
	for _, hash := range append([]string{e.hash}, e.hashes...) {
		if hash == "" {
			continue
		}
		if rerr := r.Resume(context.Background(), hash); rerr != nil {
			e.relayErr = append(e.relayErr, rerr)
		}
	}
	return resp, err
}

func (e *env) clock() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }

func (e *env) setNow(t time.Time) { e.mu.Lock(); e.now = t; e.mu.Unlock() }

// addProvider creates a pending migration with an open invitation, as the
// create-provider route and the AwaitConsent task leave it.
func (e *env) addProvider(t testing.TB, name string, subs []string, ownerPrincipal string) (*provider.Provider, string) {
	t.Helper()
	ctx := context.Background()
	p := &provider.Provider{AccountID: "acct-1", Name: name, Type: provider.TypeAzure, Option: provider.OptionMigrate,
		Status: provider.StatusPendingConsent, AzureAdminEmail: adminEmail, RequesterName: "Dana Admin", CreatedBy: "user:u1", OwnerPrincipal: ownerPrincipal}
	for _, s := range subs {
		p.Subscriptions = append(p.Subscriptions, provider.Subscription{ID: s, State: provider.SubscriptionPending})
	}
	if err := e.store.CreateProvider(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	nonce, _ := consent.NewNonce()
	id := testKey.InvitationID(p.ID, nonce)
	expires := t0.Add(14 * 24 * time.Hour)
	p, err := e.store.UpdateProvider(ctx, "acct-1", p.ID, func(q *provider.Provider) error {
		sent := t0
		q.Invitation = &provider.Invitation{Nonce: nonce, Hash: consent.Hash(id), SentAt: &sent, ExpiresAt: &expires}
		_, err := q.RecordRelationshipRequest(provider.RelationshipRequest{ID: "rel-" + q.ID, Status: "approvalPending",
			ApprovalURL: "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/granularAdminRelationships/rel-" + q.ID,
			ResellerURL: testSite.ResellerURL()}, t0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := consent.Record{Hash: consent.Hash(id), AccountID: "acct-1", ProviderID: p.ID, TaskToken: taskToken, Status: consent.StatusOpen, ExpiresAt: expires, UpdatedAt: t0}
	if err := e.store.PutInvitation(ctx, rec); err != nil {
		t.Fatal(err)
	}
	e.hashes = append(e.hashes, rec.Hash)
	return p, id
}

func (e *env) ctx() context.Context {
	return logging.With(context.Background(), slog.New(slog.NewJSONHandler(e.logs, nil)))
}

func (e *env) landing(t *testing.T, id string) api.Response {
	t.Helper()
	req := apitest.Request(RouteLanding, nil)
	req.RawPath = "/consent/" + id
	req.PathParameters = map[string]string{"invitationId": id}
	resp, err := e.handle(e.ctx(), req)
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	checkPage(t, resp)
	return resp
}

func (e *env) callback(t testing.TB, params map[string]string) api.Response {
	t.Helper()
	req := apitest.Request(RouteCallback, nil)
	req.QueryStringParameters = params
	v := url.Values{}
	for k, val := range params {
		v.Set(k, val)
	}
	req.RawQueryString = v.Encode()
	resp, err := e.handle(e.ctx(), req)
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	checkPage(t, resp)
	return resp
}

// state is a fresh signed admin-consent state for the env's invitation,
// bound to tenantID as after a validated sign-in there.
func (e *env) state(t testing.TB) string { return stateFor(t, testKey, e.hash, e.clock()) }

func stateFor(t testing.TB, k consent.Key, hash string, now time.Time) string {
	t.Helper()
	st, err := consent.NewConsentState(hash, tenantID, now, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return k.Sign(st)
}

// signInState is a fresh sign-in state for the env's invitation, as the
// landing page issues it.
func (e *env) signInState(t testing.TB) (consent.State, string) {
	t.Helper()
	st, err := consent.NewState(e.hash, e.clock(), 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return st, testKey.Sign(st)
}

func success(state string) map[string]string {
	return map[string]string{"admin_consent": "True", "tenant": tenantID, "state": state, "scope": "https://management.azure.com/.default"}
}

type snapshot struct {
	p   *provider.Provider
	rec *consent.Record
}

func (e *env) snap(t *testing.T, p *provider.Provider, hash string) snapshot {
	t.Helper()
	ctx := context.Background()
	q, err := e.store.GetProvider(ctx, p.AccountID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := e.store.GetInvitation(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	return snapshot{q, rec}
}

// checkPage checks what every page must carry, whatever its status.
func checkPage(t testing.TB, resp api.Response) {
	t.Helper()
	want := map[string]string{
		"Content-Type":              "text/html; charset=utf-8",
		"Content-Security-Policy":   "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action https: ; frame-ancestors 'none'; base-uri 'none'",
		"X-Frame-Options":           "DENY",
		"Referrer-Policy":           "no-referrer",
		"Cache-Control":             "no-store",
		"X-Content-Type-Options":    "nosniff",
		"X-Request-Id":              apitest.RequestID,
		"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
	}
	for k, v := range want {
		if got := resp.Headers[k]; got != v {
			t.Errorf("header %s = %q, want %q (status %d)", k, got, v, resp.StatusCode)
		}
	}
	if !strings.HasPrefix(resp.Body, "<!DOCTYPE html>") || !strings.Contains(resp.Body, `<html lang="en">`) || !strings.Contains(resp.Body, "<h1>") {
		t.Errorf("status %d: not an accessible HTML page: %.300s", resp.StatusCode, resp.Body)
	}
	for _, bad := range []string{"<script", "goroutine ", "panic", apitest.Fault, taskToken} {
		if strings.Contains(strings.ToLower(resp.Body), strings.ToLower(bad)) {
			t.Errorf("status %d: page contains %q", resp.StatusCode, bad)
		}
	}
}

func expectStatus(t testing.TB, resp api.Response, status int, contains ...string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status = %d, want %d: %s", resp.StatusCode, status, text(resp.Body))
	}
	body := html.UnescapeString(resp.Body)
	for _, c := range contains {
		if !strings.Contains(body, c) {
			t.Errorf("status %d page lacks %q: %s", status, c, text(resp.Body))
		}
	}
}

var tagRE = regexp.MustCompile(`(?s)<style.*?</style>|<[^>]+>`)

// text is a page's visible text, for failure messages.
func text(body string) string {
	return strings.Join(strings.Fields(html.UnescapeString(tagRE.ReplaceAllString(body, " "))), " ")
}

var hrefRE = regexp.MustCompile(`href="([^"]*)"`)

// links are the page's link targets, unescaped.
func links(body string) []string {
	var out []string
	for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// consentLink is the landing page's Microsoft sign-in link, parsed.
func consentLink(t *testing.T, body string) *url.URL {
	t.Helper()
	for _, l := range links(body) {
		u, err := url.Parse(l)
		if err == nil && strings.HasSuffix(u.Path, "/oauth2/v2.0/authorize") {
			return u
		}
	}
	t.Fatalf("no sign-in link in %s", body)
	return nil
}

func TestLandingPage(t *testing.T) {
	e := newEnv(t)
	resp := e.landing(t, e.id)
	expectStatus(t, resp, http.StatusOK, "Partner Cloud", "Contoso Ltd", "Dana Admin", sub1, sub2,
		"Settings > Partner relationships", "Sign in with Microsoft", "help@partner.example", "Sunday 15 March 2026")

	wantReseller := "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship&partnerId=99999999-8888-7777-6666-555555555555&msppId=0&DAP=false#/BillingAccounts/partner-invitation"
	var sawReseller bool
	for _, l := range links(resp.Body) {
		sawReseller = sawReseller || l == wantReseller
		if u, err := url.Parse(l); err != nil || (u.Scheme != "https" && u.Scheme != "mailto") {
			t.Errorf("link %q is neither https nor mailto", l)
		}
	}
	if !sawReseller {
		t.Errorf("no reseller invitation link %s in %v", wantReseller, links(resp.Body))
	}
	// The admin relationship's approval page, and each step with who must do it.
	if !slices.Contains(links(resp.Body), e.p.Relationships.ApprovalURL) {
		t.Errorf("no approval link %s in %v", e.p.Relationships.ApprovalURL, links(resp.Body))
	}
	expectStatus(t, resp, http.StatusOK, "Approve Partner Cloud's admin relationship (GDAP)", "approvalPending", "a Global Administrator of the customer's tenant", "Grant Owner on subscription "+sub1)

	u := consentLink(t, resp.Body)
	if u.Scheme != "https" || u.Host != "login.microsoftonline.com" || u.Path != "/organizations/oauth2/v2.0/authorize" || u.Fragment != "" {
		t.Fatalf("sign-in link %s: wrong endpoint", u)
	}
	q := u.Query()
	st, err := testKey.Verify(q.Get("state"), t0.Add(29*time.Minute))
	if err != nil {
		t.Fatalf("state does not verify: %v", err)
	}
	if st.Invitation != e.hash || st.Expires != t0.Add(30*time.Minute).Unix() || st.Step != consent.StepSignIn || st.Tenant != "" {
		t.Fatalf("state %+v not a sign-in state bound to the invitation %s for 30 minutes", st, e.hash)
	}
	want := url.Values{
		"client_id": {testSite.ClientID}, "response_type": {"code"}, "response_mode": {"query"},
		"redirect_uri": {"https://api.partner.example/consent/callback"}, "scope": {"openid profile"},
		"state": {q.Get("state")}, "nonce": {testKey.Nonce(st)}, "prompt": {"select_account"},
		"code_challenge": {consent.PKCEChallenge(testKey.PKCEVerifier(st))}, "code_challenge_method": {"S256"},
	}
	if !reflect.DeepEqual(q, want) {
		t.Fatalf("sign-in link query\n got %v\nwant %v", q, want)
	}
	if _, err := testKey.Verify(q.Get("state"), t0.Add(30*time.Minute)); !errors.Is(err, consent.ErrStateExpired) {
		t.Fatalf("state still valid after its TTL: %v", err)
	}
	// Each view gets its own single-use state.
	if u2 := consentLink(t, e.landing(t, e.id).Body); u2.Query().Get("state") == q.Get("state") {
		t.Fatal("two views got the same state")
	}
	if strings.Contains(e.logs.String(), e.id) || strings.Contains(e.logs.String(), q.Get("state")) {
		t.Fatal("logs contain the invitation id or the state")
	}
	if !strings.Contains(e.logs.String(), `"provider_id":"`+e.p.ID+`"`) || !strings.Contains(e.logs.String(), `"request_id":"`+apitest.RequestID+`"`) {
		t.Fatalf("logs lack provider_id or request_id: %s", e.logs.String())
	}
}

func TestLandingAuthorityWithPath(t *testing.T) {
	e := newEnv(t)
	e.h.Site.AuthorityHost = "https://127.0.0.1:8443/login/"
	e.h.Site.ResourceManager = "https://127.0.0.1:8444/"
	u := consentLink(t, e.landing(t, e.id).Body)
	if u.Host != "127.0.0.1:8443" || u.Path != "/login/organizations/oauth2/v2.0/authorize" {
		t.Fatalf("sign-in link %s", u)
	}
	c, err := url.Parse(e.h.Site.AdminConsentURL(tenantID, "s"))
	if err != nil || c.Host != "127.0.0.1:8443" || c.Path != "/login/"+tenantID+"/v2.0/adminconsent" || c.Query().Get("scope") != "https://127.0.0.1:8444/.default" {
		t.Fatalf("admin-consent link %s", c)
	}
}

func TestLandingWithoutSubscriptionsOrAccountName(t *testing.T) {
	e := newEnv(t)
	p, id := e.addProvider(t, "Fabrikam", nil, "")
	_ = p
	if err := e.store.PutAccount(context.Background(), account.Account{ID: "acct-1", Billable: true}); err != nil {
		t.Fatal(err)
	}
	expectStatus(t, e.landing(t, id), http.StatusOK, "your organization", "No subscriptions were named")
}

func TestLandingNotFound(t *testing.T) {
	e := newEnv(t)
	unknown := testKey.InvitationID("prv_other", "nonce")
	for _, id := range []string{
		unknown,
		"",
		"short",
		"../../etc/passwd",
		"..%2F..%2F..%2Fetc%2Fpasswd",
		"../../../../../../../../../../../etc/passwd",
		strings.Repeat("a", 42) + "/",
		strings.Repeat("a", 42) + "=",
		e.id + "x",
		e.id[:42],
		strings.Repeat("A", 10000),
		"<script>alert(1)</script>aaaaaaaaaaaaaaaaaa",
	} {
		t.Run(fmt.Sprintf("%.20q", id), func(t *testing.T) {
			resp := e.landing(t, id)
			expectStatus(t, resp, http.StatusNotFound, "This link is not valid")
			if strings.Contains(resp.Body, "adminconsent") {
				t.Fatal("a 404 page links to Microsoft")
			}
		})
	}
	t.Run("unknown route", func(t *testing.T) {
		req := apitest.Request("POST /consent/callback", nil)
		resp, _ := e.handle(context.Background(), req)
		checkPage(t, resp)
		expectStatus(t, resp, http.StatusNotFound)
	})
}

func TestLandingGone(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name    string
		prepare func(t *testing.T, e *env)
		want    string
	}{
		{"expired by time", func(t *testing.T, e *env) { e.setNow(t0.Add(14 * day)) }, "This link has expired"},
		{"record expired", func(t *testing.T, e *env) { e.close(t, consent.StatusExpired) }, "This link has expired"},
		{"record cancelled", func(t *testing.T, e *env) { e.close(t, consent.StatusCancelled) }, "This request was cancelled"},
		{"record declined", func(t *testing.T, e *env) { e.close(t, consent.StatusDeclined) }, "This request was declined"},
		{"already used", func(t *testing.T, e *env) { e.close(t, consent.StatusConsented) }, "This link was already used"},
		{"provider cancelled, record still open", func(t *testing.T, e *env) { e.setStatus(t, provider.StatusCancelled) }, "This request was cancelled"},
		{"provider failed", func(t *testing.T, e *env) { e.setStatus(t, provider.StatusFailed) }, "This request is closed"},
		{"provider active", func(t *testing.T, e *env) { e.setStatus(t, provider.StatusActive) }, "This link was already used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.prepare(t, e)
			resp := e.landing(t, e.id)
			expectStatus(t, resp, http.StatusGone, tt.want, "help@partner.example")
			if strings.Contains(resp.Body, "adminconsent") {
				t.Fatal("a 410 page links to Microsoft")
			}
		})
	}
}

func (e *env) close(t *testing.T, to consent.Status) {
	t.Helper()
	if _, err := e.store.CloseInvitation(context.Background(), e.hash, to, tenantID); err != nil {
		t.Fatal(err)
	}
}

func (e *env) setStatus(t *testing.T, s provider.Status) {
	t.Helper()
	if _, err := e.store.UpdateProvider(context.Background(), "acct-1", e.p.ID, func(p *provider.Provider) error { p.Status = s; return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestCallbackSuccessResumesOnce(t *testing.T) {
	e := newEnv(t)
	e.setNow(t0.Add(time.Hour))
	state := e.state(t)
	first := e.callback(t, success(state))
	expectStatus(t, first, http.StatusOK, "Thank you", tenantID, appOID, sub1, sub2, "representatives will")

	succeeded, failed := e.tasks.Counts()
	if succeeded != 1 || failed != 0 || e.tasks.Succeeded[0] != taskToken {
		t.Fatalf("resumes: %d succeed, %d fail, tokens %v", succeeded, failed, e.tasks.Succeeded)
	}
	if out := e.tasks.Outputs[0].(workflow.ConsentResult); out.TenantID != tenantID || !out.ConsentedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("resumed with %+v", out)
	}
	s := e.snap(t, e.p, e.hash)
	if s.p.Status != provider.StatusAwaitingCustomer || s.p.TenantID != tenantID || s.p.PrincipalID != appOID {
		t.Fatalf("provider %s tenant %q principal %q", s.p.Status, s.p.TenantID, s.p.PrincipalID)
	}
	last := s.p.Timeline[len(s.p.Timeline)-1]
	if last.By != "azure-admin" || last.What != "The Azure administrator consented in tenant "+tenantID+"." || last.Status != provider.StatusAwaitingCustomer {
		t.Fatalf("timeline event %+v", last)
	}
	if s.rec.Status != consent.StatusConsented || s.rec.TenantID != tenantID {
		t.Fatalf("invitation %+v", s.rec)
	}

	// The same response again (reload, back button): the same page, no second resume.
	again := e.callback(t, success(state))
	if again.StatusCode != first.StatusCode || again.Body != first.Body {
		t.Fatalf("replay page differs:\n%s\n---\n%s", text(first.Body), text(again.Body))
	}
	// A second tab with its own state after the first finished: same page.
	other := e.callback(t, success(e.state(t)))
	if other.Body != first.Body {
		t.Fatalf("second tab page differs:\n%s\n---\n%s", text(first.Body), text(other.Body))
	}
	if succeeded, _ := e.tasks.Counts(); succeeded != 1 {
		t.Fatalf("resumed %d times", succeeded)
	}
	// The link is now the checklist: sign-in and consent done, no new
	// sign-in, the relationship steps still to do.
	checklist := e.landing(t, e.id)
	expectStatus(t, checklist, http.StatusOK, "Thank you", "<code>signed_in</code>", "<code>granted</code>", "Accept Partner Cloud as your reseller", "To do")
	for _, l := range links(checklist.Body) {
		if strings.Contains(l, "/oauth2/v2.0/authorize") {
			t.Errorf("the checklist after consent links to a new sign-in: %s", l)
		}
	}

	logs := e.logs.String()
	for _, secret := range []string{e.id, state, taskToken, adminEmail} {
		if strings.Contains(logs, secret) {
			t.Fatalf("logs contain %q", secret)
		}
	}
	if !strings.Contains(logs, `"provider_id":"`+e.p.ID+`"`) {
		t.Fatal("logs lack the provider id")
	}
}

func TestCallbackSuccessPrincipalAndSubscriptions(t *testing.T) {
	e := newEnv(t)
	p, id := e.addProvider(t, "Operator principal", nil, "0e0e0e0e-1111-2222-3333-444444444444")
	resp := e.callback(t, success(stateFor(t, testKey, consent.Hash(id), t0)))
	expectStatus(t, resp, http.StatusOK, "Thank you", "0e0e0e0e-1111-2222-3333-444444444444", "every subscription to be moved")
	if strings.Contains(resp.Body, appOID) {
		t.Fatal("page names the app's principal although an operator set another")
	}
	s := e.snap(t, p, consent.Hash(id))
	if s.p.Status != provider.StatusAwaitingCustomer || s.p.PrincipalID != "" || s.p.OwnerPrincipal != "0e0e0e0e-1111-2222-3333-444444444444" {
		t.Fatalf("provider %+v", s.p)
	}
}

func TestTenantCaseInsensitive(t *testing.T) {
	e := newEnv(t)
	e.verifier.answer = func(_ int, tenant string) (string, string, error) { return strings.ToUpper(tenant), appOID, nil }
	params := success(e.state(t))
	params["tenant"] = strings.ToUpper(tenantID)
	expectStatus(t, e.callback(t, params), http.StatusOK, "Thank you", tenantID)
	if s := e.snap(t, e.p, e.hash); s.p.TenantID != tenantID {
		t.Fatalf("tenant stored as %q", s.p.TenantID)
	}
}

func TestConcurrentCallbacksResumeOnce(t *testing.T) {
	for _, sameState := range []bool{true, false} {
		t.Run(fmt.Sprintf("same state %v", sameState), func(t *testing.T) {
			e := newEnv(t)
			e.h.ReplayWait = 10 * time.Second
			shared := e.state(t)
			states := make([]string, 20)
			for i := range states {
				if sameState {
					states[i] = shared
				} else {
					states[i] = e.state(t)
				}
			}
			resps := make([]api.Response, len(states))
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, st := range states {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					resps[i] = e.callback(t, success(st))
				}()
			}
			close(start)
			wg.Wait()
			if succeeded, failed := e.tasks.Counts(); succeeded != 1 || failed != 0 {
				t.Fatalf("%d resumes and %d failures, want exactly one resume", succeeded, failed)
			}
			for i, r := range resps {
				expectStatus(t, r, http.StatusOK, "Thank you", tenantID)
				if i > 0 && text(r.Body) != text(resps[0].Body) {
					t.Errorf("page %d differs:\n%s\n---\n%s", i, text(resps[0].Body), text(r.Body))
				}
			}
			if sameState && e.verifier.count() != 1 {
				t.Errorf("the tenant was verified %d times for one state", e.verifier.count())
			}
			s := e.snap(t, e.p, e.hash)
			if s.p.Status != provider.StatusAwaitingCustomer || len(s.p.Timeline) != 2 {
				t.Fatalf("provider %s with %d timeline events, want one consent event", s.p.Status, len(s.p.Timeline))
			}
		})
	}
}

func TestCallbackRejectedChangesNothing(t *testing.T) {
	otherKey := consent.Key(bytes.Repeat([]byte{9}, 32))
	huge := strings.Repeat("A", 100_000)
	tests := []struct {
		name   string
		params func(t *testing.T, e *env) map[string]string
		raw    string // raw query string instead of the map
	}{
		{"missing state", func(t *testing.T, e *env) map[string]string { return success("") }, ""},
		{"no query at all", func(t *testing.T, e *env) map[string]string { return nil }, ""},
		{"forged state (other key)", func(t *testing.T, e *env) map[string]string {
			return success(stateFor(t, otherKey, e.hash, t0))
		}, ""},
		{"expired state", func(t *testing.T, e *env) map[string]string {
			st := e.state(t)
			e.setNow(t0.Add(31 * time.Minute))
			return success(st)
		}, ""},
		{"tampered state", func(t *testing.T, e *env) map[string]string {
			st := e.state(t)
			return success(st[:len(st)-2] + "AA")
		}, ""},
		{"state of an unknown invitation", func(t *testing.T, e *env) map[string]string {
			return success(stateFor(t, testKey, consent.Hash("nope"), t0))
		}, ""},
		{"state of another invitation that is closed", func(t *testing.T, e *env) map[string]string {
			_, id := e.addProvider(t, "Other", []string{sub1}, "")
			if _, err := e.store.CloseInvitation(context.Background(), consent.Hash(id), consent.StatusCancelled, ""); err != nil {
				t.Fatal(err)
			}
			return success(stateFor(t, testKey, consent.Hash(id), t0))
		}, ""},
		{"invitation expired after the state was issued", func(t *testing.T, e *env) map[string]string {
			e.setNow(t0.Add(14*24*time.Hour - time.Minute))
			st := e.state(t)
			e.setNow(t0.Add(14*24*time.Hour + time.Minute))
			return success(st)
		}, ""},
		{"tenant mismatch", func(t *testing.T, e *env) map[string]string {
			e.verifier.answer = func(int, string) (string, string, error) { return otherTID, appOID, nil }
			return success(e.state(t))
		}, ""},
		{"tenant not a GUID", func(t *testing.T, e *env) map[string]string {
			p := success(e.state(t))
			p["tenant"] = "common"
			return p
		}, ""},
		{"tenant with control characters", func(t *testing.T, e *env) map[string]string {
			p := success(e.state(t))
			p["tenant"] = tenantID + "\r\nX-Injected: 1"
			return p
		}, ""},
		{"admin_consent missing", func(t *testing.T, e *env) map[string]string {
			p := success(e.state(t))
			delete(p, "admin_consent")
			return p
		}, ""},
		{"admin_consent false", func(t *testing.T, e *env) map[string]string {
			p := success(e.state(t))
			p["admin_consent"] = "False"
			return p
		}, ""},
		{"huge state", func(t *testing.T, e *env) map[string]string { return success(huge) }, ""},
		{"huge tenant", func(t *testing.T, e *env) map[string]string {
			p := success(e.state(t))
			p["tenant"] = huge
			return p
		}, ""},
		{"huge error description", func(t *testing.T, e *env) map[string]string {
			return map[string]string{"error": "access_denied", "error_description": huge, "state": e.state(t)}
		}, ""},
		{"error code with markup", func(t *testing.T, e *env) map[string]string {
			return map[string]string{"error": "<script>alert(1)</script>", "state": e.state(t)}
		}, ""},
		{"state with control characters", func(t *testing.T, e *env) map[string]string {
			st := e.state(t)
			return success(st[:10] + "\x00\n" + st[10:])
		}, ""},
		{"two states (joined by API Gateway)", func(t *testing.T, e *env) map[string]string {
			return success(e.state(t) + "," + e.state(t))
		}, ""},
		{"raw query only, malformed escape", nil, "state=%zz&admin_consent=True"},
		{"raw query only, oversized", nil, "state=" + huge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			before := e.snap(t, e.p, e.hash)
			var resp api.Response
			if tt.params != nil {
				resp = e.callback(t, tt.params(t, e))
			} else {
				req := apitest.Request(RouteCallback, nil)
				req.RawQueryString = tt.raw
				resp, _ = e.handle(e.ctx(), req)
				checkPage(t, resp)
			}
			expectStatus(t, resp, http.StatusBadRequest)
			if after := e.snap(t, e.p, e.hash); !reflect.DeepEqual(before, after) {
				t.Fatalf("records changed:\nbefore %+v %+v\nafter  %+v %+v", before.p, before.rec, after.p, after.rec)
			}
			if s, f := e.tasks.Counts(); s+f != 0 {
				t.Fatalf("workflow touched: %d succeed, %d fail", s, f)
			}
			if strings.Contains(resp.Body, "alert(1)") {
				t.Fatal("page echoes the query")
			}
		})
	}
}

func TestCallbackDeclined(t *testing.T) {
	for _, taskErr := range []error{nil, fmt.Errorf("%w: TaskTimedOut", workflow.ErrTaskGone)} {
		t.Run(fmt.Sprintf("fail returns %v", taskErr), func(t *testing.T) {
			e := newEnv(t)
			e.tasks.Errs = []error{taskErr}
			state := e.state(t)
			params := map[string]string{"error": "access_denied", "error_description": "AADSTS65004: User declined to consent <script>alert(1)</script>", "state": state}
			first := e.callback(t, params)
			expectStatus(t, first, http.StatusOK, "You declined", "create a new request")
			if strings.Contains(first.Body, "alert(1)") {
				t.Fatal("the page echoes error_description")
			}
			if _, failed := e.tasks.Counts(); failed != 1 || e.tasks.Failed[0].Token != taskToken || e.tasks.Failed[0].Name != "ConsentDeclined" || !strings.Contains(e.tasks.Failed[0].Cause, "declined") {
				t.Fatalf("failures %+v", e.tasks.Failed)
			}
			s := e.snap(t, e.p, e.hash)
			if s.rec.Status != consent.StatusDeclined {
				t.Fatalf("invitation %s, want declined", s.rec.Status)
			}
			if s.p.Status != provider.StatusPendingConsent {
				t.Fatalf("provider %s: the state machine's RecordDeclined records the status", s.p.Status)
			}
			// Replay and a second tab: the same page, no second failure.
			if again := e.callback(t, params); again.Body != first.Body || again.StatusCode != first.StatusCode {
				t.Fatalf("replay page differs: %s", text(again.Body))
			}
			params["state"] = e.state(t)
			if other := e.callback(t, params); other.Body != first.Body {
				t.Fatalf("second tab page differs: %s", text(other.Body))
			}
			if succeeded, failed := e.tasks.Counts(); failed != 1 || succeeded != 0 {
				t.Fatalf("%d failures, %d successes", failed, succeeded)
			}
			expectStatus(t, e.landing(t, e.id), http.StatusGone, "declined")
		})
	}
}

func TestCallbackOtherError(t *testing.T) {
	e := newEnv(t)
	state := e.state(t)
	before := e.snap(t, e.p, e.hash)
	params := map[string]string{"error": "consent_required", "error_description": "AADSTS65004: <script>alert(1)</script>\r\nTrace ID: x", "state": state}
	resp := e.callback(t, params)
	expectStatus(t, resp, http.StatusOK, "did not complete", "consent_required", "AADSTS65004", "still open")
	if strings.Contains(resp.Body, "alert(1)") || strings.Contains(resp.Body, "Trace ID") {
		t.Fatal("the page echoes error_description")
	}
	if after := e.snap(t, e.p, e.hash); !reflect.DeepEqual(before, after) {
		t.Fatal("records changed")
	}
	if s, f := e.tasks.Counts(); s+f != 0 {
		t.Fatal("workflow touched")
	}
	// The state is spent: its replay cannot be used; a fresh one can.
	expectStatus(t, e.callback(t, params), http.StatusBadRequest, "already used")
	expectStatus(t, e.landing(t, e.id), http.StatusOK)
	expectStatus(t, e.callback(t, success(e.state(t))), http.StatusOK, "Thank you")
}

func TestVerifierErrors(t *testing.T) {
	revoked := fmt.Errorf("%w (AADSTS700016)", ownership.ErrConsentRevoked)
	down := fmt.Errorf("%w: 503 from the token endpoint", ownership.ErrUnavailable)
	tests := []struct {
		name      string
		answer    func(int, string) (string, string, error)
		status    int
		want      string
		wantCalls int
	}{
		{"consent revoked", func(int, string) (string, string, error) { return "", "", revoked }, http.StatusOK, "did not take effect", verifyAttempts},
		{"azure unavailable", func(int, string) (string, string, error) { return "", "", down }, http.StatusServiceUnavailable, "Try again in a minute", 1},
		{"deadline", func(int, string) (string, string, error) { return "", "", context.DeadlineExceeded }, http.StatusServiceUnavailable, "open the link in your email again", 1},
		{"unexpected error", func(int, string) (string, string, error) { return "", "", errors.New("credential: bad config") }, http.StatusInternalServerError, "Something went wrong", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.verifier.answer = tt.answer
			before := e.snap(t, e.p, e.hash)
			resp := e.callback(t, success(e.state(t)))
			expectStatus(t, resp, tt.status, tt.want)
			if strings.Contains(resp.Body, "AADSTS700016") || strings.Contains(resp.Body, "bad config") {
				t.Fatal("page shows internal error text")
			}
			if e.verifier.count() != tt.wantCalls {
				t.Fatalf("verifier called %d times, want %d", e.verifier.count(), tt.wantCalls)
			}
			if after := e.snap(t, e.p, e.hash); !reflect.DeepEqual(before, after) {
				t.Fatal("records changed")
			}
			if s, f := e.tasks.Counts(); s+f != 0 {
				t.Fatal("workflow touched")
			}
		})
	}
	t.Run("consent propagates on the second attempt", func(t *testing.T) {
		e := newEnv(t)
		e.verifier.answer = func(n int, tenant string) (string, string, error) {
			if n == 1 {
				return "", "", revoked
			}
			return tenant, appOID, nil
		}
		expectStatus(t, e.callback(t, success(e.state(t))), http.StatusOK, "Thank you")
		if s, _ := e.tasks.Counts(); s != 1 {
			t.Fatalf("%d resumes", s)
		}
	})
}

func TestCallbackOnCancelledProvider(t *testing.T) {
	e := newEnv(t)
	e.setStatus(t, provider.StatusCancelled)
	before := e.snap(t, e.p, e.hash)
	expectStatus(t, e.callback(t, success(e.state(t))), http.StatusBadRequest, "cancelled")
	if after := e.snap(t, e.p, e.hash); !reflect.DeepEqual(before, after) {
		t.Fatal("records changed")
	}
	if e.verifier.count() != 0 {
		t.Fatal("verified a tenant for a cancelled migration")
	}
}

func TestPanicBecomesErrorPage(t *testing.T) {
	h := &Handler{Site: testSite, Now: time.Now}
	req := apitest.Request(RouteLanding, nil)
	req.PathParameters = map[string]string{"invitationId": strings.Repeat("a", 43)}
	resp, err := h.Handle(context.Background(), req)
	if err != nil || resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("Handle = %d, %v", resp.StatusCode, err)
	}
	checkPage(t, resp)
}

func TestEventFile(t *testing.T) {
	e := newEnv(t)
	req := apitest.LoadEvent(t, "../../events/consent-callback.json")
	if req.RouteKey != RouteCallback || req.RequestContext.Authorizer != nil || req.QueryStringParameters["state"] == "" {
		t.Fatalf("event: route %q, authorizer %v, query %v", req.RouteKey, req.RequestContext.Authorizer, req.QueryStringParameters)
	}
	req.RequestContext.RequestID = apitest.RequestID
	resp, err := e.handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	checkPage(t, resp)
	expectStatus(t, resp, http.StatusBadRequest, "This sign-in response is not valid")
}

func TestSiteValidate(t *testing.T) {
	if err := testSite.Validate(); err != nil {
		t.Fatalf("valid site refused: %v", err)
	}
	local := testSite
	local.PublicBaseURL = "http://127.0.0.1:3000"
	local.AuthorityHost = "https://localhost:8443/"
	if err := local.Validate(); err != nil {
		t.Fatalf("local cloud refused: %v", err)
	}
	bad := Site{PartnerName: "", ContactEmail: "nope", PartnerTenantID: "x", ClientID: "y", PublicBaseURL: "ftp://x", AuthorityHost: "http://login.example", ResourceManager: "javascript:alert(1)"}
	err := bad.Validate()
	for _, name := range []string{"PARTNER_NAME", "PARTNER_APP_NAME", "CONTACT_EMAIL", "PARTNER_TENANT_ID", "AZURE_CLIENT_ID", "PUBLIC_BASE_URL", "AZURE_AUTHORITY_HOST", "AZURE_RESOURCE_MANAGER_ENDPOINT"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Validate does not name %s: %v", name, err)
		}
	}
	long := testSite
	long.PublicBaseURL = "https://api.example/" + strings.Repeat("p", 250)
	if err := long.Validate(); err == nil || !strings.Contains(err.Error(), "256") {
		t.Errorf("over-long redirect URI accepted: %v", err)
	}
}
