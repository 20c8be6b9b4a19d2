package eventsource

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/dynamo"
	"github.com/partnercloud/azure/cmd/localcloud/internal/lambdahost"
	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
)

const testStream = "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2024-01-01T00:00:00.000"

// fakeSource is a stream whose records a test writes.
type fakeSource struct {
	mu      sync.Mutex
	recs    []dynamo.Record
	changed chan struct{}
	n       int
}

func newFakeSource() *fakeSource { return &fakeSource{changed: make(chan struct{})} }

// add appends records numbered from the next sequence number; image is
// each record's NewImage (JSON), "" for none.
func (s *fakeSource) add(images ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, img := range images {
		s.n++
		r := dynamo.Record{EventID: strconv.Itoa(s.n), EventName: "INSERT", EventVersion: "1.1", EventSource: "aws:dynamodb",
			AWSRegion: "us-east-1", EventSourceARN: testStream}
		r.DynamoDB.SequenceNumber = dynamo.FormatSeq(uint64(s.n))
		r.DynamoDB.ApproximateCreationDateTime = time.Now().Unix()
		r.DynamoDB.Keys = map[string]json.RawMessage{"pk": json.RawMessage(`{"S":"` + strconv.Itoa(s.n) + `"}`)}
		if img != "" {
			_ = json.Unmarshal([]byte(img), &r.DynamoDB.NewImage)
		}
		s.recs = append(s.recs, r)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *fakeSource) Read(arn, after string, limit int) ([]dynamo.Record, <-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if arn != testStream {
		return nil, s.changed, errors.New("no such stream")
	}
	var out []dynamo.Record
	for _, r := range s.recs {
		if (after == "" || dynamo.SeqLess(after, r.DynamoDB.SequenceNumber)) && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, s.changed, nil
}

func (s *fakeSource) Latest(string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recs) == 0 {
		return ""
	}
	return s.recs[len(s.recs)-1].DynamoDB.SequenceNumber
}

// fakeFunction records each invocation's record numbers and answers with
// handle (call counts from 1).
type fakeFunction struct {
	mu     sync.Mutex
	calls  [][]int
	handle func(call int, nums []int) ([]byte, error)
}

func (f *fakeFunction) Invoke(_ context.Context, name string, payload []byte) ([]byte, error) {
	var ev struct{ Records []dynamo.Record }
	if name != "Fn" || json.Unmarshal(payload, &ev) != nil {
		return nil, errors.New("bad invocation")
	}
	var nums []int
	for _, r := range ev.Records {
		n, _ := strconv.Atoi(r.EventID)
		nums = append(nums, n)
	}
	f.mu.Lock()
	f.calls = append(f.calls, nums)
	call := len(f.calls)
	f.mu.Unlock()
	return f.handle(call, nums)
}

var errFunction = &lambdahost.FunctionError{Function: "Fn", ErrorType: "RelayError", ErrorMessage: "boom"}

func ok(int, []int) ([]byte, error) { return []byte(`null`), nil }

func contains(nums []int, n int) bool {
	for _, x := range nums {
		if x == n {
			return true
		}
	}
	return false
}

// failures answers a partial batch response naming records by number.
func failures(nums ...int) []byte {
	var list []map[string]string
	for _, n := range nums {
		list = append(list, map[string]string{"itemIdentifier": dynamo.FormatSeq(uint64(n))})
	}
	b, _ := json.Marshal(map[string]any{"batchItemFailures": list})
	return b
}

type deadLetter struct {
	Condition string
	Nums      []int
	Invokes   int
}

func TestMapping(t *testing.T) {
	const exists = `{"dynamodb":{"NewImage":{"outboxSince":{"S":[{"exists":true}]}}}}`
	outbox := `{"outboxSince":{"S":"2024-01-01T00:00:00Z"}}`
	tests := []struct {
		name string
		cfg  func(*Config)
		// before are records written before the mapping starts, after those
		// written once it runs.
		before, after []string
		handle        func(call int, nums []int) ([]byte, error)
		wantCalls     [][]int
		wantDead      []deadLetter
	}{
		{
			name:   "batches in order",
			cfg:    func(c *Config) { c.BatchSize = 2 },
			before: []string{"", "", ""}, after: []string{"", ""},
			handle: ok,
			// 4 comes alone: 5 is written a second later.
			wantCalls: [][]int{{1, 2}, {3}, {4}, {5}},
		},
		{
			name:   "a function error retries the same batch",
			before: []string{"", "", ""},
			handle: func(call int, _ []int) ([]byte, error) {
				if call <= 2 {
					return nil, errFunction
				}
				return nil, nil
			},
			wantCalls: [][]int{{1, 2, 3}, {1, 2, 3}, {1, 2, 3}},
		},
		{
			name:   "bisecting isolates the failing record; splits are not retries",
			cfg:    func(c *Config) { c.Bisect, c.MaxRetryAttempts = true, 1 },
			before: []string{"", "", "", ""},
			handle: func(_ int, nums []int) ([]byte, error) {
				if contains(nums, 3) {
					return nil, errFunction
				}
				return nil, nil
			},
			wantCalls: [][]int{{1, 2, 3, 4}, {1, 2}, {3, 4}, {3}, {3}, {4}},
			wantDead:  []deadLetter{{"RetryAttemptsExhausted", []int{3}, 2}},
		},
		{
			name:   "a partial failure resumes at the first failed record",
			cfg:    func(c *Config) { c.ReportBatchItemFailures = true },
			before: []string{"", "", "", "", ""},
			handle: func(call int, _ []int) ([]byte, error) {
				if call == 1 {
					return failures(5, 3), nil
				}
				return []byte(`{"batchItemFailures":[]}`), nil
			},
			wantCalls: [][]int{{1, 2, 3, 4, 5}, {3, 4, 5}},
		},
		{
			name:   "an identifier naming no record fails the whole batch",
			cfg:    func(c *Config) { c.ReportBatchItemFailures = true },
			before: []string{"", ""},
			handle: func(call int, _ []int) ([]byte, error) {
				if call == 1 {
					return []byte(`{"batchItemFailures":[{"itemIdentifier":"nope"}]}`), nil
				}
				return []byte(`{}`), nil
			},
			wantCalls: [][]int{{1, 2}, {1, 2}},
		},
		{
			name:      "without ReportBatchItemFailures the answer is not read",
			before:    []string{""},
			handle:    func(int, []int) ([]byte, error) { return failures(1), nil },
			wantCalls: [][]int{{1}},
		},
		{
			name:      "exhausted retries go to the destination, batch by batch",
			cfg:       func(c *Config) { c.BatchSize, c.MaxRetryAttempts = 2, 2 },
			before:    []string{"", "", ""},
			handle:    func(int, []int) ([]byte, error) { return nil, errFunction },
			wantCalls: [][]int{{1, 2}, {1, 2}, {1, 2}, {3}, {3}, {3}},
			wantDead:  []deadLetter{{"RetryAttemptsExhausted", []int{1, 2}, 3}, {"RetryAttemptsExhausted", []int{3}, 3}},
		},
		{
			name:   "records failing past their maximum age are given up on",
			cfg:    func(c *Config) { c.MaxRecordAge = 5 * time.Second },
			before: []string{""},
			handle: func(int, []int) ([]byte, error) { return nil, errFunction },
			// Back-off 100, 200, 400, 800 ms, then 1 s each: the record is
			// older than 5 s at the 9th attempt.
			wantCalls: [][]int{{1}, {1}, {1}, {1}, {1}, {1}, {1}, {1}},
			wantDead:  []deadLetter{{"RecordAgeExceeded", []int{1}, 8}},
		},
		{
			name:   "filters drop records, and batches of none are not delivered",
			cfg:    func(c *Config) { c.Filters, c.BatchSize = []string{exists, `{"eventName":["REMOVE"]}`}, 2 },
			before: []string{"", ""}, after: []string{outbox, "", outbox},
			handle:    ok,
			wantCalls: [][]int{{3}, {5}},
		},
		{
			name:   "LATEST skips the records already there",
			cfg:    func(c *Config) { c.StartingPosition = "LATEST" },
			before: []string{"", ""}, after: []string{""},
			handle:    ok,
			wantCalls: [][]int{{3}},
		},
		{
			name:   "a batching window gathers records",
			cfg:    func(c *Config) { c.BatchingWindow = 10 * time.Second },
			after:  []string{"", ""},
			handle: ok, wantCalls: [][]int{{1, 2}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := newFakeSource()
				fn := &fakeFunction{handle: tc.handle}
				var mu sync.Mutex
				var dead []DeadLetter
				cfg := Config{Function: "Fn", FunctionARN: samtemplate.FunctionARN("Fn"), StreamARN: testStream,
					StartingPosition: "TRIM_HORIZON", BatchSize: 10, MaxRetryAttempts: -1, OnFailure: "arn:aws:sqs:us-east-1:000000000000:dlq"}
				if tc.cfg != nil {
					tc.cfg(&cfg)
				}
				if len(tc.before) > 0 {
					src.add(tc.before...)
				}
				m, err := Start(cfg, Options{Source: src, Invoker: fn, OnDeadLetter: func(d DeadLetter) {
					mu.Lock()
					dead = append(dead, d)
					mu.Unlock()
				}})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				synctest.Wait()
				if len(tc.after) > 0 {
					src.add(tc.after[:1]...)
					time.Sleep(time.Second) // inside the batching window
					src.add(tc.after[1:]...)
				}
				time.Sleep(time.Hour) // every retry and window passes
				synctest.Wait()
				fn.mu.Lock()
				calls := fn.calls
				fn.mu.Unlock()
				if !reflect.DeepEqual(calls, tc.wantCalls) {
					t.Errorf("calls:\n got %v\nwant %v", calls, tc.wantCalls)
				}
				mu.Lock()
				defer mu.Unlock()
				var got []deadLetter
				for _, d := range dead {
					var nums []int
					for _, r := range d.Records {
						n, _ := strconv.Atoi(r.EventID)
						nums = append(nums, n)
					}
					got = append(got, deadLetter{d.RequestContext.Condition, nums, d.RequestContext.ApproximateInvokeCount})
					info := d.DDBStreamBatchInfo
					if info.StartSequenceNumber != seq(d.Records[0]) || info.EndSequenceNumber != seq(d.Records[len(d.Records)-1]) ||
						info.BatchSize != len(d.Records) || info.StreamARN != testStream || d.Destination != cfg.OnFailure ||
						d.RequestContext.FunctionARN != cfg.FunctionARN || d.Version != "1.0" {
						t.Errorf("dead letter %+v", d)
					}
				}
				if !reflect.DeepEqual(got, tc.wantDead) {
					t.Errorf("dead letters:\n got %+v\nwant %+v", got, tc.wantDead)
				}
			})
		})
	}
}

