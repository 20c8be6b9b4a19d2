package microsoft

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/partnercloud/azure/shared/ownership"
)

// The product's proof of a customer's own application credentials
// (shared/ownership.CustomerCredentials, option existing) against this
// double: the real azidentity and armsubscriptions clients over TLS.
func newProver(e *env) *ownership.CustomerCredentials {
	return &ownership.CustomerCredentials{
		Settings:  ownership.Settings{AuthorityHost: e.url, ResourceManager: e.url},
		Transport: e.client,
		Retry:     policy.RetryOptions{MaxRetries: 2, RetryDelay: time.Millisecond, MaxRetryDelay: 2 * time.Second},
	}
}

func TestCustomerCredentialsAdapter(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	prover := newProver(e)
	ctx := context.Background()
	const (
		unknownTenant = "20000000-0000-4000-8000-0000000000ff"
		unknownApp    = "00000000-0000-0000-0000-00000000dead"
		unknownSub    = "20000000-0000-4000-8000-0000000009ff"
	)
	tests := []struct {
		name                                 string
		tenant, client, secret, subscription string
		want                                 error // nil: proved
	}{
		{"good credentials", contosoTenant, contosoApp, contosoAppSecret, contosoOwnedSub, nil},
		{"upper-case ids", strings.ToUpper(contosoTenant), strings.ToUpper(contosoApp), contosoAppSecret, strings.ToUpper(contosoOwnedSub), nil},
		{"wrong secret", contosoTenant, contosoApp, "not-the-secret", contosoOwnedSub, ownership.ErrInvalidClientSecret},
		{"secret of another app", contosoTenant, contosoApp, partnerSecret, contosoOwnedSub, ownership.ErrInvalidClientSecret},
		{"unknown tenant", unknownTenant, contosoApp, contosoAppSecret, contosoOwnedSub, ownership.ErrTenantNotFound},
		{"app of another tenant", fabrikamTenant, contosoApp, contosoAppSecret, fabrikamSub, ownership.ErrAppNotFound},
		{"unknown app", contosoTenant, unknownApp, contosoAppSecret, contosoOwnedSub, ownership.ErrAppNotFound},
		{"unknown subscription", contosoTenant, contosoApp, contosoAppSecret, unknownSub, ownership.ErrSubscriptionNotFound},
		{"subscription without a role for the app", contosoTenant, contosoApp, contosoAppSecret, contosoOtherSub, ownership.ErrSubscriptionNotFound},
		{"subscription of another tenant", contosoTenant, contosoApp, contosoAppSecret, fabrikamSub, ownership.ErrSubscriptionNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := prover.Prove(ctx, tt.tenant, tt.client, tt.secret, tt.subscription)
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("Prove: %v", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("Prove = %v, want %v", err, tt.want)
			case err != nil && strings.Contains(err.Error(), tt.secret):
				t.Fatalf("the error shows the secret: %v", err)
			}
		})
	}

	t.Run("403 AuthorizationFailed", func(t *testing.T) {
		if err := e.srv.SetFault(Fault{Call: CallSubscriptionsGet, Status: 403, Count: 1}); err != nil {
			t.Fatal(err)
		}
		err := prover.Prove(ctx, contosoTenant, contosoApp, contosoAppSecret, contosoOwnedSub)
		if !errors.Is(err, ownership.ErrSubscriptionAccessDenied) {
			t.Fatalf("Prove = %v, want ErrSubscriptionAccessDenied", err)
		}
	})
	t.Run("one 429 is retried", func(t *testing.T) {
		if err := e.srv.SetFault(Fault{Call: CallSubscriptionsGet, Status: 429, RetryAfter: 1, Count: 1}); err != nil {
			t.Fatal(err)
		}
		if err := prover.Prove(ctx, contosoTenant, contosoApp, contosoAppSecret, contosoOwnedSub); err != nil {
			t.Fatalf("Prove after one 429: %v", err)
		}
	})
	for _, call := range []string{CallToken, CallSubscriptionsGet} {
		t.Run("standing 503 on "+call, func(t *testing.T) {
			if err := e.srv.SetFault(Fault{Call: call, Status: 503}); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = e.srv.SetFault(Fault{Call: "*", Off: true}) }()
			if err := prover.Prove(ctx, contosoTenant, contosoApp, contosoAppSecret, contosoOwnedSub); !errors.Is(err, ownership.ErrUnavailable) {
				t.Fatalf("Prove = %v, want ErrUnavailable", err)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		dead := &ownership.CustomerCredentials{Settings: ownership.Settings{AuthorityHost: "https://127.0.0.1:1", ResourceManager: "https://127.0.0.1:1"},
			Transport: e.client, Retry: policy.RetryOptions{MaxRetries: -1}}
		if err := dead.Prove(ctx, contosoTenant, contosoApp, contosoAppSecret, contosoOwnedSub); !errors.Is(err, ownership.ErrUnavailable) {
			t.Fatalf("Prove = %v, want ErrUnavailable", err)
		}
	})
	t.Run("the context ends", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := prover.Prove(cctx, contosoTenant, contosoApp, contosoAppSecret, contosoOwnedSub); !errors.Is(err, ownership.ErrUnavailable) {
			t.Fatalf("Prove = %v, want ErrUnavailable", err)
		}
	})
}
