// Command check-relationships is the AwaitRelationships task: each run
// checks the customer's partner relationships in Partner Center and
// Microsoft Graph, records what Microsoft reported, and ends the wait when
// everything is confirmed, a relationship failed or the deadline passed;
// otherwise it keeps the wait's task token for Partner Center's webhook.
package main

import (
	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/awsconf/lazysecretsmanager"
	"github.com/partnercloud/azure/shared/awsconf/lazysfn"
	"github.com/partnercloud/azure/shared/gdap"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/partnercenter"
	"github.com/partnercloud/azure/shared/relationship/check"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		partner := ownership.PartnerFromEnv(env, lazysecretsmanager.Reader(aws))
		pc := partnercenter.FromEnv(env, partner)
		graph := gdap.FromEnv(env, partner.Credential(env.Required("PARTNER_TENANT_ID")))
		store := lazydynamodb.Store(env, aws)
		h := &Handler{
			Store:   store,
			Checker: check.New(env, store, pc, graph, lazysfn.Tasks(aws)),
		}
		return h.Handle, nil
	})
}
