package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/store"
)

// Deliverer sends a provider's pending notices (notice.Relay).
type Deliverer interface {
	Deliver(ctx context.Context, accountID, providerID string) error
}

// Handler turns the table stream's records into deliveries: each record of
// a provider item with pending notices (the event source's filter passes
// only those) delivers that provider's notices. A record whose delivery
// failed is reported as a batch item failure, so Lambda retries from it
// (and the records after it) and, after its last retry, sends the batch's
// description to the dead-letter queue; its notices stay pending in the
// item for the next change to wake the relay again.
type Handler struct {
	Relay Deliverer
}

// Handle delivers for each record, in order. A provider named by several
// records of one batch is delivered once: the first delivery sends every
// pending notice.
func (h *Handler) Handle(ctx context.Context, e events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	log := logging.From(ctx)
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With("request_id", lc.AwsRequestID)
	}
	var resp events.DynamoDBEventResponse
	done := map[string]bool{}
	for _, r := range e.Records {
		if r.EventName == string(events.DynamoDBOperationTypeRemove) {
			continue
		}
		account, id, ok := store.ProviderKey(r.Change.Keys["pk"].String(), r.Change.Keys["sk"].String())
		if !ok || done[account+"/"+id] {
			continue
		}
		rlog := log.With("provider_id", id, "sequence", r.Change.SequenceNumber)
		if err := h.Relay.Deliver(logging.With(ctx, rlog), account, id); err != nil {
			rlog.Warn("delivery failed; the record will be retried", "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
			// Lambda retries from the lowest failed record: the later
			// ones come again, so delivering them now would only repeat.
			return resp, nil
		}
		done[account+"/"+id] = true
	}
	return resp, nil
}
