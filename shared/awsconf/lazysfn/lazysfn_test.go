package lazysfn

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/partnercloud/azure/shared/awsconf"
	"github.com/partnercloud/azure/shared/config"
)

// Tasks calls AWS_ENDPOINT_URL_SFN for the task operations and has no
// other: a call of another fails instead of linking it.
func TestTasksHasTheTaskOperationsOnly(t *testing.T) {
	var target string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target = r.Header.Get("X-Amz-Target")
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	env := config.FromMap(map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s", "AWS_ENDPOINT_URL_SFN": srv.URL})
	tasks := Tasks(awsconf.FromEnv(env))
	if err := tasks.Succeed(context.Background(), "token-1", map[string]string{"ok": "yes"}); err != nil {
		t.Fatal(err)
	}
	if target != "AWSStepFunctions.SendTaskSuccess" {
		t.Errorf("X-Amz-Target %q", target)
	}
	_, err := tasks.Client.StartExecution(context.Background(), &sfn.StartExecutionInput{StateMachineArn: aws.String("arn")})
	if err == nil || !strings.Contains(err.Error(), "without StartExecution") {
		t.Fatalf("StartExecution on a Tasks client = %v", err)
	}
}
