// Command put-account is the Lambda function of PUT /accounts/{accountId}.
package main

import (
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		operatorRole, err := api.OperatorRoleFromEnv(env)
		h := &Handler{Store: lazydynamodb.Store(env, aws), Now: time.Now, OperatorRole: operatorRole}
		return api.Handle(h.Handle), err
	})
}
