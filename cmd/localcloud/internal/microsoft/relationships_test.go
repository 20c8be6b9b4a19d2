package microsoft

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

const (
	graphScope       = "https://graph.microsoft.com/.default"
	pcScope          = "https://api.partnercenter.microsoft.com/.default"
	relationshipsAPI = "/v1.0/tenantRelationships/delegatedAdminRelationships"
	helpdeskRole     = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	readerRole       = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
	partnerGroup     = "869713c9-0b28-4d08-8949-ae07ae1bf528"
)

// scopedToken gets an app-only token of the partner application in the
// partner tenant for a scope.
func (e *env) scopedToken(t *testing.T, scope string) string {
	t.Helper()
	cred := e.credential(t, partnerTenant, partnerApp, partnerSecret)
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		t.Fatalf("token for %s: %v", scope, err)
	}
	return tok.Token
}

// freshToken gets a new client-credentials token (no cache), for tests
// whose clock moves past a token's lifetime.
func (e *env) freshToken(t *testing.T, scope string) string {
	t.Helper()
	resp, err := e.client.PostForm(e.url+"/"+partnerTenant+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {partnerApp}, "client_secret": {partnerSecret}, "scope": {scope},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return out.AccessToken
}

// call sends a JSON request with a bearer token and decodes the answer.
func (e *env) call(t *testing.T, method, path, token string, body any) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	u := path
	if !strings.HasPrefix(u, "https://") {
		u = e.url + path
	}
	req, _ := http.NewRequest(method, u, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &out)
	}
	return resp.StatusCode, resp.Header, out
}

func newRelationship(name, autoExtend, duration string, roles ...string) map[string]any {
	var list []any
	for _, r := range roles {
		list = append(list, map[string]any{"roleDefinitionId": r})
	}
	body := map[string]any{
		"displayName":   name,
		"duration":      duration,
		"customer":      map[string]any{"tenantId": contosoTenant},
		"accessDetails": map[string]any{"unifiedRoles": list},
	}
	if autoExtend != "" {
		body["autoExtendDuration"] = autoExtend
	}
	return body
}

func graphErrorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// receiver is a webhook callback recording what arrives.
type receiver struct {
	mu       sync.Mutex
	requests []receivedEvent
	// answers are the statuses of the next answers (then 200).
	answers []int
	srv     *httptest.Server
}

type receivedEvent struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.requests = append(rc.requests, receivedEvent{header: r.Header.Clone(), body: b})
		status := http.StatusOK
		if len(rc.answers) > 0 {
			status, rc.answers = rc.answers[0], rc.answers[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) events() []receivedEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receivedEvent(nil), rc.requests...)
}

func newRelationshipsEnv(t *testing.T, now func() time.Time) (*env, *receiver) {
	t.Helper()
	e := newEnvWith(t, defaultScenario(t), Options{Now: now, WebhookRetryDelay: time.Millisecond})
	if err := e.srv.UseCA(e.ca); err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t)
	if err := e.srv.RegisterWebhook(rc.srv.URL+"/webhooks/partner-center", nil); err != nil {
		t.Fatal(err)
	}
	return e, rc
}

