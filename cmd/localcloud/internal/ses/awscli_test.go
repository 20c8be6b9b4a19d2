package ses

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/partnercloud/azure/cmd/localcloud/internal/awscli"
)

// cliAPI is an outbox's API handler, with the outbox for the checks.
type cliAPI struct {
	http.Handler
	outbox *Outbox
}

// awscliSuite is the AWS CLI calls a user makes against the local SES (the
// README's among them), in order, and what they print.
var awscliSuite = awscli.Suite{
	Fixture: "testdata/awscli.json",
	Commands: [][]string{
		{"sesv2", "get-account"},
		{"sesv2", "list-email-identities"},
		{"sesv2", "get-email-identity", "--email-identity", "partner.example"},
		{"sesv2", "send-email", "--from-email-address", "no-reply@partner.example",
			"--destination", `{"ToAddresses":["admin@contoso.example"]}`,
			"--content", `{"Simple":{"Subject":{"Data":"Hello"},"Body":{"Text":{"Data":"Sent with the AWS CLI: https://example.com/x"}}}}`},
	},
	Handler: func(t testing.TB) http.Handler {
		t.Helper()
		o, err := NewOutbox(Options{Dir: t.TempDir(), Identities: []string{"partner.example"}})
		if err != nil {
			t.Fatal(err)
		}
		return cliAPI{o.APIHandler(), o}
	},
	Check: func(t testing.TB, out awscli.Output) {
		got := out.JSON
		switch out.Args[1] {
		case "get-account":
			if got["SendingEnabled"] != true || got["ProductionAccessEnabled"] != true {
				t.Errorf("get-account: %s", out.Raw)
			}
		case "list-email-identities":
			ids, _ := got["EmailIdentities"].([]any)
			if len(ids) != 1 || !reflect.DeepEqual(ids[0].(map[string]any)["IdentityName"], "partner.example") {
				t.Errorf("list-email-identities: %s", out.Raw)
			}
		case "get-email-identity":
			if got["VerifiedForSendingStatus"] != true || got["IdentityType"] != "DOMAIN" {
				t.Errorf("get-email-identity: %s", out.Raw)
			}
		case "send-email":
			msgs := out.Handler.(cliAPI).outbox.Messages()
			if len(msgs) != 1 || got["MessageId"] != msgs[0].ID || msgs[0].Subject != "Hello" {
				t.Errorf("send-email: %s, outbox %+v", out.Raw, msgs)
			}
		}
	},
}

// TestAWSCLI runs the AWS CLI itself against the local SES (skipped when it
// is not installed); -update-awscli records the fixture.
func TestAWSCLI(t *testing.T) {
	awscliSuite.RunCLI(t)
}

// TestAWSCLIFixtures replays the recorded calls, CLI or not.
func TestAWSCLIFixtures(t *testing.T) {
	awscliSuite.Replay(t)
}
