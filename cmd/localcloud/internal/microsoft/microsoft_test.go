package microsoft

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
	"github.com/golang-jwt/jwt/v5"
)

// Ids of the default scenario (cmd/localcloud/scenario/default.json).
const (
	partnerTenant = "10000000-0000-4000-8000-000000000001"
	partnerApp    = "10000000-0000-4000-8000-0000000000a1"
	partnerSecret = "partner-local-secret"

	contosoTenant    = "20000000-0000-4000-8000-000000000001"
	contosoOwnedSub  = "20000000-0000-4000-8000-000000000101"
	contosoOtherSub  = "20000000-0000-4000-8000-000000000102"
	contosoEASub     = "20000000-0000-4000-8000-000000000103"
	contosoMSDNSub   = "20000000-0000-4000-8000-000000000104"
	contosoPartnerSP = "20000000-0000-4000-8000-0000000000b1"
	contosoAdmin     = "20000000-0000-4000-8000-0000000000e1"
	contosoApp       = "00000000-0000-0000-0000-00000000c0de"
	contosoAppSecret = "contoso-local-secret"
	contosoAppSP     = "20000000-0000-4000-8000-0000000000c1"

	fabrikamTenant    = "30000000-0000-4000-8000-000000000001"
	fabrikamSub       = "30000000-0000-4000-8000-000000000101"
	fabrikamPartnerSP = "30000000-0000-4000-8000-0000000000b1"

	managementAudience = "https://management.azure.com"
	managementScope    = "https://management.azure.com/.default"
)

type env struct {
	srv    *Server
	url    string
	ca     *CA
	client *http.Client
}

func defaultScenario(t *testing.T) Scenario {
	t.Helper()
	sc, err := LoadScenario(filepath.Join("..", "..", "scenario", "default.json"))
	if err != nil {
		t.Fatalf("default scenario: %v", err)
	}
	return sc
}

func newEnv(t *testing.T, sc Scenario) *env {
	t.Helper()
	return newEnvWith(t, sc, Options{})
}

func newEnvWith(t *testing.T, sc Scenario, opts Options) *env {
	t.Helper()
	ca, err := NewCA(filepath.Join(t.TempDir(), "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.TLS = ca.ServerTLSConfig()
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(ts.Close)
	u, _ := url.Parse(ts.URL)
	// Reach the server as 127.0.0.1 so the CA's certificate is checked.
	return &env{srv: srv, url: "https://127.0.0.1:" + u.Port(), ca: ca, client: ca.Client()}
}

func (e *env) clientOptions() policy.ClientOptions {
	return policy.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: e.url + "/",
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: e.url, Audience: managementAudience},
			},
		},
		Transport: e.client,
		Retry:     policy.RetryOptions{MaxRetries: 3, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 3 * time.Second},
	}
}

func (e *env) credential(t *testing.T, tenant, clientID, secret string) *azidentity.ClientSecretCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(tenant, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            e.clientOptions(),
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func (e *env) token(t *testing.T, cred azcore.TokenCredential) (string, error) {
	t.Helper()
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{managementScope}})
	return tok.Token, err
}

func (e *env) post(t *testing.T, path string, body any) *http.Response {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := e.client.Post(e.url+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func claimsOf(t *testing.T, token string) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
		t.Fatalf("token does not parse: %v", err)
	}
	return claims
}

func TestNewCAWritesTrustedPEM(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	resp, err := e.client.Get(e.url + "/_control/state")
	if err != nil {
		t.Fatalf("a client trusting the CA cannot reach the double: %v", err)
	}
	resp.Body.Close()
	if _, err := http.Get(e.url + "/_control/state"); err == nil {
		t.Fatal("a client without the CA trusted the double")
	}
	if !bytes.HasPrefix(e.ca.PEM, []byte("-----BEGIN CERTIFICATE-----")) {
		t.Fatal("CA PEM missing")
	}
}