func TestGDAPJourneyThroughGraphAndTheApprovalPage(t *testing.T) {
	e, rc := newRelationshipsEnv(t, nil)
	tok := e.scopedToken(t, graphScope)

	status, h, rel := e.call(t, "POST", relationshipsAPI, tok, newRelationship("prv-1", "P180D", "P730D", helpdeskRole, readerRole))
	if status != http.StatusCreated || rel["status"] != GDAPCreated || rel["autoExtendDuration"] != "P180D" {
		t.Fatalf("create: %d %v", status, rel)
	}
	id, _ := rel["id"].(string)
	if h.Get("Location") != e.url+relationshipsAPI+"/"+id || len(id) != 73 {
		t.Fatalf("Location %q, id %q", h.Get("Location"), id)
	}
	if c, _ := rel["customer"].(map[string]any); c["tenantId"] != contosoTenant || c["displayName"] != "Contoso Ltd" {
		t.Fatalf("customer %v", rel["customer"])
	}

	// displayName is unique per partner.
	status, _, body := e.call(t, "POST", relationshipsAPI, tok, newRelationship("PRV-1", "", "P30D", helpdeskRole))
	if status != http.StatusConflict || graphErrorCode(body) != "conflict" {
		t.Fatalf("second create with the same displayName: %d %v", status, body)
	}
	status, _, list := e.call(t, "GET", relationshipsAPI+"?$filter="+url.QueryEscape("displayName eq 'prv-1'"), tok, nil)
	if v, _ := list["value"].([]any); status != 200 || len(v) != 1 || v[0].(map[string]any)["id"] != id {
		t.Fatalf("list by displayName: %d %v", status, list)
	}

	// No access assignment before the relationship is active.
	assignment := map[string]any{
		"accessContainer": map[string]any{"accessContainerId": partnerGroup, "accessContainerType": "securityGroup"},
		"accessDetails":   map[string]any{"unifiedRoles": []any{map[string]any{"roleDefinitionId": helpdeskRole}}},
	}
	if status, _, body := e.call(t, "POST", relationshipsAPI+"/"+id+"/accessAssignments", tok, assignment); status != 400 || graphErrorCode(body) != "badRequest" {
		t.Fatalf("assignment on a created relationship: %d %v", status, body)
	}

	status, h, req := e.call(t, "POST", relationshipsAPI+"/"+id+"/requests", tok, map[string]any{"action": "lockForApproval"})
	if status != http.StatusCreated || req["action"] != "lockForApproval" || req["status"] != "created" || !strings.HasSuffix(h.Get("Location"), "/requests/"+req["id"].(string)) {
		t.Fatalf("lock: %d %v", status, req)
	}
	if _, _, got := e.call(t, "GET", relationshipsAPI+"/"+id, tok, nil); got["status"] != GDAPApprovalPending || got["activatedDateTime"] != nil {
		t.Fatalf("after lock: %v", got)
	}
	if status, _, body := e.call(t, "POST", relationshipsAPI+"/"+id+"/requests", tok, map[string]any{"action": "lockForApproval"}); status != 400 || graphErrorCode(body) != "badRequest" {
		t.Fatalf("second lock: %d %v", status, body)
	}

	// The approval page: someone without the Global Administrator role is
	// refused and nothing changes; the Global Administrator approves.
	b := newBrowser(t, e)
	page := e.url + "/AdminPortal/Home"
	if resp, body := b.get(t, page+"#/partners/invitation/granularAdminRelationships/"+id); resp.StatusCode != 200 || !strings.Contains(body, `name="decision" value="accept"`) {
		t.Fatalf("approval page: %d %s", resp.StatusCode, body)
	}
	resp, body2 := b.post(t, page, url.Values{"login": {"dev@contoso.example"}, "decision": {"accept"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body2, "Only a Global Administrator") {
		t.Fatalf("dev accepts: %d %s", resp.StatusCode, body2)
	}
	if _, _, got := e.call(t, "GET", relationshipsAPI+"/"+id, tok, nil); got["status"] != GDAPApprovalPending {
		t.Fatalf("after a refused approval: %v", got["status"])
	}
	if resp, body := b.post(t, page, url.Values{"login": {"admin@contoso.example"}, "decision": {"decline"}}); resp.StatusCode != 200 || !strings.Contains(body, "stays pending") {
		t.Fatalf("decline: %d %s", resp.StatusCode, body)
	}
	if _, _, got := e.call(t, "GET", relationshipsAPI+"/"+id, tok, nil); got["status"] != GDAPApprovalPending {
		t.Fatalf("after decline on the page: %v", got["status"])
	}
	resp, body2 = b.post(t, strings.ToLower(page), url.Values{"login": {"admin@contoso.example"}, "decision": {"accept"}})
	if resp.StatusCode != 200 || !strings.Contains(body2, "Approved.") || !strings.Contains(body2, "prv-1") {
		t.Fatalf("admin accepts: %d %s", resp.StatusCode, body2)
	}
	_, _, got := e.call(t, "GET", relationshipsAPI+"/"+id, tok, nil)
	activated, err1 := time.Parse(time.RFC3339Nano, got["activatedDateTime"].(string))
	end, err2 := time.Parse(time.RFC3339Nano, got["endDateTime"].(string))
	if got["status"] != GDAPActive || err1 != nil || err2 != nil || !end.Equal(activated.AddDate(0, 0, 730)) {
		t.Fatalf("after approval: %v", got)
	}
	if _, _, q := e.call(t, "GET", relationshipsAPI+"/"+id+"/requests/"+req["id"].(string), tok, nil); q["status"] != "succeeded" {
		t.Fatalf("request after approval: %v", q)
	}

	e.srv.WaitWebhooks()
	events := rc.events()
	if len(events) != 1 {
		t.Fatalf("%d webhook events, want 1", len(events))
	}
	var ev map[string]any
	_ = json.Unmarshal(events[0].body, &ev)
	if ev["EventName"] != EventGDAPApproved || !strings.HasSuffix(ev["ResourceUri"].(string), relationshipsAPI+"/"+id) {
		t.Fatalf("event %v", ev)
	}

	// Access assignments: pending, then active on the read after the first.
	status, _, a := e.call(t, "POST", relationshipsAPI+"/"+id+"/accessAssignments", tok, assignment)
	if status != http.StatusCreated || a["status"] != "pending" {
		t.Fatalf("assignment: %d %v", status, a)
	}
	aid := a["id"].(string)
	if _, _, got := e.call(t, "GET", relationshipsAPI+"/"+id+"/accessAssignments/"+aid, tok, nil); got["status"] != "pending" {
		t.Fatalf("first read: %v", got["status"])
	}
	_, _, all := e.call(t, "GET", relationshipsAPI+"/"+id+"/accessAssignments", tok, nil)
	if v, _ := all["value"].([]any); len(v) != 1 || v[0].(map[string]any)["status"] != "active" {
		t.Fatalf("second read: %v", all)
	}
	if status, _, body := e.call(t, "POST", relationshipsAPI+"/"+id+"/accessAssignments", tok, assignment); status != http.StatusConflict {
		t.Fatalf("second assignment for the group: %d %v", status, body)
	}
	outside := map[string]any{
		"accessContainer": map[string]any{"accessContainerId": "11111111-0b28-4d08-8949-ae07ae1bf528", "accessContainerType": "securityGroup"},
		"accessDetails":   map[string]any{"unifiedRoles": []any{map[string]any{"roleDefinitionId": GlobalAdministratorRoleID}}},
	}
	if status, _, _ := e.call(t, "POST", relationshipsAPI+"/"+id+"/accessAssignments", tok, outside); status != 400 {
		t.Fatalf("assignment with a role outside the relationship: %d", status)
	}

	st := e.srv.State()
	if len(st.Relationships) != 1 || st.Relationships[0]["status"] != GDAPActive || len(st.Relationships[0]["accessAssignments"].([]any)) != 1 {
		t.Fatalf("state relationships: %v", st.Relationships)
	}
}

func TestGDAPCreateRules(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	tok := e.scopedToken(t, graphScope)
	long := strings.Repeat("x", 51)
	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
	}{
		{"auto-extend with Global Administrator", newRelationship("ga-extend", "P180D", "P730D", GlobalAdministratorRoleID, readerRole), 400},
		{"Global Administrator without auto-extend", newRelationship("ga-fixed", "PT0S", "P730D", GlobalAdministratorRoleID), 201},
		{"auto-extend by default off", newRelationship("ga-default", "", "P730D", GlobalAdministratorRoleID), 201},
		{"one day", newRelationship("one-day", "", "P1D", readerRole), 201},
		{"two years", newRelationship("two-years", "", "P2Y", readerRole), 201},
		{"less than a day", newRelationship("zero", "", "PT12H", readerRole), 400},
		{"more than two years", newRelationship("long", "", "P731D", readerRole), 400},
		{"not a duration", newRelationship("bad", "", "730 days", readerRole), 400},
		{"unsupported auto-extend", newRelationship("p90", "P90D", "P730D", readerRole), 400},
		{"no roles", newRelationship("noroles", "", "P730D"), 400},
		{"role not a GUID", newRelationship("badrole", "", "P730D", "Reader"), 400},
		{"name too long", newRelationship(long, "", "P730D", readerRole), 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := e.call(t, "POST", relationshipsAPI, tok, tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, body)
			}
			if status == 400 {
				inner, _ := body["error"].(map[string]any)["innerError"].(map[string]any)
				if graphErrorCode(body) != "badRequest" || inner["request-id"] == "" || inner["date"] == "" {
					t.Fatalf("error shape %v", body)
				}
			}
		})
	}
}

