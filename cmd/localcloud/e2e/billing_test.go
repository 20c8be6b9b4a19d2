package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	eaSub = "20000000-0000-4000-8000-000000000103" // Enterprise Agreement: billing_transfer
	vsSub = "20000000-0000-4000-8000-000000000104" // Visual Studio: not_movable
	// billingOwner is the scenario's EA billing account owner, who accepts
	// transfer requests.
	billingOwner = "billing@contoso.example"
)

// billingView is what the billing routes add to the provider.
type billingView struct {
	Status   string `json:"status"`
	Billing  string `json:"billing"`
	NextStep string `json:"nextStep"`
	Steps    []struct {
		Name           string `json:"name"`
		SubscriptionID string `json:"subscriptionId"`
		Status         string `json:"status"`
		State          string `json:"state"`
		Actor          string `json:"actor"`
		Link           string `json:"link"`
	} `json:"steps"`
	Subscriptions []struct {
		ID             string `json:"id"`
		State          string `json:"state"`
		Agreement      string `json:"agreement"`
		Route          string `json:"route"`
		RouteReason    string `json:"routeReason"`
		CustomerAction string `json:"customerAction"`
		FailureReason  string `json:"failureReason"`
		ConsolidatedAt string `json:"consolidatedAt"`
		Transfer       *struct {
			Name   string `json:"name"`
			Status string `json:"status"`
			Link   string `json:"link"`
		} `json:"transfer"`
	} `json:"subscriptions"`
	MovePlan *struct {
		Version       int    `json:"version"`
		Target        string `json:"targetSubscriptionId"`
		Warning       string `json:"warning"`
		ApprovedAt    string `json:"approvedAt"`
		Subscriptions []struct {
			SubscriptionID string `json:"subscriptionId"`
			Groups         []struct {
				Name    string   `json:"name"`
				Moves   []string `json:"moves"`
				State   string   `json:"state"`
				Blocked []struct {
					ID      string `json:"id"`
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"blocked"`
			} `json:"resourceGroups"`
		} `json:"subscriptions"`
	} `json:"movePlan"`
	Timeline []struct {
		What string `json:"what"`
	} `json:"timeline"`
}

func (v billingView) sub(id string) (state, route string) {
	for _, s := range v.Subscriptions {
		if strings.EqualFold(s.ID, id) {
			return s.State, s.Route
		}
	}
	return "", ""
}

func (e *env) billing(t *testing.T, token, id string) billingView {
	t.Helper()
	r := e.call(t, "GET", "/providers/"+id, token, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET provider: %d %s", r.status, r.raw)
	}
	var v billingView
	if err := json.Unmarshal([]byte(r.raw), &v); err != nil {
		t.Fatalf("provider: %v", err)
	}
	return v
}

func (e *env) waitBilling(t *testing.T, token, id string, timeout time.Duration, what string, done func(billingView) bool) billingView {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var v billingView
	for time.Now().Before(deadline) {
		v = e.billing(t, token, id)
		if done(v) {
			return v
		}
		time.Sleep(200 * time.Millisecond)
	}
	raw, _ := json.MarshalIndent(v, "", "  ")
	t.Fatalf("%s: not reached in %s; provider:\n%s", what, timeout, raw)
	return v
}

// TestBillingRoutes migrates the default scenario's four subscriptions, each
// by its route, as the platform's administrator and the customer's people do:
// …0101 (pay-as-you-go, Owner held) moves its movable resource group and
// reports the resource Microsoft refuses to move; …0102 (pay-as-you-go)
// waits for Owner, then moves; …0103 (Enterprise Agreement) goes through a
// transfer request accepted on the Azure portal's page; …0104 (Visual
// Studio) is not movable. A stale approval is refused. The provider ends
// active with billing partially_consolidated.
func TestBillingRoutes(t *testing.T) {
	e := cloudFor(t, "standard")
	mark := len(e.logBuf.String())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("local cloud log during the test:\n%s", tail(e.logBuf.String()[mark:], 40000))
		}
	})
	tok := e.token(t, "acct-eligible", "admin")
	name := "Billing routes " + time.Now().Format("150405.000")
	body := migrate(name, ownedSub, missingSub, eaSub, vsSub)
	body["billingAdminEmail"] = billingOwner
	id := e.create(t, tok, body)
	e.cancelLater(t, tok, id)
	e.consent(t, name, "accept")

	v := e.waitBilling(t, tok, id, 60*time.Second, "every subscription routed", func(v billingView) bool {
		for _, s := range v.Subscriptions {
			if s.Route == "" {
				return false
			}
		}
		return len(v.Subscriptions) == 4
	})
	want := map[string]string{ownedSub: "move_resources", missingSub: "move_resources", eaSub: "billing_transfer", vsSub: "not_movable"}
	for _, s := range v.Subscriptions {
		if s.Route != want[s.ID] || s.Agreement == "" || s.RouteReason == "" {
			t.Errorf("subscription %s: route %q agreement %q reason %q, want route %q", s.ID, s.Route, s.Agreement, s.RouteReason, want[s.ID])
		}
		if s.ID == vsSub && (s.State != "not_movable" || s.CustomerAction == "") {
			t.Errorf("the Visual Studio subscription: %+v", s)
		}
	}

	// The transfer request: its step links to the Azure portal's page,
	// where the billing account owner accepts it.
	v = e.waitBilling(t, tok, id, 60*time.Second, "transfer requested", func(v billingView) bool {
		st, _ := v.sub(eaSub)
		return st == "transfer_pending"
	})
	link := ""
	for _, s := range v.Steps {
		if s.Name == "transfer_acceptance" && s.SubscriptionID == eaSub {
			link = s.Link
			if s.Actor != "billing_admin" || s.Status != "pending" || s.State != "Pending" {
				t.Errorf("transfer step %+v", s)
			}
		}
	}
	if link == "" {
		t.Fatalf("no transfer_acceptance step with a link: %+v", v.Steps)
	}
	pg := e.fetch(t, "GET", link, nil)
	if pg.status != http.StatusOK {
		t.Fatalf("transfer page: %d %s", pg.status, pg.text())
	}
	action, vals := pg.form(t)
	vals.Set("login", billingOwner)
	vals.Set("decision", "accept")
	if done := e.fetch(t, "POST", action, vals); done.status != http.StatusOK {
		t.Fatalf("accept the transfer: %d %s", done.status, done.text())
	}

	// The move report of …0101: one group moves, one holds a resource
	// Microsoft refuses to move, with its code and message.
	v = e.waitBilling(t, tok, id, 60*time.Second, "move report", func(v billingView) bool {
		st, _ := v.sub(ownedSub)
		return st == "awaiting_approval" && v.MovePlan != nil
	})
	if v.MovePlan.Version < 1 || v.MovePlan.Target == "" || !strings.Contains(v.MovePlan.Warning, "resource id") {
		t.Fatalf("move plan: %+v", v.MovePlan)
	}
	moves, blocked := 0, 0
	for _, sm := range v.MovePlan.Subscriptions {
		for _, g := range sm.Groups {
			moves += len(g.Moves)
			for _, b := range g.Blocked {
				blocked++
				if b.Code == "" || b.Message == "" || b.ID == "" {
					t.Errorf("blocked resource without Microsoft's reason: %+v", b)
				}
			}
		}
	}
	if moves == 0 || blocked == 0 {
		t.Fatalf("move report: %d moving, %d blocked: %+v", moves, blocked, v.MovePlan)
	}
	if st, _ := v.sub(missingSub); st != "missing_owner" {
		t.Errorf("…0102 is %q while Owner is missing", st)
	}

	// A stale version is refused and changes nothing; a member may not approve.
	r := e.call(t, "POST", "/providers/"+id+"/move-plan/approve", tok, map[string]any{"version": v.MovePlan.Version + 1})
	wantAPIError(t, r, http.StatusConflict, "invalid_state")
	member := e.token(t, "acct-eligible")
	r = e.call(t, "POST", "/providers/"+id+"/move-plan/approve", member, map[string]any{"version": v.MovePlan.Version})
	wantAPIError(t, r, http.StatusForbidden, "admin_required")
	r = e.call(t, "POST", "/providers/"+id+"/move-plan/approve", tok, map[string]any{"version": "one"})
	wantAPIError(t, r, http.StatusBadRequest, "invalid_request")
	if st, _ := e.billing(t, tok, id).sub(ownedSub); st != "awaiting_approval" {
		t.Fatalf("refused approvals changed …0101 to %q", st)
	}
	r = e.call(t, "POST", "/providers/"+id+"/move-plan/approve", tok, map[string]any{"version": v.MovePlan.Version})
	if r.status != http.StatusAccepted {
		t.Fatalf("approve: %d %s", r.status, r.raw)
	}

	v = e.waitBilling(t, tok, id, 90*time.Second, "…0101 moved and …0103 transferred", func(v billingView) bool {
		a, _ := v.sub(ownedSub)
		b, _ := v.sub(eaSub)
		return a == "consolidated" && b == "consolidated"
	})

	// …0102: Owner granted, then its own report (a new version) and approval.
	e.control(t, "/_control/owner", map[string]any{"tenant": "contoso", "subscriptionId": missingSub, "grant": true})
	t.Cleanup(func() {
		e.control(t, "/_control/owner", map[string]any{"tenant": "contoso", "subscriptionId": missingSub, "grant": false})
	})
	v = e.waitBilling(t, tok, id, 90*time.Second, "…0102's report", func(v billingView) bool {
		st, _ := v.sub(missingSub)
		return st == "awaiting_approval" || st == "consolidated"
	})
	if st, _ := v.sub(missingSub); st == "awaiting_approval" {
		r = e.call(t, "POST", "/providers/"+id+"/move-plan/approve", tok, map[string]any{"version": v.MovePlan.Version})
		if r.status != http.StatusAccepted {
			t.Fatalf("approve version %d: %d %s", v.MovePlan.Version, r.status, r.raw)
		}
	}
	v = e.waitBilling(t, tok, id, 120*time.Second, "active", func(v billingView) bool { return v.Status == "active" })
	if v.Billing != "partially_consolidated" {
		t.Errorf("billing %q, want partially_consolidated", v.Billing)
	}
	for _, s := range v.Subscriptions {
		final := map[string]string{ownedSub: "consolidated", missingSub: "consolidated", eaSub: "consolidated", vsSub: "not_movable"}[s.ID]
		if s.State != final || (final == "consolidated" && s.ConsolidatedAt == "") {
			t.Errorf("subscription %s ended %q (consolidated at %q), want %q", s.ID, s.State, s.ConsolidatedAt, final)
		}
	}
	e.waitMessage(t, "requester@acct-eligible.example", "now under the partner's care", name, 30*time.Second)
}

// waitActive waits until the provider is active, approving each move report
// version as an organization administrator would when it is shown (tests of
// other steps whose subscriptions take the move_resources route).
func (e *env) waitActive(t *testing.T, token, id string, timeout time.Duration) providerView {
	t.Helper()
	// The route's own steps (the Azure plan, the move report, the moves)
	// follow the wait the caller allowed for its own.
	deadline := time.Now().Add(timeout + 60*time.Second)
	approved := 0
	for time.Now().Before(deadline) {
		v := e.billing(t, token, id)
		if v.Status == "active" {
			return e.get(t, token, id)
		}
		if v.MovePlan != nil && v.MovePlan.ApprovedAt == "" && v.MovePlan.Version > approved {
			for _, s := range v.Subscriptions {
				if s.State == "awaiting_approval" {
					r := e.call(t, "POST", "/providers/"+id+"/move-plan/approve", token, map[string]any{"version": v.MovePlan.Version})
					if r.status != http.StatusAccepted {
						t.Fatalf("approve move plan version %d: %d %s", v.MovePlan.Version, r.status, r.raw)
					}
					approved = v.MovePlan.Version
					break
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return e.waitStatus(t, token, id, "active", time.Second)
}