func TestTokens(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	tests := []struct {
		name, tenant, clientID, secret string
		wantOID, wantTID               string
		wantErr                        string
	}{
		{"partner in fabrikam (consented)", "fabrikam", partnerApp, partnerSecret, fabrikamPartnerSP, fabrikamTenant, ""},
		{"partner in fabrikam by guid", fabrikamTenant, partnerApp, partnerSecret, fabrikamPartnerSP, fabrikamTenant, ""},
		{"partner in fabrikam by domain", "fabrikam.example", partnerApp, partnerSecret, fabrikamPartnerSP, fabrikamTenant, ""},
		{"partner in its home tenant", partnerTenant, partnerApp, partnerSecret, "10000000-0000-4000-8000-0000000000b1", partnerTenant, ""},
		{"contoso's own app", "contoso", contosoApp, contosoAppSecret, contosoAppSP, contosoTenant, ""},
		{"partner in contoso before consent", contosoTenant, partnerApp, partnerSecret, "", "", "AADSTS700016"},
		{"wrong secret", "fabrikam", partnerApp, "wrong", "", "", "AADSTS7000215"},
		{"unknown tenant", "nowhere", partnerApp, partnerSecret, "", "", "AADSTS90002"},
		{"contoso's app in fabrikam", "fabrikam", contosoApp, contosoAppSecret, "", "", "AADSTS700016"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := e.token(t, e.credential(t, tc.tenant, tc.clientID, tc.secret))
			if tc.wantErr != "" {
				var afe *azidentity.AuthenticationFailedError
				if !errors.As(err, &afe) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want AuthenticationFailedError with %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetToken: %v", err)
			}
			c := claimsOf(t, tok)
			if c["tid"] != tc.wantTID || c["oid"] != tc.wantOID || c["appid"] != strings.ToLower(tc.clientID) || c["aud"] != managementAudience {
				t.Fatalf("claims = %v", c)
			}
			if _, ok := c["exp"].(float64); !ok {
				t.Fatal("exp missing")
			}
			if iss, _ := c["iss"].(string); !strings.HasPrefix(iss, e.url+"/"+tc.wantTID) {
				t.Fatalf("iss = %v", c["iss"])
			}
		})
	}
}

func TestTokenErrorShapes(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	tests := []struct {
		name, tenant string
		form         url.Values
		status       int
		errCode      string
		aadsts       float64
	}{
		{"wrong secret", "fabrikam", url.Values{"grant_type": {"client_credentials"}, "client_id": {partnerApp}, "client_secret": {"nope"}, "scope": {managementScope}}, 401, "invalid_client", 7000215},
		{"unknown tenant", "nowhere.example", url.Values{"grant_type": {"client_credentials"}, "client_id": {partnerApp}, "client_secret": {partnerSecret}, "scope": {managementScope}}, 400, "invalid_request", 90002},
		{"no consent", "contoso", url.Values{"grant_type": {"client_credentials"}, "client_id": {partnerApp}, "client_secret": {partnerSecret}, "scope": {managementScope}}, 400, "unauthorized_client", 700016},
		{"scope without .default", "fabrikam", url.Values{"grant_type": {"client_credentials"}, "client_id": {partnerApp}, "client_secret": {partnerSecret}, "scope": {"https://management.azure.com/user_impersonation"}}, 400, "invalid_scope", 1002012},
		{"unknown resource", "fabrikam", url.Values{"grant_type": {"client_credentials"}, "client_id": {partnerApp}, "client_secret": {partnerSecret}, "scope": {"https://vault.azure.net/.default"}}, 400, "invalid_resource", 500011},
		{"other grant", "fabrikam", url.Values{"grant_type": {"password"}, "client_id": {partnerApp}, "scope": {managementScope}}, 400, "unsupported_grant_type", 70003},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := e.client.PostForm(e.url+"/"+tc.tenant+"/oauth2/v2.0/token", tc.form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			codes, _ := body["error_codes"].([]any)
			if resp.StatusCode != tc.status || body["error"] != tc.errCode || len(codes) != 1 || codes[0] != tc.aadsts {
				t.Fatalf("status %d body %v", resp.StatusCode, body)
			}
			desc, _ := body["error_description"].(string)
			if !strings.HasPrefix(desc, "AADSTS") {
				t.Fatalf("error_description = %q", desc)
			}
		})
	}

	// A good request answers the Entra ID token shape.
	resp, err := e.client.PostForm(e.url+"/fabrikam/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {partnerApp}, "client_secret": {partnerSecret}, "scope": {managementScope}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ok map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&ok)
	if ok["token_type"] != "Bearer" || ok["expires_in"] != float64(3599) || ok["ext_expires_in"] != float64(3599) || ok["access_token"] == "" {
		t.Fatalf("token response = %v", ok)
	}
}