func TestGDAPStatusesFollowTheClock(t *testing.T) {
	c := &clock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
	e, _ := newRelationshipsEnv(t, c.Now)
	tok := e.freshToken(t, graphScope)
	create := func(name, autoExtend, duration string) string {
		t.Helper()
		status, _, rel := e.call(t, "POST", relationshipsAPI, tok, newRelationship(name, autoExtend, duration, readerRole))
		if status != 201 {
			t.Fatalf("create %s: %d %v", name, status, rel)
		}
		id := rel["id"].(string)
		if status, _, _ := e.call(t, "POST", relationshipsAPI+"/"+id+"/requests", tok, map[string]any{"action": "lockForApproval"}); status != 201 {
			t.Fatalf("lock %s: %d", name, status)
		}
		return id
	}
	statusOf := func(id string) string {
		t.Helper()
		_, _, rel := e.call(t, "GET", relationshipsAPI+"/"+id, tok, nil)
		return rel["status"].(string)
	}
	approve := func(id string) {
		t.Helper()
		if _, err := e.srv.ChangeGDAP(GDAPChange{RelationshipID: id, Action: "approve"}, e.url); err != nil {
			t.Fatal(err)
		}
	}

	unapproved := create("never-approved", "", "P730D")
	fixed := create("fixed", "PT0S", "P10D")
	extended := create("extended", "P180D", "P10D")
	approve(fixed)
	approve(extended)
	status, _, a := e.call(t, "POST", relationshipsAPI+"/"+fixed+"/accessAssignments", tok, map[string]any{
		"accessContainer": map[string]any{"accessContainerId": partnerGroup, "accessContainerType": "securityGroup"},
		"accessDetails":   map[string]any{"unifiedRoles": []any{map[string]any{"roleDefinitionId": readerRole}}},
	})
	if status != 201 {
		t.Fatalf("assignment: %d", status)
	}
	c.Advance(AccessAssignmentDelay)
	aURL := relationshipsAPI + "/" + fixed + "/accessAssignments/" + a["id"].(string)
	if _, _, got := e.call(t, "GET", aURL, tok, nil); got["status"] != "active" {
		t.Fatalf("assignment after %s: %v", AccessAssignmentDelay, got["status"])
	}

	c.Advance(10 * 24 * time.Hour)
	tok = e.freshToken(t, graphScope)
	if s := statusOf(fixed); s != GDAPExpired {
		t.Fatalf("fixed after its duration: %s", s)
	}
	if _, _, got := e.call(t, "GET", aURL, tok, nil); got["status"] != "deleted" {
		t.Fatalf("assignment of an expired relationship: %v", got["status"])
	}
	_, _, ext := e.call(t, "GET", relationshipsAPI+"/"+extended, tok, nil)
	end, _ := time.Parse(time.RFC3339Nano, ext["endDateTime"].(string))
	if ext["status"] != GDAPActive || !end.Equal(time.Date(2025, 3, 11, 9, 0, 0, 0, time.UTC).AddDate(0, 0, 180)) {
		t.Fatalf("auto-extended: %v", ext)
	}
	if s := statusOf(unapproved); s != GDAPApprovalPending {
		t.Fatalf("pending after 10 days: %s", s)
	}
	c.Advance(GDAPApprovalWindow)
	tok = e.freshToken(t, graphScope)
	if s := statusOf(unapproved); s != GDAPExpired {
		t.Fatalf("pending after 90 days: %s", s)
	}
}

