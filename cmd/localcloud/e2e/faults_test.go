package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Fault injection: each test switches one fault on in the faults cloud (a
// day in under nine seconds: the invitation's 14 days outlast a consent
// slowed by the fault's retries), runs a migration of the subscription the partner already owns
// (consent is the only step the customer takes), and checks that it still
// ends active with nothing lost or done twice: one invitation email, one
// completion email, one timeline event per change.
//
// These tests must not run in parallel with others on the faults cloud: the
// switches are cloud-wide. None calls t.Parallel, so Go runs them before any
// parallel test resumes.

// faultRun runs one migration with a fault switched on by inject (after the
// provider is created) and checks the outcome.
func faultRun(t *testing.T, inject func(e *env)) {
	t.Helper()
	e := cloudFor(t, "faults")
	e.holdContoso(t) // hold the tenant before the invitation's days start passing
	mark := len(e.logBuf.String())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("local cloud log during the test:\n%s", tail(e.logBuf.String()[mark:], 30000))
		}
	})
	tok := e.token(t, "acct-eligible", "admin")
	name := t.Name() + " " + time.Now().Format("150405.000")
	inject(e)
	id := e.createRetrying(t, tok, name)
	e.consentRetrying(t, name)
	p := e.waitActive(t, tok, id, 60*time.Second)
	// The completion email follows the status change; then give any
	// duplicate a moment to surface.
	e.waitMessage(t, "requester@acct-eligible.example", "now under the partner's care", name, 30*time.Second)
	time.Sleep(time.Second)

	// Reminders (day 3 is 26 s here) may go out while a fault slows the
	// consent down; the invitation itself must go out exactly once.
	invitations := 0
	for _, m := range e.messages(t) {
		if len(m.To) > 0 && m.To[0] == contosoAdmin && strings.Contains(m.Text, name) && strings.Contains(m.Subject, "approve moving") && !strings.HasPrefix(m.Subject, "Reminder:") {
			invitations++
		}
	}
	if invitations != 1 {
		t.Errorf("%d invitation emails, want exactly 1", invitations)
	}
	if n := e.countMessages(t, "requester@acct-eligible.example", "now under the partner's care", name); n != 1 {
		t.Errorf("%d completion emails, want exactly 1", n)
	}
	counts := map[string]int{}
	for _, ev := range p.Timeline {
		for _, key := range []string{"Provider created", "Consent email sent", "consented in tenant", "Migration complete"} {
			if strings.Contains(ev.What, key) {
				counts[key]++
			}
		}
	}
	for _, key := range []string{"Provider created", "Consent email sent", "consented in tenant", "Migration complete"} {
		if counts[key] != 1 {
			t.Errorf("timeline has %d %q events, want 1: %+v", counts[key], key, p.Timeline)
		}
	}
	if p.Billing != "consolidated" || len(p.Subscriptions) != 1 || p.Subscriptions[0].State != "consolidated" {
		t.Errorf("active provider %+v", p)
	}
}

// consentRetrying does the administrator's path as a person would under a
// fault: when a page says something went wrong, open the link again.
func (e *env) consentRetrying(t *testing.T, name string) {
	t.Helper()
	link := e.consentLink(t, e.waitMessage(t, contosoAdmin, "approve moving", name, 20*time.Second))
	var result page
	for attempt := 1; attempt <= 4; attempt++ {
		if result = e.fetch(t, "GET", link, nil); result.status == 200 {
			result = e.signIn(t, e.microsoftLink(t, result), contosoAdmin, "accept")
		}
		if result.status == 200 && strings.Contains(result.text(), "Thank you") {
			e.acceptRelationshipsFor(t, name)
			return
		}
		t.Logf("consent attempt %d: %d %s", attempt, result.status, tail(result.text(), 300))
	}
	t.Fatalf("the consent did not complete: %d %s", result.status, result.text())
}

