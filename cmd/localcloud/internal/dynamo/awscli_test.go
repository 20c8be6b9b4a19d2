package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
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

var updateAWSCLI = flag.Bool("update-awscli", false, "record the AWS CLI's requests into testdata/awscli.json (needs the aws command)")

const awscliFixture = "testdata/awscli.json"

// everyTypeJSON is an item of every attribute type, nested and empty values
// included, as a user writes it on the AWS CLI's command line.
const everyTypeJSON = `{"pk":{"S":"cli"},"sk":{"S":"every-type"},"s":{"S":"text"},"n":{"N":"-1.5"},"b":{"B":"AAEC"},` +
	`"ss":{"SS":["a","b"]},"ns":{"NS":["1","2.5"]},"bs":{"BS":["AQ==","AgM="]},"null":{"NULL":true},"t":{"BOOL":true},` +
	`"f":{"BOOL":false},"l":{"L":[{"S":"x"},{"N":"1"},{"NULL":true},{"L":[]},{"M":{}}]},"lEmpty":{"L":[]},"mEmpty":{"M":{}},` +
	`"m":{"M":{"deep":{"M":{"l":{"L":[{"M":{"e":{"S":""}}}]},"b":{"B":""}}}}},"sEmpty":{"S":""}}`

// awscliCommands are the AWS CLI calls a user makes against the local
// DynamoDB (the README's among them), in order.
var awscliCommands = [][]string{
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
}

// cliHandler is a fresh local DynamoDB with the test table.
func cliHandler(t *testing.T) http.Handler {
	t.Helper()
	h := Handler()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if err := CreateTables(context.Background(), NewClient(srv.URL), []samtemplate.Table{table}); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestAWSCLI runs the AWS CLI itself against the local DynamoDB (skipped
// when it is not installed) and checks what it prints; with -update-awscli
// it records the calls as the fixture TestAWSCLIFixtures replays.
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
	var item map[string]any
	_ = json.Unmarshal([]byte(everyTypeJSON), &item)
	if strings.HasPrefix(fx.CLI, "aws-cli/1.") {
		// CLI v1 takes a binary written on the command line as its raw
		// text (v2 decodes it from base64), and prints binaries in base64.
		encodeBinaries(item)
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
		sortSets(got)
		switch args[1] {
		case "list-tables":
			if !reflect.DeepEqual(got["TableNames"], []any{"partner"}) {
				t.Errorf("list-tables: %s", out)
			}
		case "get-item":
			if !reflect.DeepEqual(got["Item"], item) {
				t.Errorf("get-item: the item changed on the way\n got %s\nwant %s", out, everyTypeJSON)
			}
		case "query":
			if items, _ := got["Items"].([]any); len(items) != 1 || !reflect.DeepEqual(items[0], item) {
				t.Errorf("query: %s", out)
			}
		case "update-item":
			item["s"] = map[string]any{"S": "changed"}
			if !reflect.DeepEqual(got["Attributes"], item) {
				t.Errorf("update-item: %s", out)
			}
		}
	}
	if *updateAWSCLI {
		if err := awscli.WriteFixture(awscliFixture, fx); err != nil {
			t.Fatal(err)
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
