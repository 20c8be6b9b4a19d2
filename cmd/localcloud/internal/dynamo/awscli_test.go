package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/partnercloud/azure/cmd/localcloud/internal/awscli"
	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
)

// everyTypeJSON is an item of every attribute type, nested and empty values
// included, as a user writes it on the AWS CLI's command line.
const everyTypeJSON = `{"pk":{"S":"cli"},"sk":{"S":"every-type"},"s":{"S":"text"},"n":{"N":"-1.5"},"b":{"B":"AAEC"},` +
	`"ss":{"SS":["a","b"]},"ns":{"NS":["1","2.5"]},"bs":{"BS":["AQ==","AgM="]},"null":{"NULL":true},"t":{"BOOL":true},` +
	`"f":{"BOOL":false},"l":{"L":[{"S":"x"},{"N":"1"},{"NULL":true},{"L":[]},{"M":{}}]},"lEmpty":{"L":[]},"mEmpty":{"M":{}},` +
	`"m":{"M":{"deep":{"M":{"l":{"L":[{"M":{"e":{"S":""}}}]},"b":{"B":""}}}}},"sEmpty":{"S":""}}`

// awscliSuite is the AWS CLI calls a user makes against the local DynamoDB
// (the README's among them), in order, and what they print.
var awscliSuite = awscli.Suite{
	Fixture: "testdata/awscli.json",
	Commands: [][]string{
		{"dynamodb", "list-tables"},
		{"dynamodb", "describe-table", "--table-name", "partner"},
		{"dynamodb", "describe-time-to-live", "--table-name", "partner"},
		{"dynamodb", "list-tags-of-resource", "--resource-arn", "arn:aws:dynamodb:us-east-1:000000000000:table/partner"},
		{"dynamodb", "put-item", "--table-name", "partner", "--item", everyTypeJSON},
		{"dynamodb", "get-item", "--table-name", "partner", "--key", `{"pk":{"S":"cli"},"sk":{"S":"every-type"}}`},
		{"dynamodb", "query", "--table-name", "partner", "--key-condition-expression", "pk = :pk",
			"--expression-attribute-values", `{":pk":{"S":"cli"}}`},
		{"dynamodb", "update-item", "--table-name", "partner", "--key", `{"pk":{"S":"cli"},"sk":{"S":"every-type"}}`,
			"--update-expression", "SET s = :s", "--expression-attribute-values", `{":s":{"S":"changed"}}`, "--return-values", "ALL_NEW"},
		{"dynamodb", "scan", "--table-name", "partner"},
	},
	Handler: cliHandler,
	Check:   checkCLI,
}

// cliHandler is a fresh local DynamoDB with the test table.
func cliHandler(t testing.TB) http.Handler {
	t.Helper()
	h := Handler()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if err := CreateTables(context.Background(), NewClient(srv.URL), []samtemplate.Table{table}); err != nil {
		t.Fatal(err)
	}
	return h
}

// checkCLI checks the table list and that the item put reads back unchanged
// (sets in any order).
func checkCLI(t testing.TB, out awscli.Output) {
	got := out.JSON
	sortSets(got)
	var item map[string]any
	_ = json.Unmarshal([]byte(everyTypeJSON), &item)
	if strings.HasPrefix(out.CLI, "aws-cli/1.") {
		// CLI v1 takes a binary written on the command line as its raw
		// text (v2 decodes it from base64), and prints binaries in base64.
		encodeBinaries(item)
	}
	switch out.Args[1] {
	case "list-tables":
		if !reflect.DeepEqual(got["TableNames"], []any{"partner"}) {
			t.Errorf("list-tables: %s", out.Raw)
		}
	case "get-item":
		if !reflect.DeepEqual(got["Item"], item) {
			t.Errorf("get-item: the item changed on the way\n got %s\nwant %s", out.Raw, everyTypeJSON)
		}
	case "query":
		if items, _ := got["Items"].([]any); len(items) != 1 || !reflect.DeepEqual(items[0], item) {
			t.Errorf("query: %s", out.Raw)
		}
	case "update-item":
		item["s"] = map[string]any{"S": "changed"}
		if !reflect.DeepEqual(got["Attributes"], item) {
			t.Errorf("update-item: %s", out.Raw)
		}
	}
}

// sortSets sorts the members of every SS, NS and BS in v: DynamoDB keeps
// sets unordered.
func sortSets(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if l, ok := e.([]any); ok && len(t) == 1 && (k == "SS" || k == "NS" || k == "BS") {
				sort.Slice(l, func(i, j int) bool { return fmt.Sprint(l[i]) < fmt.Sprint(l[j]) })
				continue
			}
			sortSets(e)
		}
	case []any:
		for _, e := range t {
			sortSets(e)
		}
	}
}

// encodeBinaries replaces every B and BS value in v by its base64 encoding.
func encodeBinaries(v any) {
	enc := func(e any) any { return base64.StdEncoding.EncodeToString([]byte(e.(string))) }
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			switch {
			case k == "B" && len(t) == 1:
				t[k] = enc(e)
			case k == "BS" && len(t) == 1:
				for i, b := range e.([]any) {
					e.([]any)[i] = enc(b)
				}
			default:
				encodeBinaries(e)
			}
		}
	case []any:
		for _, e := range t {
			encodeBinaries(e)
		}
	}
}

// TestAWSCLI runs the AWS CLI itself against the local DynamoDB (skipped
// when it is not installed) and checks what it prints; -update-awscli
// records the fixture.
func TestAWSCLI(t *testing.T) {
	awscliSuite.RunCLI(t)
}

// TestAWSCLIFixtures replays the recorded calls, CLI or not.
func TestAWSCLIFixtures(t *testing.T) {
	awscliSuite.Replay(t)
}
