package eventsource

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/dynamo"
	"github.com/partnercloud/azure/cmd/localcloud/internal/lambdahost"
)

// outcome is how one invocation of a batch ended.
type outcome struct {
	// ok: every record succeeded.
	ok bool
	// failedAt is the index of the first record to retry (0: the whole
	// batch) when !ok.
	failedAt int
	// functionError is the errorType of a function error (or timeout);
	// only these split a batch. "" for a partial failure or a bad answer.
	functionError string
	// notInvoked: the function could not be invoked (the host is gone,
	// say); Lambda retries these until the records expire, without
	// counting them as attempts.
	notInvoked bool
	err        error
}

// deliver hands batch to the function until every record has succeeded or
// been given up on; false when ctx ended first.
func (m *Mapping) deliver(ctx context.Context, batch []dynamo.Record) bool {
	attempts := 0       // failed invocations of the records at the head of batch
	limit := len(batch) // how many of them the next invocation gets
	last := outcome{ok: true}
	for len(batch) > 0 {
		if ctx.Err() != nil {
			return false
		}
		if n := m.expired(batch); n > 0 {
			m.giveUp(batch[:n], "RecordAgeExceeded", attempts, last)
			batch, attempts, limit = batch[n:], 0, len(batch)-n
			continue
		}
		cur := batch[:min(limit, len(batch))]
		start := time.Now()
		out := m.invoke(ctx, cur)
		if ctx.Err() != nil {
			return false
		}
		if out.ok {
			m.opts.Log.Info("stream batch delivered", "records", len(cur), "first", seq(cur[0]), "last", seq(cur[len(cur)-1]),
				"ms", time.Since(start).Milliseconds())
			batch, attempts, limit = batch[len(cur):], 0, len(batch)-len(cur)
			continue
		}
		last = out
		if out.notInvoked {
			m.opts.Log.Warn("stream batch not invoked; retrying", "records", len(cur), "first", seq(cur[0]), "err", out.err)
			if !m.sleep(ctx, m.opts.MaxRetryDelay) {
				return false
			}
			continue
		}
		if out.functionError != "" && m.cfg.Bisect && len(cur) > 1 {
			m.opts.Log.Warn("stream batch failed; splitting it", "records", len(cur), "first", seq(cur[0]), "err", out.err)
			limit = len(cur) / 2
			continue
		}
		if out.failedAt > 0 {
			// The records before the first failure are done: the checkpoint
			// moves to it and only the rest of this batch is retried.
			m.opts.Log.Info("stream batch partly delivered", "records", out.failedAt, "first", seq(cur[0]), "last", seq(cur[out.failedAt-1]))
			batch, attempts = batch[out.failedAt:], 0
			cur = cur[out.failedAt:]
		}
		attempts++
		limit = len(cur)
		m.opts.Log.Warn("stream batch failed", "records", len(cur), "first", seq(cur[0]), "attempt", attempts, "err", out.err)
		if m.cfg.MaxRetryAttempts >= 0 && attempts > m.cfg.MaxRetryAttempts {
			m.giveUp(cur, "RetryAttemptsExhausted", attempts, out)
			batch, attempts, limit = batch[len(cur):], 0, len(batch)-len(cur)
			continue
		}
		if !m.sleep(ctx, m.backoff(attempts)) {
			return false
		}
	}
	return true
}

// invoke runs the function on records and reads its answer as Lambda does.
func (m *Mapping) invoke(ctx context.Context, records []dynamo.Record) outcome {
	payload, err := json.Marshal(map[string]any{"Records": records})
	if err != nil {
		return outcome{notInvoked: true, err: err}
	}
	resp, err := m.opts.Invoker.Invoke(ctx, m.cfg.Function, payload)
	if err != nil {
		var fe *lambdahost.FunctionError
		if errors.As(err, &fe) {
			return outcome{functionError: fe.ErrorType, err: err}
		}
		return outcome{notInvoked: true, err: err}
	}
	if !m.cfg.ReportBatchItemFailures {
		return outcome{ok: true}
	}
	return batchItemFailures(resp, records)
}

// batchItemFailures reads a function's partial batch response. An absent,
// null or empty list means every record succeeded; otherwise the batch is
// retried from the failed record with the lowest sequence number. An
// identifier that is empty or names no record of the batch fails the whole
// batch, as Lambda treats it.
func batchItemFailures(resp []byte, records []dynamo.Record) outcome {
	var answer struct {
		BatchItemFailures []struct {
			ItemIdentifier *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if json.Unmarshal(resp, &answer) != nil || len(answer.BatchItemFailures) == 0 {
		return outcome{ok: true}
	}
	first := len(records)
	for _, f := range answer.BatchItemFailures {
		i := -1
		if f.ItemIdentifier != nil {
			for j, r := range records {
				if seq(r) == *f.ItemIdentifier {
					i = j
					break
				}
			}
		}
		if i < 0 {
			return outcome{err: errors.New("a batchItemFailures itemIdentifier names no record of the batch: the whole batch failed")}
		}
		first = min(first, i)
	}
	return outcome{failedAt: first, err: errors.New("the function reported batch item failures")}
}

// expired counts the records at the head of batch older than MaxRecordAge.
func (m *Mapping) expired(batch []dynamo.Record) int {
	if m.cfg.MaxRecordAge <= 0 {
		return 0
	}
	n := 0
	for n < len(batch) && time.Since(batch[n].Created()) > m.cfg.MaxRecordAge {
		n++
	}
	return n
}

func (m *Mapping) backoff(attempts int) time.Duration {
	d := m.opts.RetryDelay
	for i := 1; i < attempts && d < m.opts.MaxRetryDelay; i++ {
		d *= 2
	}
	return min(d, m.opts.MaxRetryDelay)
}

func (m *Mapping) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func seq(r dynamo.Record) string { return r.DynamoDB.SequenceNumber }
