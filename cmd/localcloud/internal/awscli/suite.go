package awscli

import (
	"encoding/json"
	"flag"
	"net/http"
	"slices"
	"testing"
)

// update is the tests' -update-awscli flag: RunCLI then writes the calls it
// made as the suite's fixture. This package is imported only by tests, so
// the flag is defined only in test binaries.
var update = flag.Bool("update-awscli", false, "record the AWS CLI's requests into the suites' fixtures (needs the aws command)")

// Suite is the AWS CLI test of one service. RunCLI runs the commands with
// the CLI itself and checks what it prints; with -update-awscli it records
// them as the fixture that Replay sends again to the service in every run.
type Suite struct {
	// Fixture is the recording's path, testdata/awscli.json.
	Fixture string
	// Commands are the CLI's arguments after `aws`, in the order they run.
	Commands [][]string
	// Handler is a fresh service: RunCLI and Replay each run all the
	// commands against one.
	Handler func(t testing.TB) http.Handler
	// Check checks what the CLI printed for one command; it may be nil
	// (RunCLI checks that every output is a JSON object).
	Check func(t testing.TB, out Output)
}

// Output is what the CLI printed for one of Suite.Commands.
type Output struct {
	// Index is the command's in Suite.Commands.
	Index int
	Args  []string
	// CLI is the `aws --version` line, for what differs by major version.
	CLI string
	// JSON is the printed object and Raw the printed text.
	JSON map[string]any
	Raw  []byte
	// Handler is the one the commands run against, for checks of the
	// service's state.
	Handler http.Handler
}

// RunCLI runs the suite's commands with the AWS CLI against a fresh
// handler (skipped when the CLI is not installed) and checks each output;
// with -update-awscli it writes the calls as the fixture.
func (s Suite) RunCLI(t testing.TB) {
	t.Helper()
	if !Installed() {
		t.Skip("the aws command is not installed")
	}
	ctx := t.Context()
	fx := Fixture{}
	var err error
	if fx.CLI, err = Version(ctx); err != nil {
		t.Fatal(err)
	}
	h := s.Handler(t)
	for i, args := range s.Commands {
		out, call, err := Run(ctx, h, args...)
		if err != nil {
			t.Fatal(err)
		}
		fx.Calls = append(fx.Calls, call)
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
		if s.Check != nil {
			s.Check(t, Output{Index: i, Args: args, CLI: fx.CLI, JSON: got, Raw: out, Handler: h})
		}
	}
	if *update {
		if err := WriteFixture(s.Fixture, fx); err != nil {
			t.Fatal(err)
		}
	}
}

// Replay reads the fixture, which must hold one call of at least one
// exchange for each command, with the command's arguments, and replays
// every exchange against a fresh handler: the answer must have the status
// and shape the CLI got (Check). It needs no CLI.
func (s Suite) Replay(t testing.TB) {
	t.Helper()
	fx, err := ReadFixture(s.Fixture)
	if err != nil {
		t.Fatal(err)
	}
	if len(fx.Calls) != len(s.Commands) {
		t.Fatalf("%d recorded calls for %d commands: record again with -update-awscli", len(fx.Calls), len(s.Commands))
	}
	for i, call := range fx.Calls {
		if !slices.Equal(call.Args, s.Commands[i]) {
			t.Fatalf("call %d recorded %v, the test runs %v: record again with -update-awscli", i, call.Args, s.Commands[i])
		}
		if len(call.Exchanges) == 0 {
			t.Fatalf("call %d %v recorded no request: record again with -update-awscli", i, call.Args)
		}
	}
	h := s.Handler(t)
	for _, call := range fx.Calls {
		for _, ex := range call.Exchanges {
			if err := Check(h, ex); err != nil {
				t.Errorf("%v: %v", call.Args, err)
			}
		}
	}
}
