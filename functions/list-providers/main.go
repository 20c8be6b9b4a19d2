// Command list-providers is the Lambda function of GET /providers.
package main

import (
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		h := &Handler{Store: lazydynamodb.Store(env, aws)}
		return api.Handle(h.Handle), nil
	})
}
