// Command terms is the Lambda function of GET /terms.
package main

import (
	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		terms, err := account.TermsFromEnv(env)
		h := &Handler{Store: lazydynamodb.Store(env, aws), Terms: terms}
		return api.Handle(h.Handle), err
	})
}
