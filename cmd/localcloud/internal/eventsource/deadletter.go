package eventsource

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/dynamo"
)

// ShardID is the id of a local stream's one shard, in DynamoDB's form.
const ShardID = "shardId-00000001704067200000-00000001"

// DeadLetter is what a mapping sends to its on-failure destination for a
// batch it gave up on: the invocation record Lambda sends to an SQS or SNS
// destination for a DynamoDB stream (the batch's stream and sequence
// numbers, not the records). The local cloud keeps it (the destination
// queue is not emulated), with the records themselves for tests.
type DeadLetter struct {
	RequestContext struct {
		RequestID string `json:"requestId"`
		// FunctionARN is the mapping's function.
		FunctionARN string `json:"functionArn"`
		// Condition is RetryAttemptsExhausted or RecordAgeExceeded.
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	ResponseContext struct {
		StatusCode      int    `json:"statusCode"`
		ExecutedVersion string `json:"executedVersion"`
		// FunctionError is "Unhandled" when the last invocation ended in a
		// function error or timeout.
		FunctionError string `json:"functionError,omitempty"`
	} `json:"responseContext"`
	Version            string    `json:"version"`
	Timestamp          string    `json:"timestamp"`
	DDBStreamBatchInfo BatchInfo `json:"DDBStreamBatchInfo"`

	// Destination is the mapping's OnFailure ARN; "" when it has none, in
	// which case AWS drops the records (the local cloud still lists them).
	Destination string `json:"-"`
	// Function is the function's name; Records the records given up on.
	Function string          `json:"-"`
	Records  []dynamo.Record `json:"-"`
}

// BatchInfo locates the records of a DeadLetter in the stream.
type BatchInfo struct {
	ShardID                         string `json:"shardId"`
	StartSequenceNumber             string `json:"startSequenceNumber"`
	EndSequenceNumber               string `json:"endSequenceNumber"`
	ApproximateArrivalOfFirstRecord string `json:"approximateArrivalOfFirstRecord"`
	ApproximateArrivalOfLastRecord  string `json:"approximateArrivalOfLastRecord"`
	BatchSize                       int    `json:"batchSize"`
	StreamARN                       string `json:"streamArn"`
}

// giveUp sends records to the on-failure destination and logs it.
func (m *Mapping) giveUp(records []dynamo.Record, condition string, attempts int, last outcome) {
	var d DeadLetter
	d.RequestContext.RequestID = newUUID()
	d.RequestContext.FunctionARN = m.cfg.FunctionARN
	d.RequestContext.Condition = condition
	d.RequestContext.ApproximateInvokeCount = attempts
	d.ResponseContext.StatusCode = 200
	d.ResponseContext.ExecutedVersion = "$LATEST"
	if last.functionError != "" {
		d.ResponseContext.FunctionError = "Unhandled"
	}
	d.Version = "1.0"
	d.Timestamp = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	first, end := records[0], records[len(records)-1]
	d.DDBStreamBatchInfo = BatchInfo{
		ShardID: ShardID, StartSequenceNumber: seq(first), EndSequenceNumber: seq(end),
		ApproximateArrivalOfFirstRecord: first.Created().UTC().Format(time.RFC3339),
		ApproximateArrivalOfLastRecord:  end.Created().UTC().Format(time.RFC3339),
		BatchSize:                       len(records), StreamARN: m.cfg.StreamARN,
	}
	d.Destination, d.Function, d.Records = m.cfg.OnFailure, m.cfg.Function, records
	m.opts.Log.Error("stream records given up on, sent to the on-failure destination", "condition", condition,
		"destination", m.cfg.OnFailure, "records", len(records), "first", seq(first), "last", seq(end), "attempts", attempts)
	if m.opts.OnDeadLetter != nil {
		m.opts.OnDeadLetter(d)
	}
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
