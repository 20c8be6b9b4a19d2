// Command outbox-relay sends what a provider's change must tell: the outbox
// entries written with the change (provider.OutboxEntry), woken by the
// table's stream.
package main

import (
	"time"

	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/awsconf/lazysesv2"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/notice"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		h := &Handler{Relay: &notice.Relay{
			Store:           lazydynamodb.Store(env, aws),
			Mailer:          lazysesv2.Mailer(env, aws),
			Brand:           mail.BrandFromEnv(env),
			Representatives: env.Required("REPRESENTATIVES_EMAIL"),
			Now:             func() time.Time { return time.Now().UTC() },
		}}
		return h.Handle, nil
	})
}
