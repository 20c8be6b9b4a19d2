package partnercenter

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/secret"
)

// FromEnv makes a client from the partner app's settings
// (ownership.SettingsFromEnv: AZURE_CLIENT_ID, AZURE_CREDENTIAL_KIND,
// PARTNER_CREDENTIAL_SECRET_ARN, AZURE_AUTHORITY_HOST, …), PARTNER_TENANT_ID
// (the token is app-only in the partner's own tenant) and
// PARTNER_CENTER_ENDPOINT (default DefaultEndpoint; the local cloud points
// it at its Microsoft double).
func FromEnv(ctx context.Context, env *config.Env, sm secret.GetAPI) (*Client, error) {
	tenant := env.Required("PARTNER_TENANT_ID")
	endpoint := env.Optional("PARTNER_CENTER_ENDPOINT", DefaultEndpoint)
	if u, err := url.Parse(endpoint); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("PARTNER_CENTER_ENDPOINT must be an absolute https URL")
	}
	settings, err := ownership.SettingsFromEnv(ctx, env, sm)
	if err != nil {
		return nil, err
	}
	factory, err := settings.Factory(nil)
	if err != nil {
		return nil, err
	}
	cred, err := factory(tenant)
	if err != nil {
		return nil, err
	}
	return &Client{Credential: cred, Endpoint: endpoint, HTTP: &http.Client{Timeout: 20 * time.Second}}, nil
}
