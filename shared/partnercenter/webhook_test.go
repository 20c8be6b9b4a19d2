package partnercenter

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/config"
)

// pki is a trusted root with Partner Center's signing certificate under it,
// an untrusted root with a forger's look-alike, and a trusted certificate
// of another organization.
type pki struct {
	roots                  *x509.CertPool
	signer, forger, other  *rsa.PrivateKey
	good, forged, wrongOrg []byte // DER leaves
	chainPEM               []byte // leaf then root, PEM
	notAfter               time.Time
}

var (
	pkiOnce sync.Once
	testPKI pki
)

func newPKI(t *testing.T) pki {
	t.Helper()
	pkiOnce.Do(func() {
		now := time.Now()
		key := func() *rsa.PrivateKey {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}
			return k
		}
		ca := func(k *rsa.PrivateKey, name string) (*x509.Certificate, []byte) {
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name, Organization: []string{name}},
				NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
				KeyUsage: x509.KeyUsageCertSign}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
			if err != nil {
				t.Fatal(err)
			}
			c, _ := x509.ParseCertificate(der)
			return c, der
		}
		leaf := func(parent *x509.Certificate, parentKey *rsa.PrivateKey, k *rsa.PrivateKey, org string) []byte {
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "pcnotifications-dispatch.microsoft.com", Organization: []string{org}},
				NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &k.PublicKey, parentKey)
			if err != nil {
				t.Fatal(err)
			}
			return der
		}
		rootKey, forgerRootKey := key(), key()
		root, rootDER := ca(rootKey, "Test Root")
		forgerRoot, _ := ca(forgerRootKey, "Forger Root")
		p := pki{roots: x509.NewCertPool(), signer: key(), forger: forgerRootKey, other: rootKey, notAfter: now.Add(30 * 24 * time.Hour)}
		p.roots.AddCert(root)
		p.good = leaf(root, rootKey, p.signer, DefaultWebhookOrganization)
		p.forged = leaf(forgerRoot, forgerRootKey, p.forger, DefaultWebhookOrganization)
		p.wrongOrg = leaf(root, rootKey, p.other, "Contoso")
		p.chainPEM = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.good}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER})...)
		testPKI = p
	})
	return testPKI
}

