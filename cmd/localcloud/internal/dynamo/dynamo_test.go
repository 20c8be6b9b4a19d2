package dynamo

import (
	"context"
	"errors"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
)

var table = samtemplate.Table{
	LogicalID: "Table", Name: "partner",
	AttributeDefinitions: []samtemplate.AttributeDefinition{{Name: "pk", Type: "S"}, {Name: "sk", Type: "S"}, {Name: "gsi1pk", Type: "S"}, {Name: "gsi1sk", Type: "S"}},
	KeySchema:            []samtemplate.KeyElement{{Name: "pk", KeyType: "HASH"}, {Name: "sk", KeyType: "RANGE"}},
	GlobalSecondaryIndexes: []samtemplate.SecondaryIndex{{Name: "gsi1", ProjectionType: "ALL",
		KeySchema: []samtemplate.KeyElement{{Name: "gsi1pk", KeyType: "HASH"}, {Name: "gsi1sk", KeyType: "RANGE"}}}},
	TTLAttribute: "expiresAt",
}

func start(t *testing.T) (*Server, *dynamodb.Client) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := Start(ln)
	t.Cleanup(func() { s.Close() })
	c := NewClient(s.URL)
	if err := CreateTables(context.Background(), c, []samtemplate.Table{table}); err != nil {
		t.Fatal(err)
	}
	return s, c
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func TestSDKOperations(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	tn := aws.String("partner")
	// Creating again is not an error (the table is kept).
	if err := CreateTables(ctx, c, []samtemplate.Table{table}); err != nil {
		t.Fatalf("second CreateTables: %v", err)
	}
	put := func(pk, sk, g string) {
		t.Helper()
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tn, Item: map[string]types.AttributeValue{
			"pk": s(pk), "sk": s(sk), "gsi1pk": s(g), "gsi1sk": s(sk), "n": &types.AttributeValueMemberN{Value: "1"}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	put("ACCOUNT#a", "P#1", "G")
	put("ACCOUNT#a", "P#2", "G")
	put("ACCOUNT#b", "P#1", "H")

	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: tn, Key: map[string]types.AttributeValue{"pk": s("ACCOUNT#a"), "sk": s("P#2")}})
	if err != nil || got.Item["gsi1pk"].(*types.AttributeValueMemberS).Value != "G" {
		t.Fatalf("GetItem: %v %v", got, err)
	}
	q, err := c.Query(ctx, &dynamodb.QueryInput{TableName: tn, KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("ACCOUNT#a")}, ScanIndexForward: aws.Bool(false)})
	if err != nil || len(q.Items) != 2 || q.Items[0]["sk"].(*types.AttributeValueMemberS).Value != "P#2" {
		t.Fatalf("Query: %+v %v", q, err)
	}
	gq, err := c.Query(ctx, &dynamodb.QueryInput{TableName: tn, IndexName: aws.String("gsi1"), KeyConditionExpression: aws.String("gsi1pk = :g"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":g": s("G")}})
	if err != nil || len(gq.Items) != 2 {
		t.Fatalf("GSI query: %+v %v", gq, err)
	}

	// A transaction whose condition fails is cancelled as a whole.
	_, err = c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: tn, Item: map[string]types.AttributeValue{"pk": s("ACCOUNT#c"), "sk": s("X")}}},
		{Put: &types.Put{TableName: tn, Item: map[string]types.AttributeValue{"pk": s("ACCOUNT#a"), "sk": s("P#1")},
			ConditionExpression: aws.String("attribute_not_exists(pk)")}},
	}})
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		t.Fatalf("transaction: %v, want TransactionCanceledException", err)
	}
	c1, _ := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: tn, Key: map[string]types.AttributeValue{"pk": s("ACCOUNT#c"), "sk": s("X")}})
	if len(c1.Item) != 0 {
		t.Error("cancelled transaction wrote an item")
	}
	_, err = c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: tn, Item: map[string]types.AttributeValue{"pk": s("ACCOUNT#c"), "sk": s("X")}}},
		{Update: &types.Update{TableName: tn, Key: map[string]types.AttributeValue{"pk": s("ACCOUNT#a"), "sk": s("P#1")},
			UpdateExpression: aws.String("SET n = n + :one"), ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}}}},
	}})
	if err != nil {
		t.Fatalf("transaction: %v", err)
	}
	a1, _ := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: tn, Key: map[string]types.AttributeValue{"pk": s("ACCOUNT#a"), "sk": s("P#1")}})
	if a1.Item["n"].(*types.AttributeValueMemberN).Value != "2" {
		t.Errorf("update in transaction: %v", a1.Item["n"])
	}
}

func TestCRC32Header(t *testing.T) {
	srv, _ := start(t)
	tests := []struct{ name, target, body string }{
		{"success", "DynamoDB_20120810.DescribeTable", `{"TableName":"partner"}`},
		{"error", "DynamoDB_20120810.DescribeTable", `{"TableName":"missing"}`},
		{"unsupported", "DynamoDB_20120810.Nope", `{}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(tc.body))
			req.Header.Set("X-Amz-Target", tc.target)
			req.Header.Set("Content-Type", "application/x-amz-json-1.0")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10)
			if got := resp.Header.Get("X-Amz-Crc32"); got != want || len(body) == 0 {
				t.Errorf("X-Amz-Crc32 = %q, want %q (body %q)", got, want, body)
			}
		})
	}
}

func TestCreateTableInput(t *testing.T) {
	in := CreateTableInput(table)
	if *in.TableName != "partner" || len(in.GlobalSecondaryIndexes) != 1 || in.BillingMode != types.BillingModePayPerRequest || in.ProvisionedThroughput != nil {
		t.Errorf("input %+v", in)
	}
	p := table
	p.BillingMode = "PROVISIONED"
	in = CreateTableInput(p)
	if in.ProvisionedThroughput == nil || in.GlobalSecondaryIndexes[0].ProvisionedThroughput == nil {
		t.Error("provisioned table without throughput")
	}
}