// consentFlow posts the consent form as a browser would and returns the
// response without following redirects.
func consentFlow(t *testing.T, e *env, tenant string, fields url.Values) *http.Response {
	t.Helper()
	c := *e.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.PostForm(e.url+"/"+tenant+"/v2.0/adminconsent", fields)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestAdminConsentFlow(t *testing.T) {
	const redirect = "http://127.0.0.1:3000/consent/callback"
	e := newEnv(t, defaultScenario(t))

	// The form.
	q := url.Values{"client_id": {partnerApp}, "scope": {managementScope}, "redirect_uri": {redirect}, "state": {"st-1"}}
	resp, err := e.client.Get(e.url + "/organizations/v2.0/adminconsent?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`name="login"`, `name="decision" value="accept"`, `name="decision" value="decline"`, `name="state" value="st-1"`, `method="post"`} {
		if !bytes.Contains(page, []byte(want)) {
			t.Fatalf("form lacks %s:\n%s", want, page)
		}
	}

	form := func(login, decision string) url.Values {
		return url.Values{"client_id": {partnerApp}, "scope": {managementScope}, "redirect_uri": {redirect}, "state": {"st-1"}, "login": {login}, "decision": {decision}}
	}
	tests := []struct {
		name     string
		tenant   string
		fields   url.Values
		status   int
		location string
		body     string
	}{
		{"decline", "organizations", form("", "decline"), http.StatusFound,
			redirect + "?error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent+to+access+the+app.&state=st-1", ""},
		{"unknown login", "organizations", form("nobody@contoso.example", "accept"), http.StatusOK, "", "AADSTS50034"},
		{"admin of another tenant", "contoso", form("admin@fabrikam.example", "accept"), http.StatusOK, "", "AADSTS50020"},
		{"not an admin", "organizations", form("dev@contoso.example", "accept"), http.StatusOK, "", "AADSTS90094"},
		{"accept", "organizations", form("admin@contoso.example", "accept"), http.StatusFound,
			redirect + "?admin_consent=True&tenant=" + contosoTenant + "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default&state=st-1", ""},
	}
	cred := e.credential(t, "contoso", partnerApp, partnerSecret)
	if _, err := e.token(t, cred); err == nil || !strings.Contains(err.Error(), "AADSTS700016") {
		t.Fatalf("token before consent: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := consentFlow(t, e, tc.tenant, tc.fields)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			if got := resp.Header.Get("Location"); got != tc.location {
				t.Fatalf("Location = %q\nwant       %q", got, tc.location)
			}
			if tc.body != "" {
				b, _ := io.ReadAll(resp.Body)
				if !bytes.Contains(b, []byte(tc.body)) || !bytes.Contains(b, []byte(`name="login"`)) {
					t.Fatalf("form again with %s expected:\n%s", tc.body, b)
				}
			}
		})
	}
	tok, err := e.token(t, cred)
	if err != nil {
		t.Fatalf("token after consent: %v", err)
	}
	if c := claimsOf(t, tok); c["oid"] != contosoPartnerSP || c["tid"] != contosoTenant {
		t.Fatalf("claims after consent = %v", c)
	}
}

func TestAdminConsentByDirectoryRole(t *testing.T) {
	const redirect = "https://partner.example/consent/callback"
	for _, role := range []string{"Cloud Application Administrator", "privileged role administrator", CloudApplicationAdministratorRoleID} {
		t.Run(role, func(t *testing.T) {
			sc := defaultScenario(t)
			sc.Tenants[0].Users[1].Roles = []string{role} // dev@contoso.example
			e := newEnv(t, sc)
			resp := consentFlow(t, e, "organizations", url.Values{"client_id": {partnerApp}, "scope": {managementScope}, "redirect_uri": {redirect}, "state": {"s"}, "login": {"dev@contoso.example"}, "decision": {"accept"}})
			if resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "admin_consent=True&tenant="+contosoTenant) {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d Location %q body %s", resp.StatusCode, resp.Header.Get("Location"), b)
			}
			for _, tn := range e.srv.State().Tenants {
				if tn.Name == "contoso" && (!tn.PartnerConsented || len(tn.Admins) != 2) {
					t.Fatalf("contoso state = %+v", tn)
				}
			}
		})
	}
}

