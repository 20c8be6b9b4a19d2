// Command record-outcome records how a migration ended (active, declined,
// expired, failed) on the provider and tells the requester.
package main

import (
	"time"

	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/awsconf/lazysesv2"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		h := &Handler{
			Store:         lazydynamodb.Store(env, aws),
			Mailer:        lazysesv2.Mailer(env, aws),
			Brand:         mail.BrandFromEnv(env),
			ConsoleURL:    env.Optional("CONSOLE_URL", ""),
			PublicBaseURL: env.Required("PUBLIC_BASE_URL"),
			Now:           func() time.Time { return time.Now().UTC() },
		}
		return h.Handle, nil
	})
}
