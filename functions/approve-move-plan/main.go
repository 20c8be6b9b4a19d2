// Command approve-move-plan is the Lambda function of
// POST /providers/{id}/move-plan/approve: an organization administrator
// approves the move report of the move_resources route, by its version.
package main

import (
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		h := &Handler{
			Store: lazydynamodb.Store(env, aws),
			Now:   func() time.Time { return time.Now().UTC() },
		}
		return api.Handle(h.Handle), nil
	})
}