func TestAdminConsentRefusesBadRequestsWithoutRedirect(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	tests := []struct {
		name, tenant, clientID, redirect, want string
	}{
		{"unknown client", "organizations", "99999999-0000-4000-8000-000000000000", "https://partner.example/cb", "AADSTS700016"},
		{"contoso's own app is not the partner's", "organizations", contosoApp, "https://partner.example/cb", "AADSTS700016"},
		{"plain http off localhost", "organizations", partnerApp, "http://partner.example/cb", "AADSTS50011"},
		{"not a URL", "organizations", partnerApp, "partner/cb", "AADSTS50011"},
		{"missing redirect", "organizations", partnerApp, "", "AADSTS900144"},
		{"unknown tenant", "nowhere", partnerApp, "https://partner.example/cb", "AADSTS90002"},
		{"common", "common", partnerApp, "https://partner.example/cb", "AADSTS90130"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, decision := range []string{"accept", "decline"} {
				resp := consentFlow(t, e, tc.tenant, url.Values{"client_id": {tc.clientID}, "scope": {managementScope}, "redirect_uri": {tc.redirect}, "state": {"s"}, "login": {"admin@contoso.example"}, "decision": {decision}})
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !bytes.Contains(b, []byte(tc.want)) {
					t.Fatalf("%s: status %d Location %q body %s", decision, resp.StatusCode, resp.Header.Get("Location"), b)
				}
			}
		})
	}
	// Nothing was consented along the way.
	for _, tn := range e.srv.State().Tenants {
		if tn.Name == "contoso" && tn.PartnerConsented {
			t.Fatal("contoso consented by a refused request")
		}
	}
}

func (e *env) armOptions() *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: e.clientOptions()}
}

func listSubscriptionIDs(t *testing.T, e *env, cred azcore.TokenCredential) ([]string, int) {
	t.Helper()
	client, err := armsubscriptions.NewClient(cred, e.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	pages := 0
	pager := client.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list subscriptions: %v", err)
		}
		pages++
		for _, s := range page.Value {
			ids = append(ids, *s.SubscriptionID)
		}
	}
	return ids, pages
}

func TestSubscriptions(t *testing.T) {
	sc := defaultScenario(t)
	sc.Tenants[0].PartnerConsented = true
	// A fifth subscription in contoso where the partner has Reader on a
	// resource group only, to see paging and inner roles.
	sc.Tenants[0].Subscriptions = append(sc.Tenants[0].Subscriptions, Subscription{ID: "20000000-0000-4000-8000-000000000105", DisplayName: "Contoso Test"})
	sc.Tenants[0].RoleAssignments = append(sc.Tenants[0].RoleAssignments,
		RoleAssignment{Scope: "/subscriptions/20000000-0000-4000-8000-000000000105/resourceGroups/rg-1", Role: "Reader", PrincipalID: contosoPartnerSP},
		RoleAssignment{Scope: "/subscriptions/20000000-0000-4000-8000-000000000102", Role: "Reader", PrincipalID: contosoPartnerSP})
	e := newEnv(t, sc)
	partner := e.credential(t, "contoso", partnerApp, partnerSecret)

	ids, pages := listSubscriptionIDs(t, e, partner)
	sort.Strings(ids)
	if strings.Join(ids, ",") != contosoOwnedSub+","+contosoOtherSub+","+contosoEASub+","+contosoMSDNSub+",20000000-0000-4000-8000-000000000105" || pages != 3 {
		t.Fatalf("subscriptions = %v in %d pages", ids, pages)
	}

	app := e.credential(t, "contoso", contosoApp, contosoAppSecret)
	if ids, _ := listSubscriptionIDs(t, e, app); strings.Join(ids, ",") != contosoOwnedSub {
		t.Fatalf("contoso app sees %v", ids)
	}
	fabrikam := e.credential(t, "fabrikam", partnerApp, partnerSecret)
	if ids, _ := listSubscriptionIDs(t, e, fabrikam); strings.Join(ids, ",") != fabrikamSub {
		t.Fatalf("partner in fabrikam sees %v (inherited from the management group)", ids)
	}

	tests := []struct {
		name string
		cred azcore.TokenCredential
		sub  string
		want int
	}{
		{"owned", partner, contosoOwnedSub, 200},
		{"visible through a resource group role", partner, "20000000-0000-4000-8000-000000000105", 200},
		{"contoso app, no role", app, contosoOtherSub, 404},
		{"foreign tenant", fabrikam, contosoOwnedSub, 404},
		{"unknown", partner, "20000000-0000-4000-8000-000000000999", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client, err := armsubscriptions.NewClient(tc.cred, e.armOptions())
			if err != nil {
				t.Fatal(err)
			}
			got, err := client.Get(context.Background(), tc.sub, nil)
			if tc.want == 200 {
				if err != nil || *got.SubscriptionID != tc.sub || *got.TenantID == "" || *got.State != armsubscriptions.SubscriptionStateEnabled {
					t.Fatalf("Get = %+v, %v", got, err)
				}
				return
			}
			var re *azcore.ResponseError
			if !errors.As(err, &re) || re.StatusCode != tc.want || re.ErrorCode != "SubscriptionNotFound" {
				t.Fatalf("error = %v, want %d SubscriptionNotFound", err, tc.want)
			}
		})
	}
}

