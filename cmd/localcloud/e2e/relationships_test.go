package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// step is a provider's step by name (and subscription), or a zero one.
func (p providerView) step(name string) (s struct {
	Name           string  `json:"name"`
	SubscriptionID string  `json:"subscriptionId"`
	Status         string  `json:"status"`
	State          string  `json:"state"`
	ObservedAt     *string `json:"observedAt"`
	Actor          string  `json:"actor"`
	Link           string  `json:"link"`
}) {
	for _, st := range p.Steps {
		if st.Name == name {
			return st
		}
	}
	return s
}

// webhookState is the double's webhook registration and deliveries.
type webhookState struct {
	Registration *struct {
		WebhookURL string `json:"WebhookUrl"`
	} `json:"registration"`
	Mode       string `json:"mode"`
	Deliveries []struct {
		EventName string `json:"eventName"`
		Delivered bool   `json:"delivered"`
		Status    int    `json:"status"`
		Copies    int    `json:"copies"`
		Attempts  int    `json:"attempts"`
	} `json:"deliveries"`
}

func (e *env) webhooks(t *testing.T) webhookState {
	t.Helper()
	resp, err := e.http.Get(e.ep["microsoft"] + "/_control/webhooks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st webhookState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// webhookMode switches the double's delivery of webhook events for this
// test (normal again at its end).
func (e *env) webhookMode(t *testing.T, mode string, delaySeconds int) {
	t.Helper()
	e.control(t, "/_control/webhooks", map[string]any{"mode": mode, "delaySeconds": delaySeconds})
	t.Cleanup(func() { e.control(t, "/_control/webhooks", map[string]any{"mode": "normal"}) })
}

// resetReseller removes contoso's reseller relationship, so that this
// test (holding contoso) starts with it not accepted, as the scenario does.
func (e *env) resetReseller(t *testing.T) {
	t.Helper()
	e.control(t, "/_control/reseller", map[string]any{"tenant": "contoso", "accept": false})
}

// TestRelationshipJourney is the customer's whole journey through the
// Microsoft double's pages: the email links to the admin center's reseller
// invitation and GDAP approval; after consent the provider waits for the
// customer with the right steps and the checklist page stays usable; the
// reseller relationship accepted on its page is confirmed from Partner
// Center (the webhook cuts the wait short), the GDAP relationship approved
// on its page from Graph; then Owner, and active with every permission as
// Microsoft showed it.
func TestRelationshipJourney(t *testing.T) {
	e := cloudFor(t, "standard")
	e.holdContoso(t)
	e.resetReseller(t)
	tok := e.token(t, "acct-eligible", "admin")
	name := "Relationship journey " + time.Now().Format("150405.000")
	id := e.create(t, tok, migrate(name, ownedSub))
	m := e.waitMessage(t, contosoAdmin, "approve moving", name, 20*time.Second)
	rl, al := resellerLink(t, m.Links), approvalLink(t, m.Links)
	for _, l := range []string{rl, al} {
		if !strings.HasPrefix(l, e.ep["microsoft"]+"/") {
			t.Errorf("the admin center link %s is not the Microsoft double's", l)
		}
	}
	p := e.get(t, tok, id)
	if g := p.step("gdap"); p.Status != "pending_consent" || g.State != "approvalPending" || g.Link != al || g.Actor != "global_admin" || g.ObservedAt == nil {
		t.Fatalf("before consent: status %s, gdap step %+v", p.Status, g)
	}
	if s := p.step("sign_in"); s.Status != "pending" || s.Actor != "azure_admin" {
		t.Errorf("sign-in step %+v", s)
	}
	if r := p.step("reseller_relationship"); r.Status != "pending" || r.Link != rl {
		t.Errorf("reseller step %+v", r)
	}

	if result := e.consentOnly(t, m, "accept"); result.status != 200 {
		t.Fatalf("consent: %d %s", result.status, result.text())
	}
	p = e.waitFor(t, tok, id, 30*time.Second, "waiting for the customer's relationships", func(p providerView) bool {
		return p.Status == "awaiting_customer" && p.step("reseller_relationship").State == "none"
	})
	if s := p.step("sign_in"); s.Status != "done" {
		t.Errorf("sign-in not done after consent: %+v", s)
	}
	if c := p.step("app_consent"); c.Status != "done" || c.State != "granted" {
		t.Errorf("consent step %+v", c)
	}
	if !strings.Contains(p.NextStep, "accept the reseller relationship") || !strings.Contains(p.NextStep, "approve the admin relationship") {
		t.Errorf("next step %q", p.NextStep)
	}

	// The checklist page stays usable after consent: sign-in shown done,
	// no new sign-in, the admin center's links.
	page := e.fetch(t, "GET", e.consentLink(t, m), nil)
	if page.status != 200 || !strings.Contains(page.text(), "Thank you") || !slices.Contains(page.links(), rl) || !slices.Contains(page.links(), al) {
		t.Fatalf("checklist after consent: %d %s", page.status, page.text())
	}
	for _, l := range page.links() {
		if strings.Contains(l, "/oauth2/v2.0/authorize") {
			t.Errorf("the checklist after consent offers a new sign-in: %s", l)
		}
	}
	if page.header.Get("Content-Security-Policy") == "" || page.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("checklist headers %v", page.header)
	}

	// The reseller relationship, on its page.
	e.acceptReseller(t, rl, contosoAdmin)
	p = e.waitFor(t, tok, id, 30*time.Second, "reseller relationship confirmed", func(p providerView) bool {
		return p.step("reseller_relationship").Status == "done"
	})
	if p.Status != "awaiting_customer" || p.step("gdap").Status != "pending" || strings.Contains(p.NextStep, "reseller") {
		t.Fatalf("after the reseller relationship: status %s, gdap %+v, next %q", p.Status, p.step("gdap"), p.NextStep)
	}

	// The admin relationship, on its approval page.
	if done := e.approveGDAP(t, al, contosoAdmin, "accept"); done.status != 200 || !strings.Contains(done.text(), "Approved") {
		t.Fatalf("GDAP approval page: %d %s", done.status, done.text())
	}
	p = e.waitActive(t, tok, id, 60*time.Second)
	kinds := map[string]bool{}
	for _, pm := range p.Permissions {
		kinds[pm.Kind] = true
		if pm.ObservedAt == "" {
			t.Errorf("permission %+v without observedAt", pm)
		}
		if pm.Kind == "gdap_relationship" && (pm.EndsAt == nil || pm.State != "active") {
			t.Errorf("GDAP permission %+v", pm)
		}
		if pm.Kind == "reseller_relationship" && pm.State != "reseller" {
			t.Errorf("reseller permission %+v", pm)
		}
	}
	if a := p.step("access_assignments"); a.Status != "done" || a.State != "active" || a.Actor != "microsoft" {
		t.Errorf("access assignment step %+v", a)
	}
	for _, k := range []string{"reseller_relationship", "gdap_relationship", "access_assignment", "admin_consent", "owner"} {
		if !kinds[k] {
			t.Errorf("no %s permission: %+v", k, p.Permissions)
		}
	}

	// Partner Center's events were delivered, signed, and accepted.
	var got []string
	for _, d := range e.webhooks(t).Deliveries {
		if d.Delivered && d.Status == 200 {
			got = append(got, d.EventName)
		}
	}
	for _, ev := range []string{"reseller-relationship-accepted-by-customer", "granular-admin-relationship-approved"} {
		if !slices.Contains(got, ev) {
			t.Errorf("no accepted delivery of %s: %v", ev, e.webhooks(t).Deliveries)
		}
	}
}

// TestRelationshipStepsLeftUndone: each relationship step left undone keeps
// the provider waiting for the customer with that step (and only it) to do.
func TestRelationshipStepsLeftUndone(t *testing.T) {
	e := cloudFor(t, "standard")
	for _, tc := range []struct {
		name        string
		reseller    bool
		gdap        bool
		wantPending []string
	}{
		// The access assignment (the local cloud configures a partner
		// security group) waits for the admin relationship.
		{"neither", false, false, []string{"reseller_relationship", "gdap", "access_assignments"}},
		{"reseller only", true, false, []string{"gdap", "access_assignments"}},
		{"GDAP only", false, true, []string{"reseller_relationship"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.holdContoso(t)
			e.resetReseller(t)
			tok := e.token(t, "acct-eligible", "admin")
			name := "Undone " + tc.name + " " + time.Now().Format("150405.000")
			id := e.create(t, tok, migrate(name, ownedSub))
			m := e.waitMessage(t, contosoAdmin, "approve moving", name, 20*time.Second)
			e.consentOnly(t, m, "accept")
			if tc.reseller {
				e.acceptReseller(t, resellerLink(t, m.Links), contosoAdmin)
			}
			if tc.gdap {
				e.approveGDAP(t, approvalLink(t, m.Links), contosoAdmin, "accept")
			}
			want := strings.Join(tc.wantPending, ",")
			pendingOf := func(p providerView) string {
				var out []string
				for _, s := range p.Steps {
					if s.Status != "done" && s.Name != "owner_access" {
						out = append(out, s.Name)
					}
				}
				return strings.Join(out, ",")
			}
			p := e.waitFor(t, tok, id, 30*time.Second, "pending "+want, func(p providerView) bool {
				return p.Status == "awaiting_customer" && pendingOf(p) == want && p.step("gdap").ObservedAt != nil && p.step("reseller_relationship").ObservedAt != nil
			})
			// A few more checks change nothing.
			time.Sleep(3 * time.Second)
			if again := e.get(t, tok, id); again.Status != "awaiting_customer" || pendingOf(again) != want {
				t.Fatalf("later: status %s, pending %s", again.Status, pendingOf(again))
			}
			if !strings.Contains(p.NextStep, "Global Administrator") {
				t.Errorf("next step %q", p.NextStep)
			}
		})
	}
}

// TestGDAPEnds: a GDAP request the customer declines (terminated), that
// expires, or a relationship terminated after approval ends the migration
// failed with the reason.
func TestGDAPEnds(t *testing.T) {
	e := cloudFor(t, "standard")
	for _, tc := range []struct {
		name, action string
		approveFirst bool
		wantCode     string
	}{
		{"declined", "decline", false, "gdap_terminated"},
		{"expired", "expire", false, "gdap_expired"},
		{"terminated after approval", "terminate", true, "gdap_terminated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.holdContoso(t)
			tok := e.token(t, "acct-eligible", "admin")
			name := "GDAP " + tc.name + " " + time.Now().Format("150405.000")
			id := e.create(t, tok, migrate(name, ownedSub))
			m := e.waitMessage(t, contosoAdmin, "approve moving", name, 20*time.Second)
			e.consentOnly(t, m, "accept")
			e.waitStatus(t, tok, id, "awaiting_customer", 30*time.Second)
			rel := approvalLink(t, m.Links)
			rel = rel[strings.LastIndex(rel, "/")+1:]
			if tc.approveFirst {
				e.approveGDAP(t, approvalLink(t, m.Links), contosoAdmin, "accept")
			}
			e.control(t, "/_control/gdap", map[string]any{"relationshipId": rel, "action": tc.action})
			p := e.waitStatus(t, tok, id, "failed", 60*time.Second)
			var raw map[string]any
			r := e.call(t, "GET", "/providers/"+id, tok, nil)
			_ = json.Unmarshal(r.raw, &raw)
			if raw["failureCode"] != tc.wantCode || !strings.Contains(p.FailureReason, "admin relationship") || p.step("gdap").Status != "failed" {
				t.Fatalf("failed provider: code %v, reason %q, gdap %+v", raw["failureCode"], p.FailureReason, p.step("gdap"))
			}
			e.waitMessage(t, "requester@acct-eligible.example", "did not complete", name, 20*time.Second)
		})
	}
}

