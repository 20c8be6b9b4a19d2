package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
)

// startStreams serves the local DynamoDB with faults and streams, with a
// stream table "streamed" (view type viewType) and a table "plain" without one.
func startStreams(t *testing.T, viewType string) (*Server, *Faults, *dynamodb.Client) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &Faults{}
	srv := StartWithFaults(ln, f, nil)
	t.Cleanup(func() { srv.Close() })
	c := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "l", SecretAccessKey: "l"}, nil
		})})
	streamed := table
	streamed.Name, streamed.StreamViewType = "streamed", viewType
	plain := table
	plain.Name = "plain"
	if err := CreateTables(context.Background(), c, []samtemplate.Table{streamed, plain}); err != nil {
		t.Fatal(err)
	}
	return srv, f, c
}

func key(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": s(pk), "sk": s("S")}
}

func item(pk string, extra map[string]types.AttributeValue) map[string]types.AttributeValue {
	it := key(pk)
	for k, v := range extra {
		it[k] = v
	}
	return it
}

// brief is what a test compares of a record: the event, the key and the
// images as JSON.
type brief struct {
	Event, PK string
	New, Old  string
}

func briefs(t *testing.T, recs []Record) []brief {
	t.Helper()
	out := make([]brief, len(recs))
	for i, r := range recs {
		var pk struct{ S string }
		_ = json.Unmarshal(r.DynamoDB.Keys["pk"], &pk)
		img := func(m map[string]json.RawMessage) string {
			if m == nil {
				return ""
			}
			b, _ := json.Marshal(m)
			return string(b)
		}
		out[i] = brief{r.EventName, pk.S, img(r.DynamoDB.NewImage), img(r.DynamoDB.OldImage)}
	}
	return out
}

