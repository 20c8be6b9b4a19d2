// Package stream runs per-item work for the records of the providers
// table's stream, as the functions the stream wakes need it: in order, once
// per item of a batch, and with partial batch responses
// (ReportBatchItemFailures) so that Lambda retries from the first record
// whose work failed.
package stream

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/partnercloud/azure/shared/logging"
)

// Router names the work for the item of a record's keys, and the log
// attributes that say which item it is; ok is false for an item the
// function has nothing to do for.
type Router func(pk, sk string) (work func(context.Context) error, attrs []any, ok bool)

// Deliver runs the work of each record in order. Removals are skipped, and
// an item named by several records of the batch is worked once (the first
// run does everything pending). The first record whose work fails is
// reported as a batch item failure and ends the batch: Lambda retries from
// it (the records after it come again, so working them now would only
// repeat) and, after its last retry, sends the batch's description to the
// function's dead-letter queue; what the item holds stays pending for its
// next change.
func Deliver(ctx context.Context, e events.DynamoDBEvent, route Router) events.DynamoDBEventResponse {
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
		work, attrs, ok := route(pk, sk)
		if !ok {
			continue
		}
		rlog := log.With("sequence", r.Change.SequenceNumber).With(attrs...)
		if err := work(logging.With(ctx, rlog)); err != nil {
			rlog.Warn("delivery failed; the record will be retried", "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
			return resp
		}
		done[pk+"/"+sk] = true
	}
	return resp
}
