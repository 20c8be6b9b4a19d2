package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// moveGroupView is a resource group of the move plan, with how its move
// ended.
type moveGroupView struct {
	Name    string   `json:"name"`
	Moves   []string `json:"moves"`
	State   string   `json:"state"`
	Failure *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"failure"`
	InTarget []string `json:"inTarget"`
	InSource []string `json:"inSource"`
	Missing  []string `json:"missing"`
}

// moveGroup reads one group of the provider's move plan.
func (c *billingCase) moveGroup(t *testing.T, subID, name string) moveGroupView {
	t.Helper()
	r := c.e.call(t, "GET", "/providers/"+c.id, c.tok, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET provider: %d %s", r.status, r.raw)
	}
	var v struct {
		MovePlan *struct {
			Subscriptions []struct {
				SubscriptionID string          `json:"subscriptionId"`
				Groups         []moveGroupView `json:"resourceGroups"`
			} `json:"subscriptions"`
		} `json:"movePlan"`
	}
	if err := json.Unmarshal([]byte(r.raw), &v); err != nil || v.MovePlan == nil {
		t.Fatalf("move plan: %v %s", err, r.raw)
	}
	for _, sm := range v.MovePlan.Subscriptions {
		if strings.EqualFold(sm.SubscriptionID, subID) {
			for _, g := range sm.Groups {
				if g.Name == name {
					return g
				}
			}
		}
	}
	t.Fatalf("no group %s of %s in the move plan: %s", name, subID, r.raw)
	return moveGroupView{}
}

// TestBillingMoveFailsHalfWay: the move plan of …0101 is approved and the
// long-running operation of its first group's move (contoso-web, three
// resources) ends failed at Resource Manager after moving one resource
// (409 ResourceMoveFailed). The group records Microsoft's code and message
// and where each resource is (one in the target, two in the source); it is
// not asked to move again; the other group moves; …0101 fails with the
// reason and is not consolidated; the representatives and the customer's
// Azure administrator each get one email saying what moved; and, …0103's
// transfer accepted, the provider ends active, partially_consolidated,
// its timeline and the requester's email saying what happened.
func TestBillingMoveFailsHalfWay(t *testing.T) {
	c := startBilling(t, nil, ownedSub, eaSub)
	c.waitTransfer(t)
	c.e.control(t, "/_control/transfer", map[string]any{"subscriptionId": eaSub, "action": "accept"})
	v := c.waitReport(t)
	if groupState(v, ownedSub, webGroup) != "planned" || groupState(v, ownedSub, batchGroup) != "planned" {
		t.Fatalf("move plan before approval: %+v", v.MovePlan)
	}
	web := c.moveGroup(t, ownedSub, webGroup)
	if len(web.Moves) != 3 {
		t.Fatalf("%s plans to move %v, want its three resources", webGroup, web.Moves)
	}
	t.Cleanup(func() { c.e.control(t, "/_control/faults", map[string]any{"call": "*", "off": true}) })
	c.e.control(t, "/_control/faults", map[string]any{"call": "moveResources.operation", "status": 409, "code": "ResourceMoveFailed", "moved": 1, "count": 1})
	c.approve(t, v)

	v = c.wait(t, 120*time.Second, "active", func(v billingView) bool { return v.Status == "active" })

	// What Microsoft reported, and where the resources are.
	st := c.e.microsoftState(t)
	if len(st.Faults) != 0 {
		t.Fatalf("the failure was not injected: %s", st.Faults)
	}
	var opErr struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	var opMoved []string
	for _, op := range c.e.microsoftOperations(t) {
		if op.Kind == "moveResources" && strings.EqualFold(op.SourceResourceGroup, "/subscriptions/"+ownedSub+"/resourceGroups/"+webGroup) {
			_ = json.Unmarshal(op.Error, &opErr)
			opMoved = op.Moved
		}
	}
	if opErr.Code != "ResourceMoveFailed" || len(opMoved) != 1 {
		t.Fatalf("the double's failed operation: %+v, moved %v", opErr, opMoved)
	}
	if running, done, failed := st.moves(ownedSub, webGroup); running != 0 || done != 0 || failed != 1 {
		t.Errorf("%s: %d running, %d succeeded, %d failed moves at Azure; want the one failed move, never asked again", webGroup, running, done, failed)
	}
	if running, done, failed := st.moves(ownedSub, batchGroup); running != 0 || done != 1 || failed != 0 {
		t.Errorf("%s: %d running, %d succeeded, %d failed moves at Azure; want one, succeeded", batchGroup, running, done, failed)
	}
	left := st.resources(ownedSub, webGroup)
	arrived := st.resources(v.MovePlan.Target, webGroup)
	if len(left) != 2 || len(arrived) != 1 {
		t.Fatalf("at Azure: %s holds %v in the source and %v in the target; want 2 and 1", webGroup, left, arrived)
	}

	// The provider records it: the group failed with Microsoft's code and
	// message, the moved resource in the target, the others in the source.
	web = c.moveGroup(t, ownedSub, webGroup)
	if web.State != "failed" || web.Failure == nil || web.Failure.Code != "ResourceMoveFailed" || web.Failure.Message != opErr.Message {
		t.Errorf("%s: %s, failure %+v; want failed with Microsoft's %+v", webGroup, web.State, web.Failure, opErr)
	}
	if len(web.InTarget) != 1 || !strings.EqualFold(web.InTarget[0], opMoved[0]) || !strings.HasSuffix(strings.ToLower(web.InTarget[0]), "/"+strings.ToLower(arrived[0])) {
		t.Errorf("%s in the target: %v; Azure moved %v (%v in the target)", webGroup, web.InTarget, opMoved, arrived)
	}
	if len(web.InSource) != 2 || len(web.Missing) != 0 {
		t.Errorf("%s in the source: %v, missing %v; Azure holds %v in the source", webGroup, web.InSource, web.Missing, left)
	}
	for _, id := range web.InSource {
		found := false
		for _, name := range left {
			found = found || strings.HasSuffix(strings.ToLower(id), "/"+strings.ToLower(name))
		}
		if !found {
			t.Errorf("%s is said to be in the source; Azure holds %v there", id, left)
		}
	}
	if g := c.moveGroup(t, ownedSub, batchGroup); g.State != "moved" || g.Failure != nil {
		t.Errorf("%s: %+v, want moved", batchGroup, g)
	}

	// …0101 failed with the reason, nothing claimed consolidated; …0103
	// consolidated; the provider active, partially_consolidated.
	s := v.Subscriptions[subIndex(v, ownedSub)]
	for _, w := range []string{"resource group " + webGroup + " failed", "(ResourceMoveFailed)", "1 of its 3 resources moved into the partner's Azure plan subscription before it failed; 2 stay in the subscription"} {
		if !strings.Contains(s.FailureReason, w) {
			t.Errorf("…0101's reason %q does not say %q", s.FailureReason, w)
		}
	}
	if s.State != "failed" || s.ConsolidatedAt != "" {
		t.Errorf("…0101 ended %q (consolidated at %q), want failed", s.State, s.ConsolidatedAt)
	}
	if st, _ := v.sub(eaSub); st != "consolidated" {
		t.Errorf("…0103 ended %q, want consolidated", st)
	}
	if v.Billing != "partially_consolidated" {
		t.Errorf("billing %q, want partially_consolidated", v.Billing)
	}
	for _, st := range v.Steps {
		if st.Name == "move_approval" && st.SubscriptionID == ownedSub && st.State != "approved" {
			t.Errorf("…0101's approval step %+v", st)
		}
	}
	if n := timelineCount(v, "the move of resource group "+webGroup+" failed: "); n != 1 {
		t.Errorf("%d timeline events of %s's failed move, want 1: %+v", n, webGroup, v.Timeline)
	}
	if n := timelineCount(v, "resource group "+webGroup+" moved"); n != 0 {
		t.Errorf("the timeline says %s moved: %+v", webGroup, v.Timeline)
	}
	if n := timelineCount(v, "resource group "+batchGroup+" moved"); n != 1 {
		t.Errorf("%d timeline events of %s's move, want 1", n, batchGroup)
	}

	// One email each to the representatives and to the customer's Azure
	// administrator (who owns the resources), saying what moved; none to
	// the billing owner, whose transfer went through.
	for _, to := range []string{reps, contosoAdmin} {
		m := c.e.waitMessage(t, to, notMovedSubject, c.id, 30*time.Second)
		for _, w := range []string{"ResourceMoveFailed", "1 of the 3 resources of resource group " + webGroup + " are now in the partner's Azure plan subscription"} {
			if !strings.Contains(m.Text, w) {
				t.Errorf("email to %s does not say %q:\n%s", to, w, m.Text)
			}
		}
		if strings.Contains(m.Text, "Nothing changed") {
			t.Errorf("email to %s says nothing changed:\n%s", to, m.Text)
		}
	}
	time.Sleep(time.Second) // give a duplicate a moment to surface
	for to, want := range map[string]int{reps: 1, contosoAdmin: 1, billingOwner: 0} {
		if n := c.e.countMessages(t, to, notMovedSubject, c.id); n != want {
			t.Errorf("%d emails to %s about the failed subscription, want %d", n, to, want)
		}
	}
	m := c.e.waitMessage(t, "requester@"+c.acct+".example", "now under the partner's care", c.name, 30*time.Second)
	if !strings.Contains(m.Text, "not billed by the partner") || !strings.Contains(m.Text, "ResourceMoveFailed") {
		t.Errorf("the requester's email does not say …0101 failed and why:\n%s", m.Text)
	}
}

// operationView is a move operation of GET {microsoft}/_control/state,
// with its error and what a failed move moved.
type operationView struct {
	Kind                string          `json:"kind"`
	SourceResourceGroup string          `json:"sourceResourceGroup"`
	Status              string          `json:"status"`
	Error               json.RawMessage `json:"error"`
	Moved               []string        `json:"moved"`
}

func (e *env) microsoftOperations(t *testing.T) []operationView {
	t.Helper()
	var st struct {
		Operations []operationView `json:"operations"`
	}
	e.controlGet(t, "/_control/state", &st)
	return st.Operations
}
