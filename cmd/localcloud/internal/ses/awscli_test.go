package ses

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

const awscliFixture = "testdata/awscli.json"

// awscliCommands are the AWS CLI calls a user makes against the local SES
// (the README's among them), in order.
var awscliCommands = [][]string{
	{"sesv2", "get-account"},
	{"sesv2", "list-email-identities"},
	{"sesv2", "get-email-identity", "--email-identity", "partner.example"},
	{"sesv2", "send-email", "--from-email-address", "no-reply@partner.example",
		"--destination", `{"ToAddresses":["admin@contoso.example"]}`,
		"--content", `{"Simple":{"Subject":{"Data":"Hello"},"Body":{"Text":{"Data":"Sent with the AWS CLI: https://example.com/x"}}}}`},
}

func cliHandler(t *testing.T) (http.Handler, *Outbox) {
	t.Helper()
	o, err := NewOutbox(Options{Dir: t.TempDir(), Identities: []string{"partner.example"}})
	if err != nil {
		t.Fatal(err)
	}
	return o.APIHandler(), o
}

// TestAWSCLI runs the AWS CLI itself against the local SES (skipped when it
// is not installed); with -update-awscli it records the calls as the fixture
// TestAWSCLIFixtures replays.
func TestAWSCLI(t *testing.T) {
	if !awscli.Installed() {
		t.Skip("the aws command is not installed")
	}
	ctx := context.Background()
	h, o := cliHandler(t)
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
		case "get-account":
			if got["SendingEnabled"] != true || got["ProductionAccessEnabled"] != true {
				t.Errorf("get-account: %s", out)
			}
		case "list-email-identities":
			ids, _ := got["EmailIdentities"].([]any)
			if len(ids) != 1 || !reflect.DeepEqual(ids[0].(map[string]any)["IdentityName"], "partner.example") {
				t.Errorf("list-email-identities: %s", out)
			}
		case "get-email-identity":
			if got["VerifiedForSendingStatus"] != true || got["IdentityType"] != "DOMAIN" {
				t.Errorf("get-email-identity: %s", out)
			}
		case "send-email":
			msgs := o.Messages()
			if len(msgs) != 1 || got["MessageId"] != msgs[0].ID || msgs[0].Subject != "Hello" {
				t.Errorf("send-email: %s, outbox %+v", out, msgs)
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
	h, _ := cliHandler(t)
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
