package microsoft

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// CA is a certificate authority made at start-up, with a server certificate
// for 127.0.0.1, ::1 and localhost that it signed. Child processes trust it
// through SSL_CERT_FILE=CA.Path; Go clients in-process can use Pool or Client.
type CA struct {
	// Path is the file holding the CA certificate in PEM.
	Path string
	// PEM is the CA certificate in PEM.
	PEM []byte
	// Pool holds the CA certificate.
	Pool *x509.CertPool
	// Server is the server certificate and key for the TLS listener.
	Server tls.Certificate

	// cert and key sign the certificates the CA issues after start-up
	// (the Partner Center webhook signing certificate, webhooks.go).
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA makes a CA and a server certificate valid for 127.0.0.1, ::1,
// localhost and any extra host names or IP addresses given, and writes the
// CA certificate to pemPath (creating its folder).
func NewCA(pemPath string, extraHosts ...string) (*CA, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "Partner Cloud local CA", Organization: []string{"Partner Cloud local cloud"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}

	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range extraHosts {
		if ip := net.ParseIP(h); ip != nil {
			srvTmpl.IPAddresses = append(srvTmpl.IPAddresses, ip)
		} else {
			srvTmpl.DNSNames = append(srvTmpl.DNSNames, h)
		}
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create server certificate: %w", err)
	}
	srvCert, err := x509.ParseCertificate(srvDER)
	if err != nil {
		return nil, err
	}

	ca := &CA{
		Path:   pemPath,
		PEM:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Pool:   x509.NewCertPool(),
		Server: tls.Certificate{Certificate: [][]byte{srvDER, caDER}, PrivateKey: srvKey, Leaf: srvCert},
		cert:   caCert,
		key:    caKey,
	}
	ca.Pool.AddCert(caCert)
	if pemPath != "" {
		if err := os.MkdirAll(filepath.Dir(pemPath), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(pemPath, ca.PEM, 0o644); err != nil {
			return nil, fmt.Errorf("write CA certificate: %w", err)
		}
	}
	return ca, nil
}

// issue signs a certificate for pub from tmpl (a serial number and validity
// are filled in when missing) and returns it in DER.
func (ca *CA) issue(tmpl *x509.Certificate, pub any) ([]byte, error) {
	if ca.key == nil {
		return nil, fmt.Errorf("the CA was not made by NewCA")
	}
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = randomSerial()
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = ca.cert.NotAfter
	}
	return x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err)
	}
	return n
}

// ServerTLSConfig is the TLS configuration for the double's listener. It
// offers HTTP/2, which the Azure SDK needs: armauthorization sends its
// $filter unescaped (`$filter=principalId eq '…'`), a request line that
// HTTP/1.1 servers such as net/http reject but an HTTP/2 :path carries.
// Serve it with http.Server.ServeTLS, or Serve on tls.NewListener(ln, cfg).
func (ca *CA) ServerTLSConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{ca.Server},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}
}

// Transport returns an HTTP transport that trusts the CA (and nothing else)
// and speaks HTTP/2, as azcore's default transport does.
func (ca *CA) Transport() *http.Transport {
	return &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true,
	}
}

// Client returns an HTTP client using Transport.
func (ca *CA) Client() *http.Client {
	return &http.Client{Transport: ca.Transport(), Timeout: 30 * time.Second}
}
