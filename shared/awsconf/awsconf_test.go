package awsconf

import (
	"context"
	"testing"
)

func TestRetryPolicy(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	cfg, err := Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Retryer()
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