// TestStreamCapture: every kind of write yields the records DynamoDB
// Streams writes, in order; writes that change nothing, failed writes,
// faulted calls and tables without a stream yield none.
func TestStreamCapture(t *testing.T) {
	srv, faults, c := startStreams(t, "NEW_AND_OLD_IMAGES")
	ctx := context.Background()
	tn, plain := aws.String("streamed"), aws.String("plain")
	arn := samtemplate.StreamARN("streamed")
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	cond := func(err error) error {
		var ccf *types.ConditionalCheckFailedException
		var tc *types.TransactionCanceledException
		if errors.As(err, &ccf) || errors.As(err, &tc) {
			return nil
		}
		if err == nil {
			return errors.New("the write succeeded")
		}
		return err
	}
	const (
		aNew = `{"list":{"L":[]},"n":{"N":"1"},"pk":{"S":"a"},"sk":{"S":"S"}}`
		aMod = `{"list":{"L":[]},"n":{"N":"2"},"pk":{"S":"a"},"sk":{"S":"S"}}`
	)
	steps := []struct {
		name  string
		write func() error
		want  []brief
	}{
		{"put a new item", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tn, Item: item("a", map[string]types.AttributeValue{"n": n("1"), "list": &types.AttributeValueMemberL{}})})
			return err
		}, []brief{{"INSERT", "a", aNew, ""}}},
		{"put the same item again", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tn, Item: item("a", map[string]types.AttributeValue{"n": n("1"), "list": &types.AttributeValueMemberL{}})})
			return err
		}, nil},
		{"update it", func() error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tn, Key: key("a"), UpdateExpression: aws.String("SET n = :v"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": n("2")}})
			return err
		}, []brief{{"MODIFY", "a", aMod, aNew}}},
		{"a put whose condition fails", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tn, Item: key("a"), ConditionExpression: aws.String("attribute_not_exists(pk)")})
			return cond(err)
		}, nil},
		{"a faulted put", func() error {
			faults.Set(1, FaultThrottle)
			defer faults.Set(0, "")
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tn, Item: key("faulted")})
			if err == nil {
				return errors.New("no fault")
			}
			return nil
		}, nil},
		{"a write to a table without a stream", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: plain, Item: key("p")})
			return err
		}, nil},
		{"delete it", func() error {
			_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: tn, Key: key("a")})
			return err
		}, []brief{{"REMOVE", "a", "", aMod}}},
		{"delete a missing item", func() error {
			_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: tn, Key: key("a")})
			return err
		}, nil},
		{"a batch of writes, in order", func() error {
			_, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
				"streamed": {{PutRequest: &types.PutRequest{Item: key("b")}}, {PutRequest: &types.PutRequest{Item: key("c")}}},
				"plain":    {{PutRequest: &types.PutRequest{Item: key("q")}}},
			}})
			return err
		}, []brief{{"INSERT", "b", `{"pk":{"S":"b"},"sk":{"S":"S"}}`, ""}, {"INSERT", "c", `{"pk":{"S":"c"},"sk":{"S":"S"}}`, ""}}},
		{"a transaction; its condition check writes nothing", func() error {
			_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{ConditionCheck: &types.ConditionCheck{TableName: tn, Key: key("b"), ConditionExpression: aws.String("attribute_exists(pk)")}},
				{Delete: &types.Delete{TableName: tn, Key: key("c")}},
				{Put: &types.Put{TableName: tn, Item: key("d")}},
			}})
			return err
		}, []brief{{"REMOVE", "c", "", `{"pk":{"S":"c"},"sk":{"S":"S"}}`}, {"INSERT", "d", `{"pk":{"S":"d"},"sk":{"S":"S"}}`, ""}}},
		{"a cancelled transaction", func() error {
			_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: tn, Item: key("e")}},
				{ConditionCheck: &types.ConditionCheck{TableName: tn, Key: key("zz"), ConditionExpression: aws.String("attribute_exists(pk)")}},
			}})
			return cond(err)
		}, nil},
	}
	last := ""
	for _, step := range steps {
		if err := step.write(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		recs, _, err := srv.Streams.Read(arn, last, 100)
		if err != nil {
			t.Fatal(err)
		}
		if got := briefs(t, recs); !reflect.DeepEqual(got, step.want) && !(len(got) == 0 && len(step.want) == 0) {
			t.Errorf("%s:\n got %+v\nwant %+v", step.name, got, step.want)
		}
		for _, r := range recs {
			if !SeqLess(last, r.DynamoDB.SequenceNumber) && last != "" {
				t.Errorf("%s: sequence number %s not after %s", step.name, r.DynamoDB.SequenceNumber, last)
			}
			last = r.DynamoDB.SequenceNumber
			if r.EventSourceARN != arn || r.EventVersion != "1.1" || r.EventSource != "aws:dynamodb" || r.AWSRegion != "us-east-1" ||
				len(r.EventID) != 32 || r.DynamoDB.StreamViewType != "NEW_AND_OLD_IMAGES" || r.DynamoDB.SizeBytes < 1 ||
				len(r.DynamoDB.SequenceNumber) < 21 || time.Since(r.Created()) > time.Minute || len(r.DynamoDB.Keys) != 2 {
				t.Errorf("%s: record %+v", step.name, r)
			}
		}
	}
	// DescribeTable names the stream the template's GetAtt names.
	d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: tn})
	if err != nil || aws.ToString(d.Table.LatestStreamArn) != arn {
		t.Errorf("LatestStreamArn %v, %v; want %s", aws.ToString(d.Table.LatestStreamArn), err, arn)
	}
	if !srv.Streams.Has(arn) || srv.Streams.Has(samtemplate.StreamARN("plain")) {
		t.Error("Has: wrong streams")
	}
}

