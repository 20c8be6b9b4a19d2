package signin

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/ownership"
)

// The partner's settings are loaded on the first redemption, once; a load
// that fails is ErrUnavailable and the next redemption loads again.
func TestPartnerLoadsTheCredentialOnFirstUse(t *testing.T) {
	e := newEntra(t)
	now := time.Now().Truncate(time.Second)
	m := *e.redeemer(t, now)
	loads, fail := 0, true
	p := NewPartner(m, func(context.Context) (ownership.Settings, error) {
		loads++
		if fail {
			return ownership.Settings{}, errors.New("secrets manager unavailable")
		}
		return ownership.Settings{Kind: ownership.KindSecret, ClientID: clientID, Secret: []byte("partner-secret")}, nil
	})
	if loads != 0 {
		t.Fatal("loaded before the first redemption")
	}
	if _, err := p.Redeem(context.Background(), "code-1", verifier, nonce); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Redeem = %v, want ErrUnavailable", err)
	}
	fail = false
	e.answer(e.sign(t, tenantA, e.claims(tenantA, now)), 0, "")
	for range 2 {
		proof, err := p.Redeem(context.Background(), "code-1", verifier, nonce)
		if err != nil || proof.TenantID != tenantA {
			t.Fatalf("Redeem = %+v, %v", proof, err)
		}
	}
	if loads != 2 {
		t.Fatalf("%d loads, want 2 (the failed one and one more)", loads)
	}
}
