// Package awsconf is the AWS configuration every function uses, read from
// the Lambda environment at start-up without any I/O: the region
// (AWS_REGION), the execution role's credentials (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), the endpoint variables
// (AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL: the local cloud's switch,
// honoured as the SDK's shared configuration honours them) and the product's
// retry policy.
//
// It replaces config.LoadDefaultConfig, whose chain (shared config files,
// SSO, STS web identity, IMDS, container credentials, process credentials)
// a Lambda function never reaches: Lambda puts the execution role's
// credentials and the region in the environment, the first link of that
// chain, so the result is the same configuration. Not linking the chain
// takes 2 MiB off every binary and the start-up work of its packages off
// every cold start.
//
// The sub-packages (lazydynamodb, lazysesv2, lazysfn, lazysecretsmanager)
// are the clients, each built on its first call. They reach the SDK client
// only through closures, never through a struct field, an interface or a
// generic type argument (sync.OnceValue included): text/template (the
// emails and the consent pages) calls methods by name, so the linker keeps
// every exported method of every type it can reach through type
// information, and a generic instantiation's dictionary counts as such a
// reach; an SDK client reachable that way brings every operation of its
// service into the binary (3 MiB for DynamoDB and SES v2 in record-outcome).
package awsconf

import (
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/partnercloud/azure/shared/config"
)

// MaxAttempts bounds each AWS call, first try included.
const MaxAttempts = 5

// Config is a function's AWS configuration; For gives one service's.
type Config struct {
	base aws.Config
	// endpoint returns the service's endpoint variable, or "".
	endpoint func(service string) string
}

// FromEnv reads the configuration from env, recording a missing region or
// credential variable there (Lambda sets them all). Throttling and 5xx
// answers are retried with jittered exponential back-off up to MaxAttempts;
// the SDK's client-side retry quota is off, because a warm function that
// lives through a burst of throttling would otherwise stop retrying
// altogether until it is recycled (every call is still bounded by
// MaxAttempts and the function's timeout).
func FromEnv(env *config.Env) *Config {
	cfg := aws.Config{
		Region: env.Required("AWS_REGION"),
		Credentials: credentials.StaticCredentialsProvider{Value: aws.Credentials{
			AccessKeyID:     env.Required("AWS_ACCESS_KEY_ID"),
			SecretAccessKey: env.Required("AWS_SECRET_ACCESS_KEY"),
			SessionToken:    env.Optional("AWS_SESSION_TOKEN", ""),
			AccountID:       env.Optional("AWS_ACCOUNT_ID", ""),
			Source:          credentials.StaticCredentialsName,
		}},
		Retryer:    newRetryer,
		HTTPClient: awshttp.NewBuildableClient(),
		RuntimeEnvironment: aws.RuntimeEnvironment{
			EnvironmentIdentifier: aws.ExecutionEnvironmentID(env.Optional("AWS_EXECUTION_ENV", "")),
		},
	}
	c := &Config{base: cfg, endpoint: func(string) string { return "" }}
	if strings.EqualFold(env.Optional("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", ""), "true") {
		return c
	}
	if u := env.Optional("AWS_ENDPOINT_URL", ""); u != "" {
		c.base.BaseEndpoint = aws.String(u)
	}
	c.endpoint = func(service string) string { return env.Optional("AWS_ENDPOINT_URL_"+service, "") }
	return c
}

// For returns the configuration of one service, named as in its endpoint
// variable (DYNAMODB, SFN, SESV2, SECRETS_MANAGER: the service id in upper
// case, spaces as underscores): its endpoint is AWS_ENDPOINT_URL_<service>
// when set, else AWS_ENDPOINT_URL, else the service's public endpoint.
func (c *Config) For(service string) aws.Config {
	cfg := c.base.Copy()
	if u := c.endpoint(service); u != "" {
		cfg.BaseEndpoint = aws.String(u)
	}
	return cfg
}

func newRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.MaxBackoff = 5 * time.Second
		o.RateLimiter = ratelimit.None
	})
}
