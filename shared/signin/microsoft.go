package signin

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/partnercloud/azure/shared/msid"
	"github.com/partnercloud/azure/shared/ownership"
)

// Scopes of the sign-in: OpenID Connect only (the app's permissions come
// from admin consent, not from this sign-in).
var Scopes = []string{"openid", "profile"}

// Microsoft redeems authorization codes at Microsoft Entra ID and validates
// the ID token. The code exchange uses MSAL's confidential client (Microsoft's
// library: client secret, certificate or federated assertion, the same
// credential kinds as the rest of the product); the ID token is verified with
// go-oidc against the signing keys the token's tenant publishes.
type Microsoft struct {
	// Authority is the authority host, e.g. https://login.microsoftonline.com.
	Authority string
	// ClientID is the partner's multi-tenant application (the audience).
	ClientID string
	// RedirectURI is the callback the code was issued for.
	RedirectURI string
	// Credential authenticates the partner's application.
	Credential confidential.Credential
	// HTTPClient is used for every call; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Now is the clock for the token's expiry; nil means time.Now.
	Now func() time.Time
}

// NewCredential is the partner application's credential for the code
// exchange, from the same settings as its Azure credentials.
func NewCredential(s ownership.Settings) (confidential.Credential, error) {
	switch s.Kind {
	case ownership.KindSecret, "":
		if len(s.Secret) == 0 {
			return confidential.Credential{}, errors.New("a client secret is required")
		}
		return confidential.NewCredFromSecret(strings.TrimSpace(string(s.Secret)))
	case ownership.KindCertificate:
		certs, key, err := azidentity.ParseCertificates(s.Secret, nil)
		if err != nil {
			return confidential.Credential{}, fmt.Errorf("parse the partner certificate: %w", err)
		}
		return confidential.NewCredFromCert(certs, key)
	case ownership.KindAssertion:
		file := s.AssertionFile
		if file == "" {
			return confidential.Credential{}, errors.New("AZURE_FEDERATED_TOKEN_FILE is required")
		}
		return confidential.NewCredFromAssertionCallback(func(context.Context, confidential.AssertionRequestOptions) (string, error) {
			return ownership.ReadAssertion(file)
		}), nil
	}
	return confidential.Credential{}, fmt.Errorf("unknown credential kind %q", s.Kind)
}

// Redeem exchanges an authorization code (with its PKCE verifier) and
// returns what the validated ID token proves. nonce is the value the
// authorization request carried.
func (m *Microsoft) Redeem(ctx context.Context, code, verifier, nonce string) (Proof, error) {
	hc := m.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	authority := strings.TrimRight(m.Authority, "/")
	// A client per redemption: MSAL keeps accounts and tokens in an
	// in-memory cache, and nothing of one administrator's sign-in may be
	// kept for the next.
	client, err := confidential.New(authority+"/organizations", m.ClientID, m.Credential,
		confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(hc))
	if err != nil {
		return Proof{}, fmt.Errorf("signin: client: %w", err)
	}
	res, err := client.AcquireTokenByAuthCode(ctx, code, m.RedirectURI, Scopes, confidential.WithChallenge(verifier))
	if err != nil {
		return Proof{}, classify(err)
	}
	return m.verify(ctx, hc, authority, res.IDToken.RawToken, nonce)
}

// verify validates a raw ID token: the tenant's signing keys, issuer
// {authority}/{tid}/v2.0, audience, expiry, nonce, then the claims used.
func (m *Microsoft) verify(ctx context.Context, hc *http.Client, authority, raw, nonce string) (Proof, error) {
	// The tenant decides which keys and issuer to check against; it is read
	// unverified here and proved by the verification that follows.
	tid, err := unverifiedTenant(raw)
	if err != nil {
		return Proof{}, err
	}
	ctx = oidc.ClientContext(ctx, hc)
	keys := oidc.NewRemoteKeySet(ctx, authority+"/"+tid+"/discovery/v2.0/keys")
	now := m.Now
	if now == nil {
		now = time.Now
	}
	v := oidc.NewVerifier(authority+"/"+tid+"/v2.0", keys, &oidc.Config{
		ClientID:             m.ClientID,
		SupportedSigningAlgs: []string{oidc.RS256},
		Now:                  now,
	})
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		var netErr net.Error
		if errors.As(err, &netErr) || strings.Contains(err.Error(), "fetching keys") {
			return Proof{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return Proof{}, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	if nonce == "" || subtle.ConstantTimeCompare([]byte(tok.Nonce), []byte(nonce)) != 1 {
		return Proof{}, fmt.Errorf("%w: nonce does not match", ErrTokenInvalid)
	}
	var c struct {
		TID      string   `json:"tid"`
		OID      string   `json:"oid"`
		Name     string   `json:"name"`
		Username string   `json:"preferred_username"`
		WIDs     []string `json:"wids"`
	}
	if err := tok.Claims(&c); err != nil {
		return Proof{}, fmt.Errorf("%w: claims: %v", ErrTokenInvalid, err)
	}
	c.TID, c.OID = strings.ToLower(c.TID), strings.ToLower(c.OID)
	if c.TID != tid || !msid.IsLowerGUID(c.OID) {
		return Proof{}, fmt.Errorf("%w: tid or oid missing or malformed", ErrTokenInvalid)
	}
	return Proof{TenantID: tid, ObjectID: c.OID, Name: c.Name, Username: c.Username, Roles: c.WIDs}, nil
}

// unverifiedTenant reads the tid claim of a JWT without verifying it.
func unverifiedTenant(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 || len(raw) > 16<<10 {
		return "", fmt.Errorf("%w: not a JWT", ErrTokenInvalid)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("%w: payload encoding", ErrTokenInvalid)
	}
	var c struct {
		TID string `json:"tid"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", fmt.Errorf("%w: payload", ErrTokenInvalid)
	}
	tid := strings.ToLower(c.TID)
	if !msid.IsLowerGUID(tid) {
		return "", fmt.Errorf("%w: tid missing or malformed", ErrTokenInvalid)
	}
	return tid, nil
}

// classify maps an MSAL error: Microsoft's 4xx refusal of the code is
// ErrCodeRejected; 429, 5xx and transport failures are ErrUnavailable.
func classify(err error) error {
	var call msalerrors.CallErr
	if errors.As(err, &call) && call.Resp != nil {
		if s := call.Resp.StatusCode; s == http.StatusTooManyRequests || s >= 500 {
			return fmt.Errorf("%w: status %d", ErrUnavailable, s)
		}
		return fmt.Errorf("%w: status %d: %s", ErrCodeRejected, call.Resp.StatusCode, aadsts(call.Error()))
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	// A token response MSAL could not use (an ID token that does not parse,
	// no access token). The text is not kept: MSAL quotes the raw response,
	// tokens included.
	if strings.Contains(err.Error(), "IDToken") {
		return fmt.Errorf("%w: the token response's ID token does not parse", ErrTokenInvalid)
	}
	return fmt.Errorf("%w: the token response is unusable", ErrCodeRejected)
}

// aadsts keeps only the AADSTS code of an error text: no codes, tokens or
// user data reach the logs.
func aadsts(s string) string {
	if c := msid.AADSTS(s); c != "" {
		return c
	}
	return "no AADSTS code"
}