// TestStreamViewTypes: the images each view type writes.
func TestStreamViewTypes(t *testing.T) {
	tests := []struct {
		viewType string
		// which images INSERT, MODIFY and REMOVE carry ("N", "O", "NO" or "")
		want [3]string
	}{
		{"KEYS_ONLY", [3]string{"", "", ""}},
		{"NEW_IMAGE", [3]string{"N", "N", ""}},
		{"OLD_IMAGE", [3]string{"", "O", "O"}},
		{"NEW_AND_OLD_IMAGES", [3]string{"N", "NO", "O"}},
	}
	for _, tc := range tests {
		t.Run(tc.viewType, func(t *testing.T) {
			srv, _, c := startStreams(t, tc.viewType)
			ctx := context.Background()
			tn := aws.String("streamed")
			if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tn, Item: item("a", map[string]types.AttributeValue{"v": s("1")})}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tn, Item: item("a", map[string]types.AttributeValue{"v": s("2")})}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: tn, Key: key("a")}); err != nil {
				t.Fatal(err)
			}
			recs, _, _ := srv.Streams.Read(samtemplate.StreamARN("streamed"), "", 10)
			if len(recs) != 3 {
				t.Fatalf("%d records", len(recs))
			}
			for i, r := range recs {
				got := ""
				if r.DynamoDB.NewImage != nil {
					got += "N"
				}
				if r.DynamoDB.OldImage != nil {
					got += "O"
				}
				if got != tc.want[i] || r.DynamoDB.StreamViewType != tc.viewType || string(r.DynamoDB.Keys["pk"]) != `{"S":"a"}` {
					t.Errorf("%s: images %q, want %q (%+v)", r.EventName, got, tc.want[i], r.DynamoDB)
				}
			}
			if names := []string{recs[0].EventName, recs[1].EventName, recs[2].EventName}; !reflect.DeepEqual(names, []string{"INSERT", "MODIFY", "REMOVE"}) {
				t.Errorf("events %v", names)
			}
		})
	}
}

// TestStreamRead: reading after a position, limits, LATEST and trimming.
func TestStreamRead(t *testing.T) {
	st := NewStreams()
	now := time.Unix(1_700_000_000, 0)
	st.now = func() time.Time { return now }
	st.enable("t", "KEYS_ONLY", []string{"pk"})
	arn := samtemplate.StreamARN("t")
	img := func(pk string) map[string]json.RawMessage {
		return map[string]json.RawMessage{"pk": json.RawMessage(`{"S":"` + pk + `"}`)}
	}
	_, wake, _ := st.Read(arn, "", 10)
	st.append([]change{{table: "t", new: img("1")}, {table: "t", new: img("2")}, {table: "t", new: img("3")}})
	select {
	case <-wake:
	default:
		t.Error("the reader was not woken")
	}
	seqs := func(recs []Record) []string {
		var out []string
		for _, r := range recs {
			out = append(out, r.DynamoDB.SequenceNumber)
		}
		return out
	}
	all, _, _ := st.Read(arn, "", 10)
	if len(all) != 3 || st.Latest(arn) != all[2].DynamoDB.SequenceNumber {
		t.Fatalf("records %v, latest %s", seqs(all), st.Latest(arn))
	}
	tests := []struct {
		after string
		limit int
		want  []string
	}{
		{"", 2, seqs(all[:2])},
		{all[0].DynamoDB.SequenceNumber, 10, seqs(all[1:])},
		{all[2].DynamoDB.SequenceNumber, 10, nil},
		{"1", 10, seqs(all)}, // older than anything kept
	}
	for _, tc := range tests {
		got, _, err := st.Read(arn, tc.after, tc.limit)
		if err != nil || !reflect.DeepEqual(seqs(got), tc.want) {
			t.Errorf("Read(after %s, %d) = %v, %v; want %v", tc.after, tc.limit, seqs(got), err, tc.want)
		}
	}
	// A day later, a new record trims the old ones.
	now = now.Add(StreamRetention + time.Second)
	st.append([]change{{table: "t", old: img("1")}})
	got, _, _ := st.Read(arn, "", 10)
	if len(got) != 1 || got[0].EventName != "REMOVE" {
		t.Errorf("after retention: %+v", got)
	}
	if _, _, err := st.Read("arn:nope", "", 1); err == nil {
		t.Error("an unknown stream was read")
	}
}

func TestSeqLess(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"", FormatSeq(1), true},
		{FormatSeq(1), FormatSeq(2), true},
		{FormatSeq(9), FormatSeq(10), true},
		{FormatSeq(10), FormatSeq(9), false},
		{"999", "1000", true},
		{"1000", "1000", false},
	}
	for _, tc := range tests {
		if got := SeqLess(tc.a, tc.b); got != tc.want {
			t.Errorf("SeqLess(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}
