package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/stream"
)

// Canceller cancels a provider's pending transfer requests
// (transfercancel.Canceller).
type Canceller interface {
	Deliver(ctx context.Context, accountID, providerID string) error
}

// Handler turns the table stream's records of provider items holding
// cancel_transfer entries (the event source's filter passes only those)
// into cancels. A record whose cancel failed is a batch item failure:
// Lambda retries from it, and the entry stays pending in the item.
type Handler struct {
	Canceller Canceller
}

// Handle cancels for each record, in order (stream.Deliver).
func (h *Handler) Handle(ctx context.Context, e events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	return stream.Deliver(ctx, e, func(pk, sk string) (func(context.Context) error, []any, bool) {
		account, id, ok := store.ProviderKey(pk, sk)
		if !ok {
			return nil, nil, false
		}
		return func(ctx context.Context) error { return h.Canceller.Deliver(ctx, account, id) }, []any{"provider_id", id}, true
	}), nil
}
