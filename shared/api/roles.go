package api

import (
	"fmt"
	"strings"

	"github.com/partnercloud/azure/shared/config"
)

// DefaultOperatorRole is the value of the roles claim that makes a caller
// one of the partner's operators, unless OPERATOR_ROLE names another.
const DefaultOperatorRole = "operator"

// OperatorRoleVariable is the environment variable naming the operators'
// role (the template's OperatorRole parameter).
const OperatorRoleVariable = "OPERATOR_ROLE"

// isRoleName reports whether s is what ParseRoles can return as one role:
// 1 to 128 of A-Z a-z 0-9 _ . : / @ + = - (no white space, commas, quotes
// or brackets). A loop, not the regular expression it replaces: the
// operator functions check OPERATOR_ROLE at start-up, and compiling
// {1,128} cost their cold start about 120 KB of allocations.
func isRoleName(s string) bool {
	if len(s) < 1 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', strings.IndexByte("_.:/@+=-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// OperatorRoleFromEnv reads OPERATOR_ROLE once, at start-up:
// DefaultOperatorRole when unset or empty; an error naming the variable
// when the value could never match one entry of the roles claim.
//
// The role must come from the partner's own identity provider
// configuration (the JWT issuer's claim mapping), never from anything a
// customer organization can set: an operator acts across accounts.
func OperatorRoleFromEnv(env *config.Env) (string, error) {
	role := env.Optional(OperatorRoleVariable, DefaultOperatorRole)
	if !isRoleName(role) {
		return DefaultOperatorRole, fmt.Errorf("environment variable %s must be one role name (letters, digits and _.:/@+=-, no spaces or commas), got %q", OperatorRoleVariable, role)
	}
	return role, nil
}

// IsOperator reports whether the caller has the operators' role: role, or
// DefaultOperatorRole when role is "".
func (c Caller) IsOperator(role string) bool {
	if role == "" {
		role = DefaultOperatorRole
	}
	return c.Has(role)
}
