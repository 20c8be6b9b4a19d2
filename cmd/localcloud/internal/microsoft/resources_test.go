package microsoft

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const (
	webGroup   = "/subscriptions/" + contosoOwnedSub + "/resourceGroups/contoso-web"
	batchGroup = "/subscriptions/" + contosoOwnedSub + "/resourceGroups/contoso-batch"
	devGroup   = "/subscriptions/" + contosoOtherSub + "/resourceGroups/contoso-dev"
	webApp     = webGroup + "/providers/Microsoft.Web/sites/contoso-web-app"
	webPlan    = webGroup + "/providers/Microsoft.Web/serverFarms/contoso-web-plan"
	webStore   = webGroup + "/providers/Microsoft.Storage/storageAccounts/contosowebstorage"
	batchStore = batchGroup + "/providers/Microsoft.Storage/storageAccounts/contosobatchstorage"
	batchJobs  = batchGroup + "/providers/Microsoft.ContainerInstance/containerGroups/contoso-batch-jobs"
)

// movesEnv is the default scenario with contoso consented, on a clock the
// test moves.
func movesEnv(t *testing.T) (*env, *testClock, string) {
	t.Helper()
	clock := newTestClock()
	sc := defaultScenario(t)
	sc.Tenants[0].PartnerConsented = true
	e := newEnvWith(t, sc, Options{Now: clock.Now})
	tok, err := e.token(t, e.credential(t, "contoso", partnerApp, partnerSecret))
	if err != nil {
		t.Fatal(err)
	}
	return e, clock, tok
}

func ids(body map[string]any) []string {
	var out []string
	items, _ := body["value"].([]any)
	for _, it := range items {
		out = append(out, it.(map[string]any)["id"].(string))
	}
	return out
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func TestResourceGroupsAndResources(t *testing.T) {
	e, _, partner := movesEnv(t)
	app, err := e.token(t, e.credential(t, "contoso", contosoApp, contosoAppSecret))
	if err != nil {
		t.Fatal(err)
	}
	fabrikam, err := e.token(t, e.credential(t, "fabrikam", partnerApp, partnerSecret))
	if err != nil {
		t.Fatal(err)
	}
	const api = "?api-version=2021-04-01"
	tests := []struct {
		name, method, path, token string
		body                      any
		want                      int
		wantCode                  string
		wantIDs                   []string
	}{
		{"list groups", "GET", "/subscriptions/" + contosoOwnedSub + "/resourcegroups" + api, partner, nil, 200, "", []string{webGroup, batchGroup}},
		{"get group", "GET", "/subscriptions/" + contosoOwnedSub + "/resourcegroups/CONTOSO-WEB" + api, partner, nil, 200, "", nil},
		{"unknown group", "GET", "/subscriptions/" + contosoOwnedSub + "/resourcegroups/nope" + api, partner, nil, 404, "ResourceGroupNotFound", nil},
		{"resources of a group", "GET", webGroup + "/resources" + api, partner, nil, 200, "", []string{webPlan, webApp, webStore}},
		{"resources of a subscription", "GET", "/subscriptions/" + contosoOwnedSub + "/resources" + api, partner, nil, 200, "", []string{webPlan, webApp, webStore, batchStore, batchJobs}},
		{"resources of an unknown group", "GET", "/subscriptions/" + contosoOwnedSub + "/resourceGroups/nope/resources" + api, partner, nil, 404, "ResourceGroupNotFound", nil},
		{"reader reads", "GET", devGroup + "/resources" + api, partner, nil, 200, "", []string{devGroup + "/providers/Microsoft.Storage/storageAccounts/contosodevstorage", devGroup + "/providers/Microsoft.Network/virtualNetworks/contoso-dev-vnet"}},
		{"reader cannot create", "PUT", "/subscriptions/" + contosoOtherSub + "/resourcegroups/new" + api, partner, map[string]any{"location": "westeurope"}, 403, "AuthorizationFailed", nil},
		{"owner creates", "PUT", "/subscriptions/" + contosoOwnedSub + "/resourcegroups/contoso-target" + api, partner, map[string]any{"location": "West Europe"}, 201, "", nil},
		{"create again", "PUT", "/subscriptions/" + contosoOwnedSub + "/resourcegroups/contoso-target" + api, partner, map[string]any{"location": "westeurope", "tags": map[string]string{"a": "b"}}, 200, "", nil},
		{"another location", "PUT", "/subscriptions/" + contosoOwnedSub + "/resourcegroups/contoso-target" + api, partner, map[string]any{"location": "eastus"}, 409, "InvalidResourceGroupLocation", nil},
		{"no location", "PUT", "/subscriptions/" + contosoOwnedSub + "/resourcegroups/x" + api, partner, map[string]any{}, 400, "LocationRequired", nil},
		{"app with reader cannot create", "PUT", "/subscriptions/" + contosoOwnedSub + "/resourcegroups/y" + api, app, map[string]any{"location": "westeurope"}, 403, "AuthorizationFailed", nil},
		{"app without role on 0102", "GET", devGroup + "/resources" + api, app, nil, 403, "AuthorizationFailed", nil},
		{"token of another tenant", "GET", webGroup + "/resources" + api, fabrikam, nil, 401, "InvalidAuthenticationTokenTenant", nil},
		{"no api-version", "GET", webGroup + "/resources", partner, nil, 400, "MissingApiVersionParameter", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := e.call(t, tc.method, tc.path, tc.token, tc.body)
			if status != tc.want || errorCode(body) != tc.wantCode {
				t.Fatalf("%s %s = %d %v, want %d %s", tc.method, tc.path, status, body, tc.want, tc.wantCode)
			}
			if tc.wantIDs != nil && strings.Join(allPages(t, e, tc.token, body), ",") != strings.Join(tc.wantIDs, ",") {
				t.Fatalf("ids = %v, want %v", allPages(t, e, tc.token, body), tc.wantIDs)
			}
		})
	}
}

