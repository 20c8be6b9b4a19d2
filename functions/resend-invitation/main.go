// Command resend-invitation is the Lambda function of
// POST /providers/{id}/resend: the consent email again, same link and expiry.
package main

import (
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/awsconf/lazysecretsmanager"
	"github.com/partnercloud/azure/shared/awsconf/lazysesv2"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		h := &Handler{
			Store:    lazydynamodb.Store(env, aws),
			Mailer:   lazysesv2.Mailer(env, aws),
			Key:      consent.KeyFromEnv(env, lazysecretsmanager.Reader(aws)),
			BaseURL:  env.Required("PUBLIC_BASE_URL"),
			Brand:    mail.BrandFromEnv(env),
			Interval: env.Duration("RESEND_INTERVAL", DefaultInterval),
			Now:      func() time.Time { return time.Now().UTC() },
		}
		return api.Handle(h.Handle), nil
	})
}
