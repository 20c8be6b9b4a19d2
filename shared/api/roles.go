package api

import (
	"fmt"
	"regexp"
	"sync"

	"github.com/partnercloud/azure/shared/config"
)

// DefaultOperatorRole is the value of the roles claim that makes a caller
// one of the partner's operators, unless OPERATOR_ROLE names another.
const DefaultOperatorRole = "operator"

// OperatorRoleVariable is the environment variable naming the operators'
// role (the template's OperatorRole parameter).
const OperatorRoleVariable = "OPERATOR_ROLE"

// roleName is what ParseRoles can return as one role: no white space,
// commas, quotes or brackets. Compiled on first use: {1,128} makes a large
// program, and compiling it at package init cost every function's cold
// start about 120 KB of allocations.
var roleName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.:/@+=-]{1,128}$`) })

// OperatorRoleFromEnv reads OPERATOR_ROLE once, at start-up:
// DefaultOperatorRole when unset or empty; an error naming the variable
// when the value could never match one entry of the roles claim.
//
// The role must come from the partner's own identity provider
// configuration (the JWT issuer's claim mapping), never from anything a
// customer organization can set: an operator acts across accounts.
func OperatorRoleFromEnv(env *config.Env) (string, error) {
	role := env.Optional(OperatorRoleVariable, DefaultOperatorRole)
	if !roleName().MatchString(role) {
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
