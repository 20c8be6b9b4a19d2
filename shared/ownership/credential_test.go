package ownership

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
)

func selfSigned(t *testing.T) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048) // Entra ID takes RSA certificates
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "partner"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})...)
}

func TestFactoryKinds(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("federated-token"), 0o600)
	tests := []struct {
		name     string
		s        Settings
		wantType string
		wantErr  string
	}{
		{"secret", Settings{Kind: KindSecret, ClientID: "app", Secret: []byte("s3cret\n")}, "*azidentity.ClientSecretCredential", ""},
		{"default kind is secret", Settings{ClientID: "app", Secret: []byte("s")}, "*azidentity.ClientSecretCredential", ""},
		{"certificate", Settings{Kind: KindCertificate, ClientID: "app", Secret: selfSigned(t)}, "*azidentity.ClientCertificateCredential", ""},
		{"assertion", Settings{Kind: KindAssertion, ClientID: "app", AssertionFile: tokenFile}, "*azidentity.ClientAssertionCredential", ""},
		{"no client id", Settings{Kind: KindSecret, Secret: []byte("s")}, "", "client id"},
		{"secret missing", Settings{Kind: KindSecret, ClientID: "app"}, "", "client secret is required"},
		{"bad certificate", Settings{Kind: KindCertificate, ClientID: "app", Secret: []byte("not pem")}, "", "certificate"},
		{"assertion without file", Settings{Kind: KindAssertion, ClientID: "app"}, "", "AZURE_FEDERATED_TOKEN_FILE"},
		{"unknown kind", Settings{Kind: "password", ClientID: "app"}, "", "unknown credential kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := tt.s.Factory(nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c, err := f("20000000-0000-4000-8000-000000000001")
			if err != nil {
				t.Fatal(err)
			}
			if got := typeName(c); got != tt.wantType {
				t.Fatalf("credential %s, want %s", got, tt.wantType)
			}
		})
	}
}

func typeName(v any) string { return fmt.Sprintf("%T", v) }

func TestCloudConfiguration(t *testing.T) {
	s := Settings{AuthorityHost: "https://127.0.0.1:8443", ResourceManager: "https://127.0.0.1:8443/"}
	c := s.Cloud()
	if c.ActiveDirectoryAuthorityHost != "https://127.0.0.1:8443/" {
		t.Fatalf("authority %q", c.ActiveDirectoryAuthorityHost)
	}
	rm := c.Services[cloud.ResourceManager]
	if rm.Endpoint != "https://127.0.0.1:8443" || rm.Audience != cloud.AzurePublic.Services[cloud.ResourceManager].Audience {
		t.Fatalf("resource manager %+v", rm)
	}
	if cloud.AzurePublic.Services[cloud.ResourceManager].Endpoint == rm.Endpoint {
		t.Fatal("the public cloud's configuration was modified")
	}
	if got := (Settings{}).Cloud(); got.ActiveDirectoryAuthorityHost != cloud.AzurePublic.ActiveDirectoryAuthorityHost {
		t.Fatal("defaults are not Azure's public cloud")
	}
}
