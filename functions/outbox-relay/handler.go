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

// Handle delivers for each record, in order. An item named by several
// records of one batch is delivered once: the first delivery sends
// everything pending.
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
		pk, sk := r.Change.Keys["pk"].String(), r.Change.Keys["sk"].String()
		if done[pk+"/"+sk] {
			continue
		}
		var deliver func(context.Context) error
		rlog := log.With("sequence", r.Change.SequenceNumber)
		if account, id, ok := store.ProviderKey(pk, sk); ok {
			rlog = rlog.With("provider_id", id)
			deliver = func(ctx context.Context) error { return h.Relay.Deliver(ctx, account, id) }
		} else if hash, ok := store.InvitationKey(pk, sk); ok {
			deliver = func(ctx context.Context) error { return h.Resumer.Resume(ctx, hash) }
		} else {
			continue
		}
		if err := deliver(logging.With(ctx, rlog)); err != nil {
			rlog.Warn("delivery failed; the record will be retried", "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
			// Lambda retries from the lowest failed record: the later
			// ones come again, so delivering them now would only repeat.
			return resp, nil
		}
		done[pk+"/"+sk] = true
	}
	return resp, nil
}
