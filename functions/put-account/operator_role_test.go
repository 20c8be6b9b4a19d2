package main

import (
	"context"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/apperr"
)

// TestOperatorRole: the operators' role is OPERATOR_ROLE's when set (then
// "operator" is just another role), "operator" by default.
func TestOperatorRole(t *testing.T) {
	tests := []struct {
		name, configured, roles string
		want                    int
	}{
		{"default role", "", `["operator"]`, 200},
		{"configured role", "partner-ops", `["partner-ops"]`, 200},
		{"default role when another is configured", "partner-ops", `["operator"]`, 403},
		{"configured role when the default applies", "", `["partner-ops"]`, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{Store: &fakeWriter{}, Now: func() time.Time { return testNow }, OperatorRole: tt.configured}
			req := newRequest(apitest.Claims("op-1", "acct-partner", tt.roles), "acct-eligible", validBody)
			resp, _ := api.Handle(h.Handle)(context.Background(), req)
			if tt.want == 403 {
				apitest.ExpectError(t, resp, 403, apperr.OperatorRequired)
			} else if resp.StatusCode != tt.want {
				t.Fatalf("%d: %s", resp.StatusCode, resp.Body)
			}
		})
	}
}