// TestRelationshipsAnyOrder: the relationships done before the sign-in
// (the webhooks arrive before consent: recorded, nothing resumed) still
// lead to active once the administrator consents.
func TestRelationshipsAnyOrder(t *testing.T) {
	e := cloudFor(t, "standard")
	e.holdContoso(t)
	e.resetReseller(t)
	tok := e.token(t, "acct-eligible", "admin")
	name := "Any order " + time.Now().Format("150405.000")
	id := e.create(t, tok, migrate(name, ownedSub))
	m := e.waitMessage(t, contosoAdmin, "approve moving", name, 20*time.Second)
	e.approveGDAP(t, approvalLink(t, m.Links), contosoAdmin, "accept")
	e.acceptReseller(t, resellerLink(t, m.Links), contosoAdmin)
	e.waitFor(t, tok, id, 20*time.Second, "GDAP recorded active before consent", func(p providerView) bool {
		return p.Status == "pending_consent" && p.step("gdap").State == "active"
	})
	e.consentOnly(t, m, "accept")
	e.waitActive(t, tok, id, 60*time.Second)
}

// TestWebhookDelivery: the migration finishes whether Partner Center's
// events come late, twice or never (the workflow's own checks), and a
// forged or unsigned event is refused and changes nothing.
func TestWebhookDelivery(t *testing.T) {
	e := cloudFor(t, "standard")
	for _, mode := range []string{"delay", "duplicate", "drop"} {
		t.Run(mode, func(t *testing.T) {
			e.holdContoso(t)
			e.resetReseller(t)
			e.webhookMode(t, mode, 2)
			tok := e.token(t, "acct-eligible", "admin")
			name := "Webhook " + mode + " " + time.Now().Format("150405.000")
			id := e.create(t, tok, migrate(name, ownedSub))
			e.consent(t, name, "accept")
			e.waitActive(t, tok, id, 90*time.Second)
		})
	}

	t.Run("forged", func(t *testing.T) {
		e.holdContoso(t)
		e.resetReseller(t)
		tok := e.token(t, "acct-eligible", "admin")
		name := "Webhook forged " + time.Now().Format("150405.000")
		id := e.create(t, tok, migrate(name, ownedSub))
		m := e.waitMessage(t, contosoAdmin, "approve moving", name, 20*time.Second)
		e.consentOnly(t, m, "accept")
		before := e.waitFor(t, tok, id, 30*time.Second, "reseller relationship observed missing", func(p providerView) bool {
			return p.Status == "awaiting_customer" && p.step("reseller_relationship").State == "none"
		})
		body := []byte(`{"EventName":"reseller-relationship-accepted-by-customer","ResourceUri":"` + e.ep["microsoft"] + `/v1/customers/` + contosoTenant + `","ResourceName":"customer","AuditUri":null,"ResourceChangeUtcDate":"2026-03-02T09:30:00.0000000+00:00"}`)
		for _, h := range []map[string]string{
			{},
			{"Authorization": "Signature bm90LWEtc2lnbmF0dXJl", "X-MS-Signature-Algorithm": "rsa-sha256", "X-MS-Certificate-Url": e.ep["microsoft"] + "/cert/pcnotifications-dispatch.microsoft.com.cer"},
			{"Authorization": "Signature bm90LWEtc2lnbmF0dXJl", "X-MS-Signature-Algorithm": "rsa-sha256", "X-MS-Certificate-Url": "https://attacker.example/cert.cer"},
		} {
			req, _ := http.NewRequest("POST", e.api+"/webhooks/partner-center", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range h {
				req.Header.Set(k, v)
			}
			resp, err := e.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Errorf("forged event with %v: %d %s", h, resp.StatusCode, raw)
			}
		}
		after := e.get(t, tok, id)
		if after.Status != before.Status || after.step("reseller_relationship").State != "none" {
			t.Errorf("a forged event changed the provider: %s %+v", after.Status, after.Steps)
		}
	})
}

