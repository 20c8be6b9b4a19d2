package signin

import (
	"context"
	"fmt"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/partnercloud/azure/shared/lazy"
	"github.com/partnercloud/azure/shared/ownership"
)

// Partner is a Microsoft sign-in whose Credential is made on the first
// redemption from the partner's settings (its secret read from Secrets
// Manager then, ownership.Partner.Load) and kept. A redemption that cannot
// make the credential is ErrUnavailable, and the next one tries again.
type Partner struct {
	m    Microsoft
	cred *lazy.Value[confidential.Credential]
}

// NewPartner returns m (its Credential unset) with the partner's credential.
func NewPartner(m Microsoft, load func(context.Context) (ownership.Settings, error)) *Partner {
	return &Partner{m: m, cred: lazy.New(func(ctx context.Context) (confidential.Credential, error) {
		s, err := load(ctx)
		if err != nil {
			return confidential.Credential{}, err
		}
		return NewCredential(s)
	})}
}

// Redeem is Microsoft.Redeem with the partner's credential.
func (p *Partner) Redeem(ctx context.Context, code, verifier, nonce string) (Proof, error) {
	cred, err := p.cred.Get(ctx)
	if err != nil {
		return Proof{}, fmt.Errorf("%w: partner credential: %v", ErrUnavailable, err)
	}
	m := p.m
	m.Credential = cred
	return m.Redeem(ctx, code, verifier, nonce)
}
