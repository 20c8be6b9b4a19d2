// Command advance-subscription is the AdvanceSubscription task of the
// migration state machine's Map over the subscriptions: each run takes one
// subscription's billing as far as Microsoft lets it now (a partner
// transfer request; Owner, the Azure plan, the move report and, once
// approved, the moves), ends the wait when its route ended, else keeps the
// wait's task token on the provider.
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
