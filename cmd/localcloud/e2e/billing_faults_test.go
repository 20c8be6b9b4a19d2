package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The billing routes' bad paths, each through the local cloud's HTTP API
// with the default scenario: a transfer request declined, one expired, a
// cancel while resources move and one while a transfer waits, Microsoft
// throttling and failing every call of the routes, and replies lost after
// Microsoft acted (the transfer's creation, a move's start).
//
// Each test starts the Microsoft double from its scenario (moves and
// transfers change the scenario's subscriptions: …0101's resources leave
// it, …0103 becomes a CSP subscription) and leaves it so, holds contoso for
// its one migration, and runs that migration in an account of its own (one
// open migration per account and tenant).

// Resource groups of …0101 in the default scenario.
const (
	webGroup   = "contoso-web"   // three resources, all move
	batchGroup = "contoso-batch" // one moves, one Microsoft refuses to move
	reps       = "azure-migrations@partner.example"
	// notMovedSubject is the subject of the email about a subscription
	// whose billing could not come under the partner.
	notMovedSubject = "Subscription billing not moved"
)

// billingCase is one migration of a billing test.
type billingCase struct {
	e    *env
	tok  string
	id   string
	name string
	acct string
}

// startBilling holds contoso, starts the Microsoft double afresh (and so
// leaves it when the test ends, after the provider was cancelled), runs
// inject, then creates a migration of subs in a new account, with the
// scenario's EA billing owner as billingAdminEmail, and does the customer's
// consent and relationships.
func startBilling(t *testing.T, inject func(e *env), subs ...string) *billingCase {
	t.Helper()
	e := cloudFor(t, "standard")
	mark := len(e.logBuf.String())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("local cloud log during the test (the API's GETs left out):\n%s", tail(quietLog(e.logBuf.String()[mark:]), 60000))
		}
	})
	e.holdContoso(t)
	e.resetMicrosoft(t)
	t.Cleanup(func() { e.resetMicrosoft(t) })
	if inject != nil {
		inject(e)
	}
	acct := e.freshAccount(t)
	tok := e.token(t, acct, "admin")
	name := t.Name() + " " + time.Now().Format("150405.000")
	body := migrate(name, subs...)
	body["billingAdminEmail"] = billingOwner
	id := e.create(t, tok, body)
	// Registered after holdContoso: runs before the tenant is released
	// (which cannot end a consolidating migration) and before the reset.
	t.Cleanup(func() {
		if e.billing(t, tok, id).Status != "cancelled" {
			e.call(t, "POST", "/providers/"+id+"/cancel", tok, nil)
		}
	})
	e.consent(t, name, "accept")
	return &billingCase{e: e, tok: tok, id: id, name: name, acct: acct}
}

// quietLog is a log without the API gateway's lines of GET requests (the
// tests' polling).
func quietLog(log string) string {
	var b strings.Builder
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "component=apigateway method=GET") || strings.Contains(line, `"route":"GET /providers/{id}"`) {
			continue
		}
		b.WriteString(line)
		b.WriteString("\n")
	}
	return b.String()
}

// resetMicrosoft puts the Microsoft double back to its scenario, faults off.
func (e *env) resetMicrosoft(t *testing.T) {
	t.Helper()
	e.control(t, "/_control/reset", map[string]any{})
}

func (c *billingCase) view(t *testing.T) billingView { return c.e.billing(t, c.tok, c.id) }

func (c *billingCase) wait(t *testing.T, timeout time.Duration, what string, done func(billingView) bool) billingView {
	t.Helper()
	return c.e.waitBilling(t, c.tok, c.id, timeout, what, done)
}

// failure is the provider's failure code and reason.
func (c *billingCase) failure(t *testing.T) (code, reason string) {
	t.Helper()
	r := c.e.call(t, "GET", "/providers/"+c.id, c.tok, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET provider: %d %s", r.status, r.raw)
	}
	code, _ = r.json["failureCode"].(string)
	reason, _ = r.json["failureReason"].(string)
	return code, reason
}

// approve approves the move plan's current version.
func (c *billingCase) approve(t *testing.T, v billingView) {
	t.Helper()
	r := c.e.call(t, "POST", "/providers/"+c.id+"/move-plan/approve", c.tok, map[string]any{"version": v.MovePlan.Version})
	if r.status != http.StatusAccepted {
		t.Fatalf("approve version %d: %d %s", v.MovePlan.Version, r.status, r.raw)
	}
}

