package partnercenter

import (
	"net/http"
	"net/url"
	"time"

	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/ownership"
)

// FromEnv makes a client for the partner's own tenant: PARTNER_TENANT_ID
// (the token is app-only in the partner's own tenant) and
// PARTNER_CENTER_ENDPOINT (default DefaultEndpoint; the local cloud points
// it at its Microsoft double), with the partner app's credential, which is
// made (its secret read) on the first call. Problems are recorded in env.
func FromEnv(env *config.Env, partner *ownership.Partner) *Client {
	tenant := env.Required("PARTNER_TENANT_ID")
	endpoint := env.Optional("PARTNER_CENTER_ENDPOINT", DefaultEndpoint)
	if u, err := url.Parse(endpoint); err != nil || u.Scheme != "https" || u.Host == "" {
		env.Invalid("PARTNER_CENTER_ENDPOINT", "must be an absolute https URL", endpoint)
	}
	return &Client{Credential: partner.Credential(tenant), Endpoint: endpoint, HTTP: &http.Client{Timeout: 20 * time.Second}}
}

// WithinRequest returns a copy of c whose retries fit in an API request
// (under API Gateway's 30 s): at most 2, each waiting at most 5 s.
func (c *Client) WithinRequest() *Client {
	return &Client{Credential: c.Credential, Endpoint: c.Endpoint, HTTP: c.HTTP, Sleep: c.Sleep, MaxRetries: 2, MaxRetryAfter: 5 * time.Second}
}
