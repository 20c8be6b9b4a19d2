// Command delete-provider is the Lambda function of DELETE /providers/{id}:
// it deletes a finished or cancelled provider and its credential secret.
package main

import (
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/awsconf/lazysecretsmanager"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		h := &Handler{Store: lazydynamodb.Store(env, aws), Secrets: lazysecretsmanager.Secrets(aws)}
		return api.Handle(h.Handle), nil
	})
}