type assignmentRow struct {
	scope, principal, roleDef string
}

func listAssignments(ctx context.Context, e *env, cred azcore.TokenCredential, scope, filter string) ([]assignmentRow, int, error) {
	client, err := armauthorization.NewRoleAssignmentsClient("", cred, e.armOptions())
	if err != nil {
		return nil, 0, err
	}
	var opts *armauthorization.RoleAssignmentsClientListForScopeOptions
	if filter != "" {
		opts = &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr(filter)}
	}
	var rows []assignmentRow
	pages := 0
	pager := client.NewListForScopePager(scope, opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, pages, err
		}
		pages++
		for _, a := range page.Value {
			rows = append(rows, assignmentRow{*a.Properties.Scope, *a.Properties.PrincipalID, *a.Properties.RoleDefinitionID})
			if *a.Type != "Microsoft.Authorization/roleAssignments" || !strings.HasSuffix(*a.ID, "/providers/Microsoft.Authorization/roleAssignments/"+*a.Name) {
				return nil, pages, errors.New("bad assignment id/type: " + *a.ID)
			}
		}
	}
	return rows, pages, nil
}

func TestRoleAssignments(t *testing.T) {
	sc := defaultScenario(t)
	sc.Tenants[0].PartnerConsented = true
	e := newEnv(t, sc)
	partner := e.credential(t, "contoso", partnerApp, partnerSecret)
	fabrikam := e.credential(t, "fabrikam", partnerApp, partnerSecret)
	ctx := context.Background()
	ownerDef := "/subscriptions/" + contosoOwnedSub + "/providers/Microsoft.Authorization/roleDefinitions/" + OwnerRoleID
	rootMG := "/providers/Microsoft.Management/managementGroups/" + contosoTenant

	tests := []struct {
		name      string
		cred      azcore.TokenCredential
		scope     string
		filter    string
		want      []assignmentRow
		wantPages int
	}{
		{"all at subscription (paged)", partner, "/subscriptions/" + contosoOwnedSub, "", []assignmentRow{
			{rootMG, contosoAdmin, ownerDef},
			{"/subscriptions/" + contosoOwnedSub, contosoPartnerSP, ownerDef},
			{"/subscriptions/" + contosoOwnedSub, contosoAppSP, "/subscriptions/" + contosoOwnedSub + "/providers/Microsoft.Authorization/roleDefinitions/" + ReaderRoleID},
		}, 2},
		{"atScope", partner, "/subscriptions/" + contosoOwnedSub, "atScope()", []assignmentRow{
			{rootMG, contosoAdmin, ownerDef},
			{"/subscriptions/" + contosoOwnedSub, contosoPartnerSP, ownerDef},
			{"/subscriptions/" + contosoOwnedSub, contosoAppSP, "/subscriptions/" + contosoOwnedSub + "/providers/Microsoft.Authorization/roleDefinitions/" + ReaderRoleID},
		}, 2},
		{"principalId", partner, "/subscriptions/" + contosoOwnedSub, "principalId eq '" + contosoPartnerSP + "'", []assignmentRow{
			{"/subscriptions/" + contosoOwnedSub, contosoPartnerSP, ownerDef},
		}, 1},
		{"assignedTo with atScope", partner, "/subscriptions/" + contosoOwnedSub, "atScope() and assignedTo('" + contosoAdmin + "')", []assignmentRow{
			{rootMG, contosoAdmin, ownerDef},
		}, 1},
		{"inherited from a management group", fabrikam, "/subscriptions/" + fabrikamSub, "principalId eq '" + fabrikamPartnerSP + "'", []assignmentRow{
			{"/providers/Microsoft.Management/managementGroups/fabrikam-it", fabrikamPartnerSP, "/subscriptions/" + fabrikamSub + "/providers/Microsoft.Authorization/roleDefinitions/" + OwnerRoleID},
		}, 1},
		{"management group scope", fabrikam, "/providers/Microsoft.Management/managementGroups/fabrikam-it", "atScope()", []assignmentRow{
			{"/providers/Microsoft.Management/managementGroups/" + fabrikamTenant, "30000000-0000-4000-8000-0000000000e1", "/providers/Microsoft.Authorization/roleDefinitions/" + OwnerRoleID},
			{"/providers/Microsoft.Management/managementGroups/fabrikam-it", fabrikamPartnerSP, "/providers/Microsoft.Authorization/roleDefinitions/" + OwnerRoleID},
		}, 1},
		{"resource group scope", partner, "/subscriptions/" + contosoOwnedSub + "/resourceGroups/rg-app", "principalId eq '" + contosoPartnerSP + "'", []assignmentRow{
			{"/subscriptions/" + contosoOwnedSub, contosoPartnerSP, ownerDef},
		}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, pages, err := listAssignments(ctx, e, tc.cred, tc.scope, tc.filter)
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			if len(rows) != len(tc.want) || pages != tc.wantPages {
				t.Fatalf("got %d rows in %d pages: %+v, want %d rows in %d pages", len(rows), pages, rows, len(tc.want), tc.wantPages)
			}
			for i := range rows {
				if rows[i] != tc.want[i] {
					t.Fatalf("row %d = %+v, want %+v", i, rows[i], tc.want[i])
				}
			}
		})
	}

	errTests := []struct {
		name   string
		cred   azcore.TokenCredential
		scope  string
		filter string
		status int
		code   string
	}{
		{"token from another tenant", fabrikam, "/subscriptions/" + contosoOwnedSub, "", 401, "InvalidAuthenticationTokenTenant"},
		{"no role on the subscription", e.credential(t, "contoso", contosoApp, contosoAppSecret), "/subscriptions/" + contosoOtherSub, "atScope()", 403, "AuthorizationFailed"},
		{"unknown subscription", partner, "/subscriptions/20000000-0000-4000-8000-000000000999", "", 404, "SubscriptionNotFound"},
		{"unsupported filter", partner, "/subscriptions/" + contosoOwnedSub, "roleName eq 'Owner'", 400, "UnsupportedQuery"},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := listAssignments(ctx, e, tc.cred, tc.scope, tc.filter)
			var re *azcore.ResponseError
			if !errors.As(err, &re) || re.StatusCode != tc.status || re.ErrorCode != tc.code {
				t.Fatalf("error = %v, want %d %s", err, tc.status, tc.code)
			}
		})
	}
}

