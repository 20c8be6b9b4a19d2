package api

import (
	"testing"

	"github.com/partnercloud/azure/shared/config"
)

func TestOperatorRoleFromEnv(t *testing.T) {
	tests := []struct {
		env     map[string]string
		want    string
		wantErr bool
	}{
		{env: nil, want: "operator"},
		{env: map[string]string{"OPERATOR_ROLE": ""}, want: "operator"},
		{env: map[string]string{"OPERATOR_ROLE": "partner-ops"}, want: "partner-ops"},
		{env: map[string]string{"OPERATOR_ROLE": "https://partner.example/roles/ops"}, want: "https://partner.example/roles/ops"},
		{env: map[string]string{"OPERATOR_ROLE": "partner ops"}, want: "operator", wantErr: true},
		{env: map[string]string{"OPERATOR_ROLE": "ops,admin"}, want: "operator", wantErr: true},
		{env: map[string]string{"OPERATOR_ROLE": `"ops"`}, want: "operator", wantErr: true},
	}
	for _, tt := range tests {
		got, err := OperatorRoleFromEnv(config.FromMap(tt.env))
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("%v: %q, %v; want %q (error %v)", tt.env, got, err, tt.want, tt.wantErr)
		}
	}
	if DefaultOperatorRole != "operator" {
		t.Errorf("DefaultOperatorRole = %q", DefaultOperatorRole)
	}
}

func TestIsOperator(t *testing.T) {
	ops := Caller{Roles: ParseRoles(`["partner-ops"]`)}
	def := Caller{Roles: ParseRoles(`["admin","operator"]`)}
	switch {
	case !ops.IsOperator("partner-ops"), ops.IsOperator(""), ops.IsOperator("operator"):
		t.Error("a configured role name is not the only one that counts")
	case !def.IsOperator(""), !def.IsOperator("operator"), def.IsOperator("partner-ops"):
		t.Error("the default role is not operator")
	}
}
