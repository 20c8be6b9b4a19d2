// Command create-provider is the Lambda function of POST /providers.
package main

import (
	"time"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/awsconf/lazysecretsmanager"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/partnercenter"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		partner := ownership.PartnerFromEnv(env, lazysecretsmanager.Reader(aws))
		terms, err := account.TermsFromEnv(env)
		h := &Handler{
			Store:   lazydynamodb.Store(env, aws),
			Domains: partnercenter.FromEnv(env, partner).WithinRequest(),        // option new's domain check
			Prover:  &ownership.CustomerCredentials{Settings: partner.Settings}, // option existing: the Azure endpoints
			Secrets: lazysecretsmanager.Secrets(aws),
			Terms:   terms,
			Contact: account.ContactFromEnv(env),
			Now:     time.Now,
		}
		return api.Handle(h.Handle), err
	})
}