func sign(t *testing.T, k *rsa.PrivateKey, body []byte) string {
	t.Helper()
	d := sha256.Sum256(body)
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

const eventBody = `{"EventName":"reseller-relationship-accepted-by-customer","ResourceUri":"https://api.partnercenter.microsoft.com/v1/customers/4b2a6e33-8791-4386-bd2b-0d55baf25039","ResourceName":"Customer","AuditUri":"https://api.partnercenter.microsoft.com/auditactivity/v1/auditrecords/60d5c4bb","ResourceChangeUtcDate":"2023-10-18T00:26:24.0159088+00:00"}`

func TestWebhookVerify(t *testing.T) {
	p := newPKI(t)
	var mu sync.Mutex
	fetches := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fetches++
		mu.Unlock()
		switch r.URL.Path {
		case "/cert/good.cer":
			w.Write(p.good)
		case "/cert/chain.pem":
			w.Write(p.chainPEM)
		case "/cert/forged.cer":
			w.Write(p.forged)
		case "/cert/contoso.cer":
			w.Write(p.wrongOrg)
		case "/cert/redirect.cer":
			http.Redirect(w, r, "https://evil.example/cert.cer", http.StatusFound)
		case "/cert/down.cer":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	certURL := func(name string) string { return srv.URL + "/cert/" + name }
	body := []byte(eventBody)
	good := sign(t, p.signer, body)

	tests := []struct {
		name    string
		headers map[string]string
		body    []byte
		want    error // nil: accepted
		fetch   bool  // a certificate is fetched
	}{
		{"signed by Partner Center", map[string]string{"Authorization": "Signature " + good, "x-ms-certificate-url": certURL("good.cer"), "x-ms-signature-algorithm": "rsa-sha256"}, body, nil, true},
		{"PEM with the chain", map[string]string{"Authorization": "Signature " + good, "x-ms-certificate-url": certURL("chain.pem"), "x-ms-signature-algorithm": "RSA-SHA256"}, body, nil, true},
		{"signature in x-ms-signature", map[string]string{"x-ms-signature": good, "x-ms-certificate-url": certURL("good.cer"), "x-ms-signature-algorithm": "rsa-sha256"}, body, nil, true},
		{"the body changed after signing", map[string]string{"Authorization": "Signature " + good, "x-ms-certificate-url": certURL("good.cer"), "x-ms-signature-algorithm": "rsa-sha256"},
			[]byte(strings.Replace(eventBody, "4b2a6e33", "00000000", 1)), ErrWebhookUnauthenticated, true},
		{"unsigned", map[string]string{"x-ms-certificate-url": certURL("good.cer"), "x-ms-signature-algorithm": "rsa-sha256"}, body, ErrWebhookUnauthenticated, false},
		{"a bearer token is no signature", map[string]string{"Authorization": "Bearer " + good, "x-ms-certificate-url": certURL("good.cer"), "x-ms-signature-algorithm": "rsa-sha256"}, body, ErrWebhookUnauthenticated, false},
		{"signature not base64", map[string]string{"Authorization": "Signature !!!", "x-ms-certificate-url": certURL("good.cer"), "x-ms-signature-algorithm": "rsa-sha256"}, body, ErrWebhookUnauthenticated, false},
		{"signed by another key", map[string]string{"Authorization": "Signature " + sign(t, p.forger, body), "x-ms-certificate-url": certURL("good.cer"), "x-ms-signature-algorithm": "rsa-sha256"}, body, ErrWebhookUnauthenticated, true},
		{"forged certificate on the allowed host", map[string]string{"Authorization": "Signature " + sign(t, p.forger, body), "x-ms-certificate-url": certURL("forged.cer"), "x-ms-signature-algorithm": "rsa-sha256"}, body, ErrWebhookUnauthenticated, true},
		{"trusted, but not Microsoft's", map[string]string{"Authorization": "Signature " + sign(t, p.other, body), "x-ms-certificate-url": certURL("contoso.cer"), "x-ms-signature-algorithm": "rsa-sha256"}, body, ErrWebhookUnauthenticated, true},
		{"certificate on a host not allowed", map[string]string{"Authorization": "Signature " + good, "x-ms-certificate-url": "https://evil.example/cert/good.cer", "x-ms-signature-algorithm": "rsa-sha256"}, body, ErrWebhookUnauthenticated, false},
		{"allowed host, other port", map[string]string{"Authorization": "Signature " + good, "x-ms-certificate-url": "https://" + strings.Split(host, ":")[0] + ":1/cert/good.cer", "x-ms-signature-algorithm": "rsa-sha256"}, body, ErrWebhookUnauthenticated, false},
		{"certificate over http", map[string]string{"Authorization": "Signature " + good, "x-ms-certificate-url": "http://" + host + "/cert/good.cer", "x-ms-signature-algorithm": "rsa-sha256"}, body, ErrWebhookUnauthenticated, false},
		{"user info in the URL", map[string]string{"Authorization": "Signature " + good, "x-ms-certificate-url": "https://evil.example@" + host + "/cert/good.cer", "x-ms-signature-algorithm": "rsa-sha256"}, body, ErrWebhookUnauthenticated, false},
		{"a redirect is not followed", map[string]string{"Authorization": "Signature " + good, "x-ms-certificate-url": certURL("redirect.cer"), "x-ms-signature-algorithm": "rsa-sha256"}, body, ErrWebhookUnauthenticated, true},
		{"no algorithm", map[string]string{"Authorization": "Signature " + good, "x-ms-certificate-url": certURL("good.cer")}, body, ErrWebhookUnauthenticated, false},
		{"another algorithm", map[string]string{"Authorization": "Signature " + good, "x-ms-certificate-url": certURL("good.cer"), "x-ms-signature-algorithm": "rsa-sha1"}, body, ErrWebhookUnauthenticated, false},
		{"certificate unavailable", map[string]string{"Authorization": "Signature " + good, "x-ms-certificate-url": certURL("down.cer"), "x-ms-signature-algorithm": "rsa-sha256"}, body, ErrUnavailable, true},
		{"signed, but not an event", map[string]string{"Authorization": "Signature " + sign(t, p.signer, []byte(`[1]`)), "x-ms-certificate-url": certURL("good.cer"), "x-ms-signature-algorithm": "rsa-sha256"}, []byte(`[1]`), ErrInvalidEvent, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &Verifier{AllowedHosts: []string{host}, Roots: p.roots, HTTP: srv.Client()}
			h := http.Header{}
			for k, val := range tt.headers {
				h.Set(k, val)
			}
			mu.Lock()
			before := fetches
			mu.Unlock()
			e, err := v.Verify(context.Background(), h, tt.body)
			mu.Lock()
			fetched := fetches > before
			mu.Unlock()
			if fetched != tt.fetch {
				t.Errorf("fetched a certificate: %v, want %v", fetched, tt.fetch)
			}
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("Verify = %+v, %v; want %v", e, err, tt.want)
				}
				return
			}
			if err != nil || e.EventName != EventResellerRelationshipAccepted || e.ResourceID() != "4b2a6e33-8791-4386-bd2b-0d55baf25039" {
				t.Fatalf("Verify = %+v, %v", e, err)
			}
		})
	}
}

