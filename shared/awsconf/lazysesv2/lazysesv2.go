// Package lazysesv2 is the SES v2 client of the functions (ses.SESAPI),
// built on its first call from the function's awsconf.Config (endpoint
// AWS_ENDPOINT_URL_SESV2), and the product's adapters on it.
//
// The SDK client is reached only through closures (see awsconf), never
// through a field, an interface or a generic type argument, and each
// adapter's client has only the operations that adapter calls, so that a
// binary keeps only those.
package lazysesv2

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/partnercloud/azure/shared/awsconf"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/mail/ses"
)

// Client is a SES v2 client whose SDK client is built on the first call.
// An operation its constructor did not give it fails with an error.
type Client struct {
	sendEmail func(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// New returns a client with every operation for cfg; nothing is built
// until the first call.
func New(cfg *awsconf.Config) *Client {
	client := sdkClient(cfg)
	return &Client{
		sendEmail: sendEmail(client),
	}
}

// Mailer sends the product's emails through a client for cfg, from
// MAIL_FROM (recorded in env when unset).
func Mailer(env *config.Env, cfg *awsconf.Config) *ses.SES {
	return &ses.SES{Client: New(cfg), From: env.Required("MAIL_FROM")}
}

// SendEmail calls the SDK client's SendEmail.
func (c *Client) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	if c.sendEmail == nil {
		return nil, missing("SendEmail")
	}
	return c.sendEmail(ctx, in, opts...)
}

// sdkClient builds the SDK client on its first call, once.
func sdkClient(cfg *awsconf.Config) func() *sesv2.Client {
	var (
		once sync.Once
		c    *sesv2.Client
	)
	return func() *sesv2.Client {
		once.Do(func() { c = sesv2.NewFromConfig(cfg.For("SESV2")) })
		return c
	}
}

func sendEmail(client func() *sesv2.Client) func(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	return func(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
		return client().SendEmail(ctx, in, opts...)
	}
}

func missing(op string) error {
	return fmt.Errorf("lazysesv2: this client was made without %s", op)
}
