package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestFullMigration is the whole path over HTTP: create, the administrator
// consents at Microsoft, Owner is missing on one of two subscriptions, the
// representatives are emailed, Owner is granted through the double's control
// API, the next check passes, the requester gets the completion email.
func TestFullMigration(t *testing.T) {
	e := cloudFor(t, "standard")
	mark := len(e.logBuf.String())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("local cloud log during the test:\n%s", tail(e.logBuf.String()[mark:], 30000))
			for _, m := range e.messages(t) {
				t.Logf("email to %v: %s", m.To, m.Subject)
			}
		}
	})
	tok := e.token(t, "acct-eligible", "admin")
	name := "Full migration " + time.Now().Format("150405.000")
	id := e.create(t, tok, migrate(name, ownedSub, missingSub))
	p := e.waitFor(t, tok, id, 20*time.Second, "invitation sent", func(p providerView) bool {
		return p.Status == "pending_consent" && strings.Contains(p.NextStep, "expires on")
	})

	result := e.consent(t, name, "accept")
	if result.status != 200 || !strings.Contains(result.text(), missingSub) || !strings.Contains(result.text(), partnerSP) {
		t.Fatalf("result page %d: %s", result.status, result.text())
	}
	p = e.waitFor(t, tok, id, 30*time.Second, "missing Owner reported", func(p providerView) bool {
		return p.Status == "consolidating" && len(p.Subscriptions) == 2 && p.Subscriptions[1].State == "missing_owner"
	})
	if p.TenantID != contosoTenant || p.Subscriptions[0].State == "missing_owner" || !strings.Contains(p.NextStep, missingSub) || !strings.Contains(p.NextStep, partnerSP) {
		t.Fatalf("while waiting: %+v", p)
	}
	// Named as people see them: the application's and the subscription's
	// display names beside their ids, only the one still missing.
	if want := "grant Owner to Partner Cloud for Azure (" + partnerSP + ") on 1 subscription: Contoso Development (" + missingSub + ")."; !strings.Contains(p.NextStep, want) || strings.Contains(p.NextStep, ownedSub) || !strings.Contains(p.NextStep, " UTC.") {
		t.Fatalf("next step %q, want it to contain %q and the deadline's zone", p.NextStep, want)
	}
	e.waitMessage(t, "azure-migrations@partner.example", "waiting for Owner access", name, 60*time.Second)

	e.control(t, "/_control/owner", map[string]any{"tenant": "contoso", "subscriptionId": missingSub, "grant": true})
	t.Cleanup(func() {
		e.control(t, "/_control/owner", map[string]any{"tenant": "contoso", "subscriptionId": missingSub, "grant": false})
	})
	p = e.waitActive(t, tok, id, 60*time.Second)
	if p.Billing != "consolidated" || p.TenantID != contosoTenant || len(p.Permissions) < 3 {
		t.Fatalf("active provider: %+v", p)
	}
	for _, s := range p.Subscriptions {
		if s.State != "consolidated" || s.ConfirmedAt == nil {
			t.Fatalf("subscription %+v not confirmed", s)
		}
	}
	e.waitMessage(t, "requester@acct-eligible.example", "now under the partner's care", name, 20*time.Second)

	var whats []string
	for _, ev := range p.Timeline {
		whats = append(whats, ev.Status+": "+ev.What)
	}
	joined := strings.Join(whats, "\n")
	for _, want := range []string{"Provider created", "Consent email sent", "consented in tenant", "missing_owner", "representatives", "Migration complete"} {
		if !strings.Contains(joined, want) {
			t.Errorf("timeline lacks %q:\n%s", want, joined)
		}
	}
}

// TestOperatorOwnerPrincipal: an operator names another principal (here the
// customer's administrator, Owner inherited from the tenant root group), and
// the next ownership check uses it.
func TestOperatorOwnerPrincipal(t *testing.T) {
	e := cloudFor(t, "standard")
	tok := e.token(t, "acct-eligible", "admin")
	operator := e.token(t, "acct-partner-ops", "operator")
	const adminPrincipal = "20000000-0000-4000-8000-0000000000e1"
	name := "Operator principal " + time.Now().Format("150405.000")
	id := e.create(t, tok, migrate(name, missingSub))
	e.consent(t, name, "accept")
	e.waitFor(t, tok, id, 30*time.Second, "missing Owner", func(p providerView) bool {
		return p.Status == "awaiting_owner_access" && len(p.Subscriptions) == 1 && p.Subscriptions[0].State == "missing_owner"
	})
	if r := e.call(t, "PUT", "/providers/"+id+"/owner-principal", tok, map[string]string{"principalId": adminPrincipal}); r.status != 403 || r.errorCode() != "operator_required" {
		t.Fatalf("an admin set the principal: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "PUT", "/providers/"+id+"/owner-principal", operator, map[string]string{"principalId": adminPrincipal}); r.status != 200 {
		t.Fatalf("operator: %d %s", r.status, r.raw)
	}
	// The check now finds Owner held by the operator's principal.
	e.waitFor(t, tok, id, 60*time.Second, "Owner held by the operator's principal", func(p providerView) bool {
		for _, s := range p.Steps {
			if s.Name == "owner_access" && s.Status == "done" {
				return true
			}
		}
		return false
	})
	// Moving the resources is the partner application's own work: it needs
	// write access on the source too.
	e.control(t, "/_control/owner", map[string]any{"tenant": "contoso", "subscriptionId": missingSub, "grant": true})
	t.Cleanup(func() {
		e.control(t, "/_control/owner", map[string]any{"tenant": "contoso", "subscriptionId": missingSub, "grant": false})
	})
	p := e.waitActive(t, tok, id, 60*time.Second)
	var perms []string
	for _, pm := range p.Permissions {
		perms = append(perms, pm.Description)
	}
	if !strings.Contains(strings.Join(perms, " "), adminPrincipal) {
		t.Fatalf("permissions do not name the operator's principal: %v", p.Permissions)
	}
}
