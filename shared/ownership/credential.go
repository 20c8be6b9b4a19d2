package ownership

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Credential kinds, in order of preference: an assertion holds no secret at
// all, a certificate's key never leaves the function, a secret is sent with
// every token request.
const (
	KindAssertion   = "assertion"   // workload identity federation: no secret at all
	KindCertificate = "certificate" // PEM certificate and key
	KindSecret      = "secret"      // client secret
)

// Settings configure the partner app's credential and the Azure endpoints.
type Settings struct {
	Kind     string
	ClientID string
	// Secret is the client secret, or the PEM certificate with its key.
	Secret []byte
	// AssertionFile holds the federated token (AZURE_FEDERATED_TOKEN_FILE).
	AssertionFile string
	// AuthorityHost (AZURE_AUTHORITY_HOST) and ResourceManager endpoints.
	AuthorityHost   string
	ResourceManager string
}

// ValidateEndpoints checks AZURE_AUTHORITY_HOST and
// AZURE_RESOURCE_MANAGER_ENDPOINT: each, when set, an absolute https URL
// (MSAL accepts no other authority, and azcore sends tokens over https only).
func (s Settings) ValidateEndpoints() error {
	var errs []error
	for _, e := range []struct{ name, value string }{
		{"AZURE_AUTHORITY_HOST", s.AuthorityHost},
		{"AZURE_RESOURCE_MANAGER_ENDPOINT", s.ResourceManager},
	} {
		if e.value == "" {
			continue
		}
		if u, err := url.Parse(e.value); err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fmt.Errorf("environment variable %s must be an absolute https URL", e.name))
		}
	}
	return errors.Join(errs...)
}

// Cloud is the Azure cloud configuration for these settings.
func (s Settings) Cloud() cloud.Configuration {
	c := cloud.AzurePublic
	if s.AuthorityHost != "" || s.ResourceManager != "" {
		c = cloud.Configuration{ActiveDirectoryAuthorityHost: cloud.AzurePublic.ActiveDirectoryAuthorityHost, Services: map[cloud.ServiceName]cloud.ServiceConfiguration{}}
		for k, v := range cloud.AzurePublic.Services {
			c.Services[k] = v
		}
		if s.AuthorityHost != "" {
			c.ActiveDirectoryAuthorityHost = strings.TrimRight(s.AuthorityHost, "/") + "/"
		}
		if s.ResourceManager != "" {
			rm := c.Services[cloud.ResourceManager]
			// The audience stays Azure's: tokens are for Resource Manager
			// wherever its endpoint is reached.
			rm.Endpoint = strings.TrimRight(s.ResourceManager, "/")
			c.Services[cloud.ResourceManager] = rm
		}
	}
	return c
}

// ARMOptions are the Resource Manager client options: the cloud, and retries
// of 429 and 5xx that honour Retry-After, bounded in count and delay.
func (s Settings) ARMOptions(transport policy.Transporter) arm.ClientOptions {
	return arm.ClientOptions{ClientOptions: policy.ClientOptions{
		Cloud:     s.Cloud(),
		Transport: transport,
		Retry: policy.RetryOptions{
			MaxRetries:    4,
			RetryDelay:    2 * time.Second,
			MaxRetryDelay: 60 * time.Second,
			TryTimeout:    30 * time.Second,
		},
	}}
}

// Factory returns a credential factory for the settings' kind.
func (s Settings) Factory(transport policy.Transporter) (CredentialFactory, error) {
	opts := azcore.ClientOptions{Cloud: s.Cloud(), Transport: transport}
	if s.ClientID == "" {
		return nil, fmt.Errorf("the partner application's client id is required")
	}
	switch s.Kind {
	case KindSecret, "":
		if len(s.Secret) == 0 {
			return nil, fmt.Errorf("a client secret is required for credential kind %q", KindSecret)
		}
		secret := strings.TrimSpace(string(s.Secret))
		return func(tenantID string) (azcore.TokenCredential, error) {
			return azidentity.NewClientSecretCredential(tenantID, s.ClientID, secret, &azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
		}, nil
	case KindCertificate:
		certs, key, err := azidentity.ParseCertificates(s.Secret, nil)
		if err != nil {
			return nil, fmt.Errorf("parse the partner certificate: %w", err)
		}
		return func(tenantID string) (azcore.TokenCredential, error) {
			return azidentity.NewClientCertificateCredential(tenantID, s.ClientID, certs, key, &azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
		}, nil
	case KindAssertion:
		if s.AssertionFile == "" {
			return nil, fmt.Errorf("AZURE_FEDERATED_TOKEN_FILE is required for credential kind %q", KindAssertion)
		}
		file := s.AssertionFile
		read := func(context.Context) (string, error) { return ReadAssertion(file) }
		return func(tenantID string) (azcore.TokenCredential, error) {
			return azidentity.NewClientAssertionCredential(tenantID, s.ClientID, read, &azidentity.ClientAssertionCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
		}, nil
	}
	return nil, fmt.Errorf("unknown credential kind %q (want %s, %s or %s)", s.Kind, KindSecret, KindCertificate, KindAssertion)
}

// ReadAssertion reads the federated token (workload identity federation)
// from its file, afresh on each call: the platform rotates it.
func ReadAssertion(file string) (string, error) {
	b, err := os.ReadFile(file)
	return strings.TrimSpace(string(b)), err
}
