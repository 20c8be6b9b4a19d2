// Command consent-invite is the AwaitConsent task of the migration state
// machine: it keeps the task token behind the invitation and sends the
// consent email, or a reminder when one is due.
package main

import (
	"time"

	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/awsconf/lazysecretsmanager"
	"github.com/partnercloud/azure/shared/awsconf/lazysesv2"
	"github.com/partnercloud/azure/shared/awsconf/lazysfn"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		h := &Handler{
			Store:  lazydynamodb.Store(env, aws),
			Mailer: lazysesv2.Mailer(env, aws),
			Tasks:  lazysfn.Tasks(aws),
			Key:    consent.KeyFromEnv(env, lazysecretsmanager.Reader(aws)),
			Schedule: consent.Schedule{
				Expiry:    env.Duration("INVITATION_EXPIRY", consent.DefaultSchedule.Expiry),
				Reminders: env.Durations("INVITATION_REMINDERS", consent.DefaultSchedule.Reminders),
			},
			BaseURL: env.Required("PUBLIC_BASE_URL"),
			Brand:   mail.BrandFromEnv(env),
			Now:     func() time.Time { return time.Now().UTC() },
		}
		return h.Handle, nil
	})
}
