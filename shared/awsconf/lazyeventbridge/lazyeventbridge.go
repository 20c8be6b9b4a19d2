// Package lazyeventbridge is the EventBridge client of the functions
// (providerevents.PutEventsAPI), built on its first call from the
// function's awsconf.Config (endpoint AWS_ENDPOINT_URL_EVENTBRIDGE), and
// the product's publisher on it.
//
// As in the other lazy* packages, the SDK client is reached only through a
// closure, so that a binary keeps only the operations it calls.
package lazyeventbridge

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/partnercloud/azure/shared/awsconf"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/providerevents"
)

// Client is an EventBridge client whose SDK client is built on the first call.
type Client struct {
	putEvents func(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// New returns a client for cfg; nothing is built until the first call.
func New(cfg *awsconf.Config) *Client {
	var (
		once sync.Once
		c    *eventbridge.Client
	)
	client := func() *eventbridge.Client {
		once.Do(func() { c = eventbridge.NewFromConfig(cfg.For("EVENTBRIDGE")) })
		return c
	}
	return &Client{putEvents: func(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
		return client().PutEvents(ctx, in, opts...)
	}}
}

// Publisher publishes on the bus EVENT_BUS_NAME (recorded in env when
// unset) through a client for cfg.
func Publisher(env *config.Env, cfg *awsconf.Config) *providerevents.Publisher {
	return &providerevents.Publisher{Client: New(cfg), Bus: env.Required("EVENT_BUS_NAME")}
}

// PutEvents calls the SDK client's PutEvents.
func (c *Client) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	return c.putEvents(ctx, in, opts...)
}
