// Command cancel-transfers cancels, at Azure billing, the open partner
// transfer requests of a cancelled migration, woken by the table's stream
// when a provider holds cancel_transfer outbox entries (CancelSince).
package main

import (
	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/awsconf/lazysecretsmanager"
	"github.com/partnercloud/azure/shared/billing"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/startup"
	"github.com/partnercloud/azure/shared/transfercancel"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		transfers := billing.FromEnv(env, ownership.PartnerFromEnv(env, lazysecretsmanager.Reader(aws)))
		h := &Handler{Canceller: transfercancel.New(lazydynamodb.Store(env, aws), transfers)}
		return h.Handle, nil
	})
}
