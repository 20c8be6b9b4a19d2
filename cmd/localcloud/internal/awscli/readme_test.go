package awscli

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// clientSide are CLI options that change no request.
var clientSide = map[string]bool{"--endpoint-url": true, "--query": true, "--output": true, "--region": true}

// awsCommand finds `aws <service> <operation>` and the options after it.
var awsCommand = regexp.MustCompile(`(?:^|\$\()aws ([a-z0-9-]+) ([a-z0-9-]+)([^)]*(?:\([^)]*\)[^)]*)*)`)

// TestREADMECommandsAreRecorded checks that every AWS CLI command of the
// README's "Inspect the local cloud with the AWS CLI" section is one the
// services' tests run (and replay): the same service, operation and options.
func TestREADMECommandsAreRecorded(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "### Inspect the local cloud with the AWS CLI\n")
	if !ok {
		t.Fatal("the README has no section \"Inspect the local cloud with the AWS CLI\"")
	}
	if i := strings.Index(section, "\n#"); i >= 0 {
		section = section[:i]
	}
	fixtures, err := filepath.Glob(filepath.Join("..", "*", "testdata", "awscli.json"))
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	var recorded [][]string
	for _, path := range fixtures {
		f, err := ReadFixture(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, c := range f.Calls {
			recorded = append(recorded, c.Args)
		}
	}
	commands := 0
	for _, line := range strings.Split(section, "\n") {
		for _, m := range awsCommand.FindAllStringSubmatch(line, -1) {
			commands++
			var opts []string
			for _, tok := range strings.Fields(m[3]) {
				if strings.HasPrefix(tok, "--") && !clientSide[tok] {
					opts = append(opts, tok)
				}
			}
			if !slices.ContainsFunc(recorded, func(args []string) bool {
				return len(args) >= 2 && args[0] == m[1] && args[1] == m[2] && hasAll(args[2:], opts)
			}) {
				t.Errorf("README: `aws %s %s` with %v is run by no test (add it to the Commands of the service's awscli.Suite and record)", m[1], m[2], opts)
			}
		}
	}
	if commands < 5 {
		t.Errorf("found only %d aws commands in the README section", commands)
	}
}

func hasAll(args, opts []string) bool {
	for _, o := range opts {
		if !slices.Contains(args, o) {
			return false
		}
	}
	return true
}
