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

// busEvent is an event as the local EventBridge lists it.
type busEvent struct {
	ID         string          `json:"id"`
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Bus        string          `json:"bus"`
	UnknownBus bool            `json:"unknownBus"`
	Detail     json.RawMessage `json:"detail"`
}

// busEvents lists the local EventBridge's events about provider id.
func (e *env) busEvents(t *testing.T, id string) []busEvent {
	t.Helper()
	resp, err := e.http.Get(e.ep["events"] + "/events?source=" + providerevents.Source)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var all []busEvent
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		t.Fatal(err)
	}
	var out []busEvent
	for _, ev := range all {
		var d struct {
			ProviderID string `json:"providerId"`
		}
		if json.Unmarshal(ev.Detail, &d) == nil && d.ProviderID == id {
			out = append(out, ev)
		}
	}
	return out
}

// TestStatusEvents: every status change of a provider is published on the
// product's bus, from the table's stream, once per change, each detail
// valid against the documented JSON Schema: its creation, then a cancel.
func TestStatusEvents(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(providerevents.Schema(providerevents.DetailTypeStatus)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("mem://schemas/status.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("mem://schemas/status.json")
	if err != nil {
		t.Fatal(err)
	}

	acct := e.freshAccount(t)
	tok := e.token(t, acct, "admin")
	id := e.create(t, tok, migrate("Events "+apiSuffix(), ownedSub))
	if r := e.call(t, "POST", "/providers/"+id+"/cancel", tok, nil); r.status != 200 {
		t.Fatalf("cancel: %d %s", r.status, r.raw)
	}
	var evs []busEvent
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if evs = e.busEvents(t, id); len(evs) >= 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a duplicate would arrive about now
	evs = e.busEvents(t, id)
	var changes []string
	seen := map[string]bool{}
	for _, ev := range evs {
		if ev.DetailType != providerevents.DetailTypeStatus || ev.UnknownBus || !strings.HasSuffix(ev.Bus, "-providers") {
			t.Errorf("event %s: detail type %q on bus %q (unknown %v)", ev.ID, ev.DetailType, ev.Bus, ev.UnknownBus)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(ev.Detail))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(v); err != nil {
			t.Errorf("detail does not follow its schema: %v\n%s", err, ev.Detail)
		}
		var d providerevents.StatusChanged
		_ = json.Unmarshal(ev.Detail, &d)
		if seen[d.EventID] {
			t.Errorf("event %s published twice", d.EventID)
		}
		seen[d.EventID] = true
		old := "null"
		if d.OldStatus != nil {
			old = *d.OldStatus
		}
		changes = append(changes, old+"→"+d.NewStatus)
		if d.AccountID != acct || d.Option != "migrate" {
			t.Errorf("detail %s", ev.Detail)
		}
	}
	want := []string{"null→pending_consent", "pending_consent→cancelled"}
	if strings.Join(changes, ",") != strings.Join(want, ",") {
		t.Fatalf("status changes %v, want %v", changes, want)
	}
}
