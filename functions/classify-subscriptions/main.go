// Command classify-subscriptions is the ClassifySubscriptions task of the
// migration state machine: once the customer's relationships are
// confirmed, it reads the customer's subscriptions in Azure Resource
// Manager, records each one's billing route (and Owner state), and returns
// those the workflow follows, one by one, in its Map.
package main

import (
	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/awsconf/lazysecretsmanager"
	"github.com/partnercloud/azure/shared/awsconf/lazysfn"
	"github.com/partnercloud/azure/shared/consolidate"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		store := lazydynamodb.Store(env, aws)
		h := &Handler{
			Store:        store,
			Consolidator: consolidate.FromEnv(env, store, lazysecretsmanager.Reader(aws), lazysfn.Tasks(aws)),
		}
		return h.Handle, nil
	})
}