// waitReport waits for …0101's move report.
func (c *billingCase) waitReport(t *testing.T) billingView {
	t.Helper()
	return c.wait(t, 90*time.Second, "…0101's move report", func(v billingView) bool {
		st, _ := v.sub(ownedSub)
		return st == "awaiting_approval" && v.MovePlan != nil
	})
}

// waitTransfer waits for …0103's transfer request, pending.
func (c *billingCase) waitTransfer(t *testing.T) billingView {
	t.Helper()
	return c.wait(t, 90*time.Second, "…0103's transfer request pending", func(v billingView) bool {
		i := subIndex(v, eaSub)
		return i >= 0 && v.Subscriptions[i].State == "transfer_pending" && v.Subscriptions[i].Transfer != nil
	})
}

func subIndex(v billingView, id string) int {
	for i, s := range v.Subscriptions {
		if strings.EqualFold(s.ID, id) {
			return i
		}
	}
	return -1
}

// groupState is a resource group's state in the move plan ("" when the
// plan does not have it).
func groupState(v billingView, subID, group string) string {
	if v.MovePlan == nil {
		return ""
	}
	for _, sm := range v.MovePlan.Subscriptions {
		if !strings.EqualFold(sm.SubscriptionID, subID) {
			continue
		}
		for _, g := range sm.Groups {
			if g.Name == group {
				return g.State
			}
		}
	}
	return ""
}

// timelineCount counts the timeline events containing what.
func timelineCount(v billingView, what string) int {
	n := 0
	for _, ev := range v.Timeline {
		if strings.Contains(ev.What, what) {
			n++
		}
	}
	return n
}

// microsoftState is the part of GET {microsoft}/_control/state these tests
// read.
type microsoftState struct {
	Tenants []struct {
		Name          string `json:"name"`
		Subscriptions []struct {
			ID             string `json:"id"`
			QuotaID        string `json:"quotaId"`
			ResourceGroups []struct {
				Name      string `json:"name"`
				Resources []struct {
					ID   string `json:"id"`
					Name string `json:"name"`
				} `json:"resources"`
			} `json:"resourceGroups"`
		} `json:"subscriptions"`
	} `json:"tenants"`
	Faults     []json.RawMessage `json:"faults"`
	Operations []struct {
		Kind                string   `json:"kind"`
		SourceResourceGroup string   `json:"sourceResourceGroup"`
		TargetResourceGroup string   `json:"targetResourceGroup"`
		Resources           []string `json:"resources"`
		Status              string   `json:"status"`
	} `json:"operations"`
	Transfers []struct {
		Name             string `json:"name"`
		CustomerTenantID string `json:"customerTenantId"`
		Properties       struct {
			TransferStatus   string `json:"transferStatus"`
			RecipientEmailID string `json:"recipientEmailId"`
			CanceledBy       string `json:"canceledBy"`
		} `json:"properties"`
	} `json:"transfers"`
}

func (e *env) microsoftState(t *testing.T) microsoftState {
	t.Helper()
	var st microsoftState
	e.controlGet(t, "/_control/state", &st)
	return st
}

// resources are the names of the resources in a subscription's resource
// group now (nil when there is no such group).
func (st microsoftState) resources(sub, group string) []string {
	for _, tn := range st.Tenants {
		for _, s := range tn.Subscriptions {
			if !strings.EqualFold(s.ID, sub) {
				continue
			}
			for _, g := range s.ResourceGroups {
				if strings.EqualFold(g.Name, group) {
					out := []string{}
					for _, r := range g.Resources {
						out = append(out, r.Name)
					}
					return out
				}
			}
		}
	}
	return nil
}

// moves are the moveResources operations out of a subscription's group
// (validations left out).
func (st microsoftState) moves(sub, group string) (running, succeeded, failed int) {
	src := strings.ToLower("/subscriptions/" + sub + "/resourceGroups/" + group)
	for _, op := range st.Operations {
		if op.Kind != "moveResources" || strings.ToLower(op.SourceResourceGroup) != src {
			continue
		}
		switch op.Status {
		case "Running":
			running++
		case "Succeeded":
			succeeded++
		default:
			failed++
		}
	}
	return running, succeeded, failed
}

