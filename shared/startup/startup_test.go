package startup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/partnercloud/azure/shared/config"
)

func TestBuildReportsEveryProblemOnce(t *testing.T) {
	var logs bytes.Buffer
	env := config.FromMap(lambdaEnv(map[string]string{"EXPIRY": "soon"}))
	h, err := Build(&logs, env, func(env *Env, _ *AWS) (any, error) {
		env.Required("TABLE_NAME")
		env.Duration("EXPIRY", 0)
		env.Add(errors.New("environment variable CONTACT_EMAIL must be an address"))
		return func(context.Context) error { return nil }, errors.Join(
			errors.New("environment variable CONTACT_EMAIL must be an address"), // found twice, reported once
			errors.New("environment variable PUBLIC_BASE_URL must be an absolute URL"))
	})
	if err == nil || h != nil {
		t.Fatalf("Build = %v, %v; want an error and no handler", h, err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want one:\n%s", len(lines), logs.String())
	}
	var line struct{ Level, Msg, Error string }
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	if line.Level != "ERROR" || line.Msg != "invalid configuration" {
		t.Errorf("log line %s", lines[0])
	}
	for _, name := range []string{"TABLE_NAME", "EXPIRY", "CONTACT_EMAIL", "PUBLIC_BASE_URL"} {
		if n := strings.Count(line.Error, name); n != 1 {
			t.Errorf("the log line names %s %d times: %s", name, n, lines[0])
		}
	}
}

func TestBuildReturnsTheHandler(t *testing.T) {
	var logs bytes.Buffer
	env := config.FromMap(lambdaEnv(map[string]string{"TABLE_NAME": "t"}))
	h, err := Build(&logs, env, func(env *Env, _ *AWS) (any, error) {
		table := env.Required("TABLE_NAME")
		return func(context.Context) (string, error) { return table, nil }, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := h.(func(context.Context) (string, error))(context.Background()); got != "t" {
		t.Errorf("handler answered %q", got)
	}
	if logs.Len() != 0 {
		t.Errorf("logged at start-up: %s", logs.String())
	}
}

func TestBuildWithoutHandler(t *testing.T) {
	if _, err := Build(&bytes.Buffer{}, config.FromMap(lambdaEnv(nil)), func(*Env, *AWS) (any, error) { return nil, nil }); err == nil {
		t.Fatal("no error for a nil handler")
	}
}

// lambdaEnv adds what Lambda sets in every function's environment.
func lambdaEnv(m map[string]string) map[string]string {
	out := map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s"}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Outside Lambda (no region or credentials) the function does not start,
// and says why.
func TestBuildNeedsTheLambdaEnvironment(t *testing.T) {
	var logs bytes.Buffer
	_, err := Build(&logs, config.FromMap(nil), func(*Env, *AWS) (any, error) { return func() {}, nil })
	if err == nil || !strings.Contains(logs.String(), "AWS_REGION") || !strings.Contains(logs.String(), "AWS_ACCESS_KEY_ID") {
		t.Fatalf("Build = %v; logs %s", err, logs.String())
	}
}
