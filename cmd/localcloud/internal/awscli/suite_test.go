package awscli

import (
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// fakeT records the failures of a Suite method instead of failing the test;
// Fatal ends the method's goroutine as it does on a testing.T.
type fakeT struct {
	testing.TB
	errors []string
	fatal  bool
}

func (f *fakeT) Helper() {}

func (f *fakeT) Error(args ...any) { f.errors = append(f.errors, fmt.Sprint(args...)) }

func (f *fakeT) Errorf(format string, args ...any) { f.Error(fmt.Sprintf(format, args...)) }

func (f *fakeT) Fatal(args ...any) {
	f.Error(args...)
	f.fatal = true
	runtime.Goexit()
}

func (f *fakeT) Fatalf(format string, args ...any) { f.Fatal(fmt.Sprintf(format, args...)) }

// runFake runs fn with a fakeT and returns it when fn has returned or failed.
func runFake(t *testing.T, fn func(testing.TB)) *fakeT {
	f := &fakeT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

// listSecrets answers every request as Secrets Manager's ListSecrets does
// when there is no secret.
func listSecrets(testing.TB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{"SecretList":[]}`))
	})
}

func TestSuiteReplay(t *testing.T) {
	command := []string{"secretsmanager", "list-secrets"}
	ok := Exchange{Method: http.MethodPost, Path: "/", Header: map[string]string{"X-Amz-Target": "secretsmanager.ListSecrets"},
		Body: "{}", Status: 200, ContentType: "application/x-amz-json-1.1", Response: `{"SecretList":[]}`}
	otherStatus, otherShape := ok, ok
	otherStatus.Status = 400
	otherShape.Response = `{"SecretList":[],"NextToken":"t"}`
	tests := []struct {
		name  string
		calls []Call // nil: no fixture file
		fatal bool
		fails int
	}{
		{"as recorded", []Call{{Args: command, Exchanges: []Exchange{ok}}}, false, 0},
		{"other status and shape", []Call{{Args: command, Exchanges: []Exchange{otherStatus, ok, otherShape}}}, false, 2},
		{"no fixture", nil, true, 1},
		{"fewer calls", []Call{}, true, 1},
		{"more calls", []Call{{Args: command, Exchanges: []Exchange{ok}}, {Args: command, Exchanges: []Exchange{ok}}}, true, 1},
		{"other args", []Call{{Args: []string{"secretsmanager", "list-secrets", "--max-results", "1"}, Exchanges: []Exchange{ok}}}, true, 1},
		{"no request", []Call{{Args: command}}, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Suite{Fixture: filepath.Join(t.TempDir(), "awscli.json"), Commands: [][]string{command}, Handler: listSecrets}
			if tt.calls != nil {
				if err := WriteFixture(s.Fixture, Fixture{CLI: "aws-cli/2.0.0", Calls: tt.calls}); err != nil {
					t.Fatal(err)
				}
			}
			f := runFake(t, s.Replay)
			if f.fatal != tt.fatal || len(f.errors) != tt.fails {
				t.Errorf("fatal %v, failures %q; want fatal %v, %d failures", f.fatal, f.errors, tt.fatal, tt.fails)
			}
		})
	}
}

// TestSuiteRunCLI records a command with the CLI (when installed) and
// replays the recording.
func TestSuiteRunCLI(t *testing.T) {
	if !Installed() {
		t.Skip("the aws command is not installed")
	}
	command := []string{"secretsmanager", "list-secrets"}
	var outputs []Output
	s := Suite{Fixture: filepath.Join(t.TempDir(), "testdata", "awscli.json"), Commands: [][]string{command}, Handler: listSecrets,
		Check: func(t testing.TB, out Output) { outputs = append(outputs, out) }}
	defer func(was bool) { *update = was }(*update)
	*update = true
	if f := runFake(t, s.RunCLI); len(f.errors) > 0 {
		t.Fatalf("RunCLI: %q", f.errors)
	}
	if len(outputs) != 1 {
		t.Fatalf("%d outputs checked", len(outputs))
	}
	out := outputs[0]
	if out.Index != 0 || !slices.Equal(out.Args, command) || !strings.HasPrefix(out.CLI, "aws-cli/") ||
		out.JSON["SecretList"] == nil || out.Handler == nil || !strings.Contains(string(out.Raw), "SecretList") {
		t.Errorf("output %+v", out)
	}
	fx, err := ReadFixture(s.Fixture)
	if err != nil || fx.CLI != out.CLI || len(fx.Calls) != 1 || len(fx.Calls[0].Exchanges) != 1 ||
		fx.Calls[0].Exchanges[0].Header["X-Amz-Target"] != "secretsmanager.ListSecrets" {
		t.Fatalf("fixture %+v (%v)", fx, err)
	}
	if f := runFake(t, s.Replay); len(f.errors) > 0 {
		t.Errorf("Replay: %q", f.errors)
	}
}
