package consent

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/partnercloud/azure/shared/config"
)

type keySecrets struct {
	reads int
	err   error
}

func (s *keySecrets) read(_ context.Context, arn string) ([]byte, error) {
	s.reads++
	if s.err != nil {
		return nil, s.err
	}
	return bytes.Repeat([]byte{5}, 32), nil
}

func TestKeyFromEnvReadsOnFirstUseOnce(t *testing.T) {
	sm := &keySecrets{err: errors.New("unavailable")}
	env := config.FromMap(map[string]string{"SIGNING_KEY_SECRET_ARN": "arn:key"})
	src := KeyFromEnv(env, sm.read)
	if err := env.Err(); err != nil || sm.reads != 0 {
		t.Fatalf("err %v, %d reads at start-up", err, sm.reads)
	}
	if _, err := src.SigningKey(context.Background()); err == nil || !strings.Contains(err.Error(), "signing key unavailable") {
		t.Fatalf("SigningKey = %v, want the read's error", err)
	}
	sm.err = nil
	for range 3 {
		k, err := src.SigningKey(context.Background())
		if err != nil || !bytes.Equal(k, bytes.Repeat([]byte{5}, 32)) {
			t.Fatalf("SigningKey = %x, %v", k, err)
		}
	}
	if sm.reads != 2 {
		t.Fatalf("%d reads, want 2 (the failed one and one more)", sm.reads)
	}
}

func TestKeyFromEnvRequiresTheVariable(t *testing.T) {
	env := config.FromMap(nil)
	KeyFromEnv(env, (&keySecrets{}).read)
	if err := env.Err(); err == nil || !strings.Contains(err.Error(), "SIGNING_KEY_SECRET_ARN") {
		t.Fatalf("Err() = %v", err)
	}
}

func TestKeyIsItsOwnSource(t *testing.T) {
	k := Key(bytes.Repeat([]byte{1}, 32))
	var src KeySource = k
	if got, err := src.SigningKey(context.Background()); err != nil || !bytes.Equal(got, k) {
		t.Fatalf("SigningKey = %x, %v", got, err)
	}
}
