package lazydynamodb

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/shared/awsconf"
	"github.com/partnercloud/azure/shared/config"
)

// The client calls AWS_ENDPOINT_URL_DYNAMODB, signed with the environment's
// credentials, and is built only when first called.
func TestCallsTheConfiguredEndpoint(t *testing.T) {
	var target, auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target, auth = r.Header.Get("X-Amz-Target"), r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	env := config.FromMap(map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDLOCAL", "AWS_SECRET_ACCESS_KEY": "s",
		"AWS_ENDPOINT_URL_DYNAMODB": srv.URL,
	})
	c := New(awsconf.FromEnv(env))
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	_, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("t"), Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	if target != "DynamoDB_20120810.GetItem" {
		t.Errorf("X-Amz-Target %q", target)
	}
	if !strings.Contains(auth, "Credential=AKIDLOCAL/") {
		t.Errorf("Authorization %q", auth)
	}
}
