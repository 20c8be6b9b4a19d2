// Command check-ownership is the CheckOwnership task of the migration state
// machine: it checks, in the customer tenant, that the partner principal
// holds Owner on every subscription to be moved.
package main

import (
	"time"

	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/awsconf/lazysecretsmanager"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		h := &Handler{
			Store:    lazydynamodb.Store(env, aws),
			Checker:  ownership.PartnerFromEnv(env, lazysecretsmanager.Reader(aws)).Azure(),
			AppName:  provider.PartnerAppNameFromEnv(env),
			Deadline: env.Duration("OWNERSHIP_DEADLINE", 30*24*time.Hour),
			Warning:  env.Duration("OWNERSHIP_WARNING", 36*time.Hour),
			Now:      func() time.Time { return time.Now().UTC() },
		}
		return h.Handle, nil
	})
}
