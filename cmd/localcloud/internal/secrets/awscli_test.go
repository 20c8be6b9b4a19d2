package secrets

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

// awscliCommands are the AWS CLI calls a user makes against the local
// Secrets Manager (the README's among them), in order.
var awscliCommands = [][]string{
	{"secretsmanager", "list-secrets"},
	{"secretsmanager", "get-secret-value", "--secret-id", "partner-azure-credential"},
	{"secretsmanager", "describe-secret", "--secret-id", "partner-azure-credential"},
	{"secretsmanager", "put-secret-value", "--secret-id", "partner-azure-credential", "--secret-string", "rotated"},
	{"secretsmanager", "get-secret-value", "--secret-id", "partner-azure-credential", "--version-stage", "AWSPREVIOUS"},
}

func cliHandler() http.Handler {
	return New(map[string]string{"partner-azure-credential": "local-secret", "signing-key": "k"},
		Options{Region: "us-east-1", AccountID: "000000000000"})
}

// TestAWSCLI runs the AWS CLI itself against the local Secrets Manager
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
	step := 0
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
		case "list-secrets":
			var names []any
			for _, s := range got["SecretList"].([]any) {
				names = append(names, s.(map[string]any)["Name"])
			}
			if !reflect.DeepEqual(names, []any{"partner-azure-credential", "signing-key"}) {
				t.Errorf("list-secrets: %s", out)
			}
		case "get-secret-value":
			// The first read sees the preloaded value; after the put, the
			// previous version is that value again.
			step++
			if got["SecretString"] != "local-secret" || got["Name"] != "partner-azure-credential" {
				t.Errorf("get-secret-value %d: %s", step, out)
			}
		case "describe-secret":
			if got["Name"] != "partner-azure-credential" || got["ARN"] == nil {
				t.Errorf("describe-secret: %s", out)
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