func TestThrottlingRetriedBySDK(t *testing.T) {
	sc := defaultScenario(t)
	sc.Tenants[0].PartnerConsented = true
	e := newEnv(t, sc)
	partner := e.credential(t, "contoso", partnerApp, partnerSecret)
	if _, err := e.token(t, partner); err != nil { // warm the token cache
		t.Fatal(err)
	}
	resp := e.post(t, "/_control/faults", Fault{Call: "roleAssignments", Status: 429, RetryAfter: 1, Count: 2})
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("set fault: %d", resp.StatusCode)
	}
	start := time.Now()
	rows, _, err := listAssignments(context.Background(), e, partner, "/subscriptions/"+contosoOwnedSub, "principalId eq '"+contosoPartnerSP+"'")
	if err != nil || len(rows) != 1 {
		t.Fatalf("after retries: %v %v", rows, err)
	}
	if elapsed := time.Since(start); elapsed < 2*time.Second {
		t.Fatalf("SDK retried after %v; Retry-After 1s twice was not honoured", elapsed)
	}
	if got := e.srv.Calls()[CallRoleAssignments]; got != 3 {
		t.Fatalf("roleAssignments calls = %d, want 3", got)
	}

	// A standing 503 on subscriptions exhausts the SDK's retries.
	if err := e.srv.SetFault(Fault{Call: "subscriptions", Status: 503}); err != nil {
		t.Fatal(err)
	}
	client, _ := armsubscriptions.NewClient(partner, e.armOptions())
	_, err = client.Get(context.Background(), contosoOwnedSub, nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 503 {
		t.Fatalf("error = %v, want 503", err)
	}
	if got := e.srv.Calls()[CallSubscriptionsGet]; got != 4 {
		t.Fatalf("subscriptions.get calls = %d, want 4 (1 + 3 retries)", got)
	}
	resp = e.post(t, "/_control/faults", Fault{Call: "*", Off: true})
	resp.Body.Close()
	if _, err := client.Get(context.Background(), contosoOwnedSub, nil); err != nil {
		t.Fatalf("after faults off: %v", err)
	}
}

