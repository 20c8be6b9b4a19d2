package account

import (
	"strings"
	"testing"

	"github.com/partnercloud/azure/shared/config"
)

func TestContactFromEnv(t *testing.T) {
	env := config.FromMap(nil)
	if got := ContactFromEnv(env); got != DefaultContact || env.Err() != nil {
		t.Fatalf("ContactFromEnv = %q, %v", got, env.Err())
	}
	env = config.FromMap(map[string]string{"CONTACT_EMAIL": "Support <support@partner.example>"})
	ContactFromEnv(env)
	if err := env.Err(); err == nil || !strings.Contains(err.Error(), "CONTACT_EMAIL") {
		t.Fatalf("Err() = %v, want CONTACT_EMAIL named", err)
	}
}