// TestRelationshipDeadline: a reseller relationship never accepted keeps
// the provider waiting (checks growing to a day apart) until the 30-day
// deadline, then ends it failed with the reason; the fast cloud runs a day
// a second.
func TestRelationshipDeadline(t *testing.T) {
	e := cloudFor(t, "fast")
	e.holdContoso(t) // a day a second: hold the tenant before the invitation is sent
	e.resetReseller(t)
	tok := e.token(t, "acct-eligible", "admin")
	name := "Relationship deadline " + time.Now().Format("150405.000")
	id := e.create(t, tok, migrate(name, ownedSub))
	m := e.waitMessage(t, contosoAdmin, "approve moving", name, 20*time.Second)
	e.consentOnly(t, m, "accept")
	e.approveGDAP(t, approvalLink(t, m.Links), contosoAdmin, "accept")
	consented := time.Now()
	p := e.waitStatus(t, tok, id, "failed", 90*time.Second)
	if waited := time.Since(consented); waited < 25*time.Second {
		t.Errorf("failed after %v, before the 30-day deadline (30 s here)", waited)
	}
	var raw map[string]any
	_ = json.Unmarshal(e.call(t, "GET", "/providers/"+id, tok, nil).raw, &raw)
	if raw["failureCode"] != "relationship_deadline_exceeded" || !strings.Contains(p.FailureReason, "before the deadline") ||
		p.step("reseller_relationship").Status != "pending" || p.step("gdap").Status != "done" {
		t.Fatalf("failed provider: code %v, reason %q, steps %+v", raw["failureCode"], p.FailureReason, p.Steps)
	}
	e.waitMessage(t, "requester@acct-eligible.example", "did not complete", name, 20*time.Second)

	// The customer stayed on the reseller step past the configured time
	// (3 days, 3 s here): the representatives were told once, by the outbox
	// relay, with the step named.
	stuck := e.waitMessage(t, wfRepresentatives, "Customer stuck on a step", name, 20*time.Second)
	if !strings.Contains(stuck.Text, "for the customer to accept the reseller relationship") {
		t.Errorf("the stuck notice does not name the step:\n%s", stuck.Text)
	}
	if n := len(e.mailsTo(t, wfRepresentatives, name, func(s string) bool { return strings.HasPrefix(s, "Customer stuck on a step") })); n != 1 {
		t.Errorf("%d stuck notices, want 1", n)
	}
	if p := e.get(t, tok, id); wfCountEvents(p, "representatives were told the customer has been on one step") != 1 {
		t.Errorf("timeline:\n%s", wfTimeline(p))
	}
}
