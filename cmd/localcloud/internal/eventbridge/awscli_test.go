package eventbridge

import (
	"net/http"
	"testing"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/awscli"
)

// awscliSuite is the AWS CLI calls a user makes against the local
// EventBridge (the README's among them), in order, and what they print.
var awscliSuite = awscli.Suite{
	Fixture: "testdata/awscli.json",
	Commands: [][]string{
		{"events", "list-event-buses"},
		{"events", "describe-event-bus", "--name", "partner-cloud-local-providers"},
		{"events", "put-events", "--entries", `[{"Source":"partner.local","DetailType":"Test","Detail":"{\"hello\":\"world\"}","EventBusName":"partner-cloud-local-providers"}]`},
		{"events", "put-events", "--entries", `[{"Source":"partner.local","DetailType":"Test","Detail":"not json"}]`},
	},
	Handler: func(testing.TB) http.Handler {
		return New(Options{Buses: []string{"partner-cloud-local-providers"}, Now: func() time.Time { return fixedNow }})
	},
	Check: func(t testing.TB, out awscli.Output) {
		got := out.JSON
		switch out.Index {
		case 0:
			if buses, _ := got["EventBuses"].([]any); len(buses) != 2 {
				t.Errorf("list-event-buses: %s", out.Raw)
			}
		case 1:
			if got["Name"] != "partner-cloud-local-providers" || got["Arn"] != "arn:aws:events:us-east-1:000000000000:event-bus/partner-cloud-local-providers" {
				t.Errorf("describe-event-bus: %s", out.Raw)
			}
		case 2:
			if got["FailedEntryCount"] != 0.0 || got["Entries"].([]any)[0].(map[string]any)["EventId"] == nil {
				t.Errorf("put-events: %s", out.Raw)
			}
		case 3:
			if got["FailedEntryCount"] != 1.0 || got["Entries"].([]any)[0].(map[string]any)["ErrorCode"] != "MalformedDetail" {
				t.Errorf("put-events (malformed): %s", out.Raw)
			}
		}
	},
}

// TestAWSCLI runs the AWS CLI itself against the local EventBridge (skipped
// when it is not installed); -update-awscli records the fixture.
func TestAWSCLI(t *testing.T) {
	awscliSuite.RunCLI(t)
}

// TestAWSCLIFixtures replays the recorded calls, CLI or not.
func TestAWSCLIFixtures(t *testing.T) {
	awscliSuite.Replay(t)
}
