package partnercenter

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/config"
)

// The webhook events the product reacts to.
const (
	EventResellerRelationshipAccepted      = "reseller-relationship-accepted-by-customer"
	EventGranularAdminRelationshipApproved = "granular-admin-relationship-approved"
)

// DefaultWebhookCertHosts are the hosts a webhook's certificate URL may
// name in production: Partner Center's, and the storage account its
// documented events point at.
var DefaultWebhookCertHosts = []string{"api.partnercenter.microsoft.com", "3psostorageacct.blob.core.windows.net"}

// DefaultWebhookOrganization is the organization Partner Center's signing
// certificate names.
const DefaultWebhookOrganization = "Microsoft Corporation"

// Limits of a webhook event.
const (
	MaxEventBody     = 16 << 10
	maxCertificate   = 64 << 10
	maxEventName     = 100
	maxResourceField = 2048
	maxCachedCerts   = 16
)

// Webhook errors: ErrWebhookUnauthenticated refuses a request that is not
// Partner Center's (unsigned, forged, a changed body, a certificate from a
// host not allowed or not trusted); ErrInvalidEvent a body that is not an
// event. A certificate that could not be fetched is ErrUnavailable, so
// that Partner Center delivers the event again.
var (
	ErrWebhookUnauthenticated = apperr.New(apperr.Unauthenticated, "The request is not signed by Partner Center.")
	ErrInvalidEvent           = apperr.New(apperr.InvalidRequest, "The body is not a Partner Center event.")
)

// Event is a Partner Center webhook event.
type Event struct {
	EventName    string
	ResourceURI  string
	ResourceName string
	AuditURI     string
	// ResourceChangeUtcDate is zero when the event has none.
	ResourceChangeUtcDate time.Time
}

// ResourceID is the last path segment of the resource's URI: the customer's
// tenant id of a reseller relationship event
// (…/v1/customers/{tenantId}), the relationship's id of an admin
// relationship event.
func (e Event) ResourceID() string {
	u, err := url.Parse(e.ResourceURI)
	if err != nil {
		return ""
	}
	p := strings.TrimRight(u.Path, "/")
	return p[strings.LastIndexByte(p, '/')+1:]
}

