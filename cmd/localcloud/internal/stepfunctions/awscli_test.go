package stepfunctions

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"reflect"
	"testing"

	"github.com/partnercloud/azure/cmd/localcloud/internal/awscli"
)

var updateAWSCLI = flag.Bool("update-awscli", false, "record the AWS CLI's requests into testdata/awscli.json (needs the aws command)")

const (
	awscliFixture = "testdata/awscli.json"
	cliMachine    = "arn:aws:states:us-east-1:000000000000:stateMachine:Migration"
	cliExecution  = "arn:aws:states:us-east-1:000000000000:execution:Migration:first"
	cliDefinition = `{"StartAt":"Check","States":{
  "Check":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"Check","Payload.$":"$"},
    "ResultSelector":{"ok.$":"$.Payload.ok"},"ResultPath":"$.check","Next":"Done"},
  "Done":{"Type":"Succeed"}}}`
)

// awscliCommands are the AWS CLI calls a user makes against the local Step
// Functions (the README's among them), in order.
var awscliCommands = [][]string{
	{"stepfunctions", "list-state-machines"},
	{"stepfunctions", "describe-state-machine", "--state-machine-arn", cliMachine},
	{"stepfunctions", "list-executions", "--state-machine-arn", cliMachine},
	{"stepfunctions", "describe-execution", "--execution-arn", cliExecution},
	{"stepfunctions", "get-execution-history", "--execution-arn", cliExecution},
	{"stepfunctions", "start-execution", "--state-machine-arn", cliMachine, "--name", "second", "--input", `{"providerId":"p-2"}`},
}

// cliHandler is an engine with one state machine and one finished execution.
func cliHandler(t *testing.T) http.Handler {
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
// (skipped when it is not installed); with -update-awscli it records the
// calls as the fixture TestAWSCLIFixtures replays.
func TestAWSCLI(t *testing.T) {
	if !awscli.Installed() {
		t.Skip("the aws command is not installed")
	}
	ctx := context.Background()
	h := cliHandler(t)
	fx := awscli.Fixture{}
	var err error
	if fx.CLI, err = awscli.Version(ctx); err != nil {
		t.Fatal(err)
	}
	for _, args := range awscliCommands {
		out, call, err := awscli.Run(ctx, h, args...)
		if err != nil {
			t.Fatal(err)
		}
		fx.Calls = append(fx.Calls, call)
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
		switch args[1] {
		case "list-state-machines":
			list, _ := got["stateMachines"].([]any)
			if len(list) != 1 || list[0].(map[string]any)["stateMachineArn"] != cliMachine {
				t.Errorf("list-state-machines: %s", out)
			}
		case "list-executions":
			list, _ := got["executions"].([]any)
			if len(list) != 1 || list[0].(map[string]any)["executionArn"] != cliExecution || list[0].(map[string]any)["status"] != "SUCCEEDED" {
				t.Errorf("list-executions: %s", out)
			}
		case "describe-execution":
			var output any
			_ = json.Unmarshal([]byte(got["output"].(string)), &output)
			want := map[string]any{"providerId": "p-1", "check": map[string]any{"ok": true}}
			if got["status"] != "SUCCEEDED" || !reflect.DeepEqual(output, want) {
				t.Errorf("describe-execution: %s", out)
			}
		case "get-execution-history":
			if events, _ := got["events"].([]any); len(events) < 4 {
				t.Errorf("get-execution-history: %s", out)
			}
		}
	}
	if *updateAWSCLI {
		if err := awscli.WriteFixture(awscliFixture, fx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAWSCLIFixtures replays the AWS CLI's recorded requests (CLI or not)
// and checks each answer has the status and shape the CLI got.
func TestAWSCLIFixtures(t *testing.T) {
	fx, err := awscli.ReadFixture(awscliFixture)
	if err != nil {
		t.Fatal(err)
	}
	if len(fx.Calls) != len(awscliCommands) {
		t.Fatalf("%d recorded calls for %d commands: record again with -update-awscli", len(fx.Calls), len(awscliCommands))
	}
	h := cliHandler(t)
	for i, call := range fx.Calls {
		if !reflect.DeepEqual(call.Args, awscliCommands[i]) {
			t.Fatalf("call %d recorded %v, the test runs %v: record again with -update-awscli", i, call.Args, awscliCommands[i])
		}
		for _, ex := range call.Exchanges {
			if err := awscli.Check(h, ex); err != nil {
				t.Errorf("%v: %v", call.Args, err)
			}
		}
	}
}
