package secrets

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/partnercloud/azure/cmd/localcloud/internal/awscli"
)

// awscliSuite is the AWS CLI calls a user makes against the local Secrets
// Manager (the README's among them), in order, and what they print.
var awscliSuite = awscli.Suite{
	Fixture: "testdata/awscli.json",
	Commands: [][]string{
		{"secretsmanager", "list-secrets"},
		{"secretsmanager", "get-secret-value", "--secret-id", "partner-azure-credential"},
		{"secretsmanager", "describe-secret", "--secret-id", "partner-azure-credential"},
		{"secretsmanager", "put-secret-value", "--secret-id", "partner-azure-credential", "--secret-string", "rotated"},
		{"secretsmanager", "get-secret-value", "--secret-id", "partner-azure-credential", "--version-stage", "AWSPREVIOUS"},
	},
	Handler: func(testing.TB) http.Handler {
		return New(map[string]string{"partner-azure-credential": "local-secret", "signing-key": "k"},
			Options{Region: "us-east-1", AccountID: "000000000000"})
	},
	Check: func(t testing.TB, out awscli.Output) {
		got := out.JSON
		switch out.Args[1] {
		case "list-secrets":
			var names []any
			for _, s := range got["SecretList"].([]any) {
				names = append(names, s.(map[string]any)["Name"])
			}
			if !reflect.DeepEqual(names, []any{"partner-azure-credential", "signing-key"}) {
				t.Errorf("list-secrets: %s", out.Raw)
			}
		case "get-secret-value":
			// The first read sees the preloaded value; after the put, the
			// previous version is that value again.
			if got["SecretString"] != "local-secret" || got["Name"] != "partner-azure-credential" {
				t.Errorf("get-secret-value (command %d): %s", out.Index, out.Raw)
			}
		case "describe-secret":
			if got["Name"] != "partner-azure-credential" || got["ARN"] == nil {
				t.Errorf("describe-secret: %s", out.Raw)
			}
		}
	},
}

// TestAWSCLI runs the AWS CLI itself against the local Secrets Manager
// (skipped when it is not installed); -update-awscli records the fixture.
func TestAWSCLI(t *testing.T) {
	awscliSuite.RunCLI(t)
}

// TestAWSCLIFixtures replays the recorded calls, CLI or not.
func TestAWSCLIFixtures(t *testing.T) {
	awscliSuite.Replay(t)
}
