package awsconf

import (
	"context"
	"strings"
	"testing"

	"github.com/partnercloud/azure/shared/config"
)

// lambdaEnv is what Lambda (and the local cloud's host) puts in every
// function's environment.
func lambdaEnv(extra map[string]string) *config.Env {
	m := map[string]string{
		"AWS_REGION":            "eu-west-1",
		"AWS_ACCESS_KEY_ID":     "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_SESSION_TOKEN":     "session",
		"AWS_EXECUTION_ENV":     "AWS_Lambda_provided.al2023",
	}
	for k, v := range extra {
		m[k] = v
	}
	return config.FromMap(m)
}

func TestFromEnv(t *testing.T) {
	env := lambdaEnv(nil)
	c := FromEnv(env)
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	cfg := c.For("DYNAMODB")
	if cfg.Region != "eu-west-1" {
		t.Errorf("region %q", cfg.Region)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "AKIDEXAMPLE" || creds.SecretAccessKey != "secret" || creds.SessionToken != "session" {
		t.Errorf("credentials %+v", creds)
	}
	if cfg.BaseEndpoint != nil {
		t.Errorf("endpoint %q without any endpoint variable", *cfg.BaseEndpoint)
	}
	if cfg.HTTPClient == nil || cfg.Retryer == nil {
		t.Error("no HTTP client or retryer")
	}
}

func TestFromEnvNamesMissingVariables(t *testing.T) {
	env := config.FromMap(map[string]string{"AWS_SESSION_TOKEN": "s"})
	FromEnv(env)
	err := env.Err()
	if err == nil {
		t.Fatal("no error without region and credentials")
	}
	for _, name := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("%q does not name %s", err, name)
		}
	}
}

// The endpoint variables work as in the SDK's shared configuration: the
// service's own first, then the global one; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
// turns both off.
func TestEndpoints(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want map[string]string // service → endpoint ("" for none)
	}{
		{"service variables", map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000", "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:8006"},
			map[string]string{"DYNAMODB": "http://127.0.0.1:8000", "SECRETS_MANAGER": "http://127.0.0.1:8006", "SFN": ""}},
		{"global and service", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_SFN": "http://127.0.0.1:8083"},
			map[string]string{"SFN": "http://127.0.0.1:8083", "SESV2": "http://127.0.0.1:4566"}},
		{"ignored", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_SFN": "http://127.0.0.1:8083", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
			map[string]string{"SFN": "", "DYNAMODB": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := FromEnv(lambdaEnv(tt.env))
			for service, want := range tt.want {
				got := ""
				if e := c.For(service).BaseEndpoint; e != nil {
					got = *e
				}
				if got != want {
					t.Errorf("%s: endpoint %q, want %q", service, got, want)
				}
			}
		})
	}
}

func TestRetryPolicy(t *testing.T) {
	r := FromEnv(lambdaEnv(nil)).For("DYNAMODB").Retryer()
	if r.MaxAttempts() != MaxAttempts {
		t.Fatalf("max attempts %d, want %d", r.MaxAttempts(), MaxAttempts)
	}
	// With the client-side quota off, retries are never refused for lack of tokens.
	for i := range 1000 {
		if _, err := r.GetRetryToken(context.Background(), errThrottled{}); err != nil {
			t.Fatalf("retry %d refused: %v", i, err)
		}
	}
}

type errThrottled struct{}

func (errThrottled) Error() string     { return "throttled" }
func (errThrottled) ErrorCode() string { return "ProvisionedThroughputExceededException" }
