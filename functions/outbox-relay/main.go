// Command outbox-relay does what a change must tell or start, woken by the
// table's stream: a provider's outbox entries written with the change
// (provider.OutboxEntry: emails, the start of a new provider's workflow, a
// subscription wait's resume; a transfer's cancel is cancel-transfers'),
// and the workflow's resume of an invitation the consent pages closed
// (consent.Record.ResumeSince).
package main

import (
	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/awsconf/lazysesv2"
	"github.com/partnercloud/azure/shared/awsconf/lazysfn"
	"github.com/partnercloud/azure/shared/notice"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		store := lazydynamodb.Store(env, aws)
		tasks := lazysfn.Tasks(aws)
		workflows := map[provider.Option]notice.Starter{
			provider.OptionMigrate: lazysfn.Executions(env, aws, "STATE_MACHINE_ARN"),
			provider.OptionNew:     lazysfn.Executions(env, aws, "NEW_CUSTOMER_STATE_MACHINE_ARN"),
		}
		h := &Handler{
			Relay:   notice.RelayFromEnv(env, store, lazysesv2.Mailer(env, aws), tasks, workflows),
			Resumer: &notice.Resumer{Invitations: store, Tasks: tasks},
		}
		return h.Handle, nil
	})
}