func TestControlOwnerAndConsent(t *testing.T) {
	sc := defaultScenario(t)
	e := newEnv(t, sc)
	ctx := context.Background()
	partnerOwner := func(sub string) bool {
		for _, tn := range e.srv.State().Tenants {
			for _, s := range tn.Subscriptions {
				if s.ID == sub {
					return s.PartnerOwner
				}
			}
		}
		t.Fatalf("subscription %s not in state", sub)
		return false
	}
	if !partnerOwner(contosoOwnedSub) || partnerOwner(contosoOtherSub) {
		t.Fatal("default scenario: partner should own the first subscription only")
	}

	// Consent through the control API, then check ownership through the SDK.
	if resp := e.post(t, "/_control/consent", ConsentChange{Tenant: "contoso"}); resp.StatusCode != 200 {
		t.Fatalf("consent: %d", resp.StatusCode)
	}
	partner := e.credential(t, "contoso", partnerApp, partnerSecret)
	ownerFilter := "principalId eq '" + contosoPartnerSP + "'"
	// The default scenario gives the partner Reader on the second
	// subscription: it sees it, but holds no Owner there.
	hasOwner := func(rows []assignmentRow) bool {
		for _, r := range rows {
			if strings.HasSuffix(r.roleDef, OwnerRoleID) {
				return true
			}
		}
		return false
	}
	if rows, _, err := listAssignments(ctx, e, partner, "/subscriptions/"+contosoOtherSub, ownerFilter); err != nil || hasOwner(rows) {
		t.Fatalf("before the grant: %v %v", rows, err)
	}

	steps := []struct {
		grant     bool
		wantOwner bool
	}{{true, true}, {true, true}, {false, false}}
	for _, st := range steps {
		resp := e.post(t, "/_control/owner", OwnerChange{Tenant: "contoso", SubscriptionID: contosoOtherSub, Grant: st.grant})
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 200 || body["owner"] != st.wantOwner || partnerOwner(contosoOtherSub) != st.wantOwner {
			t.Fatalf("grant=%v: %d %v", st.grant, resp.StatusCode, body)
		}
		if st.wantOwner {
			rows, _, err := listAssignments(ctx, e, partner, "/subscriptions/"+contosoOtherSub, ownerFilter)
			if err != nil || !hasOwner(rows) {
				t.Fatalf("after grant: %v %v", rows, err)
			}
		}
	}

	// /_control/role does the same for any role: Reader granted, then
	// taken away; an unknown role is refused.
	for _, grant := range []bool{true, false} {
		resp := e.post(t, "/_control/role", RoleChange{Tenant: "contoso", SubscriptionID: contosoOtherSub, Role: "Reader", Grant: grant})
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		readers := 0
		for _, ts := range e.srv.State().Tenants {
			for _, a := range ts.RoleAssignments {
				if a.Role == "Reader" && strings.EqualFold(a.Scope, "/subscriptions/"+contosoOtherSub) && strings.EqualFold(a.PrincipalID, ts.PartnerServicePrincipalID) {
					readers++
				}
			}
		}
		if resp.StatusCode != 200 || body["held"] != grant || (readers == 1) != grant {
			t.Fatalf("Reader grant=%v: %d %v, %d Reader assignments at the subscription", grant, resp.StatusCode, body, readers)
		}
	}
	if resp := e.post(t, "/_control/role", RoleChange{Tenant: "contoso", SubscriptionID: contosoOtherSub, Role: "Janitor", Grant: true}); resp.StatusCode != 400 {
		t.Fatalf("unknown role: %d", resp.StatusCode)
	}

	// Bad requests are refused.
	for _, bad := range []OwnerChange{{Tenant: "contoso", SubscriptionID: fabrikamSub, Grant: true}, {Tenant: "nowhere", SubscriptionID: contosoOwnedSub, Grant: true}} {
		resp := e.post(t, "/_control/owner", bad)
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("%+v: status %d", bad, resp.StatusCode)
		}
	}

	// Revoking consent: new tokens fail with AADSTS700016, and the service
	// principal's assignments no longer apply to tokens issued before.
	if resp := e.post(t, "/_control/consent", ConsentChange{Tenant: "contoso", Revoke: true}); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if _, err := e.token(t, e.credential(t, "contoso", partnerApp, partnerSecret)); err == nil || !strings.Contains(err.Error(), "AADSTS700016") {
		t.Fatalf("token after revocation: %v", err)
	}
	var re *azcore.ResponseError
	if _, _, err := listAssignments(ctx, e, partner, "/subscriptions/"+contosoOwnedSub, ownerFilter); !errors.As(err, &re) || re.StatusCode != 403 {
		t.Fatalf("cached token after revocation: %v", err)
	}

	// The documented body: "granted" true grants again, false revokes;
	// contradicting "revoke" is refused.
	for _, step := range []struct {
		body   map[string]any
		status int
		token  bool
	}{
		{map[string]any{"tenant": "contoso", "granted": true}, 200, true},
		{map[string]any{"tenant": "contoso", "granted": false}, 200, false},
		{map[string]any{"tenant": "contoso", "granted": true, "revoke": true}, 400, false},
		{map[string]any{"tenant": "contoso", "granted": true}, 200, true},
		{map[string]any{"tenant": "contoso", "granted": false}, 200, false},
	} {
		resp := e.post(t, "/_control/consent", step.body)
		resp.Body.Close()
		if resp.StatusCode != step.status {
			t.Fatalf("consent %v: status %d, want %d", step.body, resp.StatusCode, step.status)
		}
		if _, err := e.token(t, e.credential(t, "contoso", partnerApp, partnerSecret)); (err == nil) != step.token {
			t.Fatalf("after consent %v: token error %v, want a token %v", step.body, err, step.token)
		}
	}

	// The HTML control page's forms work too.
	c := *e.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.PostForm(e.url+"/_control/owner", url.Values{"tenant": {"contoso"}, "subscriptionId": {contosoOtherSub}, "grant": {"true"}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("form grant: %v %v", resp, err)
	}
	resp.Body.Close()
	if !partnerOwner(contosoOtherSub) {
		t.Fatal("form grant had no effect")
	}
	page, err := e.client.Get(e.url + "/_control")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !bytes.Contains(b, []byte("Revoke Owner")) || !bytes.Contains(b, []byte(contosoOtherSub)) {
		t.Fatalf("control page:\n%s", b)
	}
}