func TestWebhookCertificateCache(t *testing.T) {
	p := newPKI(t)
	fetches := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches++
		w.Write(p.good)
	}))
	t.Cleanup(srv.Close)
	now := time.Now()
	v := &Verifier{AllowedHosts: []string{strings.TrimPrefix(srv.URL, "https://")}, Roots: p.roots, HTTP: srv.Client(), Now: func() time.Time { return now }}
	body := []byte(eventBody)
	h := http.Header{}
	h.Set("Authorization", "Signature "+sign(t, p.signer, body))
	h.Set("X-Ms-Certificate-Url", srv.URL+"/cert.cer")
	h.Set("X-Ms-Signature-Algorithm", "rsa-sha256")
	verify := func() error { _, err := v.Verify(context.Background(), h, body); return err }
	if err := verify(); err != nil {
		t.Fatal(err)
	}
	if err := verify(); err != nil || fetches != 1 {
		t.Fatalf("second: %v after %d fetches, want the cached certificate", err, fetches)
	}
	now = now.Add(25 * time.Hour)
	if err := verify(); err != nil || fetches != 2 {
		t.Fatalf("a day later: %v after %d fetches, want a fresh fetch", err, fetches)
	}
	now = p.notAfter.Add(time.Minute)
	if err := verify(); !errors.Is(err, ErrWebhookUnauthenticated) {
		t.Fatalf("expired certificate: %v", err)
	}
}

func TestWebhookVerifierFromEnv(t *testing.T) {
	tests := []struct {
		value string
		want  []string
		ok    bool
	}{
		{"", DefaultWebhookCertHosts, true},
		{"127.0.0.1:8443, API.partnercenter.microsoft.com", []string{"127.0.0.1:8443", "api.partnercenter.microsoft.com"}, true},
		{"https://api.partnercenter.microsoft.com", nil, false},
		{"api.partnercenter.microsoft.com/cert", nil, false},
		{" , ", nil, false},
	}
	for _, tt := range tests {
		env := config.FromMap(map[string]string{"PARTNER_CENTER_WEBHOOK_CERT_HOSTS": tt.value})
		v := WebhookVerifierFromEnv(env)
		err := env.Err()
		if tt.ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), "PARTNER_CENTER_WEBHOOK_CERT_HOSTS")) {
			t.Errorf("%q: %v", tt.value, err)
		}
		if tt.ok && strings.Join(v.AllowedHosts, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%q: hosts %v", tt.value, v.AllowedHosts)
		}
	}
}

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name string
		body string
		ok   bool
		date time.Time
	}{
		{"documented", eventBody, true, time.Date(2023, 10, 18, 0, 26, 24, 15908800, time.UTC)},
		{"camel case, AuditUri null, no offset", `{"eventName":"granular-admin-relationship-approved","resourceUri":"https://api.partnercenter.microsoft.com/v1/x/rel-1","resourceName":"x","AuditUri":null,"ResourceChangeUtcDate":"2017-12-08T21:39:48.2386997"}`, true, time.Date(2017, 12, 8, 21, 39, 48, 238699700, time.UTC)},
		{"no date", `{"EventName":"test-created"}`, true, time.Time{}},
		{"no event name", `{"ResourceUri":"https://x/y"}`, false, time.Time{}},
		{"event name with odd characters", `{"EventName":"a b"}`, false, time.Time{}},
		{"relative resource URI", `{"EventName":"a","ResourceUri":"/v1/customers/x"}`, false, time.Time{}},
		{"bad date", `{"EventName":"a","ResourceChangeUtcDate":"yesterday"}`, false, time.Time{}},
		{"control character", `{"EventName":"a","ResourceName":"x\u0000y"}`, false, time.Time{}},
		{"two values", `{"EventName":"a"}{"EventName":"b"}`, false, time.Time{}},
		{"not an object", `"a"`, false, time.Time{}},
		{"too big", `{"EventName":"a","ResourceName":"` + strings.Repeat("x", MaxEventBody) + `"}`, false, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseEvent([]byte(tt.body))
			if (err == nil) != tt.ok {
				t.Fatalf("ParseEvent = %+v, %v", e, err)
			}
			if err != nil && !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("err %v is not ErrInvalidEvent", err)
			}
			if tt.ok && !e.ResourceChangeUtcDate.Equal(tt.date) {
				t.Fatalf("date %v, want %v", e.ResourceChangeUtcDate, tt.date)
			}
		})
	}
}

// FuzzParseEvent: any body is an event within the limits or
// ErrInvalidEvent; never a panic.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(eventBody))
	f.Add([]byte(`{"EventName":"test-created","AuditUri":null}`))
	f.Add([]byte(`{"EventName":"a","ResourceChangeUtcDate":"2017-12-08T21:39:48.2386997"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := ParseEvent(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("error %v is not ErrInvalidEvent", err)
			}
			return
		}
		if e.EventName == "" || len(e.EventName) > maxEventName || len(e.ResourceURI) > maxResourceField || len(e.AuditURI) > maxResourceField || len(body) > MaxEventBody {
			t.Fatalf("accepted out of limits: %+v", e)
		}
		if e.ResourceURI != "" {
			if u, err := url.Parse(e.ResourceURI); err != nil || !u.IsAbs() {
				t.Fatalf("accepted resource URI %q", e.ResourceURI)
			}
		}
		_ = e.ResourceID()
	})
}
