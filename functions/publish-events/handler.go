package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/providerevents"
)

// Publisher puts events on the bus (providerevents.Publisher).
type Publisher interface {
	Publish(ctx context.Context, evs []providerevents.Event) (failed []int, err error)
}

// Handler publishes the status and health changes the table stream's
// provider records carry (providerevents.Changes). Events of records up to
// the first one EventBridge did not take are published; from that record on
// the batch is reported failed (Lambda retries from its sequence number,
// then sends the batch to the dead-letter queue). A record whose images
// cannot be read is logged and skipped: retrying it would not help.
type Handler struct {
	Publisher Publisher
}

// Handle publishes the batch's changes, in order.
func (h *Handler) Handle(ctx context.Context, e events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	log := logging.From(ctx)
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With("request_id", lc.AwsRequestID)
	}
	var (
		evs []providerevents.Event
		seq []string // the record of each event
	)
	for _, r := range e.Records {
		changes, err := providerevents.Changes(r)
		if err != nil {
			log.Error("stream record unreadable; skipped", "sequence", r.Change.SequenceNumber, "error", err.Error())
			continue
		}
		for _, c := range changes {
			evs = append(evs, c)
			seq = append(seq, r.Change.SequenceNumber)
		}
	}
	if len(evs) == 0 {
		return events.DynamoDBEventResponse{}, nil
	}
	failed, err := h.Publisher.Publish(ctx, evs)
	if err == nil && len(failed) == 0 {
		log.Info("events published", "events", len(evs))
		return events.DynamoDBEventResponse{}, nil
	}
	first := failed[0]
	errText := ""
	if err != nil {
		errText = err.Error()
	}
	log.Warn("events not all published; the batch is retried from the first failed record",
		"events", len(evs), "failed", len(failed), "provider_id", evs[first].ProviderID, "error", errText)
	return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: seq[first]}}}, nil
}
