package provider

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestViewJSON(t *testing.T) {
	exp := time.Date(2025, 12, 9, 10, 0, 0, 0, time.UTC)
	p := &Provider{AccountID: "acct", ID: "prv_1", Name: "n", Type: TypeAzure, Option: OptionMigrate,
		Status: StatusPendingConsent, ExecutionARN: "arn:aws:states:us-east-1:123456789012:execution:m:e",
		Invitation: &Invitation{Nonce: "nonce-secret", Hash: "hash-secret", SentAt: &exp, ExpiresAt: &exp}}
	b, err := json.Marshal(p.View())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"arn:aws", "nonce-secret", "hash-secret"} {
		if strings.Contains(string(b), secret) {
			t.Fatalf("view shows %q: %s", secret, b)
		}
	}
	for _, k := range []string{"id", "status", "timeline", "subscriptions", "nextStep"} {
		if _, ok := m[k]; !ok {
			t.Errorf("view lacks %q: %s", k, b)
		}
	}
	if !strings.Contains(m["nextStep"].(string), "9 December 2025") {
		t.Errorf("nextStep = %q", m["nextStep"])
	}
	if string(mustJSON(t, m["timeline"])) != "[]" || string(mustJSON(t, m["subscriptions"])) != "[]" {
		t.Errorf("empty lists are not []: %s", b)
	}
	if p.Timeline != nil || p.Subscriptions != nil {
		t.Error("View changed the provider")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
