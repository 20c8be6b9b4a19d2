package eventbridge

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"testing"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/awscli"
)

var updateAWSCLI = flag.Bool("update-awscli", false, "record the AWS CLI's requests into testdata/awscli.json (needs the aws command)")

const awscliFixture = "testdata/awscli.json"

// awscliCommands are the AWS CLI calls a user makes against the local
// EventBridge (the README's among them), in order.
var awscliCommands = [][]string{
	{"events", "list-event-buses"},
	{"events", "describe-event-bus", "--name", "partner-cloud-local-providers"},
	{"events", "put-events", "--entries", `[{"Source":"partner.local","DetailType":"Test","Detail":"{\"hello\":\"world\"}","EventBusName":"partner-cloud-local-providers"}]`},
	{"events", "put-events", "--entries", `[{"Source":"partner.local","DetailType":"Test","Detail":"not json"}]`},
}

func cliHandler() http.Handler {
	return New(Options{Buses: []string{"partner-cloud-local-providers"}, Now: func() time.Time { return fixedNow }})
}

// TestAWSCLI runs the AWS CLI itself against the local EventBridge
// (skipped when it is not installed); with -update-awscli it records the
// calls as the fixture TestAWSCLIFixtures replays.
func TestAWSCLI(t *testing.T) {
	if !awscli.Installed() {
		t.Skip("the aws command is not installed")
	}
	ctx := context.Background()
	h := cliHandler()
	fx := awscli.Fixture{}
	var err error
	if fx.CLI, err = awscli.Version(ctx); err != nil {
		t.Fatal(err)
	}
	for i, args := range awscliCommands {
		out, call, err := awscli.Run(ctx, h, args...)
		if err != nil {
			t.Fatal(err)
		}
		fx.Calls = append(fx.Calls, call)
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
		switch i {
		case 0:
			if buses, _ := got["EventBuses"].([]any); len(buses) != 2 {
				t.Errorf("list-event-buses: %s", out)
			}
		case 1:
			if got["Name"] != "partner-cloud-local-providers" || got["Arn"] != "arn:aws:events:us-east-1:000000000000:event-bus/partner-cloud-local-providers" {
				t.Errorf("describe-event-bus: %s", out)
			}
		case 2:
			if got["FailedEntryCount"] != 0.0 || got["Entries"].([]any)[0].(map[string]any)["EventId"] == nil {
				t.Errorf("put-events: %s", out)
			}
		case 3:
			if got["FailedEntryCount"] != 1.0 || got["Entries"].([]any)[0].(map[string]any)["ErrorCode"] != "MalformedDetail" {
				t.Errorf("put-events (malformed): %s", out)
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
	h := cliHandler()
	for i, call := range fx.Calls {
		if len(call.Args) != len(awscliCommands[i]) || call.Args[1] != awscliCommands[i][1] {
			t.Fatalf("call %d recorded %v, the test runs %v: record again with -update-awscli", i, call.Args, awscliCommands[i])
		}
		for _, ex := range call.Exchanges {
			if err := awscli.Check(h, ex); err != nil {
				t.Errorf("%v: %v", call.Args, err)
			}
		}
	}
}
