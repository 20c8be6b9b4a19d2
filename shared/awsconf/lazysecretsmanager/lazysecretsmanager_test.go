package lazysecretsmanager

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/partnercloud/azure/shared/awsconf"
	"github.com/partnercloud/azure/shared/config"
)

func TestReaderReadsThroughTheConfiguredEndpoint(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
			t.Errorf("X-Amz-Target %q", r.Header.Get("X-Amz-Target"))
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write([]byte(`{"ARN":"arn:key","SecretString":"the-key"}`))
	}))
	defer srv.Close()
	env := config.FromMap(map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s", "AWS_ENDPOINT_URL_SECRETS_MANAGER": srv.URL})
	read := Reader(awsconf.FromEnv(env))
	if calls != 0 {
		t.Fatal("called before the first read")
	}
	v, err := read(context.Background(), "arn:key")
	if err != nil || string(v) != "the-key" || calls != 1 {
		t.Fatalf("read = %q, %v after %d calls", v, err, calls)
	}
}
