// Command partner-center-webhook receives Partner Center's webhook events
// (POST /webhooks/partner-center), authenticated by Partner Center's
// signature, and runs the relationship check at once for the migration an
// event is about, so that the workflow's wait ends without waiting for its
// next poll.
package main

import (
	"time"

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
		// Within a request: few retries, short waits (Partner Center
		// expects a quick answer; the workflow's polling is the fallback).
		pc := partnercenter.FromEnv(env, partner).WithinRequest()
		graph := gdap.FromEnv(env, partner.Credential(env.Required("PARTNER_TENANT_ID")))
		graph.MaxRetries, graph.MaxRetryAfter = 2, 5*time.Second
		store := lazydynamodb.Store(env, aws)
		h := &Handler{
			Verifier:      partnercenter.WebhookVerifierFromEnv(env),
			Store:         store,
			Relationships: graph,
			Checker:       check.New(env, store, pc, graph, lazysfn.Tasks(aws)),
			Timeout:       20 * time.Second,
		}
		return h.Handle, nil
	})
}
