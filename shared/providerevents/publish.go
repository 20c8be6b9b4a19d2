package providerevents

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// PutEventsAPI is the part of the EventBridge client the publisher uses.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

var _ PutEventsAPI = (*eventbridge.Client)(nil)

// maxEntries is PutEvents' limit of entries per call.
const maxEntries = 10

// Publisher puts events on one bus.
type Publisher struct {
	Client PutEventsAPI
	// Bus is the event bus's name or ARN (EVENT_BUS_NAME).
	Bus string
}

// Publish puts the events, ten per call, and returns the indexes of those
// EventBridge did not accept (its per-entry errors, or every entry of a
// call that failed as a whole), with the first error seen. The caller
// retries those.
func (p *Publisher) Publish(ctx context.Context, evs []Event) (failed []int, err error) {
	for start := 0; start < len(evs); start += maxEntries {
		end := min(start+maxEntries, len(evs))
		entries := make([]types.PutEventsRequestEntry, 0, end-start)
		for _, e := range evs[start:end] {
			detail, merr := json.Marshal(e.Detail)
			if merr != nil {
				return nil, fmt.Errorf("providerevents: detail of %s: %w", e.ProviderID, merr)
			}
			at := e.Time
			entries = append(entries, types.PutEventsRequestEntry{
				EventBusName: aws.String(p.Bus),
				Source:       aws.String(Source),
				DetailType:   aws.String(e.DetailType),
				Detail:       aws.String(string(detail)),
				Time:         &at,
			})
		}
		out, cerr := p.Client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if cerr != nil {
			for i := start; i < end; i++ {
				failed = append(failed, i)
			}
			if err == nil {
				err = fmt.Errorf("providerevents: PutEvents: %w", cerr)
			}
			continue
		}
		for i, r := range out.Entries {
			if r.ErrorCode != nil {
				failed = append(failed, start+i)
				if err == nil {
					err = fmt.Errorf("providerevents: PutEvents entry %d: %s: %s", start+i, aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
				}
			}
		}
	}
	return failed, err
}
