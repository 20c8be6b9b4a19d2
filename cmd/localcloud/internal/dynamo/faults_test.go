package dynamo

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

func TestFaults(t *testing.T) {
	f := &Faults{}
	srv := httptest.NewServer(WithCRC32(f.Wrap(Handler())))
	defer srv.Close()
	c := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "l", SecretAccessKey: "l"}, nil
		})})
	// GetItem from a missing table: ResourceNotFoundException is the
	// service's own answer, anything else is an injected fault. (GetItem,
	// because every SDK version models its throttling error; DescribeTable's
	// is modelled only by later SDK releases than the one go.mod holds.)
	list := func() error {
		_, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("missing"),
			Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "x"}}})
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil
		}
		return err
	}
	if err := list(); err != nil {
		t.Fatalf("off by default: %v", err)
	}
	tests := []struct {
		kind  string
		share float64
		calls int
		want  int
		code  string
	}{
		{FaultThrottle, 0.5, 10, 5, "ProvisionedThroughputExceededException"},
		{FaultInternal, 0.25, 8, 2, "InternalServerError"},
		{FaultThrottle, 1, 3, 3, "ProvisionedThroughputExceededException"},
	}
	for _, tt := range tests {
		f.Set(tt.share, tt.kind)
		failed := 0
		for range tt.calls {
			err := list()
			if err == nil {
				continue
			}
			failed++
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.code {
				t.Fatalf("%s: %v, want %s", tt.kind, err, tt.code)
			}
			if tt.kind == FaultThrottle {
				var pte *types.ProvisionedThroughputExceededException
				if !errors.As(err, &pte) {
					t.Fatalf("the SDK did not type the throttle: %T", err)
				}
			}
		}
		if failed != tt.want {
			t.Fatalf("%s at %.2f: %d of %d failed, want %d", tt.kind, tt.share, failed, tt.calls, tt.want)
		}
	}
	f.Set(0, "")
	if err := list(); err != nil {
		t.Fatalf("after switching off: %v", err)
	}
}
