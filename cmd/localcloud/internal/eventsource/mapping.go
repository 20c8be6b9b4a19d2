// Package eventsource runs the template's Lambda event source mappings on
// the local DynamoDB's streams, as Lambda runs them: one poller per mapping
// reads the stream in order (a local stream has one shard, so records come
// in write order, hence in order per item), batches the records that pass
// the mapping's filters, invokes the function synchronously with the
// events.DynamoDBEvent shape, and on failure retries the batch (splitting it
// on function errors when BisectBatchOnFunctionError, resuming at the first
// failed record when the function reports batch item failures) until
// MaximumRetryAttempts or MaximumRecordAgeInSeconds, then hands the batch to
// the on-failure destination and moves on. Delivery is at least once.
package eventsource

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/dynamo"
	"github.com/partnercloud/azure/cmd/localcloud/internal/lambdahost"
	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
)

// Source is a stream to read: the local DynamoDB's *dynamo.Streams.
type Source interface {
	// Read returns up to limit records after sequence number after ("":
	// from the oldest), and a channel closed when more records arrive.
	Read(streamARN, after string, limit int) ([]dynamo.Record, <-chan struct{}, error)
	// Latest is the newest record's sequence number ("" when none).
	Latest(streamARN string) string
}

// Config is one event source mapping, with durations already at the local
// time scale.
type Config struct {
	// Function is the function's name for the Invoker; FunctionARN its ARN
	// (for the on-failure record).
	Function, FunctionARN string
	StreamARN             string
	// StartingPosition is TRIM_HORIZON or LATEST.
	StartingPosition string
	BatchSize        int
	// BatchingWindow is how long records are gathered before a batch that
	// is not full is delivered (0: at once).
	BatchingWindow time.Duration
	// MaxRetryAttempts bounds the retries of a failing batch (-1: until
	// the records expire).
	MaxRetryAttempts int
	// MaxRecordAge sends older records to the destination unprocessed
	// (0 or less: no limit but the stream's retention).
	MaxRecordAge time.Duration
	// Bisect splits a batch in two on a function error (the split does
	// not count as a retry, as on AWS).
	Bisect bool
	// ReportBatchItemFailures lets the function answer
	// {"batchItemFailures":[{"itemIdentifier":"<SequenceNumber>"}]}.
	ReportBatchItemFailures bool
	// Filters are FilterCriteria patterns (OR); records matching none are
	// dropped without invoking the function.
	Filters []string
	// OnFailure is the on-failure destination's ARN ("" when none).
	OnFailure string
}

// ConfigFor is the mapping of a template function's DynamoDB event, with
// its durations divided by timeScale (as every local clock is).
func ConfigFor(f samtemplate.Function, ev samtemplate.StreamEvent, timeScale float64) Config {
	if timeScale <= 0 {
		timeScale = 1
	}
	scaled := func(seconds int) time.Duration {
		return time.Duration(float64(seconds) * float64(time.Second) / timeScale)
	}
	cfg := Config{
		Function: f.LogicalID, FunctionARN: samtemplate.FunctionARN(f.LogicalID), StreamARN: ev.StreamARN,
		StartingPosition: ev.StartingPosition, BatchSize: ev.BatchSize,
		BatchingWindow: scaled(ev.MaximumBatchingWindowInSeconds), MaxRetryAttempts: ev.MaximumRetryAttempts,
		Bisect: ev.BisectBatchOnFunctionError, ReportBatchItemFailures: ev.ReportBatchItemFailures,
		Filters: ev.Filters, OnFailure: ev.OnFailure,
	}
	if ev.MaximumRecordAgeInSeconds >= 0 {
		cfg.MaxRecordAge = scaled(ev.MaximumRecordAgeInSeconds)
	}
	return cfg
}

// Options are a mapping's collaborators.
type Options struct {
	Source  Source
	Invoker lambdahost.Invoker
	// Log receives a line per delivery, failure and dead letter (default:
	// discarded).
	Log *slog.Logger
	// OnDeadLetter receives each batch given up on (see DeadLetter).
	OnDeadLetter func(DeadLetter)
	// RetryDelay is the first retry's back-off (default 100ms); it doubles
	// per attempt up to MaxRetryDelay (default 1s). Real time: it paces
	// retries of real work, not the product's clocks.
	RetryDelay, MaxRetryDelay time.Duration
}

