// Package lazysecretsmanager is the Secrets Manager client of the functions, built on its
// first call from the function's awsconf.Config (endpoint
// AWS_ENDPOINT_URL_SECRETS_MANAGER). It has the operations the product calls (secret.GetAPI, secret.API).
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
	client := sync.OnceValue(func() *secretsmanager.Client { return secretsmanager.NewFromConfig(cfg.For("SECRETS_MANAGER")) })
	return &Client{
		getSecretValue: awsconf.Op(client, (*secretsmanager.Client).GetSecretValue),
		createSecret:   awsconf.Op(client, (*secretsmanager.Client).CreateSecret),
		deleteSecret:   awsconf.Op(client, (*secretsmanager.Client).DeleteSecret),
	}
}

// GetSecretValue calls secretsmanager.Client.GetSecretValue.
func (c *Client) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return c.getSecretValue(ctx, in, opts...)
}

// CreateSecret calls secretsmanager.Client.CreateSecret.
func (c *Client) CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	return c.createSecret(ctx, in, opts...)
}

// DeleteSecret calls secretsmanager.Client.DeleteSecret.
func (c *Client) DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error) {
	return c.deleteSecret(ctx, in, opts...)
}

// Secrets creates and deletes the product's secrets through a client for
// cfg.
func Secrets(cfg *awsconf.Config) *secret.Store {
	return &secret.Store{Client: New(cfg)}
}
