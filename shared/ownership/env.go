package ownership

import (
	"context"
	"fmt"

	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/secret"
)

// SettingsFromEnv reads the partner app's settings: AZURE_CLIENT_ID,
// AZURE_CREDENTIAL_KIND (secret, certificate or assertion; default secret),
// PARTNER_CREDENTIAL_SECRET_ARN (the client secret or PEM certificate, in
// Secrets Manager; not needed for assertion), AZURE_FEDERATED_TOKEN_FILE,
// AZURE_AUTHORITY_HOST and AZURE_RESOURCE_MANAGER_ENDPOINT. Problems are
// recorded in env; the secret is read only when env has none.
func SettingsFromEnv(ctx context.Context, env *config.Env, sm secret.GetAPI) (Settings, error) {
	s := Settings{
		Kind:            env.Optional("AZURE_CREDENTIAL_KIND", KindSecret),
		ClientID:        env.Required("AZURE_CLIENT_ID"),
		AssertionFile:   env.Optional("AZURE_FEDERATED_TOKEN_FILE", ""),
		AuthorityHost:   env.Optional("AZURE_AUTHORITY_HOST", ""),
		ResourceManager: env.Optional("AZURE_RESOURCE_MANAGER_ENDPOINT", ""),
	}
	var arn string
	if s.Kind != KindAssertion {
		arn = env.Required("PARTNER_CREDENTIAL_SECRET_ARN")
	}
	if err := env.Err(); err != nil {
		return s, err
	}
	if arn != "" {
		v, err := secret.Get(ctx, sm, arn)
		if err != nil {
			return s, fmt.Errorf("PARTNER_CREDENTIAL_SECRET_ARN: %w", err)
		}
		s.Secret = v
	}
	return s, nil
}
