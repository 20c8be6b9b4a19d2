// Package lazysecretsmanager is the Secrets Manager client of the functions (secret.GetAPI and secret.API),
// built on its first call from the function's awsconf.Config (endpoint
// AWS_ENDPOINT_URL_SECRETS_MANAGER), and the product's adapters on it.
//
// The SDK client is reached only through closures (see awsconf), never
// through a field, an interface or a generic type argument, so that the
// binary keeps only the operations called here.
package lazysecretsmanager

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/partnercloud/azure/shared/awsconf"
	"github.com/partnercloud/azure/shared/secret"
)

// Client is a Secrets Manager client whose SDK client is built on the first call.
type Client struct {
	getSecretValue func(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	createSecret   func(context.Context, *secretsmanager.CreateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	deleteSecret   func(context.Context, *secretsmanager.DeleteSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
}

// New returns a client for cfg; nothing is built until the first call.
func New(cfg *awsconf.Config) *Client {
	var (
		once sync.Once
		c    *secretsmanager.Client
	)
	client := func() *secretsmanager.Client {
		once.Do(func() { c = secretsmanager.NewFromConfig(cfg.For("SECRETS_MANAGER")) })
		return c
	}
	return &Client{
		getSecretValue: func(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
			return client().GetSecretValue(ctx, in, opts...)
		},
		createSecret: func(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
			return client().CreateSecret(ctx, in, opts...)
		},
		deleteSecret: func(ctx context.Context, in *secretsmanager.DeleteSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error) {
			return client().DeleteSecret(ctx, in, opts...)
		},
	}
}

// GetSecretValue calls the SDK client's GetSecretValue.
func (c *Client) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return c.getSecretValue(ctx, in, opts...)
}

// CreateSecret calls the SDK client's CreateSecret.
func (c *Client) CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	return c.createSecret(ctx, in, opts...)
}

// DeleteSecret calls the SDK client's DeleteSecret.
func (c *Client) DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error) {
	return c.deleteSecret(ctx, in, opts...)
}

// Secrets creates and deletes the product's secrets through a client for
// cfg.
func Secrets(cfg *awsconf.Config) *secret.Store {
	return &secret.Store{Client: New(cfg)}
}

// Reader reads secrets' values (secret.Get) through a client for cfg.
func Reader(cfg *awsconf.Config) func(ctx context.Context, arn string) ([]byte, error) {
	c := New(cfg)
	return func(ctx context.Context, arn string) ([]byte, error) { return secret.Get(ctx, c, arn) }
}
