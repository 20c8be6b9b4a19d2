// Command outbox-relay sends what a change must tell, woken by the table's
// stream: a provider's outbox entries written with the change
// (provider.OutboxEntry), and the workflow's resume of an invitation the
// consent pages closed (consent.Record.ResumeSince).
package main

import (
	"time"

	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/awsconf/lazysecretsmanager"
	"github.com/partnercloud/azure/shared/awsconf/lazysesv2"
	"github.com/partnercloud/azure/shared/awsconf/lazysfn"
	"github.com/partnercloud/azure/shared/billing"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/notice"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		store := lazydynamodb.Store(env, aws)
		tasks := lazysfn.Tasks(aws)
		h := &Handler{
			Relay: &notice.Relay{
				Store:           store,
				Mailer:          lazysesv2.Mailer(env, aws),
				Brand:           mail.BrandFromEnv(env),
				Representatives: env.Required("REPRESENTATIVES_EMAIL"),
				Tasks:           tasks,
				Transfers:       billing.FromEnv(env, ownership.PartnerFromEnv(env, lazysecretsmanager.Reader(aws))),
				Now:             func() time.Time { return time.Now().UTC() },
			},
			Resumer: &notice.Resumer{Invitations: store, Tasks: tasks},
		}
		return h.Handle, nil
	})
}
