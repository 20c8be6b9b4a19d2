package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnercloud/azure/cmd/localcloud/internal/cloud"
	"github.com/partnercloud/azure/cmd/localcloud/internal/microsoft"
)

func TestBenchScenario(t *testing.T) {
	root, err := cloud.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "scenario.json")
	const n = 12
	if err := writeBenchScenario(root, path, n); err != nil {
		t.Fatal(err)
	}
	sc, err := microsoft.LoadScenario(path)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]microsoft.Tenant{}
	for _, tn := range sc.Tenants {
		byName[tn.Name] = tn
	}
	if _, ok := byName["contoso"]; !ok {
		t.Error("the default scenario's contoso is missing")
	}
	ids := map[string]bool{}
	for i := 0; i < n; i++ {
		want := benchTenantOf(i)
		tn, ok := byName[want.name]
		if !ok {
			t.Fatalf("tenant %s missing", want.name)
		}
		if tn.ID != want.id || len(tn.Users) != 1 || tn.Users[0].UserPrincipalName != "admin@tenant-"+strings.TrimPrefix(want.name, "tenant-")+".example" ||
			!tn.Users[0].CanConsent() || tn.PartnerServicePrincipalID != want.partnerSP || len(tn.Subscriptions) != 1 || tn.Subscriptions[0].ID != want.subscription {
			t.Errorf("tenant %d: %+v", i, tn)
		}
		if len(tn.RoleAssignments) != 1 || tn.RoleAssignments[0].Role != "Owner" || tn.RoleAssignments[0].PrincipalID != want.partnerSP ||
			tn.RoleAssignments[0].Scope != "/subscriptions/"+want.subscription {
			t.Errorf("tenant %d role assignments: %+v", i, tn.RoleAssignments)
		}
		for _, id := range []string{want.id, want.adminID, want.partnerSP, want.subscription} {
			if ids[id] {
				t.Errorf("id %s used twice", id)
			}
			ids[id] = true
		}
	}
	// The accounts reach the cloud unchanged.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file cloud.Scenario
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range file.Accounts {
		found = found || a.ID == "acct-eligible"
	}
	if !found {
		t.Errorf("acct-eligible is not among the accounts: %+v", file.Accounts)
	}
}
