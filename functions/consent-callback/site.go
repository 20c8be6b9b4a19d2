package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/msid"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/provider"
)

// Site is what the pages show and link to, from configuration.
type Site struct {
	PartnerName  string // PARTNER_NAME
	ContactEmail string // CONTACT_EMAIL
	// PartnerTenantID (PARTNER_TENANT_ID) is in the reseller invitation link.
	PartnerTenantID string
	// PublicBaseURL (PUBLIC_BASE_URL) is the API's public URL; Microsoft
	// redirects to PublicBaseURL + "/consent/callback".
	PublicBaseURL string
	// ClientID (AZURE_CLIENT_ID) is the partner's multi-tenant application.
	ClientID string
	// AppName (PARTNER_APP_NAME) is that application's display name, named
	// beside its service principal's id.
	AppName string
	// AuthorityHost (AZURE_AUTHORITY_HOST) is the only redirect target.
	AuthorityHost string
	// ResourceManager (AZURE_RESOURCE_MANAGER_ENDPOINT) makes the scope.
	ResourceManager string
}

// SiteFromEnv reads the site's settings: PARTNER_NAME, CONTACT_EMAIL,
// PARTNER_TENANT_ID, PUBLIC_BASE_URL, PARTNER_APP_NAME, and the partner app's client id,
// authority and Resource Manager endpoint from its settings. Validate
// checks them.
func SiteFromEnv(env *config.Env, partner ownership.Settings) Site {
	c := partner.Cloud()
	return Site{
		PartnerName:     env.Optional("PARTNER_NAME", "Partner Cloud"),
		ContactEmail:    env.Optional("CONTACT_EMAIL", "cloudintegration@partner.example"),
		PartnerTenantID: env.Required("PARTNER_TENANT_ID"),
		PublicBaseURL:   env.Required("PUBLIC_BASE_URL"),
		ClientID:        partner.ClientID,
		AppName:         env.Optional("PARTNER_APP_NAME", provider.DefaultPartnerAppName),
		AuthorityHost:   c.ActiveDirectoryAuthorityHost,
		ResourceManager: c.Services[cloud.ResourceManager].Endpoint,
	}
}

// Validate reports every unusable setting, naming its variable.
func (s Site) Validate() error {
	var errs []error
	bad := func(name, why string) { errs = append(errs, fmt.Errorf("environment variable %s %s", name, why)) }
	if n := strings.TrimSpace(s.PartnerName); n == "" || len(n) > 100 || hasControl(n) {
		bad("PARTNER_NAME", "must be 1-100 printable characters")
	}
	if at := strings.LastIndexByte(s.ContactEmail, '@'); at < 1 || at == len(s.ContactEmail)-1 || len(s.ContactEmail) > 254 || hasControl(s.ContactEmail) || strings.ContainsAny(s.ContactEmail, " <>\"") {
		bad("CONTACT_EMAIL", "must be a single email address")
	}
	if why := provider.ValidateAppName(s.AppName); why != "" {
		bad("PARTNER_APP_NAME", why)
	}
	if !msid.IsGUID(s.PartnerTenantID) {
		bad("PARTNER_TENANT_ID", "must be the partner's tenant id (a GUID)")
	}
	if !msid.IsGUID(s.ClientID) {
		bad("AZURE_CLIENT_ID", "must be the partner application's client id (a GUID)")
	}
	if u, err := url.Parse(s.PublicBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		bad("PUBLIC_BASE_URL", "must be an absolute http(s) URL without query or fragment")
	} else if len(s.RedirectURI()) > 256 {
		bad("PUBLIC_BASE_URL", "makes a redirect URI longer than Microsoft's 256 characters")
	}
	if u, err := url.Parse(s.AuthorityHost); err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		bad("AZURE_AUTHORITY_HOST", "must be an absolute https URL")
	}
	if u, err := url.Parse(s.ResourceManager); err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		bad("AZURE_RESOURCE_MANAGER_ENDPOINT", "must be an absolute https URL")
	}
	return errors.Join(errs...)
}

// RedirectURI is the callback URL registered on the partner application.
func (s Site) RedirectURI() string {
	return strings.TrimRight(s.PublicBaseURL, "/") + "/consent/callback"
}

// SignInURL is Microsoft's OpenID Connect authorization endpoint for any
// organization: the authorization code flow with PKCE (S256) and a nonce,
// scope openid profile. The sign-in proves the administrator's tenant.
func (s Site) SignInURL(state, codeChallenge, nonce string) string {
	return s.authorityURL("organizations/oauth2/v2.0/authorize", url.Values{
		"client_id":             {s.ClientID},
		"response_type":         {"code"},
		"response_mode":         {"query"},
		"redirect_uri":          {s.RedirectURI()},
		"scope":                 {"openid profile"},
		"state":                 {state},
		"nonce":                 {nonce},
		"code_challenge":        {codeChallenge},
		"code_challenge_method": {"S256"},
		"prompt":                {"select_account"},
	})
}

// AdminConsentURL is Microsoft's admin-consent endpoint in the tenant the
// sign-in proved, with the signed state bound to that tenant.
func (s Site) AdminConsentURL(tenantID, state string) string {
	return s.authorityURL(url.PathEscape(tenantID)+"/v2.0/adminconsent", url.Values{
		"client_id":    {s.ClientID},
		"scope":        {strings.TrimRight(s.ResourceManager, "/") + "/.default"},
		"redirect_uri": {s.RedirectURI()},
		"state":        {state},
	})
}

// authorityURL is the authority host with path and query.
func (s Site) authorityURL(path string, q url.Values) string {
	u, err := url.Parse(s.AuthorityHost)
	if err != nil {
		return ""
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/" + path
	u.RawPath, u.Fragment = "", ""
	u.RawQuery = q.Encode()
	return u.String()
}

// ResellerURL is the partner's reseller relationship invitation in the
// Microsoft 365 admin center (one reusable link, no customer data).
func (s Site) ResellerURL() string {
	return "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship&partnerId=" +
		url.QueryEscape(s.PartnerTenantID) + "&msppId=0&DAP=false#/BillingAccounts/partner-invitation"
}