// wantOneEmailEach checks that the billing owner and the representatives
// each got exactly one email about a subscription of this migration whose
// billing could not come under the partner, saying why (because).
func (c *billingCase) wantOneEmailEach(t *testing.T, because string) {
	t.Helper()
	for _, to := range []string{billingOwner, reps} {
		m := c.e.waitMessage(t, to, notMovedSubject, c.id, 30*time.Second)
		if !strings.Contains(m.Subject, "Contoso Enterprise") || !strings.Contains(strings.ToLower(m.Text), because) {
			t.Errorf("email to %s does not say which subscription and why (%q): %q\n%s", to, because, m.Subject, m.Text)
		}
	}
	time.Sleep(time.Second) // give a duplicate a moment to surface
	for _, to := range []string{billingOwner, reps} {
		if n := c.e.countMessages(t, to, notMovedSubject, c.id); n != 1 {
			t.Errorf("%d emails to %s about the failed subscription, want exactly 1", n, to)
		}
	}
}

// TestBillingTransferDeclined: the billing owner declines the only
// subscription's transfer request: the subscription fails with the reason,
// the billing owner and the representatives each get one email about it,
// and the provider fails (billing_not_consolidated): nothing could come
// under the partner.
func TestBillingTransferDeclined(t *testing.T) {
	c := startBilling(t, nil, eaSub)
	v := c.waitTransfer(t)
	transfer := v.Subscriptions[subIndex(v, eaSub)].Transfer.Name
	c.e.control(t, "/_control/transfer", map[string]any{"subscriptionId": eaSub, "action": "decline"})

	v = c.wait(t, 90*time.Second, "failed", func(v billingView) bool { return v.Status == "failed" })
	s := v.Subscriptions[subIndex(v, eaSub)]
	if s.State != "failed" || !strings.Contains(s.FailureReason, "declined") || s.Transfer == nil || s.Transfer.Status != "Declined" || s.Transfer.Name != transfer {
		t.Errorf("…0103 after the decline: state %q, reason %q, transfer %+v", s.State, s.FailureReason, s.Transfer)
	}
	if s.ConsolidatedAt != "" || v.Billing == "consolidated" || v.Billing == "partially_consolidated" {
		t.Errorf("billing %q, consolidated at %q after the only transfer was declined", v.Billing, s.ConsolidatedAt)
	}
	if code, reason := c.failure(t); code != "billing_not_consolidated" || reason == "" {
		t.Errorf("failure code %q, reason %q; want billing_not_consolidated", code, reason)
	}
	for _, st := range v.Steps {
		if st.Name == "transfer_acceptance" && st.SubscriptionID == eaSub && (st.Status != "failed" || st.State != "Declined") {
			t.Errorf("transfer step after the decline: %+v", st)
		}
	}
	if n := timelineCount(v, "the billing transfer request is Declined"); n != 1 {
		t.Errorf("%d timeline events of the decline, want 1: %+v", n, v.Timeline)
	}
	c.wantOneEmailEach(t, "declined")
	m := c.e.waitMessage(t, "requester@"+c.acct+".example", "did not complete", c.name, 30*time.Second)
	if !strings.Contains(m.Text, "declined") {
		t.Errorf("the requester's failure email does not say the transfer was declined:\n%s", m.Text)
	}
}

// TestBillingTransferExpired: …0103's transfer request expires while
// …0101's resources move: …0103 fails with the reason (one email each to
// the billing owner and the representatives), …0101 is consolidated once
// its approved groups moved, and the provider ends active,
// partially_consolidated.
func TestBillingTransferExpired(t *testing.T) {
	c := startBilling(t, nil, ownedSub, eaSub)
	c.waitTransfer(t)
	c.e.control(t, "/_control/transfer", map[string]any{"subscriptionId": eaSub, "action": "expire"})
	v := c.wait(t, 90*time.Second, "…0103 failed", func(v billingView) bool {
		st, _ := v.sub(eaSub)
		return st == "failed"
	})
	s := v.Subscriptions[subIndex(v, eaSub)]
	if !strings.Contains(s.FailureReason, "expired") || s.Transfer == nil || s.Transfer.Status != "Expired" {
		t.Errorf("…0103 after the expiry: reason %q, transfer %+v", s.FailureReason, s.Transfer)
	}
	if v.Status != "consolidating" && v.Status != "awaiting_owner_access" {
		t.Errorf("status %q while …0101 is on its way", v.Status)
	}

	c.approve(t, c.waitReport(t))
	v = c.wait(t, 120*time.Second, "active", func(v billingView) bool { return v.Status == "active" })
	if v.Billing != "partially_consolidated" {
		t.Errorf("billing %q, want partially_consolidated", v.Billing)
	}
	if st, _ := v.sub(ownedSub); st != "consolidated" {
		t.Errorf("…0101 ended %q, want consolidated", st)
	}
	if st, _ := v.sub(eaSub); st != "failed" {
		t.Errorf("…0103 ended %q, want failed", st)
	}
	c.wantOneEmailEach(t, "expired")
	st := c.e.microsoftState(t)
	if got := st.resources(ownedSub, webGroup); len(got) != 0 {
		t.Errorf("%s still holds %v after its move", webGroup, got)
	}
}

