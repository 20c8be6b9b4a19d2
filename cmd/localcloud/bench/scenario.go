package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/partnercloud/azure/cmd/localcloud/internal/microsoft"
)

// One Azure tenant connects through at most one open or active provider at
// a time, so N concurrent migrations need N customer tenants. The scale
// phase's cloud runs on a scenario of its own: the default scenario (its
// accounts, partner and tenants) plus n bench tenants, tenant-<i> for i in
// [0, n), each with a Global Administrator admin@tenant-<i>.example and one
// pay-as-you-go subscription on which the partner's service principal in
// that tenant holds Owner (as contoso's …101). The partner has not been
// consented yet: the administrator's admin consent grants it, as for contoso.

// benchTenant describes bench tenant i.
type benchTenant struct {
	name, id, admin, adminID, partnerSP, subscription string
}

func benchTenantOf(i int) benchTenant {
	// Distinct GUIDs per kind (the fourth group) and per tenant (the last).
	guid := func(kind int) string { return fmt.Sprintf("40000000-0000-4000-%04x-%012d", 0x8000+kind, i) }
	return benchTenant{
		name:         fmt.Sprintf("tenant-%d", i),
		id:           guid(1),
		admin:        fmt.Sprintf("admin@tenant-%d.example", i),
		adminID:      guid(2),
		partnerSP:    guid(3),
		subscription: guid(4),
	}
}

func (t benchTenant) tenant(i int) microsoft.Tenant {
	return microsoft.Tenant{
		Name:        t.name,
		ID:          t.id,
		DisplayName: fmt.Sprintf("Bench Tenant %d", i),
		Domains:     []string{t.name + ".example"},
		Users: []microsoft.User{{
			ID: t.adminID, UserPrincipalName: t.admin, DisplayName: fmt.Sprintf("Tenant %d Administrator", i), Admin: true,
		}},
		PartnerServicePrincipalID: t.partnerSP,
		PartnerConsented:          false,
		Subscriptions:             []microsoft.Subscription{{ID: t.subscription, DisplayName: fmt.Sprintf("Tenant %d Production", i)}},
		RoleAssignments: []microsoft.RoleAssignment{
			{Scope: "/subscriptions/" + t.subscription, Role: "Owner", PrincipalID: t.partnerSP},
		},
	}
}

// writeBenchScenario writes, at path, the default scenario of root with n
// bench tenants added, validated as the Microsoft double validates it.
func writeBenchScenario(root, path string, n int) error {
	src := filepath.Join(root, "cmd", "localcloud", "scenario", "default.json")
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	var file map[string]json.RawMessage
	if err := json.Unmarshal(data, &file); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	sc, err := microsoft.ParseScenario(data)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	for i := 0; i < n; i++ {
		sc.Tenants = append(sc.Tenants, benchTenantOf(i).tenant(i))
	}
	ms, err := json.Marshal(sc)
	if err != nil {
		return err
	}
	file["microsoft"] = ms
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", " ")
	if err := enc.Encode(file); err != nil {
		return err
	}
	// The file must load as the cloud loads it.
	if _, err := microsoft.ParseScenario(out.Bytes()); err != nil {
		return fmt.Errorf("the generated scenario: %w", err)
	}
	return os.WriteFile(path, out.Bytes(), 0o644)
}
