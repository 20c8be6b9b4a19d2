// Command new-customer runs the steps of the new-customer state machine
// (option new): address validation, customer creation, the Microsoft
// Customer Agreement, the Azure plan order and the wait for its
// subscription, all in Partner Center with an app-only token.
package main

import (
	"time"

	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/awsconf/lazysecretsmanager"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/partnercenter"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		h := &Handler{
			Store:               lazydynamodb.Store(env, aws),
			PartnerCenter:       partnercenter.FromEnv(env, ownership.PartnerFromEnv(env, lazysecretsmanager.Reader(aws))),
			Secrets:             lazysecretsmanager.SecretsCreatedOnce(aws),
			AgreementTemplateID: env.Optional("MCA_TEMPLATE_ID", "117a69e3-2a16-4c1d-9d5e-6bd0e7b8c1a0"),
			Now:                 func() time.Time { return time.Now().UTC() },
		}
		return h.Handle, nil
	})
}