// Mapping is a running event source mapping.
type Mapping struct {
	cfg     Config
	opts    Options
	filters []*Filter
	cancel  context.CancelFunc
	done    chan struct{}
}

// Start checks cfg (its filters above all, refused as Lambda refuses them
// at CreateEventSourceMapping) and starts polling.
func Start(cfg Config, opts Options) (*Mapping, error) {
	if cfg.BatchSize < 1 {
		return nil, fmt.Errorf("event source mapping of %s: BatchSize %d", cfg.Function, cfg.BatchSize)
	}
	if cfg.StartingPosition != "TRIM_HORIZON" && cfg.StartingPosition != "LATEST" {
		return nil, fmt.Errorf("event source mapping of %s: StartingPosition %q", cfg.Function, cfg.StartingPosition)
	}
	m := &Mapping{cfg: cfg, opts: opts, done: make(chan struct{})}
	for _, p := range cfg.Filters {
		f, err := CompileFilter(p)
		if err != nil {
			return nil, fmt.Errorf("event source mapping of %s: %w", cfg.Function, err)
		}
		m.filters = append(m.filters, f)
	}
	if m.opts.Log == nil {
		m.opts.Log = slog.New(slog.DiscardHandler)
	}
	m.opts.Log = m.opts.Log.With("function", cfg.Function, "stream", cfg.StreamARN)
	if m.opts.RetryDelay <= 0 {
		m.opts.RetryDelay = 100 * time.Millisecond
	}
	if m.opts.MaxRetryDelay <= 0 {
		m.opts.MaxRetryDelay = time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	// The position is taken now, so LATEST means "after what is there
	// when the mapping starts", as on AWS.
	pos := ""
	if cfg.StartingPosition == "LATEST" {
		pos = opts.Source.Latest(cfg.StreamARN)
	}
	go m.run(ctx, pos)
	return m, nil
}

// Close stops polling and waits for the poller (an invocation under way is
// left to finish in the Lambda host).
func (m *Mapping) Close() {
	m.cancel()
	<-m.done
}

// run delivers batch after batch; pos is the sequence number of the last
// record dealt with (delivered, filtered out or given up on).
func (m *Mapping) run(ctx context.Context, pos string) {
	defer close(m.done)
	for {
		batch, last, ok := m.nextBatch(ctx, pos)
		if !ok {
			return
		}
		if !m.deliver(ctx, batch) {
			return
		}
		pos = last
	}
}

// nextBatch waits for records after pos and returns those passing the
// filters (at most BatchSize, after the batching window when not full) and
// the position after them; records filtered out are skipped, as Lambda
// drops them. False when ctx ends.
func (m *Mapping) nextBatch(ctx context.Context, pos string) ([]dynamo.Record, string, bool) {
	var deadline time.Time
	for {
		recs, wake, err := m.opts.Source.Read(m.cfg.StreamARN, pos, m.cfg.BatchSize)
		var timer <-chan time.Time
		switch {
		case err != nil:
			m.opts.Log.Warn("cannot read the stream", "err", err)
			timer = time.After(m.opts.MaxRetryDelay)
		case len(recs) == 0:
		case len(recs) < m.cfg.BatchSize && m.cfg.BatchingWindow > 0 && (deadline.IsZero() || time.Now().Before(deadline)):
			if deadline.IsZero() {
				deadline = time.Now().Add(m.cfg.BatchingWindow)
			}
			timer = time.After(time.Until(deadline))
		default:
			var batch []dynamo.Record
			for _, r := range recs {
				if MatchAny(m.filters, event(r)) {
					batch = append(batch, r)
				}
			}
			pos = recs[len(recs)-1].DynamoDB.SequenceNumber
			if len(batch) > 0 {
				return batch, pos, true
			}
			deadline = time.Time{}
			continue
		}
		select {
		case <-ctx.Done():
			return nil, "", false
		case <-wake:
		case <-timer:
		}
	}
}

// event is a record as filters see it: its JSON, decoded.
func event(r dynamo.Record) map[string]any {
	var ev map[string]any
	b, err := json.Marshal(r)
	if err == nil {
		_ = decode(b, &ev)
	}
	return ev
}
