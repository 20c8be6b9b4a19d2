// Package lazysecretsmanager is the Secrets Manager client of the functions (secret.GetAPI and secret.API),
// built on its first call from the function's awsconf.Config (endpoint
// AWS_ENDPOINT_URL_SECRETS_MANAGER), and the product's adapters on it.
//
// The SDK client is reached only through closures (see awsconf), never
// through a field, an interface or a generic type argument, and each
// adapter's client has only the operations that adapter calls, so that a
// binary keeps only those.
package lazysecretsmanager

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/partnercloud/azure/shared/awsconf"
	"github.com/partnercloud/azure/shared/secret"
)

// Client is a Secrets Manager client whose SDK client is built on the first call.
// An operation its constructor did not give it fails with an error.
type Client struct {
	getSecretValue func(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	createSecret   func(context.Context, *secretsmanager.CreateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	deleteSecret   func(context.Context, *secretsmanager.DeleteSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
	describeSecret func(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
}

// New returns a client with every operation for cfg; nothing is built
// until the first call.
func New(cfg *awsconf.Config) *Client {
	client := sdkClient(cfg)
	return &Client{
		getSecretValue: getSecretValue(client),
		createSecret:   createSecret(client),
		deleteSecret:   deleteSecret(client),
		describeSecret: describeSecret(client),
	}
}

// Reader reads secrets' values (secret.Get) through a client for cfg
// (GetSecretValue only).
func Reader(cfg *awsconf.Config) func(ctx context.Context, arn string) ([]byte, error) {
	c := &Client{getSecretValue: getSecretValue(sdkClient(cfg))}
	return func(ctx context.Context, arn string) ([]byte, error) { return secret.Get(ctx, c, arn) }
}

// Secrets creates and deletes the product's secrets through a client for
// cfg (CreateSecret and DeleteSecret only).
func Secrets(cfg *awsconf.Config) *secret.Store {
	client := sdkClient(cfg)
	return &secret.Store{Client: &Client{createSecret: createSecret(client), deleteSecret: deleteSecret(client)}}
}

// SecretsCreatedOnce creates secrets once (secret.Store.CreateOnce) through
// a client for cfg (CreateSecret and DescribeSecret only).
func SecretsCreatedOnce(cfg *awsconf.Config) *secret.Store {
	client := sdkClient(cfg)
	return &secret.Store{Client: &Client{createSecret: createSecret(client), describeSecret: describeSecret(client)}}
}

// GetSecretValue calls the SDK client's GetSecretValue.
func (c *Client) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if c.getSecretValue == nil {
		return nil, missing("GetSecretValue")
	}
	return c.getSecretValue(ctx, in, opts...)
}

// CreateSecret calls the SDK client's CreateSecret.
func (c *Client) CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	if c.createSecret == nil {
		return nil, missing("CreateSecret")
	}
	return c.createSecret(ctx, in, opts...)
}

// DeleteSecret calls the SDK client's DeleteSecret.
func (c *Client) DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error) {
	if c.deleteSecret == nil {
		return nil, missing("DeleteSecret")
	}
	return c.deleteSecret(ctx, in, opts...)
}

// DescribeSecret calls the SDK client's DescribeSecret.
func (c *Client) DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	if c.describeSecret == nil {
		return nil, missing("DescribeSecret")
	}
	return c.describeSecret(ctx, in, opts...)
}

// sdkClient builds the SDK client on its first call, once.
func sdkClient(cfg *awsconf.Config) func() *secretsmanager.Client {
	var (
		once sync.Once
		c    *secretsmanager.Client
	)
	return func() *secretsmanager.Client {
		once.Do(func() { c = secretsmanager.NewFromConfig(cfg.For("SECRETS_MANAGER")) })
		return c
	}
}

func getSecretValue(client func() *secretsmanager.Client) func(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return func(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
		return client().GetSecretValue(ctx, in, opts...)
	}
}

func createSecret(client func() *secretsmanager.Client) func(context.Context, *secretsmanager.CreateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	return func(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
		return client().CreateSecret(ctx, in, opts...)
	}
}

func deleteSecret(client func() *secretsmanager.Client) func(context.Context, *secretsmanager.DeleteSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error) {
	return func(ctx context.Context, in *secretsmanager.DeleteSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error) {
		return client().DeleteSecret(ctx, in, opts...)
	}
}

func describeSecret(client func() *secretsmanager.Client) func(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	return func(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
		return client().DescribeSecret(ctx, in, opts...)
	}
}

func missing(op string) error {
	return fmt.Errorf("lazysecretsmanager: this client was made without %s", op)
}
