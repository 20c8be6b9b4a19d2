package account

import (
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/provider"
)

// ContactFromEnv reads CONTACT_EMAIL, the address an ineligible account is
// told to write to (DefaultContact when unset); an address that is not one
// plain address is recorded in env.
func ContactFromEnv(env *config.Env) string {
	return env.Check("CONTACT_EMAIL", DefaultContact, provider.ValidateEmail)
}