func TestGDAPControl(t *testing.T) {
	e, rc := newRelationshipsEnv(t, nil)
	tok := e.scopedToken(t, graphScope)
	make := func(name string) string {
		_, _, rel := e.call(t, "POST", relationshipsAPI, tok, newRelationship(name, "", "P730D", readerRole))
		id := rel["id"].(string)
		e.call(t, "POST", relationshipsAPI+"/"+id+"/requests", tok, map[string]any{"action": "lockForApproval"})
		return id
	}
	for _, tc := range []struct {
		name, action, want     string
		byTenant, approveFirst bool
	}{
		{"approve by tenant", "approve", GDAPActive, true, false},
		{"decline", "decline", GDAPTerminated, false, false},
		{"expire pending", "expire", GDAPExpired, false, false},
		{"terminate active", "terminate", GDAPTerminated, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := make("ctl-" + strings.ReplaceAll(tc.name, " ", "-"))
			if tc.approveFirst {
				if status, _, _ := e.call(t, "POST", "/_control/gdap", "", map[string]any{"relationshipId": id, "action": "approve"}); status != 200 {
					t.Fatalf("approve: %d", status)
				}
			}
			body := map[string]any{"relationshipId": id, "action": tc.action}
			if tc.byTenant {
				body = map[string]any{"tenant": "contoso", "action": tc.action}
			}
			status, _, got := e.call(t, "POST", "/_control/gdap", "", body)
			if status != 200 || got["id"] != id || got["status"] != tc.want {
				t.Fatalf("%d %v", status, got)
			}
			if _, _, rel := e.call(t, "GET", relationshipsAPI+"/"+id, tok, nil); rel["status"] != tc.want {
				t.Fatalf("Graph shows %v", rel["status"])
			}
		})
	}
	for _, body := range []map[string]any{
		{"relationshipId": "nope", "action": "approve"},
		{"tenant": "nowhere", "action": "approve"},
		{"tenant": "fabrikam", "action": "approve"},
	} {
		if status, _, _ := e.call(t, "POST", "/_control/gdap", "", body); status != 404 {
			t.Fatalf("%v: %d, want 404", body, status)
		}
	}
	if status, _, _ := e.call(t, "POST", "/_control/gdap", "", map[string]any{"tenant": "contoso", "action": "bless"}); status != 400 {
		t.Fatalf("unknown action: %d", status)
	}
	e.srv.WaitWebhooks()
	approvals := 0
	for _, ev := range rc.events() {
		if bytes.Contains(ev.body, []byte(EventGDAPApproved)) {
			approvals++
		}
	}
	if approvals != 2 {
		t.Fatalf("%d approval events, want 2 (one per approval)", approvals)
	}
}

func TestGraphListPagingAndFilter(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	tok := e.scopedToken(t, graphScope)
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		if status, _, _ := e.call(t, "POST", relationshipsAPI, tok, newRelationship("page-"+n, "", "P30D", readerRole)); status != 201 {
			t.Fatal(status)
		}
	}
	var names []string
	next := relationshipsAPI
	pages := 0
	for next != "" {
		status, _, body := e.call(t, "GET", next, tok, nil)
		if status != 200 {
			t.Fatalf("%s: %d %v", next, status, body)
		}
		for _, v := range body["value"].([]any) {
			names = append(names, v.(map[string]any)["displayName"].(string))
		}
		next, _ = body["@odata.nextLink"].(string)
		pages++
	}
	if pages != 3 || strings.Join(names, ",") != "page-a,page-b,page-c,page-d,page-e" {
		t.Fatalf("%d pages: %v", pages, names)
	}
	for _, tc := range []struct {
		filter string
		status int
		count  int
	}{
		{"displayName eq 'page-c'", 200, 1},
		{"displayName eq 'PAGE-C' and status eq 'created'", 200, 1},
		{"status eq 'active'", 200, 0},
		{"customer/tenantId eq '" + contosoTenant + "'", 200, 2}, // the first page of 5
		{"displayName eq 'it''s'", 200, 0},
		{"startswith(displayName,'page')", 400, 0},
		{"displayName ne 'x'", 400, 0},
	} {
		status, _, body := e.call(t, "GET", relationshipsAPI+"?$filter="+url.QueryEscape(tc.filter), tok, nil)
		v, _ := body["value"].([]any)
		if status != tc.status || len(v) != tc.count {
			t.Errorf("%s: %d with %d items, want %d with %d", tc.filter, status, len(v), tc.status, tc.count)
		}
	}
}

