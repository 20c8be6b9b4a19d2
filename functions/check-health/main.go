// Command check-health runs the steps of the scheduled health checks
// (statemachine/health-check.asl.json): "page" lists a page of the active
// providers in batches, spread over the schedule's interval; "check"
// re-checks a batch at Microsoft and records each provider's health,
// whose changes email the representatives and the requester through the
// outbox and are published as events from the table's stream.
package main

import (
	"time"

	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/awsconf/lazysecretsmanager"
	"github.com/partnercloud/azure/shared/gdap"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/partnercenter"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		read := lazysecretsmanager.Reader(aws)
		partner := ownership.PartnerFromEnv(env, read)
		graph := gdap.FromEnv(env, partner.Credential(env.Required("PARTNER_TENANT_ID")))
		h := &Handler{
			Store:         lazydynamodb.Store(env, aws),
			Azure:         partner.Azure(),
			PartnerCenter: partnercenter.FromEnv(env, partner),
			Graph:         graph,
			Credentials:   &ownership.CustomerCredentials{Settings: partner.Settings},
			Secret:        read,
			WantGroup:     graph.Config.SecurityGroupID,
			Now:           func() time.Time { return time.Now().UTC() },
		}
		return h.Handle, nil
	})
}
