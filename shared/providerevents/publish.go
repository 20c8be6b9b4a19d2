package providerevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

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
	// Attempts is how often an entry EventBridge refused with a transient
	// code (InternalFailure, ThrottlingException) is sent within one
	// Publish, the first time included (default 5); Backoff the wait
	// before attempt n (n ≥ 1; default 100 ms doubling, at most 1 s).
	Attempts int
	Backoff  func(n int) time.Duration
}

// Publish puts the events in order, ten per call, and returns the indexes
// of those EventBridge did not accept, with the first error seen; the
// caller retries those.
//
// EventBridge takes or refuses each entry of a call on its own, so a
// refused entry is sent again alone (only the refused ones, as AWS advises)
// while the code is transient, up to Attempts: an entry taken is never sent
// twice by one Publish. When entries of a call stay refused, the later
// calls are not made and their events are returned as failed too: the
// caller retries from the first failed event, and those later events are
// published then, once, rather than now and again on the retry.
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
		refused, cerr := p.put(ctx, entries)
		if cerr == nil {
			continue
		}
		for _, i := range refused {
			failed = append(failed, start+i)
		}
		for i := end; i < len(evs); i++ {
			failed = append(failed, i)
		}
		return failed, cerr
	}
	return nil, nil
}

// put sends one call's entries, and again those refused with a transient
// code, and returns the indexes still refused with the first error.
func (p *Publisher) put(ctx context.Context, entries []types.PutEventsRequestEntry) ([]int, error) {
	attempts := p.Attempts
	if attempts <= 0 {
		attempts = 5
	}
	pending := make([]int, len(entries)) // indexes in entries still to send
	for i := range pending {
		pending[i] = i
	}
	var firstErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return pending, errors.Join(firstErr, ctx.Err())
			case <-time.After(p.backoff(attempt)):
			}
		}
		batch := make([]types.PutEventsRequestEntry, len(pending))
		for j, i := range pending {
			batch[j] = entries[i]
		}
		out, cerr := p.Client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: batch})
		if cerr != nil {
			// The SDK has retried the call itself: it failed as a whole.
			return pending, fmt.Errorf("providerevents: PutEvents: %w", cerr)
		}
		var again, final []int
		for j, r := range out.Entries {
			if r.ErrorCode == nil || j >= len(pending) {
				continue
			}
			if firstErr == nil {
				firstErr = fmt.Errorf("providerevents: PutEvents entry %d: %s: %s", pending[j], aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
			}
			if transient(aws.ToString(r.ErrorCode)) {
				again = append(again, pending[j])
			} else {
				final = append(final, pending[j])
			}
		}
		if len(again) == 0 || attempt+1 >= attempts {
			refused := append(final, again...)
			slices.Sort(refused)
			if len(refused) == 0 {
				return nil, nil
			}
			return refused, firstErr
		}
		if len(final) > 0 {
			// Refused for good: no use sending the others again now,
			// the caller fails from the first of them.
			refused := append(final, again...)
			slices.Sort(refused)
			return refused, firstErr
		}
		pending = again
	}
}

// transient reports whether an entry's ErrorCode may pass when sent again.
func transient(code string) bool {
	return code == "InternalFailure" || code == "ThrottlingException"
}

func (p *Publisher) backoff(n int) time.Duration {
	if p.Backoff != nil {
		return p.Backoff(n)
	}
	return min(time.Second, 100*time.Millisecond<<(n-1))
}