// createRetrying creates a provider as a careful client does: with an
// Idempotency-Key, retrying on 5xx.
func (e *env) createRetrying(t *testing.T, tok, name string) string {
	t.Helper()
	key := "fault-" + strings.NewReplacer(" ", "-", "/", "-").Replace(name)
	for attempt := 0; attempt < 5; attempt++ {
		r := e.call(t, "POST", "/providers", tok, migrate(name, ownedSub), "Idempotency-Key", key)
		if r.status == http.StatusAccepted {
			return r.json["id"].(string)
		}
		if r.status < 500 {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("create kept failing")
	return ""
}

func TestFaultFunctionCrashes(t *testing.T) {
	for _, fn := range []string{"CreateProviderFunction", "RequestRelationshipFunction", "ConsentInviteFunction", "CheckRelationshipsFunction", "ClassifySubscriptionsFunction", "AdvanceSubscriptionFunction", "RecordOutcomeFunction"} {
		t.Run(fn, func(t *testing.T) {
			faultRun(t, func(e *env) {
				if err := e.c.Host().KillNext(fn, 1); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

func TestFaultDynamoDB(t *testing.T) {
	for _, kind := range []string{"throttle", "internal"} {
		t.Run(kind, func(t *testing.T) {
			e := cloudFor(t, "faults")
			t.Cleanup(func() { e.c.DynamoFaults().Set(0, "") })
			faultRun(t, func(e *env) { e.c.DynamoFaults().Set(0.3, kind) })
			if e.c.DynamoFaults().Failed() == 0 {
				t.Fatal("no DynamoDB call was failed: the fault was not injected")
			}
		})
	}
}

func TestFaultSESThrottling(t *testing.T) {
	faultRun(t, func(e *env) { e.c.Outbox().ThrottleNext(2) })
}

func TestFaultAzureThrottling(t *testing.T) {
	faultRun(t, func(e *env) {
		e.control(t, "/_control/faults", map[string]any{"call": "roleAssignments", "status": 429, "retryAfter": 1, "count": 2})
		e.control(t, "/_control/faults", map[string]any{"call": "subscriptions", "status": 503, "count": 1})
	})
}

func TestFaultSendTaskSuccess(t *testing.T) {
	for _, n := range []int{1, 20} { // once (the SDK retries); and more than the callback's retries
		t.Run(map[int]string{1: "once", 20: "persistently"}[n], func(t *testing.T) {
			faultRun(t, func(e *env) { e.c.Engine().FailNext("SendTaskSuccess", n) })
		})
	}
}

// TestFaultGraphAndPartnerCenter: Microsoft Graph and Partner Center throttle
// (429 with Retry-After) or fail (5xx) while the relationship is requested
// and checked: the clients retry, the state machine retries what still
// fails, and the migration completes with one relationship.
func TestFaultGraphAndPartnerCenter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults []map[string]any
	}{
		{"Graph 429 with Retry-After", []map[string]any{{"call": "graph", "status": 429, "retryAfter": 1, "count": 3}}},
		{"Graph 5xx beyond the client's retries", []map[string]any{{"call": "graph.getRelationship", "status": 503, "count": 6}}},
		{"Partner Center 429 and 5xx", []map[string]any{
			{"call": "partnerCenter.customer", "status": 429, "retryAfter": 1, "count": 2},
			{"call": "partnerCenter.customer", "status": 500, "count": 6},
		}},
		{"a lost reply to the relationship's creation", []map[string]any{{"call": "graph.createRelationship", "status": 500, "dropReply": true, "count": 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e *env
			faultRun(t, func(env *env) {
				e = env
				t.Cleanup(func() { e.control(t, "/_control/faults", map[string]any{"call": "*", "off": true}) })
				for _, f := range tc.faults {
					e.control(t, "/_control/faults", f)
				}
			})
			// One relationship for the provider, whatever was retried.
			var st struct {
				Relationships []struct {
					DisplayName string `json:"displayName"`
				} `json:"relationships"`
			}
			e.controlGet(t, "/_control/state", &st)
			names := map[string]int{}
			for _, r := range st.Relationships {
				names[r.DisplayName]++
			}
			for name, n := range names {
				if n > 1 {
					t.Errorf("%d relationships named %q", n, name)
				}
			}
		})
	}
}