// ParseEvent reads an event body: a JSON object of at most MaxEventBody
// bytes with an EventName ({resource}-{action}, letters, digits and
// hyphens) and bounded URIs and names. Anything else is ErrInvalidEvent.
func ParseEvent(body []byte) (Event, error) {
	if len(body) > MaxEventBody {
		return Event{}, fmt.Errorf("%w: larger than %d bytes", ErrInvalidEvent, MaxEventBody)
	}
	var w struct {
		EventName             string  `json:"EventName"`
		ResourceURI           string  `json:"ResourceUri"`
		ResourceName          string  `json:"ResourceName"`
		AuditURI              *string `json:"AuditUri"`
		ResourceChangeUtcDate *string `json:"ResourceChangeUtcDate"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	if dec.More() {
		return Event{}, fmt.Errorf("%w: more than one JSON value", ErrInvalidEvent)
	}
	if w.EventName == "" || len(w.EventName) > maxEventName || strings.Trim(w.EventName, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
		return Event{}, fmt.Errorf("%w: EventName %q", ErrInvalidEvent, clip(w.EventName))
	}
	e := Event{EventName: w.EventName, ResourceURI: w.ResourceURI, ResourceName: w.ResourceName}
	if w.AuditURI != nil {
		e.AuditURI = *w.AuditURI
	}
	for _, f := range []string{e.ResourceURI, e.ResourceName, e.AuditURI} {
		if len(f) > maxResourceField || strings.ContainsFunc(f, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return Event{}, fmt.Errorf("%w: a resource field is too long or holds control characters", ErrInvalidEvent)
		}
	}
	if e.ResourceURI != "" {
		if u, err := url.Parse(e.ResourceURI); err != nil || !u.IsAbs() {
			return Event{}, fmt.Errorf("%w: ResourceUri %q", ErrInvalidEvent, clip(e.ResourceURI))
		}
	}
	if w.ResourceChangeUtcDate != nil && *w.ResourceChangeUtcDate != "" {
		t, err := parseEventTime(*w.ResourceChangeUtcDate)
		if err != nil {
			return Event{}, fmt.Errorf("%w: ResourceChangeUtcDate %q", ErrInvalidEvent, clip(*w.ResourceChangeUtcDate))
		}
		e.ResourceChangeUtcDate = t
	}
	return e, nil
}

// parseEventTime reads "2023-10-18T00:26:24.0159088+00:00", or the same
// without an offset (UTC).
func parseEventTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	return time.Parse("2006-01-02T15:04:05.999999999", s)
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Verifier authenticates Partner Center's webhook requests as Partner
// Center documents it: the body is signed (RSA, SHA-256) with a
// certificate whose URL the request names (x-ms-certificate-url); the
// certificate must chain to a trusted root and name Microsoft Corporation.
// Here the URL must also be https on an allowed host, so a forger cannot
// point at a certificate of its own, nor make the function fetch from
// anywhere else. Verified certificates are kept (by URL) until they expire
// or a day passes. Safe for concurrent use.
//
// Hand-written: no library verifies Partner Center's scheme (it is not
// HTTP Message Signatures).
type Verifier struct {
	// AllowedHosts are the hosts (host, or host:port) a certificate URL
	// may name; a host without port matches the default https port only.
	AllowedHosts []string
	// Roots is the trust store; default the system's (on Linux,
	// SSL_CERT_FILE adds a file, as the local cloud does).
	Roots *x509.CertPool
	// Organization the certificate's subject must name; default
	// DefaultWebhookOrganization.
	Organization string
	// HTTP fetches certificates; default a client with a 10 s timeout.
	// Redirects are never followed.
	HTTP *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
	// CacheFor bounds how long a verified certificate is kept; default 24 h.
	CacheFor time.Duration

	rootsOnce sync.Once
	roots     *x509.CertPool
	rootsErr  error

	mu    sync.Mutex
	cache map[string]cachedCert
}

type cachedCert struct {
	key   *rsa.PublicKey
	until time.Time
}

// WebhookVerifierFromEnv reads PARTNER_CENTER_WEBHOOK_CERT_HOSTS
// (comma-separated host or host:port; default DefaultWebhookCertHosts) and
// records a problem in env.
func WebhookVerifierFromEnv(env *config.Env) *Verifier {
	v := env.Optional("PARTNER_CENTER_WEBHOOK_CERT_HOSTS", strings.Join(DefaultWebhookCertHosts, ","))
	var hosts []string
	for _, h := range strings.Split(v, ",") {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if u, err := url.Parse("https://" + h); err != nil || u.Host != h || u.Hostname() == "" {
			env.Invalid("PARTNER_CENTER_WEBHOOK_CERT_HOSTS", "must be comma-separated host names (host or host:port, no scheme or path)", v)
			break
		}
		hosts = append(hosts, h)
	}
	if len(hosts) == 0 {
		env.Invalid("PARTNER_CENTER_WEBHOOK_CERT_HOSTS", "must name at least one host", v)
	}
	return &Verifier{AllowedHosts: hosts}
}

// Verify authenticates a webhook request (its headers and raw body) and
// returns its event. The signature is read from "Authorization: Signature
// <base64>" or, for registrations that ask for it, from x-ms-signature.
func (v *Verifier) Verify(ctx context.Context, h http.Header, body []byte) (Event, error) {
	if len(body) > MaxEventBody {
		return Event{}, fmt.Errorf("%w: larger than %d bytes", ErrInvalidEvent, MaxEventBody)
	}
	sig, err := signature(h)
	if err != nil {
		return Event{}, err
	}
	if alg := strings.TrimSpace(h.Get("X-Ms-Signature-Algorithm")); !strings.EqualFold(alg, "rsa-sha256") {
		return Event{}, fmt.Errorf("%w: signature algorithm %q", ErrWebhookUnauthenticated, clip(alg))
	}
	certURL := strings.TrimSpace(h.Get("X-Ms-Certificate-Url"))
	if err := v.allowed(certURL); err != nil {
		return Event{}, err
	}
	key, err := v.key(ctx, certURL)
	if err != nil {
		return Event{}, err
	}
	digest := sha256.Sum256(body)
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig); err != nil {
		return Event{}, fmt.Errorf("%w: the signature does not match the body", ErrWebhookUnauthenticated)
	}
	return ParseEvent(body)
}

func signature(h http.Header) ([]byte, error) {
	raw := strings.TrimSpace(h.Get("X-Ms-Signature"))
	if raw == "" {
		raw = strings.TrimSpace(h.Get("Authorization"))
		scheme, rest, ok := strings.Cut(raw, " ")
		if !ok || !strings.EqualFold(scheme, "Signature") {
			return nil, fmt.Errorf("%w: no Signature authorization", ErrWebhookUnauthenticated)
		}
		raw = strings.TrimSpace(rest)
	} else if scheme, rest, ok := strings.Cut(raw, " "); ok && strings.EqualFold(scheme, "Signature") {
		raw = strings.TrimSpace(rest)
	}
	if raw == "" || len(raw) > 2048 {
		return nil, fmt.Errorf("%w: no signature", ErrWebhookUnauthenticated)
	}
	sig, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: the signature is not base64", ErrWebhookUnauthenticated)
	}
	return sig, nil
}

// allowed checks the certificate URL before anything is fetched.
func (v *Verifier) allowed(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%w: certificate URL %q", ErrWebhookUnauthenticated, clip(raw))
	}
	host := strings.ToLower(u.Host)
	for _, a := range v.AllowedHosts {
		a = strings.ToLower(a)
		if a == host {
			return nil
		}
		if _, _, err := net.SplitHostPort(a); err != nil && a == strings.ToLower(u.Hostname()) && (u.Port() == "" || u.Port() == "443") {
			return nil
		}
	}
	return fmt.Errorf("%w: certificate host %q is not allowed", ErrWebhookUnauthenticated, clip(u.Host))
}

// key returns the verified certificate's public key, from the cache or
// fetched and verified.
func (v *Verifier) key(ctx context.Context, certURL string) (*rsa.PublicKey, error) {
	now := v.now()
	v.mu.Lock()
	c, ok := v.cache[certURL]
	v.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.key, nil
	}
	certs, err := v.fetch(ctx, certURL)
	if err != nil {
		return nil, err
	}
	leaf := certs[0]
	roots, err := v.trust()
	if err != nil {
		return nil, fmt.Errorf("%w: trust store: %v", ErrUnavailable, err)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("%w: the certificate is not trusted: %v", ErrWebhookUnauthenticated, err)
	}
	org := v.Organization
	if org == "" {
		org = DefaultWebhookOrganization
	}
	if !slices.Contains(leaf.Subject.Organization, org) {
		return nil, fmt.Errorf("%w: the certificate names %v, not %s", ErrWebhookUnauthenticated, leaf.Subject.Organization, org)
	}
	key, ok := leaf.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: the certificate's key is not RSA", ErrWebhookUnauthenticated)
	}
	ttl := v.CacheFor
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	until := now.Add(ttl)
	if leaf.NotAfter.Before(until) {
		until = leaf.NotAfter
	}
	v.mu.Lock()
	if v.cache == nil || len(v.cache) >= maxCachedCerts {
		v.cache = map[string]cachedCert{}
	}
	v.cache[certURL] = cachedCert{key: key, until: until}
	v.mu.Unlock()
	return key, nil
}

// fetch downloads the certificate (DER, several DER, or PEM with the chain
// after the leaf).
func (v *Verifier) fetch(ctx context.Context, certURL string) ([]*x509.Certificate, error) {
	hc := v.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	noRedirect := *hc
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, certURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate URL: %v", ErrWebhookUnauthenticated, err)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: fetch the webhook certificate: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxCertificate+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: read the webhook certificate: %v", ErrUnavailable, err)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, fmt.Errorf("%w: the webhook certificate: HTTP %d", ErrUnavailable, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: the webhook certificate: HTTP %d", ErrWebhookUnauthenticated, resp.StatusCode)
	case len(raw) > maxCertificate:
		return nil, fmt.Errorf("%w: the webhook certificate is larger than %d bytes", ErrWebhookUnauthenticated, maxCertificate)
	}
	certs, err := parseCertificates(raw)
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("%w: the webhook certificate cannot be read: %v", ErrWebhookUnauthenticated, err)
	}
	return certs, nil
}

func parseCertificates(raw []byte) ([]*x509.Certificate, error) {
	if !bytes.Contains(raw, []byte("-----BEGIN")) {
		return x509.ParseCertificates(raw)
	}
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, raw = pem.Decode(raw)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no CERTIFICATE block")
	}
	return out, nil
}

func (v *Verifier) trust() (*x509.CertPool, error) {
	if v.Roots != nil {
		return v.Roots, nil
	}
	v.rootsOnce.Do(func() { v.roots, v.rootsErr = x509.SystemCertPool() })
	return v.roots, v.rootsErr
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}
