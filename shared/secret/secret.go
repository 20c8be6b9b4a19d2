// Package secret reads secrets from AWS Secrets Manager. Values are never
// logged or stored elsewhere.
package secret

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// GetAPI is the part of the Secrets Manager client used to read a secret.
type GetAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ GetAPI = (*secretsmanager.Client)(nil)

// Get returns the secret's current value (string or binary).
func Get(ctx context.Context, c GetAPI, arn string) ([]byte, error) {
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w", arn, err)
	}
	if out.SecretBinary != nil {
		return out.SecretBinary, nil
	}
	return []byte(aws.ToString(out.SecretString)), nil
}
