package dynamo

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
)

// TestTableCalls drives the table-level calls the AWS CLI and SDKs make with
// the real SDK client and checks the documented shapes.
func TestTableCalls(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	more := []samtemplate.Table{table, table}
	more[0].Name, more[0].TTLAttribute = "alpha", ""
	more[1].Name = "zeta"
	if err := CreateTables(ctx, c, more); err != nil {
		t.Fatal(err)
	}

	t.Run("ListTables pages in name order", func(t *testing.T) {
		out, err := c.ListTables(ctx, &dynamodb.ListTablesInput{})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(out.TableNames, ","); got != "alpha,partner,zeta" || out.LastEvaluatedTableName != nil {
			t.Fatalf("tables %s, last %v", got, aws.ToString(out.LastEvaluatedTableName))
		}
		var all []string
		p := dynamodb.NewListTablesPaginator(c, &dynamodb.ListTablesInput{Limit: aws.Int32(2)})
		pages := 0
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			all = append(all, page.TableNames...)
		}
		if got := strings.Join(all, ","); got != "alpha,partner,zeta" || pages != 2 {
			t.Fatalf("paged: %s in %d pages", got, pages)
		}
		if _, err := c.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(101)}); !isCode(err, "ValidationException") {
			t.Errorf("Limit 101: %v", err)
		}
	})

	t.Run("DescribeTable", func(t *testing.T) {
		for _, pk := range []string{"a", "b", "c"} {
			if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("partner"),
				Item: map[string]types.AttributeValue{"pk": s(pk), "sk": s("x")}}); err != nil {
				t.Fatal(err)
			}
		}
		out, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("partner")})
		if err != nil {
			t.Fatal(err)
		}
		d := out.Table
		arn := "arn:aws:dynamodb:us-east-1:000000000000:table/partner"
		if aws.ToString(d.TableName) != "partner" || aws.ToString(d.TableArn) != arn || d.TableStatus != types.TableStatusActive ||
			d.CreationDateTime == nil || aws.ToString(d.TableId) == "" || aws.ToInt64(d.ItemCount) != 3 {
			t.Errorf("table: name %s arn %s status %s created %v id %s items %d", aws.ToString(d.TableName), aws.ToString(d.TableArn),
				d.TableStatus, d.CreationDateTime, aws.ToString(d.TableId), aws.ToInt64(d.ItemCount))
		}
		if len(d.AttributeDefinitions) != 4 || len(d.KeySchema) != 2 || d.KeySchema[0].KeyType != types.KeyTypeHash {
			t.Errorf("schema: %d definitions, key %+v", len(d.AttributeDefinitions), d.KeySchema)
		}
		if d.BillingModeSummary == nil || d.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
			t.Errorf("billing: %+v", d.BillingModeSummary)
		}
		if len(d.GlobalSecondaryIndexes) != 1 || d.GlobalSecondaryIndexes[0].IndexStatus != types.IndexStatusActive ||
			aws.ToString(d.GlobalSecondaryIndexes[0].IndexArn) != arn+"/index/gsi1" ||
			d.GlobalSecondaryIndexes[0].Projection.ProjectionType != types.ProjectionTypeAll {
			t.Errorf("index: %+v", d.GlobalSecondaryIndexes)
		}
		// By ARN too, as DynamoDB accepts.
		if _, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(arn)}); err != nil {
			t.Errorf("by ARN: %v", err)
		}
		var nf *types.ResourceNotFoundException
		if _, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("nope")}); !errors.As(err, &nf) {
			t.Errorf("unknown table: %v", err)
		}
	})

	t.Run("time to live", func(t *testing.T) {
		ttl := func(name string) *types.TimeToLiveDescription {
			t.Helper()
			out, err := c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			return out.TimeToLiveDescription
		}
		if d := ttl("partner"); d.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != "expiresAt" {
			t.Errorf("partner: %s %s", d.TimeToLiveStatus, aws.ToString(d.AttributeName))
		}
		if d := ttl("alpha"); d.TimeToLiveStatus != types.TimeToLiveStatusDisabled || d.AttributeName != nil {
			t.Errorf("alpha: %s %v", d.TimeToLiveStatus, d.AttributeName)
		}
		_, err := c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("partner"),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("expiresAt"), Enabled: aws.Bool(true)}})
		if !isCode(err, "ValidationException") {
			t.Errorf("enabling twice: %v", err)
		}
		var nf *types.ResourceNotFoundException
		if _, err := c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("nope")}); !errors.As(err, &nf) {
			t.Errorf("unknown table: %v", err)
		}
	})

	t.Run("tags", func(t *testing.T) {
		arn := aws.String("arn:aws:dynamodb:us-east-1:000000000000:table/zeta")
		tags := func() string {
			t.Helper()
			out, err := c.ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: arn})
			if err != nil {
				t.Fatal(err)
			}
			var kv []string
			for _, tg := range out.Tags {
				kv = append(kv, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
			}
			return strings.Join(kv, ",")
		}
		if got := tags(); got != "" {
			t.Errorf("new table's tags: %q", got)
		}
		if _, err := c.TagResource(ctx, &dynamodb.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{
			{Key: aws.String("b"), Value: aws.String("2")}, {Key: aws.String("a"), Value: aws.String("1")}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UntagResource(ctx, &dynamodb.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"b"}}); err != nil {
			t.Fatal(err)
		}
		if got := tags(); got != "a=1" {
			t.Errorf("tags: %q", got)
		}
		if _, err := c.ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: aws.String("zeta")}); !isCode(err, "ValidationException") {
			t.Errorf("a name instead of an ARN: %v", err)
		}
	})

	t.Run("DeleteTable forgets the table", func(t *testing.T) {
		out, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("alpha")})
		if err != nil {
			t.Fatal(err)
		}
		if out.TableDescription.TableStatus != types.TableStatusDeleting || aws.ToString(out.TableDescription.TableName) != "alpha" {
			t.Errorf("description: %+v", out.TableDescription)
		}
		list, err := c.ListTables(ctx, &dynamodb.ListTablesInput{})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(list.TableNames, ","); got != "partner,zeta" {
			t.Errorf("after delete: %s", got)
		}
	})
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

// An operation the local DynamoDB does not serve is answered as DynamoDB
// answers an unknown one, in JSON the SDKs read.
func TestUnknownOperation(t *testing.T) {
	srv, _ := start(t)
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.RestoreTableFromBackup")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "#UnknownOperationException") ||
		res.Header.Get("Content-Type") != "application/x-amz-json-1.0" {
		t.Errorf("%d %s %s", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
}