func TestGraphAuthorization(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	for _, tc := range []struct {
		name  string
		token string
		want  int
	}{
		{"no token", "", 401},
		{"Partner Center audience", e.scopedToken(t, pcScope), 401},
		{"a customer tenant's app", func() string {
			tok, err := e.credential(t, contosoTenant, contosoApp, contosoAppSecret).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{graphScope}})
			if err != nil {
				t.Fatal(err)
			}
			return tok.Token
		}(), 403},
	} {
		if status, _, body := e.call(t, "GET", relationshipsAPI, tc.token, nil); status != tc.want || graphErrorCode(body) == "" {
			t.Errorf("%s: %d %v, want %d", tc.name, status, body, tc.want)
		}
	}
	if status, _, _ := e.call(t, "GET", relationshipsAPI+"/nope", e.scopedToken(t, graphScope), nil); status != 404 {
		t.Errorf("unknown relationship: %d", status)
	}
}

func TestGraphFaults(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	tok := e.scopedToken(t, graphScope)
	if err := e.srv.SetFault(Fault{Call: CallGraphCreateRelationship, Status: 429, RetryAfter: 7, Count: 1}); err != nil {
		t.Fatal(err)
	}
	status, h, body := e.call(t, "POST", relationshipsAPI, tok, newRelationship("f-1", "", "P30D", readerRole))
	if status != 429 || h.Get("Retry-After") != "7" || graphErrorCode(body) != "TooManyRequests" {
		t.Fatalf("429: %d %q %v", status, h.Get("Retry-After"), body)
	}
	if err := e.srv.SetFault(Fault{Call: CallGraph, Status: 503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if status, _, body := e.call(t, "GET", relationshipsAPI, tok, nil); status != 503 || graphErrorCode(body) != "serviceNotAvailable" {
		t.Fatalf("503: %d %v", status, body)
	}
	if status, _, _ := e.call(t, "POST", relationshipsAPI, tok, newRelationship("f-1", "", "P30D", readerRole)); status != 201 {
		t.Fatalf("after the faults: %d", status)
	}

	// A lost reply: the relationship exists, the caller saw a 504; its
	// retry meets the displayName conflict and finds it by filter.
	if err := e.srv.SetFault(Fault{Call: CallGraphCreateRelationship, Status: 504, DropReply: true, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := e.call(t, "POST", relationshipsAPI, tok, newRelationship("f-2", "", "P30D", readerRole)); status != 504 {
		t.Fatalf("dropped reply: %d", status)
	}
	if status, _, _ := e.call(t, "POST", relationshipsAPI, tok, newRelationship("f-2", "", "P30D", readerRole)); status != 409 {
		t.Fatalf("retry after a dropped reply: %d", status)
	}
	_, _, list := e.call(t, "GET", relationshipsAPI+"?$filter="+url.QueryEscape("displayName eq 'f-2'"), tok, nil)
	if v, _ := list["value"].([]any); len(v) != 1 {
		t.Fatalf("relationships named f-2: %v", list)
	}
	if calls := e.srv.Calls(); calls[CallGraphCreateRelationship] != 4 {
		t.Fatalf("create calls %d, want 4", calls[CallGraphCreateRelationship])
	}
}

func TestResellerRelationship(t *testing.T) {
	e, rc := newRelationshipsEnv(t, nil)
	pc := e.scopedToken(t, pcScope)
	customer := "/v1/customers/" + contosoTenant
	status, _, body := e.call(t, "GET", customer, pc, nil)
	if status != 404 || body["code"] == nil || body["description"] == nil {
		t.Fatalf("before acceptance: %d %v", status, body)
	}
	status, _, inv := e.call(t, "GET", "/v1/customers/relationshiprequests", pc, nil)
	link, _ := inv["url"].(string)
	want := e.url + "/Adminportal/Home?invType=ResellerRelationship&partnerId=" + partnerTenant + "&msppId=0&DAP=false#/BillingAccounts/partner-invitation"
	if status != 200 || link != want {
		t.Fatalf("invitation: %d %q", status, link)
	}

	b := newBrowser(t, e)
	page := strings.SplitN(link, "#", 2)[0]
	if resp, body := b.get(t, page); resp.StatusCode != 200 || !strings.Contains(body, "Cloud Solution Provider") {
		t.Fatalf("invitation page: %d", resp.StatusCode)
	}
	if resp, _ := b.get(t, e.url+"/Adminportal/Home?invType=ResellerRelationship&partnerId=00000000-0000-0000-0000-000000000000"); resp.StatusCode != 404 {
		t.Fatalf("invitation of another partner: %d", resp.StatusCode)
	}
	for _, tc := range []struct {
		login, decision string
		status          int
		text            string
	}{
		{"admin@contoso.example", "decline", 200, "nothing was changed"},
		{"dev@contoso.example", "accept", 403, "Only a Global Administrator"},
		{"nobody@contoso.example", "accept", 200, "does not exist"},
	} {
		resp, body := b.post(t, page, url.Values{"login": {tc.login}, "decision": {tc.decision}})
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.text) {
			t.Fatalf("%s %s: %d %s", tc.login, tc.decision, resp.StatusCode, body)
		}
		if status, _, _ := e.call(t, "GET", customer, pc, nil); status != 404 {
			t.Fatalf("after %s %s the customer is visible: %d", tc.login, tc.decision, status)
		}
	}
	resp, page2 := b.post(t, page, url.Values{"login": {"admin@contoso.example"}, "decision": {"accept"}})
	if resp.StatusCode != 200 || !strings.Contains(page2, "accepted the invitation. Partner Cloud is now your") {
		t.Fatalf("admin accepts: %d %s", resp.StatusCode, page2)
	}
	status, _, cust := e.call(t, "GET", customer, pc, nil)
	if profile, _ := cust["companyProfile"].(map[string]any); status != 200 || cust["relationshipToPartner"] != "reseller" || profile["tenantId"] != contosoTenant {
		t.Fatalf("after acceptance: %d %v", status, cust)
	}

	e.srv.WaitWebhooks()
	events := rc.events()
	if len(events) != 1 {
		t.Fatalf("%d events, want 1", len(events))
	}
	var ev map[string]any
	_ = json.Unmarshal(events[0].body, &ev)
	if ev["EventName"] != EventResellerAccepted || ev["ResourceUri"] != e.url+customer || ev["ResourceName"] != "customer" || ev["ResourceChangeUtcDate"] == nil {
		t.Fatalf("event %v", ev)
	}
	if _, present := ev["AuditUri"]; !present {
		t.Fatal("event without AuditUri")
	}

	// The control API removes and accepts it again; unknown tenants are 404.
	if status, _, got := e.call(t, "POST", "/_control/reseller", "", map[string]any{"tenant": "contoso", "accept": false}); status != 200 || got["relationshipToPartner"] != "none" {
		t.Fatalf("remove: %d %v", status, got)
	}
	if status, _, _ := e.call(t, "GET", customer, pc, nil); status != 404 {
		t.Fatalf("after removal: %d", status)
	}
	if status, _, got := e.call(t, "POST", "/_control/reseller", "", map[string]any{"tenant": "contoso", "accept": true}); status != 200 || got["relationshipToPartner"] != "reseller" {
		t.Fatalf("accept: %d %v", status, got)
	}
	if status, _, _ := e.call(t, "POST", "/_control/reseller", "", map[string]any{"tenant": "nowhere", "accept": true}); status != 404 {
		t.Fatalf("unknown tenant: %d", status)
	}
	st := e.srv.State()
	if len(st.PartnerCenterCustomers) != 1 || st.PartnerCenterCustomers[0]["tenantId"] != contosoTenant || !st.Tenants[0].ResellerRelationship {
		t.Fatalf("state: %v", st.PartnerCenterCustomers)
	}
}

func TestCustomersCreatedInPartnerCenterAreResellers(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	pc := e.scopedToken(t, pcScope)
	status, _, created := e.call(t, "POST", "/v1/customers", pc, map[string]any{
		"companyProfile": map[string]any{"domain": "newco.onmicrosoft.com"},
		"billingProfile": map[string]any{"companyName": "NewCo", "email": "it@newco.example", "defaultAddress": map[string]any{"country": "US"}},
	})
	if status != 201 {
		t.Fatalf("create: %d %v", status, created)
	}
	status, _, cust := e.call(t, "GET", "/v1/customers/"+created["id"].(string), pc, nil)
	if status != 200 || cust["relationshipToPartner"] != "reseller" {
		t.Fatalf("get: %d %v", status, cust)
	}
}

func TestApprovalPageUsesTheBrowserSession(t *testing.T) {
	e, _ := newRelationshipsEnv(t, nil)
	tok := e.scopedToken(t, graphScope)
	_, _, rel := e.call(t, "POST", relationshipsAPI, tok, newRelationship("session", "", "P730D", readerRole))
	id := rel["id"].(string)
	e.call(t, "POST", relationshipsAPI+"/"+id+"/requests", tok, map[string]any{"action": "lockForApproval"})

	b := newBrowser(t, e)
	invitation := e.url + "/Adminportal/Home?invType=ResellerRelationship&partnerId=" + partnerTenant + "&msppId=0&DAP=false"
	if resp, _ := b.post(t, invitation, url.Values{"login": {"admin@contoso.example"}, "decision": {"accept"}}); resp.StatusCode != 200 {
		t.Fatalf("reseller acceptance: %d", resp.StatusCode)
	}
	// Signed in: the approval page names the pending relationship and
	// accepts without login.
	if resp, body := b.get(t, e.url+"/AdminPortal/Home"); resp.StatusCode != 200 || !strings.Contains(body, id) || !strings.Contains(body, `value="admin@contoso.example"`) {
		t.Fatalf("signed-in approval page: %d %s", resp.StatusCode, body)
	}
	if resp, body := b.post(t, e.url+"/AdminPortal/Home", url.Values{"relationshipId": {id}, "decision": {"accept"}}); resp.StatusCode != 200 || !strings.Contains(body, "Approved.") {
		t.Fatalf("approval without login: %d %s", resp.StatusCode, body)
	}
	if resp, body := b.post(t, e.url+"/AdminPortal/Home", url.Values{"relationshipId": {id}, "decision": {"accept"}}); resp.StatusCode != 404 || !strings.Contains(body, "waiting for approval in Contoso") {
		t.Fatalf("second approval: %d %s", resp.StatusCode, body)
	}
}

func TestWebhookSignatureRegistrationAndModes(t *testing.T) {
	e, rc := newRelationshipsEnv(t, nil)
	pc := e.scopedToken(t, pcScope)

	// Registration through Partner Center's API: GET shows it, POST replaces it.
	if status, _, reg := e.call(t, "GET", "/webhooks/v1/registration", pc, nil); status != 200 || reg["WebhookUrl"] != rc.srv.URL+"/webhooks/partner-center" {
		t.Fatalf("registration set at start-up: %d %v", status, reg)
	}
	other := newReceiver(t)
	status, _, reg := e.call(t, "POST", "/webhooks/v1/registration", pc, map[string]any{"WebhookUrl": other.srv.URL + "/hook", "WebhookEvents": []string{EventResellerAccepted}})
	if status != 200 || reg["WebhookUrl"] != other.srv.URL+"/hook" || reg["SubscriberId"] != partnerTenant {
		t.Fatalf("replace: %d %v", status, reg)
	}
	if status, _, _ := e.call(t, "POST", "/webhooks/v1/registration", pc, map[string]any{"WebhookUrl": "http://example.com/hook", "WebhookEvents": []string{EventResellerAccepted}}); status != 400 {
		t.Fatalf("plain http callback off loopback: %d", status)
	}
	if status, _, _ := e.call(t, "GET", "/webhooks/v1/registration", e.scopedToken(t, graphScope), nil); status != 401 {
		t.Fatalf("Graph token on Partner Center: %d", status)
	}
	// Only the registered events are sent: GDAP approval is not.
	if _, err := e.srv.SetReseller(ResellerChange{Tenant: "fabrikam", Accept: true}, e.url); err != nil {
		t.Fatal(err)
	}
	e.srv.WaitWebhooks()
	if len(rc.events()) != 0 || len(other.events()) != 1 {
		t.Fatalf("events: old %d, new %d", len(rc.events()), len(other.events()))
	}

	// The signature verifies with the certificate at X-MS-Certificate-Url,
	// which chains to the double's CA and names Microsoft Corporation.
	ev := other.events()[0]
	if ev.header.Get("X-MS-Signature-Algorithm") != "rsa-sha256" || ev.header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v", ev.header)
	}
	certURL := ev.header.Get("X-MS-Certificate-Url")
	if certURL != e.url+WebhookCertificatePath {
		t.Fatalf("certificate URL %q", certURL)
	}
	resp, err := e.client.Get(certURL)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatalf("certificate is not PEM: %q", pemBytes)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: e.ca.Pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("certificate chain: %v", err)
	}
	if len(cert.Subject.Organization) != 1 || cert.Subject.Organization[0] != "Microsoft Corporation" {
		t.Fatalf("subject %v", cert.Subject)
	}
	verify := func(body []byte, header http.Header) error {
		sig, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(header.Get("Authorization"), "Signature "))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		return rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], sig)
	}
	if err := verify(ev.body, ev.header); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if err := verify(bytes.Replace(ev.body, []byte(fabrikamTenant), []byte(contosoTenant), 1), ev.header); err == nil {
		t.Fatal("a changed body verifies")
	}

	// Modes: drop sends nothing, duplicate sends twice, a failing receiver
	// gets retries until it answers 2xx.
	accept := func(tenant string, accept bool) {
		t.Helper()
		if _, err := e.srv.SetReseller(ResellerChange{Tenant: tenant, Accept: accept}, e.url); err != nil {
			t.Fatal(err)
		}
		e.srv.WaitWebhooks()
	}
	for _, tc := range []struct {
		mode      string
		answers   []int
		arrivals  int
		delivered bool
		attempts  int
	}{
		{WebhookDrop, nil, 0, false, 0},
		{WebhookDuplicate, nil, 2, true, 2},
		{WebhookNormal, []int{500, 503}, 3, true, 3},
		{WebhookNormal, []int{500, 500, 500}, 3, false, 3},
	} {
		if status, _, _ := e.call(t, "POST", "/_control/webhooks", "", map[string]any{"mode": tc.mode}); status != 200 {
			t.Fatalf("mode %s: %d", tc.mode, status)
		}
		other.mu.Lock()
		other.requests, other.answers = nil, tc.answers
		other.mu.Unlock()
		accept("fabrikam", false)
		accept("fabrikam", true)
		got := e.srv.WebhookState().Deliveries
		last := got[len(got)-1]
		if n := len(other.events()); n != tc.arrivals || last.Delivered != tc.delivered || last.Attempts != tc.attempts || last.Mode != tc.mode {
			t.Fatalf("mode %s answers %v: %d arrivals, last delivery %+v", tc.mode, tc.answers, n, last)
		}
	}
	if status, _, _ := e.call(t, "POST", "/_control/webhooks", "", map[string]any{"mode": "sometimes"}); status != 400 {
		t.Fatalf("unknown mode: %d", status)
	}
}

