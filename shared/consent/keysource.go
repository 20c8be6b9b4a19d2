package consent

import (
	"context"

	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/lazy"
)

// KeySource gives the signing key to the requests that need one. A Key is
// its own source (tests, tools); KeyFromEnv reads it from Secrets Manager on
// first use.
type KeySource interface {
	SigningKey(ctx context.Context) (Key, error)
}

// SigningKey returns k.
func (k Key) SigningKey(context.Context) (Key, error) { return k, nil }

// SecretReader reads a secret's value by ARN. It is a function, not the
// Secrets Manager client, so that consent (linked by every function through
// store) does not link the Secrets Manager SDK.
type SecretReader func(ctx context.Context, arn string) ([]byte, error)

// KeyFromEnv is the key in the secret SIGNING_KEY_SECRET_ARN (recorded in
// env when unset), read with read on the first SigningKey and kept for the
// life of the function. A read that fails is that request's error; the
// next SigningKey reads again.
func KeyFromEnv(env *config.Env, read SecretReader) KeySource {
	arn := env.Required("SIGNING_KEY_SECRET_ARN")
	return secretKey{lazy.New(func(ctx context.Context) (Key, error) { return LoadKey(ctx, read, arn) })}
}

type secretKey struct{ v *lazy.Value[Key] }

func (s secretKey) SigningKey(ctx context.Context) (Key, error) { return s.v.Get(ctx) }
