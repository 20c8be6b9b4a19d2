package e2e

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

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
// "old→new" (old "null" for the first), validated against the schema.
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
			continue // delivered twice: dropped by its id, as consumers do
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

// TestHealthChecks: on a cloud whose schedule re-checks the active
// providers every local hour (1.8 s), a migration taken to active is
// healthy; the customer revokes the admin consent at Microsoft and the
// provider turns attention with the finding, while staying active; the
// representatives and the requester get one email each and the bus one
// Provider Health Changed event; consent granted again clears it, with one
// email each and the event.
func TestHealthChecks(t *testing.T) {
	e := cloudFor(t, "health")
	mark := len(e.logBuf.String())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("local cloud log during the test:\n%s", tail(e.logBuf.String()[mark:], 30000))
		}
	})
	tok := e.token(t, "acct-eligible", "admin")
	name := "Health " + time.Now().Format("150405.000")
	id := e.create(t, tok, migrate(name, ownedSub))
	if result := e.consent(t, name, "accept"); result.status != 200 {
		t.Fatalf("consent result page %d: %s", result.status, result.text())
	}
	e.waitActive(t, tok, id, 90*time.Second)
	h := e.waitHealth(t, tok, id, "ok", 30*time.Second)
	if len(h.Findings) != 0 || h.CheckedAt.IsZero() {
		t.Fatalf("healthy: %+v", h)
	}

	const reps, requester = "azure-migrations@partner.example", "requester@acct-eligible.example"
	e.control(t, "/_control/consent", map[string]any{"tenant": "contoso", "granted": false})
	granted := false
	t.Cleanup(func() {
		if !granted {
			e.control(t, "/_control/consent", map[string]any{"tenant": "contoso", "granted": true})
		}
	})
	h = e.waitHealth(t, tok, id, "attention", 30*time.Second)
	if len(h.Findings) != 1 || !strings.Contains(h.Findings[0].What, "Admin consent") || !strings.Contains(h.Findings[0].What, contosoTenant) ||
		h.Findings[0].Do == "" || h.Findings[0].Since.IsZero() {
		t.Fatalf("attention: %+v", h)
	}
	for _, to := range []string{reps, requester} {
		m := e.waitMessage(t, to, "needs attention", name, 30*time.Second)
		if !strings.Contains(m.Text, "Admin consent") {
			t.Errorf("email to %s lacks the finding:\n%s", to, m.Text)
		}
	}
	// Several more checks find the same: still one email each.
	time.Sleep(6 * time.Second)
	for _, to := range []string{reps, requester} {
		if n := e.countMessages(t, to, "needs attention", name); n != 1 {
			t.Errorf("%d attention emails to %s, want 1", n, to)
		}
	}
	if _, again := e.health(t, tok, id); again.Status != "attention" || !again.Findings[0].Since.Equal(h.Findings[0].Since) || !again.CheckedAt.After(h.CheckedAt) {
		t.Errorf("the next checks: %+v, want the same finding (since %v) checked again", again, h.Findings[0].Since)
	}
	waitChanges := func(want []string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		var got []string
		for time.Now().Before(deadline) {
			if got = e.healthChanges(t, id); len(got) >= len(want) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if len(got) != len(want) {
			t.Fatalf("health events %v, want %v", got, want)
		}
		for i := range want {
			if !strings.HasPrefix(got[i], want[i]) {
				t.Fatalf("health events %v, want %v", got, want)
			}
		}
	}
	waitChanges([]string{"null→ok", "ok→attention [Admin consent"})

	e.control(t, "/_control/consent", map[string]any{"tenant": "contoso", "granted": true})
	granted = true
	if h = e.waitHealth(t, tok, id, "ok", 30*time.Second); len(h.Findings) != 0 {
		t.Fatalf("cleared: %+v", h)
	}
	for _, to := range []string{reps, requester} {
		e.waitMessage(t, to, "healthy again", name, 30*time.Second)
	}
	time.Sleep(4 * time.Second)
	for _, to := range []string{reps, requester} {
		if n := e.countMessages(t, to, "healthy again", name); n != 1 {
			t.Errorf("%d cleared emails to %s, want 1", n, to)
		}
		if n := e.countMessages(t, to, "needs attention", name); n != 1 {
			t.Errorf("%d attention emails to %s, want still 1", n, to)
		}
	}
	waitChanges([]string{"null→ok", "ok→attention", "attention→ok"})
}
