package microsoft

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestServiceOf: every call kind belongs to the service Microsoft throttles
// it under.
func TestServiceOf(t *testing.T) {
	for _, tc := range []struct {
		kinds []string
		want  string
	}{
		{[]string{CallToken, CallDiscovery, CallAdminConsent, CallAuthorize}, ServiceEntraID},
		{[]string{CallPartnerCenter, CallPartnerCenterDomain, CallPartnerCenterAddress, CallPartnerCenterCustomers, CallPartnerCenterAgreements,
			CallPartnerCenterCarts, CallPartnerCenterCheckout, CallPartnerCenterSubscriptions, CallPartnerCenterCustomer,
			CallPartnerCenterRelationshipRequests, CallPartnerCenterWebhooks}, ServicePartnerCenter},
		{[]string{CallGraph, CallGraphCreateRelationship, CallGraphListRelationships, CallGraphGetRelationship, CallGraphLock,
			CallGraphListRequests, CallGraphGetRequest, CallGraphCreateAccessAssignment, CallGraphListAccessAssignments, CallGraphGetAccessAssignment}, ServiceGraph},
		{[]string{CallSubscriptionsList, CallSubscriptionsGet, CallRoleAssignments}, ServiceResourceManager},
	} {
		for _, k := range tc.kinds {
			if got := ServiceOf(k); got != tc.want {
				t.Errorf("ServiceOf(%q) = %q, want %q", k, got, tc.want)
			}
		}
	}
}

func TestPeakPerSecond(t *testing.T) {
	base := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	ms := func(v ...int) []time.Time {
		out := make([]time.Time, len(v))
		for i, x := range v {
			out[i] = base.Add(time.Duration(x) * time.Millisecond)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		at     []time.Time
		peak   int
		startM int // the peak window's start, ms after base
	}{
		{name: "none", at: nil, peak: 0},
		{name: "one", at: ms(250), peak: 1, startM: 250},
		{name: "a second apart fall in two windows", at: ms(0, 1000, 2000), peak: 1, startM: 0},
		{name: "just under a second apart share one", at: ms(0, 999), peak: 2, startM: 0},
		{name: "a burst later wins", at: ms(0, 500, 1400, 1500, 1600, 2300), peak: 4, startM: 1400},
		{name: "windows are not aligned to seconds", at: ms(900, 1000, 1100, 1800, 2000), peak: 4, startM: 900},
	} {
		t.Run(tc.name, func(t *testing.T) {
			peak, at := peakPerSecond(tc.at)
			if peak != tc.peak {
				t.Errorf("peak %d, want %d", peak, tc.peak)
			}
			if peak > 0 && !at.Equal(base.Add(time.Duration(tc.startM)*time.Millisecond)) {
				t.Errorf("window starts %v, want +%dms", at.Sub(base), tc.startM)
			}
		})
	}
}

// stepClock is a wall clock the test moves.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// TestCallRates: calls through the double's routes are timed under their
// service, on the wall clock; since cuts the period; /_control/rates
// reports the same; Reset forgets them.
func TestCallRates(t *testing.T) {
	base := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	clock := &stepClock{now: base}
	srv, err := New(defaultScenario(t), Options{Wall: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	// Each request is counted whether or not it is authorized.
	send := func(at time.Duration, method, path string) {
		clock.set(base.Add(at))
		req := httptest.NewRequest(method, "https://ms.example"+path, strings.NewReader(""))
		srv.ServeHTTP(httptest.NewRecorder(), req)
	}
	ms := time.Millisecond
	send(0, "POST", "/contoso.example/oauth2/v2.0/token")
	send(100*ms, "GET", "/contoso.example/v2.0/.well-known/openid-configuration")
	send(200*ms, "GET", "/v1/customers/00000000-0000-0000-0000-000000000001")
	send(300*ms, "GET", "/v1.0/tenantRelationships/delegatedAdminRelationships/rel-1")
	send(400*ms, "GET", "/subscriptions/20000000-0000-4000-8000-000000000101")
	send(500*ms, "GET", "/subscriptions/20000000-0000-4000-8000-000000000101/providers/Microsoft.Authorization/roleAssignments")
	send(1500*ms, "POST", "/contoso.example/oauth2/v2.0/token")
	send(1600*ms, "POST", "/contoso.example/oauth2/v2.0/token")
	send(1700*ms, "POST", "/contoso.example/oauth2/v2.0/token")
	send(3000*ms, "GET", "/v1/customers/00000000-0000-0000-0000-000000000001")

	for _, tc := range []struct {
		name  string
		since time.Duration
		want  map[string]ServiceRate
	}{
		{name: "everything", since: -time.Hour, want: map[string]ServiceRate{
			ServiceEntraID:         {Calls: 5, PeakPerSecond: 3, PeakWindowStart: ptr(base.Add(1500 * ms))},
			ServicePartnerCenter:   {Calls: 2, PeakPerSecond: 1, PeakWindowStart: ptr(base.Add(200 * ms))},
			ServiceGraph:           {Calls: 1, PeakPerSecond: 1, PeakWindowStart: ptr(base.Add(300 * ms))},
			ServiceResourceManager: {Calls: 2, PeakPerSecond: 2, PeakWindowStart: ptr(base.Add(400 * ms))},
		}},
		{name: "since a moment", since: 1600 * ms, want: map[string]ServiceRate{
			ServiceEntraID:         {Calls: 2, PeakPerSecond: 2, PeakWindowStart: ptr(base.Add(1600 * ms))},
			ServicePartnerCenter:   {Calls: 1, PeakPerSecond: 1, PeakWindowStart: ptr(base.Add(3000 * ms))},
			ServiceGraph:           {},
			ServiceResourceManager: {},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(how string, got map[string]ServiceRate) {
				for _, svc := range Services {
					g, w := got[svc], tc.want[svc]
					if _, ok := got[svc]; !ok {
						t.Errorf("%s: %s missing", how, svc)
					}
					if g.Calls != w.Calls || g.PeakPerSecond != w.PeakPerSecond || (g.PeakWindowStart == nil) != (w.PeakWindowStart == nil) ||
						(g.PeakWindowStart != nil && !g.PeakWindowStart.Equal(*w.PeakWindowStart)) {
						t.Errorf("%s: %s = %+v, want %+v", how, svc, show(g), show(w))
					}
				}
			}
			since := base.Add(tc.since)
			check("CallRates", srv.CallRates(since))

			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest("GET", "https://ms.example/_control/rates?since="+since.Format(time.RFC3339Nano), nil))
			var out struct {
				Window   string                 `json:"window"`
				Services map[string]ServiceRate `json:"services"`
			}
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != http.StatusOK || json.Unmarshal(body, &out) != nil || out.Window != "1s" {
				t.Fatalf("GET /_control/rates: %d %s", rec.Code, body)
			}
			check("GET /_control/rates", out.Services)
		})
	}

	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "https://ms.example/_control/rates?since=yesterday", nil))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("since=yesterday: %d, want 400", rec.Code)
	}
	srv.Reset()
	if got := srv.CallRates(time.Time{}); got[ServiceEntraID].Calls != 0 {
		t.Errorf("after Reset: %+v", got)
	}
}

