package cloud

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/cmd/localcloud/internal/dynamo"
	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
)

// sink stands in for the stream function's work: the test function posts
// each stream event here and answers what the sink answers. Each item's
// "test" attribute says how to answer: "ok"; "fail-twice" (a function error
// the first two times a batch starting with it is seen); "partial" (the
// first time, report the second record of the batch as failed); "never"
// (always a function error).
type sink struct {
	mu     sync.Mutex
	seen   map[string]int // by the batch's first sequence number
	events chan events.DynamoDBEvent
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev events.DynamoDBEvent
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &ev); err != nil || len(ev.Records) == 0 {
		http.Error(w, "not a stream event", http.StatusBadRequest)
		return
	}
	first := ev.Records[0].Change.SequenceNumber
	s.mu.Lock()
	s.seen[first]++
	n := s.seen[first]
	s.mu.Unlock()
	s.events <- ev
	switch ev.Records[0].Change.NewImage["test"].String() {
	case "fail-twice":
		if n <= 2 {
			http.Error(w, "failing on purpose", http.StatusInternalServerError)
			return
		}
	case "partial":
		if n == 1 && len(ev.Records) > 1 {
			_ = json.NewEncoder(w).Encode(events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{
				{ItemIdentifier: ev.Records[1].Change.SequenceNumber}}})
			return
		}
	case "never":
		http.Error(w, "never", http.StatusInternalServerError)
		return
	}
	_, _ = w.Write([]byte(`{"batchItemFailures":[]}`))
}

// TestStreamDelivery: in a started local cloud, writes to a table with a
// stream reach the function its DynamoDB event names, as Lambda delivers
// them: the records' shape and types, a failing batch again and in order, a
// partial failure resumed at the failed record, and a batch that never
// succeeds in the dead letters after MaximumRetryAttempts.
func TestStreamDelivery(t *testing.T) {
	s := &sink{seen: map[string]int{}, events: make(chan events.DynamoDBEvent, 100)}
	srv := httptest.NewServer(s)
	defer srv.Close()
	root, err := FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{
		Root: root, Template: "testdata/streams-template.yaml", Scenario: "testdata/scenario.json", StateDir: t.TempDir(),
		APIAddr: "127.0.0.1:0", DynamoAddr: "127.0.0.1:0", TimeScale: 60, Log: log,
		StepFunctionsAddr: "127.0.0.1:0", SESAddr: "127.0.0.1:0", OutboxAddr: "127.0.0.1:0",
		SecretsManagerAddr: "127.0.0.1:0", MicrosoftAddr: "127.0.0.1:0", EventsAddr: "127.0.0.1:0",
		Logger:       slog.New(slog.NewTextHandler(log, nil)),
		EnvOverrides: map[string]string{"ECHO_FORWARD_URL": srv.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	defer func() {
		if t.Failed() {
			t.Log(log.text())
		}
	}()
	client := dynamo.NewClient(c.DynamoURL())
	table := "partner-streams"
	streamARN := samtemplate.StreamARN(table)

	put := func(items ...map[string]types.AttributeValue) {
		t.Helper()
		var reqs []types.WriteRequest
		for _, it := range items {
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
		}
		if _, err := client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs}}); err != nil {
			t.Fatal(err)
		}
	}
	item := func(pk, test string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: "S"},
			"test": &types.AttributeValueMemberS{Value: test}, "n": &types.AttributeValueMemberN{Value: "7"},
			"empty": &types.AttributeValueMemberL{Value: []types.AttributeValue{}}}
	}
	// next returns the partition keys of the records of each of the next n
	// invocations.
	next := func(n int) [][]string {
		t.Helper()
		var out [][]string
		for range n {
			select {
			case ev := <-s.events:
				var pks []string
				for _, r := range ev.Records {
					pks = append(pks, r.Change.Keys["pk"].String())
				}
				out = append(out, pks)
			case <-time.After(30 * time.Second):
				t.Fatalf("after %v: no further invocation", out)
			}
		}
		return out
	}

	// A write reaches the function with the record as Lambda builds it.
	// (The scenario's accounts, written at start, have no "test" attribute:
	// the filter drops them.)
	put(item("A", "ok"))
	select {
	case ev := <-s.events:
		if len(ev.Records) != 1 {
			t.Fatalf("records %+v", ev.Records)
		}
		r := ev.Records[0]
		img := r.Change.NewImage
		if r.EventName != "INSERT" || r.EventSource != "aws:dynamodb" || r.EventVersion != "1.1" || r.AWSRegion != "us-east-1" ||
			r.EventSourceArn != streamARN || r.Change.StreamViewType != "NEW_IMAGE" || r.Change.Keys["pk"].String() != "A" ||
			len(r.Change.Keys) != 2 || r.Change.OldImage != nil || r.Change.SizeBytes < 1 || r.Change.ApproximateCreationDateTime.IsZero() {
			t.Errorf("record %+v", r)
		}
		if img["n"].Number() != "7" || img["test"].String() != "ok" || img["empty"].DataType() != events.DataTypeList || len(img["empty"].List()) != 0 {
			t.Errorf("new image %+v", img)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the write did not reach the function")
	}

	// A function that fails twice gets the same batch again, in order.
	put(item("B1", "fail-twice"), item("B2", "ok"))
	if got, want := next(3), [][]string{{"B1", "B2"}, {"B1", "B2"}, {"B1", "B2"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("failing twice: %v, want %v", got, want)
	}

	// A partial batch failure resumes at the failed record.
	put(item("C1", "partial"), item("C2", "ok"), item("C3", "ok"))
	if got, want := next(2), [][]string{{"C1", "C2", "C3"}, {"C2", "C3"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("partial failure: %v, want %v", got, want)
	}

	// A batch that never succeeds is invoked 1 + MaximumRetryAttempts
	// times, then lands in the dead letters, and delivery moves on.
	put(item("D", "never"))
	if got, want := next(3), [][]string{{"D"}, {"D"}, {"D"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("never succeeding: %v, want %v", got, want)
	}
	put(item("E", "ok"))
	if got, want := next(1), [][]string{{"E"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("after the dead letter: %v, want %v", got, want)
	}
	dead := c.DeadLetters()
	if len(dead) != 1 {
		t.Fatalf("dead letters %+v", dead)
	}
	d := dead[0]
	if d.Destination != samtemplate.QueueARN("DeadLetters") || d.Function != "Sink" || d.RequestContext.Condition != "RetryAttemptsExhausted" ||
		d.RequestContext.ApproximateInvokeCount != 3 || d.ResponseContext.FunctionError != "Unhandled" ||
		d.DDBStreamBatchInfo.StreamARN != streamARN || d.DDBStreamBatchInfo.BatchSize != 1 ||
		len(d.Records) != 1 || string(d.Records[0].DynamoDB.Keys["pk"]) != `{"S":"D"}` ||
		d.DDBStreamBatchInfo.StartSequenceNumber != d.Records[0].DynamoDB.SequenceNumber {
		t.Errorf("dead letter %+v", d)
	}
	select {
	case ev := <-s.events:
		t.Errorf("unexpected invocation %+v", ev)
	default:
	}
	// Deliveries are in the cloud's log.
	if out := log.text(); !strings.Contains(out, "stream batch delivered") || !strings.Contains(out, "on-failure destination") {
		t.Error("deliveries and the dead letter are not logged")
	}
}

func (s *syncBuffer) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
