package stepfunctions

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/partnercloud/azure/cmd/localcloud/internal/awscli"
)

const (
	cliMachine    = "arn:aws:states:us-east-1:000000000000:stateMachine:Migration"
	cliExecution  = "arn:aws:states:us-east-1:000000000000:execution:Migration:first"
	cliDefinition = `{"StartAt":"Check","States":{
  "Check":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"Check","Payload.$":"$"},
    "ResultSelector":{"ok.$":"$.Payload.ok"},"ResultPath":"$.check","Next":"Done"},
  "Done":{"Type":"Succeed"}}}`
)

// awscliSuite is the AWS CLI calls a user makes against the local Step
// Functions (the README's among them), in order, and what they print.
var awscliSuite = awscli.Suite{
	Fixture: "testdata/awscli.json",
	Commands: [][]string{
		{"stepfunctions", "list-state-machines"},
		{"stepfunctions", "describe-state-machine", "--state-machine-arn", cliMachine},
		{"stepfunctions", "list-executions", "--state-machine-arn", cliMachine},
		{"stepfunctions", "describe-execution", "--execution-arn", cliExecution},
		{"stepfunctions", "get-execution-history", "--execution-arn", cliExecution},
		{"stepfunctions", "start-execution", "--state-machine-arn", cliMachine, "--name", "second", "--input", `{"providerId":"p-2"}`},
	},
	Handler: cliHandler,
	Check: func(t testing.TB, out awscli.Output) {
		got := out.JSON
		switch out.Args[1] {
		case "list-state-machines":
			list, _ := got["stateMachines"].([]any)
			if len(list) != 1 || list[0].(map[string]any)["stateMachineArn"] != cliMachine {
				t.Errorf("list-state-machines: %s", out.Raw)
			}
		case "list-executions":
			list, _ := got["executions"].([]any)
			if len(list) != 1 || list[0].(map[string]any)["executionArn"] != cliExecution || list[0].(map[string]any)["status"] != "SUCCEEDED" {
				t.Errorf("list-executions: %s", out.Raw)
			}
		case "describe-execution":
			var output any
			_ = json.Unmarshal([]byte(got["output"].(string)), &output)
			want := map[string]any{"providerId": "p-1", "check": map[string]any{"ok": true}}
			if got["status"] != "SUCCEEDED" || !reflect.DeepEqual(output, want) {
				t.Errorf("describe-execution: %s", out.Raw)
			}
		case "get-execution-history":
			if events, _ := got["events"].([]any); len(events) < 4 {
				t.Errorf("get-execution-history: %s", out.Raw)
			}
		}
	},
}

// cliHandler is an engine with one state machine and one finished execution.
func cliHandler(t testing.TB) http.Handler {
	t.Helper()
	e := New(Options{Lambda: newFakeLambda().on("Check", respond(`{"ok":true}`)), Region: "us-east-1", AccountID: "000000000000"})
	t.Cleanup(e.Close)
	arn, err := e.CreateStateMachine("Migration", cliDefinition, "arn:aws:iam::000000000000:role/MigrationRole")
	if err != nil || arn != cliMachine {
		t.Fatalf("%s: %v", arn, err)
	}
	x, _, err := e.StartExecution(arn, "first", `{"providerId":"p-1"}`)
	if err != nil || x != cliExecution {
		t.Fatalf("%s: %v", x, err)
	}
	if status, err := e.Wait(context.Background(), x); err != nil || status != StatusSucceeded {
		t.Fatalf("execution: %s %v", status, err)
	}
	return e.Handler()
}

// TestAWSCLI runs the AWS CLI itself against the local Step Functions
// (skipped when it is not installed); -update-awscli records the fixture.
func TestAWSCLI(t *testing.T) {
	awscliSuite.RunCLI(t)
}

// TestAWSCLIFixtures replays the recorded calls, CLI or not.
func TestAWSCLIFixtures(t *testing.T) {
	awscliSuite.Replay(t)
}