// TestDeadLetterJSON: the on-failure record has Lambda's shape.
func TestDeadLetterJSON(t *testing.T) {
	m := &Mapping{cfg: Config{FunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:Fn", StreamARN: testStream, OnFailure: "arn:q"}}
	var got DeadLetter
	m.opts.Log = discardLog()
	m.opts.OnDeadLetter = func(d DeadLetter) { got = d }
	src := newFakeSource()
	src.add("", "")
	m.giveUp(src.recs, "RetryAttemptsExhausted", 4, outcome{functionError: "Sandbox.Timedout"})
	b, _ := json.Marshal(got)
	var doc map[string]map[string]any
	_ = json.Unmarshal(b, &doc)
	want := map[string]map[string]any{
		"requestContext":     {"functionArn": "arn:aws:lambda:us-east-1:000000000000:function:Fn", "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 4.0},
		"responseContext":    {"statusCode": 200.0, "executedVersion": "$LATEST", "functionError": "Unhandled"},
		"DDBStreamBatchInfo": {"shardId": ShardID, "startSequenceNumber": dynamo.FormatSeq(1), "endSequenceNumber": dynamo.FormatSeq(2), "batchSize": 2.0, "streamArn": testStream},
	}
	for part, fields := range want {
		for k, v := range fields {
			if doc[part][k] != v {
				t.Errorf("%s.%s = %v, want %v", part, k, doc[part][k], v)
			}
		}
	}
	if _, err := time.Parse(time.RFC3339, doc["DDBStreamBatchInfo"]["approximateArrivalOfFirstRecord"].(string)); err != nil {
		t.Error(err)
	}
	if len(got.RequestContext.RequestID) != 36 || got.Timestamp == "" || got.Version != "1.0" {
		t.Errorf("dead letter %+v", got)
	}
}

func TestStartErrors(t *testing.T) {
	base := Config{Function: "Fn", StreamARN: testStream, StartingPosition: "LATEST", BatchSize: 1}
	tests := []struct {
		name string
		set  func(*Config)
	}{
		{"batch size", func(c *Config) { c.BatchSize = 0 }},
		{"starting position", func(c *Config) { c.StartingPosition = "AT_TIMESTAMP" }},
		{"filter", func(c *Config) { c.Filters = []string{`{"a":[{"wildcard":"*"}]}`} }},
	}
	for _, tc := range tests {
		cfg := base
		tc.set(&cfg)
		if m, err := Start(cfg, Options{Source: newFakeSource()}); err == nil {
			m.Close()
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestConfigFor(t *testing.T) {
	ev := samtemplate.StreamEvent{StreamARN: testStream, StartingPosition: "TRIM_HORIZON", BatchSize: 10,
		MaximumBatchingWindowInSeconds: 60, MaximumRetryAttempts: 10, MaximumRecordAgeInSeconds: 86400,
		BisectBatchOnFunctionError: true, ReportBatchItemFailures: true, Filters: []string{"{}"}, OnFailure: "arn:q"}
	got := ConfigFor(samtemplate.Function{LogicalID: "Relay"}, ev, 60)
	want := Config{Function: "Relay", FunctionARN: samtemplate.FunctionARN("Relay"), StreamARN: testStream, StartingPosition: "TRIM_HORIZON",
		BatchSize: 10, BatchingWindow: time.Second, MaxRetryAttempts: 10, MaxRecordAge: 1440 * time.Second,
		Bisect: true, ReportBatchItemFailures: true, Filters: []string{"{}"}, OnFailure: "arn:q"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	ev.MaximumRecordAgeInSeconds = -1
	if got := ConfigFor(samtemplate.Function{LogicalID: "Relay"}, ev, 1); got.MaxRecordAge != 0 || got.BatchingWindow != time.Minute {
		t.Errorf("unscaled, no age limit: %+v", got)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
