package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/stream"
)

// Deliverer sends a provider's pending notices (notice.Relay).
type Deliverer interface {
	Deliver(ctx context.Context, accountID, providerID string) error
}

// Resumer resumes the workflow's wait of a closed invitation
// (notice.Resumer).
type Resumer interface {
	Resume(ctx context.Context, hash string) error
}

// Handler turns the table stream's records into deliveries: a record of a
// provider item with pending notices delivers that provider's notices; a
// record of an invitation closed with a resume pending resumes the
// workflow's wait (the event source's filters pass only those two). A
// record whose delivery failed is reported as a batch item failure, so
// Lambda retries from it (and the records after it) and, after its last
// retry, sends the batch's description to the dead-letter queue; what it
// carried stays pending in the item for its next change to wake the relay
// again.
type Handler struct {
	Relay   Deliverer
	Resumer Resumer
}

// Handle delivers for each record, in order (stream.Deliver).
func (h *Handler) Handle(ctx context.Context, e events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	return stream.Deliver(ctx, e, h.route), nil
}

// route is a provider item's delivery, or an invitation's resume.
func (h *Handler) route(pk, sk string) (func(context.Context) error, []any, bool) {
	if account, id, ok := store.ProviderKey(pk, sk); ok {
		return func(ctx context.Context) error { return h.Relay.Deliver(ctx, account, id) }, []any{"provider_id", id}, true
	}
	if hash, ok := store.InvitationKey(pk, sk); ok {
		return func(ctx context.Context) error { return h.Resumer.Resume(ctx, hash) }, nil, true
	}
	return nil, nil, false
}
