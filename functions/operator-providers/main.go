// Command operator-providers is the Lambda function of the operator route
// GET /operator/providers.
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
		h := &Handler{Store: lazydynamodb.Store(env, aws), OperatorRole: operatorRole,
			StuckAfter: env.Duration("OPERATOR_STUCK_AFTER", DefaultStuckAfter)}
		return api.Handle(h.Handle), err
	})
}

// DefaultStuckAfter is how long an open provider may wait on one step
// before the operators' listing calls it stuck (OPERATOR_STUCK_AFTER).
const DefaultStuckAfter = 72 * time.Hour