// TestTimedCallsBounded: the times kept per service stop growing at the
// bound, keeping the newest.
func TestTimedCallsBounded(t *testing.T) {
	base := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	clock := &stepClock{now: base}
	srv, err := New(defaultScenario(t), Options{Wall: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	n := maxTimedCalls + 10
	for i := 0; i < n; i++ {
		clock.set(base.Add(time.Duration(i) * time.Millisecond))
		srv.count(CallGraph)
	}
	got := srv.CallRates(time.Time{})[ServiceGraph]
	if got.Calls > maxTimedCalls || got.Calls < maxTimedCalls/2 {
		t.Fatalf("%d times kept, want between %d and %d", got.Calls, maxTimedCalls/2, maxTimedCalls)
	}
	last := srv.CallRates(base.Add(time.Duration(n-1) * time.Millisecond))[ServiceGraph]
	if last.Calls != 1 {
		t.Errorf("the newest call is not kept: %+v", last)
	}
	if srv.Calls()[CallGraph] != int64(n) {
		t.Errorf("the counter lost calls: %d, want %d", srv.Calls()[CallGraph], n)
	}
}

func ptr(t time.Time) *time.Time { return &t }

func show(r ServiceRate) string {
	at := "-"
	if r.PeakWindowStart != nil {
		at = r.PeakWindowStart.Format("15:04:05.000")
	}
	return "calls " + strconv.Itoa(r.Calls) + ", peak " + strconv.Itoa(r.PeakPerSecond) + ", at " + at
}
