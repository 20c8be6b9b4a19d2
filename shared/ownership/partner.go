package ownership

import (
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/lazy"
)

// Partner is the partner application as a function uses it: its settings,
// read from the environment at start-up, and its credential, whose secret
// (PARTNER_CREDENTIAL_SECRET_ARN) is read from Secrets Manager on first use
// and kept for the life of the function. A read that fails is an error of
// the request that needed it; the next one reads again.
type Partner struct {
	// Settings are the partner app's settings, without the secret.
	Settings Settings
	// Transport sends the credential's token requests (nil: azcore's
	// default); set it before the first token request.
	Transport policy.Transporter
	loaded    *lazy.Value[Settings]
	factory   *lazy.Value[CredentialFactory]
}

// PartnerFromEnv reads the partner app's settings (AZURE_CLIENT_ID,
// AZURE_CREDENTIAL_KIND: secret, certificate or assertion, default secret;
// PARTNER_CREDENTIAL_SECRET_ARN, not for assertion;
// AZURE_FEDERATED_TOKEN_FILE; AZURE_AUTHORITY_HOST;
// AZURE_RESOURCE_MANAGER_ENDPOINT, each an absolute https URL when set) and
// records problems in env. It reads nothing from Secrets Manager: read
// (the secret's value by ARN: lazysecretsmanager.Reader) is called on first
// use.
func PartnerFromEnv(env *config.Env, read func(ctx context.Context, arn string) ([]byte, error)) *Partner {
	s := Settings{
		Kind:            env.Optional("AZURE_CREDENTIAL_KIND", KindSecret),
		ClientID:        env.Required("AZURE_CLIENT_ID"),
		AssertionFile:   env.Optional("AZURE_FEDERATED_TOKEN_FILE", ""),
		AuthorityHost:   env.Optional("AZURE_AUTHORITY_HOST", ""),
		ResourceManager: env.Optional("AZURE_RESOURCE_MANAGER_ENDPOINT", ""),
	}
	var arn string
	switch s.Kind {
	case KindSecret, KindCertificate:
		arn = env.Required("PARTNER_CREDENTIAL_SECRET_ARN")
	case KindAssertion:
		env.Required("AZURE_FEDERATED_TOKEN_FILE")
	default:
		env.Invalid("AZURE_CREDENTIAL_KIND", "must be "+KindSecret+", "+KindCertificate+" or "+KindAssertion, s.Kind)
	}
	env.Add(s.ValidateEndpoints())
	p := &Partner{Settings: s}
	p.loaded = lazy.New(func(ctx context.Context) (Settings, error) {
		full := s
		if arn != "" {
			v, err := read(ctx, arn)
			if err != nil {
				return Settings{}, fmt.Errorf("partner credential (PARTNER_CREDENTIAL_SECRET_ARN): %w", err)
			}
			full.Secret = v
		}
		return full, nil
	})
	p.factory = lazy.New(func(ctx context.Context) (CredentialFactory, error) {
		full, err := p.Load(ctx)
		if err != nil {
			return nil, err
		}
		f, err := full.Factory(p.Transport)
		if err != nil {
			return nil, fmt.Errorf("partner credential unusable (PARTNER_CREDENTIAL_SECRET_ARN): %w", err)
		}
		return f, nil
	})
	return p
}

// Load returns the settings with the secret, reading it on first use.
func (p *Partner) Load(ctx context.Context) (Settings, error) { return p.loaded.Get(ctx) }

// Credential is the partner app's credential in tenantID, made (and the
// secret read) on its first token request.
func (p *Partner) Credential(tenantID string) azcore.TokenCredential {
	return &partnerCredential{cred: lazy.New(func(ctx context.Context) (azcore.TokenCredential, error) {
		f, err := p.factory.Get(ctx)
		if err != nil {
			return nil, err
		}
		return f(tenantID)
	})}
}

// NewCredential is Credential as a CredentialFactory; it never fails (the
// credential's problems surface on its first token request).
func (p *Partner) NewCredential(tenantID string) (azcore.TokenCredential, error) {
	return p.Credential(tenantID), nil
}

// Azure is the Resource Manager checker with the partner's credentials.
func (p *Partner) Azure() *Azure {
	return &Azure{NewCredential: p.NewCredential, Options: p.Settings.ARMOptions(nil)}
}

// partnerCredential makes its credential on the first GetToken.
type partnerCredential struct {
	cred *lazy.Value[azcore.TokenCredential]
}

func (c *partnerCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	cred, err := c.cred.Get(ctx)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	return cred.GetToken(ctx, opts)
}