func TestControlPageActsOnRelationships(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	tok := e.scopedToken(t, graphScope)
	_, _, rel := e.call(t, "POST", relationshipsAPI, tok, newRelationship("from-page", "", "P730D", readerRole))
	id := rel["id"].(string)
	e.call(t, "POST", relationshipsAPI+"/"+id+"/requests", tok, map[string]any{"action": "lockForApproval"})

	b := newBrowser(t, e)
	resp, page := b.get(t, e.url+"/_control")
	if resp.StatusCode != 200 || !strings.Contains(page, id) || !strings.Contains(page, "Reseller relationship:\nnot accepted") {
		t.Fatalf("control page: %d %s", resp.StatusCode, page)
	}
	for _, f := range []struct {
		path   string
		fields url.Values
	}{
		{"/_control/gdap", url.Values{"relationshipId": {id}, "action": {"approve"}}},
		{"/_control/reseller", url.Values{"tenant": {"contoso"}, "accept": {"true"}}},
	} {
		if resp, _ := b.post(t, e.url+f.path, f.fields); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d", f.path, resp.StatusCode)
		}
	}
	if _, _, got := e.call(t, "GET", relationshipsAPI+"/"+id, tok, nil); got["status"] != GDAPActive {
		t.Fatalf("after the page's approve: %v", got["status"])
	}
	if _, page := b.get(t, e.url+"/_control"); !strings.Contains(page, "Reseller relationship:\naccepted") {
		t.Fatal("the page does not show the accepted reseller relationship")
	}
}

