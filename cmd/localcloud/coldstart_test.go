package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The AWS SDK's service modules from their first release with a schemas
// package on (e.g. dynamodb v1.69.0, sesv2 v1.75.0, secretsmanager
// v1.50.0) build a schema of every shape of the service at package init:
// 3,000 allocations and 3.5 ms for DynamoDB alone, at every cold start of
// every function that links the client, whether or not a request uses it.
// go.mod holds those modules at the release before. This test fails when an
// upgrade brings a schemas package into a function, so that the upgrade is a
// decision made with `make bench` in hand, not a side effect.
func TestFunctionsLinkNoSDKSchemas(t *testing.T) {
	if testing.Short() {
		t.Skip("go list over every function")
	}
	out, err := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "../../functions/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	var linked []string
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2/") && strings.HasSuffix(pkg, "/schemas") {
			linked = append(linked, pkg)
		}
	}
	if len(linked) > 0 {
		t.Errorf("functions link the AWS SDK's shape schemas (package init at every cold start): %v", linked)
	}
}
