// Command cancel-provider is the Lambda function of POST /providers/{id}/cancel:
// it cancels an unfinished migration, closes its consent link and stops its
// execution.
package main

import (
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/awsconf/lazysfn"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		executions := lazysfn.Executions(env, aws, "STATE_MACHINE_ARN")
		h := &Handler{
			Store:           lazydynamodb.Store(env, aws),
			Executions:      executions,
			StateMachineARN: executions.StateMachineARN,
			Now:             time.Now,
		}
		return api.Handle(h.Handle), nil
	})
}
