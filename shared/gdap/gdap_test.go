package gdap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

type fakeCred struct {
	mu     sync.Mutex
	scopes []string
}

func (f *fakeCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scopes = o.Scopes
	return azcore.AccessToken{Token: "graph-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// graph is Microsoft Graph's delegatedAdminRelationships as documented
// (v1.0): create answers 201 and a display name in use 409; lockForApproval
// of a relationship past created answers 400; an access assignment for a
// group that has one answers 409; errors are {"error": {"code", "message"}}.
// Faults: lose drops that many replies of the matching calls after doing
// the work (the connection is cut); throttle answers 429 with Retry-After;
// fail answers 503.
type graph struct {
	mu       sync.Mutex
	rels     map[string]map[string]any
	assigns  map[string][]map[string]any
	order    []string
	creates  int
	locks    int
	assigned int
	calls    []string
	filters  []string
	lose     map[string]int // "POST rel", "POST lock", "POST assign" → replies to drop
	throttle int
	fail     int
	pageSize int
}

func newGraph() *graph {
	return &graph{rels: map[string]map[string]any{}, assigns: map[string][]map[string]any{}, lose: map[string]int{}}
}

func (g *graph) add(id, name, status string) {
	g.rels[id] = map[string]any{"id": id, "displayName": name, "status": status, "duration": "P730D", "autoExtendDuration": "P180D",
		"accessDetails":   map[string]any{"unifiedRoles": []any{map[string]any{"roleDefinitionId": DirectoryReaders}}},
		"createdDateTime": "2024-01-02T03:04:05.1234567Z", "activatedDateTime": "", "endDateTime": nil}
	g.order = append(g.order, id)
}

func graphErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func (g *graph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, r.Method+" "+r.URL.Path)
	if r.Header.Get("Authorization") != "Bearer graph-token" || r.Header.Get("client-request-id") == "" {
		graphErr(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "missing token or request id")
		return
	}
	if g.throttle > 0 {
		g.throttle--
		w.Header().Set("Retry-After", "7")
		graphErr(w, http.StatusTooManyRequests, "TooManyRequests", "throttled")
		return
	}
	if g.fail > 0 {
		g.fail--
		graphErr(w, http.StatusServiceUnavailable, "serviceNotAvailable", "try later")
		return
	}
	const base = "/v1.0/tenantRelationships/delegatedAdminRelationships"
	rest, ok := strings.CutPrefix(r.URL.Path, base)
	if !ok {
		graphErr(w, http.StatusNotFound, "notFound", "no such path")
		return
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	var status int
	var body any
	var fault string
	switch {
	case rest == "" && r.Method == http.MethodGet:
		status, body = g.list(r)
	case rest == "" && r.Method == http.MethodPost:
		fault = "POST rel"
		status, body = g.create(r)
	case len(parts) == 1 && r.Method == http.MethodGet:
		rel, ok := g.rels[parts[0]]
		if !ok {
			graphErr(w, http.StatusNotFound, "notFound", "The relationship does not exist.")
			return
		}
		status, body = http.StatusOK, rel
	case len(parts) == 2 && parts[1] == "requests" && r.Method == http.MethodPost:
		fault = "POST lock"
		status, body = g.lock(r, parts[0])
	case len(parts) == 2 && parts[1] == "accessAssignments" && r.Method == http.MethodGet:
		status, body = http.StatusOK, map[string]any{"value": g.assigns[parts[0]]}
	case len(parts) == 2 && parts[1] == "accessAssignments" && r.Method == http.MethodPost:
		fault = "POST assign"
		status, body = g.assign(r, parts[0])
	default:
		graphErr(w, http.StatusMethodNotAllowed, "badRequest", "unsupported")
		return
	}
	if fault != "" && g.lose[fault] > 0 {
		g.lose[fault]--
		panic(http.ErrAbortHandler) // done, but the reply never arrives
	}
	if e, ok := body.(error); ok {
		code := map[int]string{400: "badRequest", 409: "conflict"}[status]
		graphErr(w, status, code, e.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func (g *graph) list(r *http.Request) (int, any) {
	filter := r.URL.Query().Get("$filter")
	g.filters = append(g.filters, filter)
	var out []any
	skip := 0
	fmt.Sscanf(r.URL.Query().Get("$skiptoken"), "%d", &skip)
	for _, id := range g.order {
		rel := g.rels[id]
		if filter != "" {
			lit, ok := strings.CutPrefix(filter, "displayName eq '")
			if !ok || !strings.HasSuffix(lit, "'") {
				return http.StatusBadRequest, errors.New("Invalid filter clause")
			}
			if strings.ReplaceAll(strings.TrimSuffix(lit, "'"), "''", "'") != rel["displayName"] {
				continue
			}
		}
		out = append(out, rel)
	}
	page := map[string]any{"value": out}
	if g.pageSize > 0 && len(out) > skip+g.pageSize {
		page["value"] = out[skip : skip+g.pageSize]
		q := r.URL.Query()
		q.Set("$skiptoken", fmt.Sprint(skip+g.pageSize))
		page["@odata.nextLink"] = "https://" + r.Host + r.URL.Path + "?" + q.Encode()
	} else if skip > 0 {
		page["value"] = out[skip:]
	}
	return http.StatusOK, page
}

func (g *graph) create(r *http.Request) (int, any) {
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		return http.StatusBadRequest, err
	}
	for _, rel := range g.rels {
		if rel["displayName"] == in["displayName"] {
			return http.StatusConflict, fmt.Errorf("A relationship with the display name '%s' already exists.", in["displayName"])
		}
	}
	g.creates++
	id := fmt.Sprintf("rel-%d", g.creates)
	in["id"], in["status"] = id, StatusCreated
	in["createdDateTime"], in["activatedDateTime"], in["endDateTime"] = "2024-01-02T03:04:05Z", "", nil
	g.rels[id] = in
	g.order = append(g.order, id)
	return http.StatusCreated, in
}

func (g *graph) lock(r *http.Request, id string) (int, any) {
	rel, ok := g.rels[id]
	if !ok {
		return http.StatusNotFound, errors.New("no relationship")
	}
	var in struct{ Action string }
	json.NewDecoder(r.Body).Decode(&in)
	if in.Action != "lockForApproval" {
		return http.StatusBadRequest, errors.New("unsupported action")
	}
	if rel["status"] != StatusCreated {
		return http.StatusBadRequest, errors.New("The relationship is not in the created state.")
	}
	g.locks++
	rel["status"] = StatusApprovalPending
	return http.StatusCreated, map[string]any{"id": "req-1", "action": "lockForApproval", "status": "created"}
}

func (g *graph) assign(r *http.Request, relID string) (int, any) {
	if g.rels[relID]["status"] != StatusActive {
		return http.StatusBadRequest, errors.New("The relationship is not active.")
	}
	var in map[string]any
	json.NewDecoder(r.Body).Decode(&in)
	group := in["accessContainer"].(map[string]any)["accessContainerId"]
	for _, a := range g.assigns[relID] {
		if a["accessContainer"].(map[string]any)["accessContainerId"] == group && a["status"] != AssignmentDeleted {
			return http.StatusConflict, errors.New("The group already has an access assignment.")
		}
	}
	g.assigned++
	in["id"], in["status"] = fmt.Sprintf("aa-%d", g.assigned), AssignmentPending
	g.assigns[relID] = append(g.assigns[relID], in)
	return http.StatusCreated, in
}

func (g *graph) count(call string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, c := range g.calls {
		if c == call {
			n++
		}
	}
	return n
}

func newClient(t *testing.T, g *graph) (*Client, *[]time.Duration, *fakeCred) {
	t.Helper()
	srv := httptest.NewTLSServer(g)
	t.Cleanup(srv.Close)
	var waits []time.Duration
	cred := &fakeCred{}
	return &Client{
		Credential: cred, Endpoint: srv.URL, HTTP: srv.Client(), MaxRetries: 2,
		Config: Config{Roles: DefaultRoles, Duration: DefaultDuration, AutoExtend: DefaultAutoExtendDuration},
		Sleep:  func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil },
	}, &waits, cred
}

const relPath = "/v1.0/tenantRelationships/delegatedAdminRelationships"

func TestEnsure(t *testing.T) {
	ctx := context.Background()
	name := DisplayName("prv_01hx")
	tests := []struct {
		name        string
		existing    string // status of an existing relationship of that name; "" none
		lose        int
		wantCreates int
		wantPosts   int
	}{
		{"creates when absent", "", 0, 1, 1},
		{"finds before creating", StatusApprovalPending, 0, 0, 0},
		{"an expired one of the same name is still that name", StatusExpired, 0, 0, 0},
		{"the reply lost once: the retry is refused, the second look finds it", "", 1, 1, 2},
		{"every reply lost: the second look still finds it", "", 3, 1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGraph()
			g.add("other", "Partner Cloud prv_other", StatusActive)
			if tt.existing != "" {
				g.add("rel-existing", name, tt.existing)
			}
			g.lose["POST rel"] = tt.lose
			c, _, cred := newClient(t, g)
			r, err := c.Ensure(ctx, Request{DisplayName: name, CustomerTenantID: "4b827261-d21f-4aa9-b7db-7fa1f56fb163"})
			if err != nil || r.DisplayName != name || r.ID == "" {
				t.Fatalf("Ensure = %+v, %v", r, err)
			}
			if g.creates != tt.wantCreates || g.count("POST "+relPath) != tt.wantPosts {
				t.Fatalf("%d created in %d POSTs, want %d in %d", g.creates, g.count("POST "+relPath), tt.wantCreates, tt.wantPosts)
			}
			// A later run (the task retried) finds it: never a second.
			again, err := c.Ensure(ctx, Request{DisplayName: name})
			if err != nil || again.ID != r.ID || g.creates != tt.wantCreates {
				t.Fatalf("second Ensure = %+v, %v; %d created", again, err, g.creates)
			}
			if len(cred.scopes) != 1 || cred.scopes[0] != Scope {
				t.Fatalf("token scopes %v", cred.scopes)
			}
			if tt.existing == "" {
				rel := g.rels[r.ID]
				roles := rel["accessDetails"].(map[string]any)["unifiedRoles"].([]any)
				if rel["duration"] != "P730D" || rel["autoExtendDuration"] != "P180D" || len(roles) != 2 ||
					rel["customer"].(map[string]any)["tenantId"] != "4b827261-d21f-4aa9-b7db-7fa1f56fb163" {
					t.Fatalf("created %v", rel)
				}
			}
		})
	}
}

func TestEnsureQuotesTheDisplayName(t *testing.T) {
	g := newGraph()
	g.add("rel-q", "O'Brien's", StatusActive)
	c, _, _ := newClient(t, g)
	r, err := c.Ensure(context.Background(), Request{DisplayName: "O'Brien's"})
	if err != nil || r.ID != "rel-q" || g.creates != 0 {
		t.Fatalf("= %+v, %v, %d created", r, err, g.creates)
	}
	if g.filters[0] != "displayName eq 'O''Brien''s'" {
		t.Fatalf("filter %q", g.filters[0])
	}
}

func TestEnsureFollowsPages(t *testing.T) {
	g := newGraph()
	g.pageSize = 1
	// The fake ignores the filter's selectivity when names repeat: three
	// pages of the same name, the one in force last.
	g.add("rel-a", "dup", StatusTerminated)
	g.add("rel-b", "dup", StatusExpired)
	g.add("rel-c", "dup", StatusActive)
	c, _, _ := newClient(t, g)
	r, err := c.Ensure(context.Background(), Request{DisplayName: "dup"})
	if err != nil || r.ID != "rel-c" || g.count("GET "+relPath) != 3 {
		t.Fatalf("= %+v, %v after %d lists", r, err, g.count("GET "+relPath))
	}
}

func TestEnsureRefusesABadConfiguration(t *testing.T) {
	g := newGraph()
	c, _, _ := newClient(t, g)
	c.Config.Roles = []string{GlobalAdministrator}
	if _, err := c.Ensure(context.Background(), Request{DisplayName: "x"}); !errors.Is(err, ErrRejected) || len(g.calls) != 0 {
		t.Fatalf("err %v after %d calls", err, len(g.calls))
	}
}

func TestLock(t *testing.T) {
	tests := []struct {
		name      string
		status    string
		lose      int
		want      error
		wantPosts int
		wantAfter string
	}{
		{"created is locked", StatusCreated, 0, nil, 1, StatusApprovalPending},
		{"already locked is success", StatusApprovalPending, 0, nil, 0, StatusApprovalPending},
		{"active is success", StatusActive, 0, nil, 0, StatusActive},
		{"the lock's reply lost: the refused retry is success", StatusCreated, 1, nil, 2, StatusApprovalPending},
		{"expired", StatusExpired, 0, ErrExpired, 0, StatusExpired},
		{"terminated", StatusTerminated, 0, ErrTerminated, 0, StatusTerminated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGraph()
			g.add("rel-1", "n", tt.status)
			g.lose["POST lock"] = tt.lose
			c, _, _ := newClient(t, g)
			err := c.Lock(context.Background(), "rel-1")
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Lock = %v, want %v", err, tt.want)
			}
			if n := g.count("POST " + relPath + "/rel-1/requests"); n != tt.wantPosts || g.rels["rel-1"]["status"] != tt.wantAfter || g.locks > 1 {
				t.Fatalf("%d lock POSTs (%d performed), status %v", n, g.locks, g.rels["rel-1"]["status"])
			}
		})
	}
	g := newGraph()
	c, _, _ := newClient(t, g)
	if err := c.Lock(context.Background(), "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestGet(t *testing.T) {
	g := newGraph()
	g.add("rel-1", "n", StatusActive)
	g.rels["rel-1"]["activatedDateTime"] = "2024-02-10T11:26:44.9941884Z"
	g.rels["rel-1"]["endDateTime"] = "2026-02-10T11:26:44.9941884Z"
	g.rels["rel-1"]["customer"] = map[string]any{"tenantId": "t-1", "displayName": "Contoso"}
	g.add("rel-2", "m", StatusApprovalPending)
	c, _, _ := newClient(t, g)
	r, err := c.Get(context.Background(), "rel-1")
	if err != nil || r.Status != StatusActive || r.CustomerTenantID != "t-1" || r.AutoExtend != "P180D" || r.Duration != "P730D" ||
		len(r.Roles) != 1 || r.Roles[0] != DirectoryReaders ||
		!r.ActivatedAt.Equal(time.Date(2024, 2, 10, 11, 26, 44, 994188400, time.UTC)) || r.EndAt.Year() != 2026 || r.CreatedAt.IsZero() {
		t.Fatalf("Get = %+v, %v", r, err)
	}
	pending, err := c.Get(context.Background(), "rel-2")
	if err != nil || !pending.ActivatedAt.IsZero() || !pending.EndAt.IsZero() || !errors.Is(pending.Err(), ErrPending) {
		t.Fatalf("pending = %+v, %v", pending, err)
	}
}

func TestRelationshipErr(t *testing.T) {
	for status, want := range map[string]error{
		StatusCreated: ErrPending, StatusApprovalPending: ErrPending, StatusApproved: ErrPending, StatusActivating: ErrPending,
		"unknownFutureValue": ErrPending, StatusActive: nil,
		StatusExpiring: ErrExpired, StatusExpired: ErrExpired,
		StatusTerminationRequested: ErrTerminated, StatusTerminating: ErrTerminated, StatusTerminated: ErrTerminated,
	} {
		if got := (Relationship{Status: status}).Err(); got != want {
			t.Errorf("%s: %v, want %v", status, got, want)
		}
	}
	for status, want := range map[string]error{AssignmentPending: ErrPending, AssignmentActive: nil, AssignmentError: ErrRejected, AssignmentDeleted: ErrRejected} {
		if got := (AccessAssignment{Status: status}).Err(); !errors.Is(got, want) || (want == nil && got != nil) {
			t.Errorf("assignment %s: %v, want %v", status, got, want)
		}
	}
}

func TestThrottlingAndFaults(t *testing.T) {
	t.Run("429 with Retry-After, then success", func(t *testing.T) {
		g := newGraph()
		g.add("rel-1", "n", StatusActive)
		g.throttle = 2
		c, waits, _ := newClient(t, g)
		if _, err := c.Get(context.Background(), "rel-1"); err != nil {
			t.Fatal(err)
		}
		if len(*waits) != 2 || (*waits)[0] != 7*time.Second || (*waits)[1] != 7*time.Second {
			t.Fatalf("waits %v, want 7s twice", *waits)
		}
	})
	t.Run("5xx: bounded retries, then unavailable", func(t *testing.T) {
		g := newGraph()
		g.add("rel-1", "n", StatusActive)
		g.fail = 100
		c, waits, _ := newClient(t, g)
		_, err := c.Get(context.Background(), "rel-1")
		if !errors.Is(err, ErrUnavailable) || len(g.calls) != 3 {
			t.Fatalf("err %v after %d calls", err, len(g.calls))
		}
		if len(*waits) != 2 || (*waits)[0] != time.Second || (*waits)[1] != 2*time.Second {
			t.Fatalf("waits %v, want 1s then 2s", *waits)
		}
	})
	t.Run("a 4xx is not retried", func(t *testing.T) {
		g := newGraph()
		c, _, _ := newClient(t, g)
		_, err := c.EnsureAccessAssignment(context.Background(), "missing", "g", DefaultRoles)
		var ge *Error
		if !errors.As(err, &ge) || ge.Status != http.StatusBadRequest || !errors.Is(err, ErrRejected) || g.count("POST "+relPath+"/missing/accessAssignments") != 1 {
			t.Fatalf("err %v, calls %v", err, g.calls)
		}
	})
}

func TestEnsureAccessAssignment(t *testing.T) {
	const group = "869713c9-0b28-4d08-8949-ae07ae1bf528"
	tests := []struct {
		name        string
		existing    string // status of an existing assignment of the group
		lose        int
		wantCreated int
	}{
		{"creates when absent", "", 0, 1},
		{"finds the group's pending one", AssignmentPending, 0, 0},
		{"replaces a deleted one", AssignmentDeleted, 0, 1},
		{"the reply lost: no second", "", 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGraph()
			g.add("rel-1", "n", StatusActive)
			if tt.existing != "" {
				g.assigns["rel-1"] = []map[string]any{{"id": "aa-old", "status": tt.existing,
					"accessContainer": map[string]any{"accessContainerId": group, "accessContainerType": "securityGroup"}}}
			}
			g.lose["POST assign"] = tt.lose
			c, _, _ := newClient(t, g)
			a, err := c.EnsureAccessAssignment(context.Background(), "rel-1", group, DefaultRoles)
			if err != nil || a.GroupID != group || a.ID == "" || g.assigned != tt.wantCreated {
				t.Fatalf("= %+v, %v; %d created", a, err, g.assigned)
			}
			all, err := c.AccessAssignments(context.Background(), "rel-1")
			if err != nil {
				t.Fatal(err)
			}
			inForce := 0
			for _, x := range all {
				if x.Err() == nil || errors.Is(x.Err(), ErrPending) {
					inForce++
					if tt.existing == "" && len(x.Roles) != len(DefaultRoles) {
						t.Fatalf("roles %v", x.Roles)
					}
				}
			}
			if inForce != 1 {
				t.Fatalf("%d assignments in force: %+v", inForce, all)
			}
		})
	}
}
