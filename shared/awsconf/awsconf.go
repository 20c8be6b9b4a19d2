// Package awsconf loads the AWS SDK configuration every function uses: the
// standard chain (region, credentials, and the AWS_ENDPOINT_URL_* variables
// the local cloud sets) plus the product's retry policy.
package awsconf

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
)

// MaxAttempts bounds each AWS call, first try included.
const MaxAttempts = 5

// Load returns the configuration. Throttling and 5xx answers are retried
// with jittered exponential back-off up to MaxAttempts; the SDK's client-side
// retry quota is off, because a warm function that lives through a burst of
// throttling would otherwise stop retrying altogether until it is recycled
// (every call is still bounded by MaxAttempts and the function's timeout).
func Load(ctx context.Context) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx, config.WithRetryer(newRetryer))
}

func newRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.MaxBackoff = 5 * time.Second
		o.RateLimiter = ratelimit.None
	})
}