// allPages follows nextLink from a first page and returns every id.
func allPages(t *testing.T, e *env, token string, first map[string]any) []string {
	t.Helper()
	out := ids(first)
	for next, _ := first["nextLink"].(string); next != ""; {
		_, _, page := e.call(t, "GET", next, token, nil)
		out = append(out, ids(page)...)
		next, _ = page["nextLink"].(string)
	}
	return out
}

// moveClient is what armresources' Client is made of: an ARM pipeline
// from azcore, whose runtime.NewPoller follows the Location header.
func moveClient(t *testing.T, e *env) *arm.Client {
	t.Helper()
	cl, err := arm.NewClient("armresources.Client", "v1.2.0", e.credential(t, "contoso", partnerApp, partnerSecret), e.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// beginMove sends validateMoveResources or moveResources as armresources
// v1.2.0 does and returns its poller.
func beginMove(ctx context.Context, cl *arm.Client, sub, group, op string, resources []string, target string) (*runtime.Poller[struct{}], error) {
	req, err := runtime.NewRequest(ctx, http.MethodPost, runtime.JoinPaths(cl.Endpoint(), "/subscriptions/"+sub+"/resourceGroups/"+group+"/"+op))
	if err != nil {
		return nil, err
	}
	q := req.Raw().URL.Query()
	q.Set("api-version", "2021-04-01")
	req.Raw().URL.RawQuery = q.Encode()
	req.Raw().Header["Accept"] = []string{"application/json"}
	if err := runtime.MarshalAsJSON(req, map[string]any{"resources": resources, "targetResourceGroup": target}); err != nil {
		return nil, err
	}
	resp, err := cl.Pipeline().Do(req)
	if err != nil {
		return nil, err
	}
	if !runtime.HasStatusCode(resp, http.StatusAccepted, http.StatusNoContent) {
		return nil, runtime.NewResponseError(resp)
	}
	return runtime.NewPoller[struct{}](resp, cl.Pipeline(), nil)
}

// pollToEnd polls without waiting (the test drives the operation by its
// polls) and returns the number of polls and the outcome.
func pollToEnd(ctx context.Context, t *testing.T, p *runtime.Poller[struct{}]) (int, error) {
	t.Helper()
	n := 0
	for !p.Done() {
		if _, err := p.Poll(ctx); err != nil {
			return n, err
		}
		if n++; n > 10 {
			t.Fatal("the operation never ended")
		}
	}
	_, err := p.Result(ctx)
	return n, err
}

func TestMovesWithTheSDKPoller(t *testing.T) {
	e, _, partner := movesEnv(t)
	ctx := context.Background()
	cl := moveClient(t, e)
	target := "/subscriptions/" + contosoOwnedSub + "/resourceGroups/contoso-target"
	if status, _, _ := e.call(t, "PUT", target+"?api-version=2021-04-01", partner, map[string]any{"location": "westeurope"}); status != 201 {
		t.Fatalf("create target: %d", status)
	}

	// Validation of a group that moves entirely: 202, then 204 after the polls.
	p, err := beginMove(ctx, cl, contosoOwnedSub, "contoso-web", "validateMoveResources", []string{webPlan, webApp, webStore}, target)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := pollToEnd(ctx, t, p); err != nil || n != 2 {
		t.Fatalf("validate contoso-web: %d polls, %v; want 2 polls and success", n, err)
	}

	// Validation of a group holding a resource Microsoft refuses to move: 409.
	p, err = beginMove(ctx, cl, contosoOwnedSub, "contoso-batch", "validateMoveResources", []string{batchStore, batchJobs}, target)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pollToEnd(ctx, t, p)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 409 || re.ErrorCode != "ResourceMoveValidationFailed" ||
		!strings.Contains(err.Error(), "ResourceMoveNotSupported") || !strings.Contains(err.Error(), batchJobs) {
		t.Fatalf("validate contoso-batch: %v; want 409 ResourceMoveValidationFailed naming %s", err, batchJobs)
	}

	// A move of the refused group fails whole: nothing moves.
	p, err = beginMove(ctx, cl, contosoOwnedSub, "contoso-batch", "moveResources", []string{batchStore, batchJobs}, target)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pollToEnd(ctx, t, p); !errors.As(err, &re) || re.StatusCode != 409 {
		t.Fatalf("move contoso-batch: %v; want 409", err)
	}
	if _, _, body := e.call(t, "GET", batchGroup+"/resources?api-version=2021-04-01", partner, nil); len(allPages(t, e, partner, body)) != 2 {
		t.Fatal("a failed move moved resources")
	}

	// The movable resource alone moves.
	p, err = beginMove(ctx, cl, contosoOwnedSub, "contoso-batch", "moveResources", []string{batchStore}, target)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pollToEnd(ctx, t, p); err != nil {
		t.Fatalf("move the storage account: %v", err)
	}
	_, _, body := e.call(t, "GET", target+"/resources?api-version=2021-04-01", partner, nil)
	if got := allPages(t, e, partner, body); len(got) != 1 || got[0] != target+"/providers/Microsoft.Storage/storageAccounts/contosobatchstorage" {
		t.Fatalf("target lists %v", got)
	}
}

func TestMoveAcrossSubscriptionsChangesIDs(t *testing.T) {
	e, clock, partner := movesEnv(t)
	const api = "?api-version=2021-04-01"
	body := map[string]any{"resources": []string{webPlan, webApp, webStore}, "targetResourceGroup": devGroup}

	// Reader on the target is not enough.
	status, _, out := e.call(t, "POST", webGroup+"/moveResources"+api, partner, body)
	if status != 403 || errorCode(out) != "LinkedAuthorizationFailed" {
		t.Fatalf("move to a group where the caller reads only = %d %v", status, out)
	}
	if _, err := e.srv.SetOwner(OwnerChange{Tenant: "contoso", SubscriptionID: contosoOtherSub, Grant: true}); err != nil {
		t.Fatal(err)
	}
	status, hdr, _ := e.call(t, "POST", webGroup+"/moveResources"+api, partner, body)
	loc := hdr.Get("Location")
	if status != 202 || !strings.Contains(loc, "/subscriptions/"+contosoOwnedSub+"/operationresults/") || !strings.Contains(loc, "api-version=2021-04-01") || hdr.Get("Retry-After") != "1" {
		t.Fatalf("move = %d, Location %q, Retry-After %q", status, loc, hdr.Get("Retry-After"))
	}
	// Still running: the resources have not moved yet.
	if status, hdr, _ := e.call(t, "GET", loc, partner, nil); status != 202 || hdr.Get("Location") == "" {
		t.Fatalf("first poll = %d", status)
	}
	if _, _, out := e.call(t, "GET", webGroup+"/resources"+api, partner, nil); len(allPages(t, e, partner, out)) != 3 {
		t.Fatal("resources moved before the operation ended")
	}
	// The clock ends it (two Retry-After periods), whatever the polls.
	clock.Add(2 * time.Second)
	if status, _, _ := e.call(t, "GET", loc, partner, nil); status != 204 {
		t.Fatalf("poll after the operation's time = %d, want 204", status)
	}
	if _, _, out := e.call(t, "GET", webGroup+"/resources"+api, partner, nil); len(ids(out)) != 0 {
		t.Fatalf("the source still lists %v", ids(out))
	}
	_, _, out = e.call(t, "GET", devGroup+"/resources"+api, partner, nil)
	got := strings.Join(allPages(t, e, partner, out), ",")
	for _, want := range []string{devGroup + "/providers/Microsoft.Web/sites/contoso-web-app", devGroup + "/providers/Microsoft.Web/serverFarms/contoso-web-plan"} {
		if !strings.Contains(got, want) {
			t.Fatalf("target lists %s, want %s among them", got, want)
		}
	}
	// A move repeated after it finished is refused: the resources are gone.
	if status, _, out := e.call(t, "POST", webGroup+"/moveResources"+api, partner, body); status != 404 || errorCode(out) != "ResourceNotFound" {
		t.Fatalf("repeated move = %d %v", status, out)
	}
	// The control state shows the new ids and the operation.
	st := e.srv.State()
	var moved bool
	for _, sub := range st.Tenants[0].Subscriptions {
		for _, g := range sub.ResourceGroups {
			for _, r := range g.Resources {
				moved = moved || r.ID == devGroup+"/providers/Microsoft.Web/sites/contoso-web-app"
			}
		}
	}
	if !moved || len(st.Operations) != 1 || st.Operations[0].Status != "Succeeded" {
		t.Fatalf("state: moved %v, operations %+v", moved, st.Operations)
	}
}

func TestMoveRefusals(t *testing.T) {
	e, _, partner := movesEnv(t)
	app, err := e.token(t, e.credential(t, "contoso", contosoApp, contosoAppSecret))
	if err != nil {
		t.Fatal(err)
	}
	const api = "?api-version=2021-04-01"
	target := "/subscriptions/" + contosoOwnedSub + "/resourceGroups/contoso-batch"
	tests := []struct {
		name, path, token string
		body              map[string]any
		want              int
		code              string
	}{
		{"source where the caller reads only", devGroup + "/validateMoveResources" + api, partner,
			map[string]any{"resources": []string{devGroup + "/providers/Microsoft.Network/virtualNetworks/contoso-dev-vnet"}, "targetResourceGroup": target}, 403, "AuthorizationFailed"},
		{"caller with Reader on the source", webGroup + "/moveResources" + api, app,
			map[string]any{"resources": []string{webApp}, "targetResourceGroup": target}, 403, "AuthorizationFailed"},
		{"unknown target group", webGroup + "/validateMoveResources" + api, partner,
			map[string]any{"resources": []string{webApp}, "targetResourceGroup": "/subscriptions/" + contosoOwnedSub + "/resourceGroups/nope"}, 404, "ResourceGroupNotFound"},
		{"unknown source group", "/subscriptions/" + contosoOwnedSub + "/resourceGroups/nope/moveResources" + api, partner,
			map[string]any{"resources": []string{webApp}, "targetResourceGroup": target}, 404, "ResourceGroupNotFound"},
		{"resource not in the source", webGroup + "/moveResources" + api, partner,
			map[string]any{"resources": []string{batchJobs}, "targetResourceGroup": target}, 404, "ResourceNotFound"},
		{"target in another tenant", webGroup + "/moveResources" + api, partner,
			map[string]any{"resources": []string{webApp}, "targetResourceGroup": "/subscriptions/" + fabrikamSub + "/resourceGroups/any"}, 403, "LinkedAuthorizationFailed"},
		{"no resources", webGroup + "/moveResources" + api, partner,
			map[string]any{"resources": []string{}, "targetResourceGroup": target}, 400, "InvalidRequestContent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, out := e.call(t, "POST", tc.path, tc.token, tc.body)
			if status != tc.want || errorCode(out) != tc.code {
				t.Fatalf("= %d %v, want %d %s", status, out, tc.want, tc.code)
			}
		})
	}
}

func TestMoveFaults(t *testing.T) {
	e, clock, partner := movesEnv(t)
	const api = "?api-version=2021-04-01"
	body := map[string]any{"resources": []string{webApp}, "targetResourceGroup": batchGroup}
	tests := []struct {
		call   string
		status int
		do     func() (int, http.Header, map[string]any)
		code   string
	}{
		{CallValidateMoveResources, 429, func() (int, http.Header, map[string]any) {
			return e.call(t, "POST", webGroup+"/validateMoveResources"+api, partner, body)
		}, "TooManyRequests"},
		{CallMoveResources, 503, func() (int, http.Header, map[string]any) {
			return e.call(t, "POST", webGroup+"/moveResources"+api, partner, body)
		}, "InternalServerError"},
		{CallResourceGroupsList, 403, func() (int, http.Header, map[string]any) {
			return e.call(t, "GET", "/subscriptions/"+contosoOwnedSub+"/resourcegroups"+api, partner, nil)
		}, "AuthorizationFailed"},
		{CallResourcesListByGroup, 500, func() (int, http.Header, map[string]any) {
			return e.call(t, "GET", webGroup+"/resources"+api, partner, nil)
		}, "InternalServerError"},
	}
	for _, tc := range tests {
		t.Run(tc.call, func(t *testing.T) {
			if err := e.srv.SetFault(Fault{Call: tc.call, Status: tc.status, RetryAfter: 3, Count: 1}); err != nil {
				t.Fatal(err)
			}
			status, hdr, out := tc.do()
			if status != tc.status || errorCode(out) != tc.code || hdr.Get("Retry-After") != "3" {
				t.Fatalf("faulted = %d %v (Retry-After %q)", status, out, hdr.Get("Retry-After"))
			}
			if status, _, _ := tc.do(); status >= 400 {
				t.Fatalf("after the fault's one answer = %d", status)
			}
		})
	}

	// A throttled poll keeps the operation running; the next poll goes on.
	// (The move started above ends first: until then it locks both groups.)
	clock.Add(2 * time.Second)
	status, hdr, out := e.call(t, "POST", webGroup+"/validateMoveResources"+api, partner, map[string]any{"resources": []string{webPlan}, "targetResourceGroup": batchGroup})
	if status != 202 {
		t.Fatalf("validate after the move ended = %d %v", status, out)
	}
	if err := e.srv.SetFault(Fault{Call: CallMoveResourcesOperation, Status: 429, RetryAfter: 1, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if status, _, out := e.call(t, "GET", hdr.Get("Location"), partner, nil); status != 429 || errorCode(out) != "TooManyRequests" {
		t.Fatalf("throttled poll = %d %v", status, out)
	}
	if status, _, _ := e.call(t, "GET", hdr.Get("Location"), partner, nil); status != 202 {
		t.Fatalf("poll after the throttle = %d", status)
	}
}

func TestQuotaIDFromTheScenario(t *testing.T) {
	e, _, _ := movesEnv(t)
	client, err := armsubscriptions.NewClient(e.credential(t, "contoso", partnerApp, partnerSecret), &arm.ClientOptions{ClientOptions: policy.ClientOptions(e.clientOptions())})
	if err != nil {
		t.Fatal(err)
	}
	for sub, want := range map[string]string{contosoOwnedSub: "PayAsYouGo_2014-09-01", contosoEASub: "EnterpriseAgreement_2014-09-01", contosoMSDNSub: "MSDN_2014-09-01"} {
		got, err := client.Get(context.Background(), sub, nil)
		if err != nil || got.SubscriptionPolicies == nil || *got.SubscriptionPolicies.QuotaID != want {
			t.Errorf("%s: %+v, %v; want quotaId %s", sub, got.SubscriptionPolicies, err, want)
		}
	}
}
