// Command check-health runs the steps of the scheduled health checks
// (statemachine/health-check.asl.json): "page" lists a page of the active
// providers in batches, spread over the schedule's interval; "check"
// re-checks a batch at Microsoft and records each provider's health,
// whose changes email the representatives and the requester through the
// outbox and are published as events from the table's stream. Each
// Microsoft service's calls are paced so that the run's batches together
// stay under that service's configured ceiling (shared/throttle).
package main

import (
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		return fromEnv(env, aws).Handle, nil
	})
}