// TestBillingCancelDuringMove: the move plan is approved and the first
// group's move is under way (Resource Manager throttles its start, so the
// second group is still planned) when the migration is cancelled: the
// provider is cancelled, the timeline says the running move was not
// stopped, and the group not yet started never moves.
func TestBillingCancelDuringMove(t *testing.T) {
	c := startBilling(t, nil, ownedSub)
	v := c.waitReport(t)
	if groupState(v, ownedSub, webGroup) != "planned" || groupState(v, ownedSub, batchGroup) != "planned" {
		t.Fatalf("move plan before approval: %+v", v.MovePlan)
	}
	t.Cleanup(func() { c.e.control(t, "/_control/faults", map[string]any{"call": "*", "off": true}) })
	c.e.control(t, "/_control/faults", map[string]any{"call": "moveResources.move", "status": 429, "retryAfter": 6, "count": 1})
	c.approve(t, v)
	c.wait(t, 60*time.Second, webGroup+" moving, "+batchGroup+" planned", func(v billingView) bool {
		return groupState(v, ownedSub, webGroup) == "moving" && groupState(v, ownedSub, batchGroup) == "planned"
	})
	if r := c.e.call(t, "POST", "/providers/"+c.id+"/cancel", c.tok, nil); r.status >= 300 {
		t.Fatalf("cancel: %d %s", r.status, r.raw)
	}

	// The run that was starting the first move goes on (its start is
	// retried after Retry-After): wait until Azure ran that move, then a
	// moment for anything the run would start after it.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if running, done, failed := c.e.microsoftState(t).moves(ownedSub, webGroup); running == 0 && done+failed > 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)

	v = c.view(t)
	if v.Status != "cancelled" {
		t.Errorf("status %q after the cancel, want cancelled", v.Status)
	}
	if n := timelineCount(v, "resource group "+webGroup+" was already accepted by Azure and is not stopped by the cancel"); n != 1 {
		t.Errorf("%d timeline events saying the move of %s was not stopped, want 1: %+v", n, webGroup, v.Timeline)
	}
	if n := timelineCount(v, "resource group "+batchGroup+" was already accepted"); n != 0 {
		t.Errorf("the timeline says %s was moving: %+v", batchGroup, v.Timeline)
	}
	if g := groupState(v, ownedSub, batchGroup); g != "planned" {
		t.Errorf("%s is %q after the cancel, want planned (never started)", batchGroup, g)
	}
	st := c.e.microsoftState(t)
	if running, done, failed := st.moves(ownedSub, batchGroup); running+done+failed != 0 {
		t.Errorf("%s was moved after the cancel: %d running, %d done, %d failed moves at Azure", batchGroup, running, done, failed)
	}
	if got := st.resources(ownedSub, batchGroup); len(got) != 2 {
		t.Errorf("%s holds %v after the cancel, want its two resources", batchGroup, got)
	}
	if running, done, failed := st.moves(ownedSub, webGroup); running+done+failed > 1 {
		t.Errorf("%s moved %d times", webGroup, running+done+failed)
	}
}