func TestARMRequiresValidBearer(t *testing.T) {
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	}
	e := newEnvWith(t, defaultScenario(t), Options{Now: now})
	resp, err := e.client.PostForm(e.url+"/fabrikam/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {partnerApp}, "client_secret": {partnerSecret}, "scope": {managementScope}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	tests := []struct {
		name    string
		header  string
		advance time.Duration
		status  int
		code    string
	}{
		{"valid", "Bearer " + tok.AccessToken, 0, 200, ""},
		{"missing", "", 0, 401, "AuthenticationFailed"},
		{"garbage", "Bearer not-a-jwt", 0, 401, "InvalidAuthenticationToken"},
		{"signed by someone else", "Bearer " + foreignToken(t), 0, 401, "InvalidAuthenticationToken"},
		{"expired", "Bearer " + tok.AccessToken, 2 * time.Hour, 401, "ExpiredAuthenticationToken"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			clock = clock.Add(tc.advance)
			mu.Unlock()
			req, _ := http.NewRequest(http.MethodGet, e.url+"/subscriptions?api-version=2022-12-01", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tc.status || body.Error.Code != tc.code || (tc.code != "" && body.Error.Message == "") {
				t.Fatalf("status %d body %+v", resp.StatusCode, body)
			}
		})
	}
}

func foreignToken(t *testing.T) string {
	t.Helper()
	other, err := New(defaultScenario(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(other)
	defer ts.Close()
	resp, err := http.PostForm(ts.URL+"/fabrikam/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {partnerApp}, "client_secret": {partnerSecret}, "scope": {managementScope}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return body.AccessToken
}

func TestScenarioValidation(t *testing.T) {
	base := defaultScenario(t)
	tests := []struct {
		name   string
		mutate func(*Scenario)
		want   string
	}{
		{"bad tenant id", func(s *Scenario) { s.Tenants[0].ID = "contoso" }, "not a GUID"},
		{"unknown management group", func(s *Scenario) { s.Tenants[0].Subscriptions[0].ManagementGroup = "nope" }, "unknown management group"},
		{"unknown role", func(s *Scenario) { s.Tenants[0].RoleAssignments[0].Role = "Superuser" }, "unknown role"},
		{"unknown directory role", func(s *Scenario) { s.Tenants[0].Users[1].Roles = []string{"Superuser"} }, "unknown directory role"},
		{"duplicate subscription", func(s *Scenario) {
			s.Tenants[1].Subscriptions = append(s.Tenants[1].Subscriptions, s.Tenants[0].Subscriptions[0])
		}, "already used"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := json.Marshal(base)
			var sc Scenario
			_ = json.Unmarshal(b, &sc)
			tc.mutate(&sc)
			if err := sc.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := ParseScenario([]byte(`{"microsoft":{"partner":{},"bogus":1}}`)); err == nil {
		t.Fatal("unknown field accepted")
	}
}