// TestAccessAssignmentControl: /_control/accessassignment deletes an active
// relationship's access assignment (Graph then shows it deleted, as after
// the partner removed it) and creates it again for the same group, pending
// and then active.
func TestAccessAssignmentControl(t *testing.T) {
	e, _ := newRelationshipsEnv(t, nil)
	tok := e.scopedToken(t, graphScope)
	_, _, rel := e.call(t, "POST", relationshipsAPI, tok, newRelationship("ctl-assignments", "", "P730D", readerRole))
	id := rel["id"].(string)
	e.call(t, "POST", relationshipsAPI+"/"+id+"/requests", tok, map[string]any{"action": "lockForApproval"})
	if status, _, _ := e.call(t, "POST", "/_control/accessassignment", "", map[string]any{"tenant": "contoso", "action": "delete"}); status != 404 {
		t.Fatalf("delete before approval: %d, want 404 (no active relationship)", status)
	}
	e.call(t, "POST", "/_control/gdap", "", map[string]any{"relationshipId": id, "action": "approve"})
	status, _, a := e.call(t, "POST", relationshipsAPI+"/"+id+"/accessAssignments", tok, map[string]any{
		"accessContainer": map[string]any{"accessContainerId": partnerGroup, "accessContainerType": "securityGroup"},
		"accessDetails":   map[string]any{"unifiedRoles": []any{map[string]any{"roleDefinitionId": readerRole}}},
	})
	if status != 201 {
		t.Fatalf("assignment: %d", status)
	}
	list := func() []any {
		_, _, all := e.call(t, "GET", relationshipsAPI+"/"+id+"/accessAssignments", tok, nil)
		return all["value"].([]any)
	}
	statuses := func() []string {
		var out []string
		for _, v := range list() {
			out = append(out, v.(map[string]any)["status"].(string))
		}
		return out
	}
	_ = statuses() // reads make the new assignment active
	if got := statuses(); !slices.Equal(got, []string{"active"}) {
		t.Fatalf("before: %v", got)
	}

	status, _, got := e.call(t, "POST", "/_control/accessassignment", "", map[string]any{"tenant": "contoso", "action": "delete"})
	deleted, _ := got["accessAssignments"].([]any)
	if status != 200 || len(deleted) != 1 || deleted[0].(map[string]any)["id"] != a["id"] || deleted[0].(map[string]any)["status"] != "deleted" {
		t.Fatalf("delete: %d %v", status, got)
	}
	if got := statuses(); !slices.Equal(got, []string{"deleted"}) {
		t.Fatalf("Graph after delete: %v", got)
	}
	if status, _, _ := e.call(t, "POST", "/_control/accessassignment", "", map[string]any{"relationshipId": id, "action": "delete"}); status != 404 {
		t.Fatalf("nothing left to delete: %d, want 404", status)
	}

	status, _, got = e.call(t, "POST", "/_control/accessassignment", "", map[string]any{"relationshipId": id, "action": "create"})
	created, _ := got["accessAssignments"].([]any)
	if status != 200 || len(created) != 1 {
		t.Fatalf("create: %d %v", status, got)
	}
	c := created[0].(map[string]any)
	if c["status"] != "pending" || c["accessContainer"].(map[string]any)["accessContainerId"] != strings.ToLower(partnerGroup) {
		t.Fatalf("created: %v", c)
	}
	_ = statuses()
	if got := statuses(); !slices.Equal(got, []string{"deleted", "active"}) {
		t.Fatalf("Graph after create: %v", got)
	}
	if status, _, _ := e.call(t, "POST", "/_control/accessassignment", "", map[string]any{"relationshipId": id, "action": "create"}); status != 404 {
		t.Fatalf("create with an active one: %d, want 404", status)
	}
	for _, body := range []map[string]any{{"tenant": "contoso", "action": "bless"}, {"action": "delete"}, {"tenant": "contoso", "relationshipId": id, "action": "delete"}} {
		if status, _, _ := e.call(t, "POST", "/_control/accessassignment", "", body); status != 400 {
			t.Fatalf("%v: %d, want 400", body, status)
		}
	}
	if status, _, _ := e.call(t, "POST", "/_control/accessassignment", "", map[string]any{"tenant": "nowhere", "action": "delete"}); status != 404 {
		t.Fatalf("unknown tenant: %d", status)
	}
}