// TestBillingCancelTransferPending: the migration is cancelled while
// …0103's transfer request waits for the billing owner: the request is
// Canceled at Azure billing, and the subscription records it.
func TestBillingCancelTransferPending(t *testing.T) {
	c := startBilling(t, nil, eaSub)
	v := c.waitTransfer(t)
	name := v.Subscriptions[subIndex(v, eaSub)].Transfer.Name
	if r := c.e.call(t, "POST", "/providers/"+c.id+"/cancel", c.tok, nil); r.status >= 300 {
		t.Fatalf("cancel: %d %s", r.status, r.raw)
	}
	deadline := time.Now().Add(30 * time.Second)
	status, canceledBy, count := "", "", 0
	for time.Now().Before(deadline) {
		st := c.e.microsoftState(t)
		count = len(st.Transfers)
		for _, tr := range st.Transfers {
			if tr.Name == name {
				status, canceledBy = tr.Properties.TransferStatus, tr.Properties.CanceledBy
			}
		}
		if status == "Canceled" {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if status != "Canceled" || canceledBy == "" || count != 1 {
		t.Fatalf("the transfer request %s at Azure billing: %q (canceled by %q), %d requests; want one, Canceled", name, status, canceledBy, count)
	}
	v = c.wait(t, 30*time.Second, "the cancelled transfer recorded", func(v billingView) bool {
		s := v.Subscriptions[subIndex(v, eaSub)]
		return s.Transfer != nil && s.Transfer.Status == "Canceled"
	})
	s := v.Subscriptions[subIndex(v, eaSub)]
	if v.Status != "cancelled" || s.State != "failed" || !strings.Contains(s.FailureReason, "cancelled") || s.Transfer.Name != name {
		t.Errorf("after the cancel: status %q, …0103 %q (%q), transfer %+v", v.Status, s.State, s.FailureReason, s.Transfer)
	}
	if n := timelineCount(v, "Azure billing reports the transfer request Canceled"); n != 1 {
		t.Errorf("%d timeline events of the cancelled transfer, want 1: %+v", n, v.Timeline)
	}
}

// TestBillingFaultsRetried: Azure billing, Resource Manager and Partner
// Center throttle (429 with Retry-After) and fail (5xx) each call of the
// billing routes, one kind beyond the clients' own retries: the migration
// still completes (…0103 transferred, …0101 moved), with one transfer
// request, one move per resource group and one move report version.
func TestBillingFaultsRetried(t *testing.T) {
	kinds := []string{
		"transfers.initiate", "transfers.get",
		"moveResources.validate", "moveResources.move", "moveResources.operation",
		"partnerCenter.subscriptions", "partnerCenter.azureEntitlements", "partnerCenter.carts", "partnerCenter.checkout",
	}
	c := startBilling(t, func(e *env) {
		t.Cleanup(func() { e.control(t, "/_control/faults", map[string]any{"call": "*", "off": true}) })
		// A 5xx first (the client's first back-off is the shortest), then
		// 429 with Retry-After.
		for i, k := range kinds {
			e.control(t, "/_control/faults", map[string]any{"call": k, "status": []int{500, 502, 503, 504}[i%4], "count": 1})
			e.control(t, "/_control/faults", map[string]any{"call": k, "status": 429, "retryAfter": 1, "count": 1})
		}
		// More throttling than the client retries (five attempts): the
		// run fails and the workflow runs it again.
		e.control(t, "/_control/faults", map[string]any{"call": "transfers.initiate", "status": 429, "retryAfter": 1, "count": 5})
	}, ownedSub, eaSub)

	c.waitTransfer(t)
	c.e.control(t, "/_control/transfer", map[string]any{"subscriptionId": eaSub, "action": "accept"})
	v := c.waitReport(t)
	if v.MovePlan.Version != 1 {
		t.Errorf("move report version %d, want 1: a retried validation made a new report", v.MovePlan.Version)
	}
	c.approve(t, v)
	v = c.wait(t, 180*time.Second, "active", func(v billingView) bool { return v.Status == "active" })
	if v.Billing != "consolidated" {
		t.Errorf("billing %q, want consolidated", v.Billing)
	}
	for _, id := range []string{ownedSub, eaSub} {
		if st, _ := v.sub(id); st != "consolidated" {
			t.Errorf("%s ended %q, want consolidated", id, st)
		}
	}
	if v.MovePlan.Version != 1 {
		t.Errorf("move plan version %d at the end, want 1", v.MovePlan.Version)
	}
	st := c.e.microsoftState(t)
	if len(st.Faults) != 0 {
		t.Errorf("faults never met (the calls were not made?): %s", st.Faults)
	}
	wantOnce(t, c, st)
}

// wantOnce checks that nothing was done twice at Microsoft: at most one
// transfer request, and each of …0101's groups moved by exactly one
// operation, its resources in the target and only the refused one left.
func wantOnce(t *testing.T, c *billingCase, st microsoftState) {
	t.Helper()
	if len(st.Transfers) > 1 {
		t.Errorf("%d transfer requests at Azure billing, want at most 1", len(st.Transfers))
	}
	for _, g := range []string{webGroup, batchGroup} {
		running, done, failed := st.moves(ownedSub, g)
		if running != 0 || done != 1 || failed != 0 {
			t.Errorf("%s: %d running, %d succeeded, %d failed moves at Azure; want exactly one, succeeded", g, running, done, failed)
		}
	}
	if got := st.resources(ownedSub, webGroup); len(got) != 0 {
		t.Errorf("%s still holds %v", webGroup, got)
	}
	if got := st.resources(ownedSub, batchGroup); len(got) != 1 || got[0] != "contoso-batch-jobs" {
		t.Errorf("%s holds %v, want only the resource Microsoft refuses to move", batchGroup, got)
	}
	v := c.view(t)
	for _, g := range []string{webGroup, batchGroup} {
		if s := groupState(v, ownedSub, g); s != "moved" {
			t.Errorf("%s is %q, want moved", g, s)
		}
		if n := timelineCount(v, "resource group "+g+" moved"); n != 1 {
			t.Errorf("%d timeline events of %s's move, want 1", n, g)
		}
	}
	if target := v.MovePlan.Target; target != "" {
		if got := st.resources(target, webGroup); len(got) != 3 {
			t.Errorf("the target's %s holds %v, want the three moved resources", webGroup, got)
		}
	}
}

// TestBillingTransferReplyLost: the reply to the transfer request's
// creation is lost (the request was made): exactly one request exists, the
// one the subscription follows, and its acceptance consolidates the
// subscription.
func TestBillingTransferReplyLost(t *testing.T) {
	c := startBilling(t, func(e *env) {
		t.Cleanup(func() { e.control(t, "/_control/faults", map[string]any{"call": "*", "off": true}) })
		e.control(t, "/_control/faults", map[string]any{"call": "transfers.initiate", "dropReply": true, "count": 1})
	}, eaSub)
	v := c.waitTransfer(t)
	name := v.Subscriptions[subIndex(v, eaSub)].Transfer.Name
	st := c.e.microsoftState(t)
	if len(st.Faults) != 0 {
		t.Fatalf("the lost reply was not injected: %s", st.Faults)
	}
	if len(st.Transfers) != 1 || st.Transfers[0].Name != name || st.Transfers[0].Properties.RecipientEmailID != billingOwner {
		t.Fatalf("transfer requests at Azure billing: %+v; want one, %s to %s", st.Transfers, name, billingOwner)
	}
	c.e.control(t, "/_control/transfer", map[string]any{"transferId": name, "action": "accept"})
	v = c.wait(t, 90*time.Second, "active", func(v billingView) bool { return v.Status == "active" })
	if st, _ := v.sub(eaSub); st != "consolidated" || v.Billing != "consolidated" {
		t.Errorf("…0103 %q, billing %q; want consolidated", st, v.Billing)
	}
	if st := c.e.microsoftState(t); len(st.Transfers) != 1 {
		t.Errorf("%d transfer requests at the end, want 1", len(st.Transfers))
	}
}

// TestBillingMoveReplyLost: Resource Manager accepts the first group's
// move but its reply is lost (the connection is cut), and the run after
// the approval crashes: each group moves exactly once (a second start is
// refused while the first runs, and not needed once it ended: the
// resources are found in the target), every group ends moved and the
// subscription consolidated.
func TestBillingMoveReplyLost(t *testing.T) {
	c := startBilling(t, nil, ownedSub)
	v := c.waitReport(t)
	t.Cleanup(func() { c.e.control(t, "/_control/faults", map[string]any{"call": "*", "off": true}) })
	c.e.control(t, "/_control/faults", map[string]any{"call": "moveResources.move", "dropReply": true, "count": 1})
	c.approve(t, v)
	if err := c.e.c.Host().KillNext("AdvanceSubscriptionFunction", 1); err != nil {
		t.Fatal(err)
	}
	v = c.wait(t, 120*time.Second, "active", func(v billingView) bool { return v.Status == "active" })
	if st, _ := v.sub(ownedSub); st != "consolidated" || v.Billing != "consolidated" {
		t.Errorf("…0101 %q, billing %q; want consolidated", st, v.Billing)
	}
	st := c.e.microsoftState(t)
	if len(st.Faults) != 0 {
		t.Errorf("the lost reply was not injected: %s", st.Faults)
	}
	wantOnce(t, c, st)
}
