package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/partnercloud/azure/shared/providerevents"
)

// healthView is the provider's health as GET /providers/{id} shows it.
type healthView struct {
	Status   string `json:"status"`
	Findings []struct {
		What  string    `json:"what"`
		Since time.Time `json:"since"`
		Do    string    `json:"do"`
	} `json:"findings"`
	CheckedAt time.Time `json:"checkedAt"`
}

func (e *env) health(t *testing.T, token, id string) (string, *healthView) {
	t.Helper()
	r := e.call(t, "GET", "/providers/"+id, token, nil)
	if r.status != 200 {
		t.Fatalf("GET /providers/%s: %d %s", id, r.status, r.raw)
	}
	var p struct {
		Status string      `json:"status"`
		Health *healthView `json:"health"`
	}
	if err := json.Unmarshal(r.raw, &p); err != nil {
		t.Fatal(err)
	}
	return p.Status, p.Health
}

func (e *env) waitHealth(t *testing.T, token, id, status string, timeout time.Duration) *healthView {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var h *healthView
	for time.Now().Before(deadline) {
		var st string
		if st, h = e.health(t, token, id); st != "active" {
			t.Fatalf("provider %s is %s: a health check changes only the health", id, st)
		}
		if h != nil && h.Status == status {
			return h
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("provider %s: health %s not reached in %v; last %+v\nlogs:\n%s", id, status, timeout, h, tail(e.logBuf.String(), 6000))
	return nil
}

// healthChanges are the provider's Provider Health Changed events, each
// "old→new" (old "null" for the first, new "attention" followed by its
// findings), validated against the schema. Every event must be on the bus
// once: an eventId listed twice is an error, not dropped.
func (e *env) healthChanges(t *testing.T, id string) []string {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(providerevents.Schema(providerevents.DetailTypeHealth)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("mem://schemas/health.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("mem://schemas/health.json")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	seen := map[string]bool{}
	for _, ev := range e.busEvents(t, id) {
		if ev.DetailType != providerevents.DetailTypeHealth {
			continue
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(ev.Detail))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(v); err != nil {
			t.Errorf("detail does not follow its schema: %v\n%s", err, ev.Detail)
		}
		var d providerevents.HealthChanged
		_ = json.Unmarshal(ev.Detail, &d)
		if seen[d.EventID] {
			t.Errorf("event %s published twice:\n%s", d.EventID, ev.Detail)
			continue
		}
		seen[d.EventID] = true
		old := "null"
		if d.OldHealth != nil {
			old = *d.OldHealth
		}
		change := old + "→" + d.NewHealth
		if d.NewHealth == "attention" {
			var whats []string
			for _, f := range d.Findings {
				whats = append(whats, f.What)
			}
			change += " [" + strings.Join(whats, " ") + "]"
		}
		out = append(out, change)
	}
	return out
}

const healthReps, healthRequester = "azure-migrations@partner.example", "requester@acct-eligible.example"

// healthProvider is an active provider the health tests change at the
// double, with what it has been sent so far.
type healthProvider struct {
	e               *env
	tok, id, name   string
	attention, okay int      // emails each audience got
	changes         []string // health events, "old→new" prefixes
}

// activeProvider takes a migration of contoso to active and healthy.
func (e *env) activeProvider(t *testing.T, tok, label string) *healthProvider {
	t.Helper()
	name := label + " " + time.Now().Format("150405.000")
	id := e.create(t, tok, migrate(name, ownedSub))
	if result := e.consent(t, name, "accept"); result.status != 200 {
		t.Fatalf("consent result page %d: %s", result.status, result.text())
	}
	e.waitActive(t, tok, id, 90*time.Second)
	h := e.waitHealth(t, tok, id, "ok", 30*time.Second)
	if len(h.Findings) != 0 || h.CheckedAt.IsZero() {
		t.Fatalf("healthy: %+v", h)
	}
	p := &healthProvider{e: e, tok: tok, id: id, name: name, changes: []string{"null→ok"}}
	p.waitChanges(t)
	return p
}

// settled waits for one more check of the provider after the ones that
// made the change and its emails, time enough for a repeated email or
// event to show.
func (p *healthProvider) settled(t *testing.T) {
	t.Helper()
	_, h := p.e.health(t, p.tok, p.id)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, now := p.e.health(t, p.tok, p.id); now.CheckedAt.After(h.CheckedAt) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no health check since %v", h.CheckedAt)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the stream's delivery of that write
}

// waitChanges waits for the provider's health events to be p.changes
// (each a prefix), exactly.
func (p *healthProvider) waitChanges(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		if got = p.e.healthChanges(t, p.id); len(got) >= len(p.changes) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(got) != len(p.changes) {
		t.Fatalf("health events %v, want %v", got, p.changes)
	}
	for i := range p.changes {
		if !strings.HasPrefix(got[i], p.changes[i]) {
			t.Fatalf("health events %v, want %v", got, p.changes)
		}
	}
}

// countEmails checks the emails each audience got so far.
func (p *healthProvider) countEmails(t *testing.T) {
	t.Helper()
	for _, to := range []string{healthReps, healthRequester} {
		if n := p.e.countMessages(t, to, "needs attention", p.name); n != p.attention {
			t.Errorf("%d attention emails to %s, want %d", n, to, p.attention)
		}
		if n := p.e.countMessages(t, to, "healthy again", p.name); n != p.okay {
			t.Errorf("%d cleared emails to %s, want %d", n, to, p.okay)
		}
	}
}

// toAttention waits for the finding (what contains want): health
// attention with it alone, one more email to each audience naming it, one
// more event; the checks after it change nothing.
func (p *healthProvider) toAttention(t *testing.T, want string) {
	t.Helper()
	h := p.e.waitHealth(t, p.tok, p.id, "attention", 30*time.Second)
	if len(h.Findings) != 1 || !strings.Contains(h.Findings[0].What, want) || h.Findings[0].Do == "" || h.Findings[0].Since.IsZero() {
		t.Fatalf("attention: %+v, want one finding with %q", h, want)
	}
	p.attention++
	p.changes = append(p.changes, "ok→attention ["+h.Findings[0].What)
	for _, to := range []string{healthReps, healthRequester} {
		deadline := time.Now().Add(30 * time.Second)
		for p.e.countMessages(t, to, "needs attention", p.name) < p.attention && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		var last message
		for _, m := range p.e.messages(t) { // newest first
			if len(m.To) > 0 && m.To[0] == to && strings.Contains(m.Subject, "needs attention") && strings.Contains(m.Text+m.Subject, p.name) {
				last = m
				break
			}
		}
		if !strings.Contains(last.Text, want) {
			t.Errorf("the attention email to %s lacks the finding %q:\n%s", to, want, last.Text)
		}
	}
	p.waitChanges(t)
	p.settled(t)
	p.countEmails(t)
	p.waitChanges(t)
	if _, again := p.e.health(t, p.tok, p.id); again.Status != "attention" || !again.Findings[0].Since.Equal(h.Findings[0].Since) {
		t.Errorf("the next checks: %+v, want the same finding since %v", again, h.Findings[0].Since)
	}
}

// toOK waits for health ok again: one more cleared email each, one more
// event, nothing more on the next checks.
func (p *healthProvider) toOK(t *testing.T) {
	t.Helper()
	if h := p.e.waitHealth(t, p.tok, p.id, "ok", 30*time.Second); len(h.Findings) != 0 {
		t.Fatalf("cleared: %+v", h)
	}
	p.okay++
	p.changes = append(p.changes, "attention→ok")
	for _, to := range []string{healthReps, healthRequester} {
		deadline := time.Now().Add(30 * time.Second)
		for p.e.countMessages(t, to, "healthy again", p.name) < p.okay && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
	}
	p.waitChanges(t)
	p.settled(t)
	p.countEmails(t)
	p.waitChanges(t)
}

// controlStep is a call of the double's control API.
type controlStep struct {
	path string
	body map[string]any
}

// healthFinding is a change at Microsoft that a health check finds, made
// and undone through the double's control API.
type healthFinding struct {
	name          string
	doSteps, undo []controlStep
	// onBilled, when set, makes the steps for the Azure subscription the
	// provider's billing lives in (known once the provider is active).
	onBilled func(subscriptionID string) (doSteps, undo []controlStep)
	want     string // in the finding's what and the email
}

func consentStep(granted bool) controlStep {
	return controlStep{"/_control/consent", map[string]any{"tenant": "contoso", "granted": granted}}
}

func roleStep(role string, grant bool) controlStep {
	return controlStep{"/_control/role", map[string]any{"tenant": "contoso", "subscriptionId": ownedSub, "role": role, "grant": grant}}
}

var restorableFindings = []healthFinding{
	{name: "consent revoked", doSteps: []controlStep{consentStep(false)}, undo: []controlStep{consentStep(true)},
		want: "Admin consent for the partner application is no longer effective in tenant " + contosoTenant},
	{name: "reseller relationship removed",
		doSteps: []controlStep{{"/_control/reseller", map[string]any{"tenant": "contoso", "accept": false}}},
		undo:    []controlStep{{"/_control/reseller", map[string]any{"tenant": "contoso", "accept": true}}},
		want:    "Partner Center no longer shows a reseller relationship with tenant " + contosoTenant},
	{name: "access assignment deleted",
		doSteps: []controlStep{{"/_control/accessassignment", map[string]any{"tenant": "contoso", "action": "delete"}}},
		undo:    []controlStep{{"/_control/accessassignment", map[string]any{"tenant": "contoso", "action": "create"}}},
		want:    "is deleted"},
	// The principal keeps Reader: it sees the subscription without Owner.
	{name: "Owner removed",
		doSteps: []controlStep{roleStep("Reader", true), roleStep("Owner", false)},
		undo:    []controlStep{roleStep("Owner", true), roleStep("Reader", false)},
		want:    "no longer holds Owner on subscription Contoso Production (" + ownedSub + ")"},
	// Without any role the partner no longer sees the subscription, as
	// when it was cancelled or moved to another tenant.
	{name: "subscription no longer visible",
		doSteps: []controlStep{roleStep("Owner", false)},
		undo:    []controlStep{roleStep("Owner", true)},
		want:    "Subscription Contoso Production (" + ownedSub + ") is no longer visible to the partner"},
	// The resources of the migrated subscription moved into the Azure plan
	// subscription the product ordered: its billing is the partner's while
	// Partner Center lists it active under the customer's Azure plan.
	// Suspended there, the partner no longer bills it.
	{name: "subscription billing moved away",
		onBilled: func(sub string) (doSteps, undo []controlStep) {
			step := func(status string) controlStep {
				return controlStep{"/_control/entitlement", map[string]any{"tenant": "contoso", "subscriptionId": sub, "status": status}}
			}
			return []controlStep{step("suspended")}, []controlStep{step("active")}
		},
		want: "is no longer billed by the partner: Partner Center shows it suspended"},
}

// billedSubscription is the Azure subscription the provider's billing
// lives in: the Azure plan subscription its move report moved ownedSub's
// resources into, billing consolidated, listed active under contoso's
// Azure plan in Partner Center.
func (p *healthProvider) billedSubscription(t *testing.T) string {
	t.Helper()
	r := p.e.call(t, "GET", "/providers/"+p.id, p.tok, nil)
	var view struct {
		Billing  string `json:"billing"`
		MovePlan *struct {
			Target string `json:"targetSubscriptionId"`
		} `json:"movePlan"`
	}
	if err := json.Unmarshal(r.raw, &view); err != nil || r.status != 200 {
		t.Fatalf("GET /providers/%s: %d %s", p.id, r.status, r.raw)
	}
	if view.Billing != "consolidated" || view.MovePlan == nil || view.MovePlan.Target == "" {
		t.Fatalf("provider %s: billing %q, move plan %+v: want consolidated into an Azure plan subscription", p.id, view.Billing, view.MovePlan)
	}
	target := strings.ToLower(view.MovePlan.Target)
	resp, err := p.e.http.Get(p.e.ep["microsoft"] + "/_control/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		PartnerCenterCustomers []struct {
			TenantID          string `json:"tenantId"`
			AzureEntitlements []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
				Listed bool   `json:"listed"`
			} `json:"azureEntitlements"`
		} `json:"partnerCenterCustomers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	for _, c := range st.PartnerCenterCustomers {
		for _, en := range c.AzureEntitlements {
			if c.TenantID == contosoTenant && en.ID == target && en.Status == "active" && en.Listed {
				return target
			}
		}
	}
	t.Fatalf("Partner Center does not list %s active under contoso's Azure plan: %+v", target, st.PartnerCenterCustomers)
	return ""
}

// TestHealthChecks: on a cloud whose schedule re-checks the active
// providers every local hour (1.8 s), a migration taken to active is
// healthy. Each finding the checks make of a migration (consent, reseller
// relationship, access assignment, Owner, visibility, and the billing of
// the Azure plan subscription it consolidated into), made at the
// double one after the other, turns it attention with that finding alone
// while it stays active: the representatives and the requester get one
// email each, the bus one Provider Health Changed event; undone at the
// double, health is ok again with one email each and one event. The
// further checks send and publish nothing more. An admin relationship
// that expired or was terminated is final at Microsoft: it turns the
// provider attention, and nothing clears it (the product does not adopt a
// new relationship), so each ends a provider of its own.
func TestHealthChecks(t *testing.T) {
	e := cloudFor(t, "health")
	mark := len(e.logBuf.String())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("local cloud log during the test:\n%s", tail(e.logBuf.String()[mark:], 30000))
		}
	})
	tok := e.token(t, "acct-eligible", "admin")
	p := e.activeProvider(t, tok, "Health")

	for _, f := range restorableFindings {
		ok := t.Run(f.name, func(t *testing.T) {
			if f.onBilled != nil {
				f.doSteps, f.undo = f.onBilled(p.billedSubscription(t))
			}
			run := func(steps []controlStep) {
				for _, s := range steps {
					e.control(t, s.path, s.body)
				}
			}
			run(f.doSteps)
			restored := false
			t.Cleanup(func() {
				if !restored {
					run(f.undo)
				}
			})
			p.toAttention(t, f.want)
			run(f.undo)
			restored = true
			p.toOK(t)
		})
		if !ok {
			t.FailNow()
		}
	}

	t.Run("no duplicates", func(t *testing.T) { p.noDuplicates(t) })

	for i, action := range []string{"expire", "terminate"} {
		if i > 0 {
			// The tenant is held by one provider at a time (this test's:
			// the sign-ins are the parent test's).
			if r := e.call(t, "DELETE", "/providers/"+p.id, tok, nil); r.status != 204 {
				t.Fatalf("delete %s: %d %s", p.id, r.status, r.raw)
			}
			p = e.activeProvider(t, tok, "Health "+action)
		}
		t.Run("GDAP "+action, func(t *testing.T) {
			e.control(t, "/_control/gdap", map[string]any{"tenant": "contoso", "action": action})
			p.toAttention(t, map[string]string{"expire": "is expired in Microsoft Graph", "terminate": "is terminated in Microsoft Graph"}[action])
		})
	}
}

// noDuplicates: health changes amid overlapping checks (two executions of
// the health state machine and two direct invocations of the check at
// once, besides the schedule's), crashes of the event publisher and
// EventBridge failures (entries refused, then whole calls failing beyond
// the SDK's retries) still give one email each and one event per change.
func (p *healthProvider) noDuplicates(t *testing.T) {
	e := p.e
	const publisher = "PublishEventsFunction"
	overlap := func() {
		t.Helper()
		ctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
		defer stop()
		client := sfn.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")},
			func(o *sfn.Options) { o.BaseEndpoint = aws.String(e.ep["stepfunctions"]) })
		sms, err := client.ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
		if err != nil {
			t.Fatal(err)
		}
		var machine string
		for _, sm := range sms.StateMachines {
			if strings.HasSuffix(aws.ToString(sm.Name), "-health-check") {
				machine = aws.ToString(sm.StateMachineArn)
			}
		}
		if machine == "" {
			t.Fatal("no health-check state machine")
		}
		batch, _ := json.Marshal(map[string]any{"step": "check", "providers": []any{map[string]string{"accountId": "acct-eligible", "providerId": p.id}}})
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for i := range 2 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(machine),
					Name: aws.String(fmt.Sprintf("overlap-%d-%d", time.Now().UnixNano(), i)), Input: aws.String(`{"intervalMinutes": 60}`)})
				errs <- err
			}()
			go func() {
				defer wg.Done()
				_, err := e.c.Host().Invoke(ctx, "HealthCheckFunction", batch)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("overlapping check: %v", err)
			}
		}
	}
	faults := func(body string) {
		t.Helper()
		resp, err := e.http.Post(e.ep["events"]+"/_control/faults", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("EventBridge faults %s: %d", body, resp.StatusCode)
		}
	}
	consumed := func() {
		t.Helper()
		resp, err := e.http.Get(e.ep["events"] + "/_control/faults")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var left struct{ Entries, Requests int }
		_ = json.NewDecoder(resp.Body).Decode(&left)
		if left.Entries != 0 || left.Requests != 0 || e.c.Host().KillsPending(publisher) != 0 {
			t.Errorf("faults not all injected: EventBridge %+v, publisher crashes %d", left, e.c.Host().KillsPending(publisher))
		}
	}
	t.Cleanup(func() {
		faults(`{"failNext": 0}`)
		faults(`{"failNext": 0, "mode": "request"}`)
		_ = e.c.Host().KillNext(publisher, -e.c.Host().KillsPending(publisher))
	})

	// To attention: the publisher crashes twice, EventBridge refuses the
	// next three entries.
	if err := e.c.Host().KillNext(publisher, 2); err != nil {
		t.Fatal(err)
	}
	faults(`{"failNext": 3}`)
	e.control(t, "/_control/consent", map[string]any{"tenant": "contoso", "granted": false})
	restored := false
	t.Cleanup(func() {
		if !restored {
			e.control(t, "/_control/consent", map[string]any{"tenant": "contoso", "granted": true})
		}
	})
	overlap()
	p.toAttention(t, "Admin consent")
	consumed()

	// Back to ok: the publisher crashes twice, EventBridge fails four
	// whole calls (one more than the SDK's attempts: the stream retries).
	if err := e.c.Host().KillNext(publisher, 2); err != nil {
		t.Fatal(err)
	}
	faults(`{"failNext": 4, "mode": "request"}`)
	e.control(t, "/_control/consent", map[string]any{"tenant": "contoso", "granted": true})
	restored = true
	overlap()
	p.toOK(t)
	consumed()
}
