package ownership

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/partnercloud/azure/shared/config"
)

// secrets is a Secrets Manager that counts reads and fails while down.
type secrets struct {
	reads int
	down  bool
}

func (s *secrets) read(_ context.Context, arn string) ([]byte, error) {
	s.reads++
	if s.down {
		return nil, errors.New("secrets manager unavailable")
	}
	return []byte("s3cret-of-" + arn), nil
}

func partnerEnv(extra map[string]string) *config.Env {
	m := map[string]string{"AZURE_CLIENT_ID": "app", "PARTNER_CREDENTIAL_SECRET_ARN": "arn:partner"}
	for k, v := range extra {
		m[k] = v
	}
	return config.FromMap(m)
}

func TestPartnerReadsTheSecretOnFirstUseOnce(t *testing.T) {
	sm := &secrets{}
	env := partnerEnv(nil)
	p := PartnerFromEnv(env, sm.read)
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.NewCredential("tenant-a"); err != nil {
		t.Fatal(err)
	}
	p.Azure()
	if sm.reads != 0 {
		t.Fatalf("%d secret reads before first use", sm.reads)
	}
	for range 3 {
		s, err := p.Load(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if string(s.Secret) != "s3cret-of-arn:partner" || s.ClientID != "app" {
			t.Fatalf("settings %+v", s)
		}
	}
	if _, err := p.factory.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sm.reads != 1 {
		t.Fatalf("%d secret reads, want 1", sm.reads)
	}
}

// A token request while Secrets Manager is down fails (the callers treat
// it as Azure being unavailable); the next one reads the secret again.
func TestPartnerCredentialRetriesTheSecret(t *testing.T) {
	sm := &secrets{down: true}
	p := PartnerFromEnv(partnerEnv(nil), sm.read)
	cred, _ := p.NewCredential("tenant-a")
	_, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
	if err == nil || !strings.Contains(err.Error(), "PARTNER_CREDENTIAL_SECRET_ARN") {
		t.Fatalf("GetToken = %v, want the secret's error", err)
	}
	sm.down = false
	if _, err := p.factory.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sm.reads != 2 {
		t.Fatalf("%d secret reads, want 2 (the failed one and its retry)", sm.reads)
	}
}

func TestPartnerFromEnvNamesProblems(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"nothing set", map[string]string{"AZURE_CLIENT_ID": "", "PARTNER_CREDENTIAL_SECRET_ARN": ""}, []string{"AZURE_CLIENT_ID", "PARTNER_CREDENTIAL_SECRET_ARN"}},
		{"unknown kind", map[string]string{"AZURE_CREDENTIAL_KIND": "password"}, []string{`AZURE_CREDENTIAL_KIND must be secret, certificate or assertion, got "password"`}},
		{"assertion without file", map[string]string{"AZURE_CREDENTIAL_KIND": KindAssertion, "PARTNER_CREDENTIAL_SECRET_ARN": ""}, []string{"AZURE_FEDERATED_TOKEN_FILE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := partnerEnv(tt.env)
			PartnerFromEnv(env, (&secrets{}).read)
			err := env.Err()
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v does not say %q", err, w)
				}
			}
		})
	}
}

// With workload identity federation there is no secret to read.
func TestPartnerAssertionReadsNoSecret(t *testing.T) {
	sm := &secrets{}
	env := partnerEnv(map[string]string{"AZURE_CREDENTIAL_KIND": KindAssertion, "AZURE_FEDERATED_TOKEN_FILE": "/var/run/token", "PARTNER_CREDENTIAL_SECRET_ARN": ""})
	p := PartnerFromEnv(env, sm.read)
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.factory.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sm.reads != 0 {
		t.Fatalf("%d secret reads for an assertion credential", sm.reads)
	}
}

// recorder is a transport that answers every request 400 and records the
// hosts and paths it was sent.
type recorder struct{ paths []string }

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	r.paths = append(r.paths, req.URL.Host+req.URL.Path)
	return &http.Response{StatusCode: http.StatusBadRequest, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}")), Request: req}, nil
}

// The token requests of the partner's credential and of a customer's
// credentials go through the transport set for them (the health checks
// pace each Microsoft service through its own).
func TestTokenRequestsUseTheirTransport(t *testing.T) {
	noRetry := policy.RetryOptions{MaxRetries: -1}
	for _, tc := range []struct {
		name string
		// run makes one token request with token (and other, the
		// transport of everything else, where there is one).
		run func(t *testing.T, token, other *recorder)
		// wantOther: requests expected on the other transport.
		wantOther bool
	}{
		{name: "partner credential", run: func(t *testing.T, token, _ *recorder) {
			p := PartnerFromEnv(partnerEnv(map[string]string{"AZURE_AUTHORITY_HOST": "https://login.example/"}), (&secrets{}).read)
			p.Transport = token
			_, err := p.Credential("tenant-a").GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
			if err == nil {
				t.Error("a token from a 400")
			}
		}},
		{name: "customer credentials with a token transport", run: func(t *testing.T, token, other *recorder) {
			c := &CustomerCredentials{Settings: Settings{AuthorityHost: "https://login.example/"}, Transport: other, TokenTransport: token, Retry: noRetry}
			if err := c.Prove(context.Background(), "tenant-a", "client", "secret", "sub"); err == nil {
				t.Error("proved against a 400")
			}
		}},
		{name: "customer credentials without one", wantOther: true, run: func(t *testing.T, _, other *recorder) {
			c := &CustomerCredentials{Settings: Settings{AuthorityHost: "https://login.example/"}, Transport: other, Retry: noRetry}
			if err := c.Prove(context.Background(), "tenant-a", "client", "secret", "sub"); err == nil {
				t.Error("proved against a 400")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token, other := &recorder{}, &recorder{}
			tc.run(t, token, other)
			got := token
			if tc.wantOther {
				got = other
				if len(token.paths) > 0 {
					t.Errorf("the unset token transport got %v", token.paths)
				}
			} else if len(other.paths) > 0 {
				t.Errorf("the other transport got %v", other.paths)
			}
			if len(got.paths) == 0 || !strings.HasPrefix(got.paths[0], "login.example/tenant-a/") {
				t.Errorf("token transport got %v, want requests to login.example/tenant-a/…", got.paths)
			}
		})
	}
}
