// Package lazysesv2 is the SES v2 client of the functions (ses.SESAPI),
// built on its first call from the function's awsconf.Config (endpoint
// AWS_ENDPOINT_URL_SESV2), and the product's adapters on it.
//
// The SDK client is reached only through closures (see awsconf), never
// through a field, an interface or a generic type argument, so that the
// binary keeps only the operations called here.
package lazysesv2

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/partnercloud/azure/shared/awsconf"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/mail/ses"
)

// Client is a SES v2 client whose SDK client is built on the first call.
type Client struct {
	sendEmail func(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// New returns a client for cfg; nothing is built until the first call.
func New(cfg *awsconf.Config) *Client {
	var (
		once sync.Once
		c    *sesv2.Client
	)
	client := func() *sesv2.Client {
		once.Do(func() { c = sesv2.NewFromConfig(cfg.For("SESV2")) })
		return c
	}
	return &Client{
		sendEmail: func(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
			return client().SendEmail(ctx, in, opts...)
		},
	}
}

// SendEmail calls the SDK client's SendEmail.
func (c *Client) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	return c.sendEmail(ctx, in, opts...)
}

// Mailer sends the product's emails through a client for cfg, from
// MAIL_FROM (recorded in env when unset).
func Mailer(env *config.Env, cfg *awsconf.Config) *ses.SES {
	return &ses.SES{Client: New(cfg), From: env.Required("MAIL_FROM")}
}
