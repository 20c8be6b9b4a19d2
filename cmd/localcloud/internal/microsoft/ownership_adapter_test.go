package microsoft

import (
	"context"
	"errors"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/provider"
)

// The product's Azure adapter (shared/ownership) against this double: the
// real azidentity, armsubscriptions and armauthorization clients over TLS.
func newChecker(t *testing.T, e *env, secret string) *ownership.Azure {
	t.Helper()
	s := ownership.Settings{Kind: ownership.KindSecret, ClientID: partnerApp, Secret: []byte(secret), AuthorityHost: e.url, ResourceManager: e.url}
	factory, err := s.Factory(e.client)
	if err != nil {
		t.Fatal(err)
	}
	opts := s.ARMOptions(e.client)
	opts.Retry = policy.RetryOptions{MaxRetries: 2, RetryDelay: 1e6, MaxRetryDelay: 2e9}
	return &ownership.Azure{NewCredential: factory, Options: opts}
}

func TestOwnershipAdapter(t *testing.T) {
	sc := defaultScenario(t)
	e := newEnv(t, sc)
	ctx := context.Background()
	az := newChecker(t, e, partnerSecret)
	const missing = "20000000-0000-4000-8000-0000000009ff"

	// Before consent the tenant does not trust the partner app.
	if _, err := az.Check(ctx, contosoTenant, "", []string{contosoOwnedSub}); !errors.Is(err, ownership.ErrConsentRevoked) {
		t.Fatalf("before consent: %v, want ErrConsentRevoked", err)
	}
	if err := e.srv.SetConsent("contoso", true); err != nil {
		t.Fatal(err)
	}
	az = newChecker(t, e, partnerSecret) // a fresh credential cache

	tid, oid, err := az.TenantOf(ctx, contosoTenant)
	if err != nil || tid != contosoTenant || oid != contosoPartnerSP {
		t.Fatalf("TenantOf = %s, %s, %v", tid, oid, err)
	}

	tests := []struct {
		name string
		subs []string
		want map[string]provider.SubscriptionState
	}{
		{"named", []string{contosoOwnedSub, contosoOtherSub, missing}, map[string]provider.SubscriptionState{
			contosoOwnedSub: provider.SubscriptionOwned, contosoOtherSub: provider.SubscriptionMissingOwner, missing: provider.SubscriptionNotFound}},
		{"discovered", nil, map[string]provider.SubscriptionState{
			contosoOwnedSub: provider.SubscriptionOwned, contosoOtherSub: provider.SubscriptionMissingOwner,
			contosoEASub: provider.SubscriptionMissingOwner, contosoMSDNSub: provider.SubscriptionMissingOwner}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := az.Check(ctx, contosoTenant, "", tt.subs)
			if err != nil {
				t.Fatal(err)
			}
			if res.PrincipalID != contosoPartnerSP || len(res.Subscriptions) != len(tt.want) {
				t.Fatalf("result %+v", res)
			}
			// The display name comes from Resource Manager's displayName;
			// a subscription not found has none.
			names := map[string]string{contosoOwnedSub: "Contoso Production", contosoOtherSub: "Contoso Development",
				contosoEASub: "Contoso Enterprise", contosoMSDNSub: "Contoso Visual Studio"}
			for _, s := range res.Subscriptions {
				if tt.want[s.ID] != s.State {
					t.Errorf("%s: %s, want %s", s.ID, s.State, tt.want[s.ID])
				}
				if s.DisplayName != names[s.ID] {
					t.Errorf("%s: display name %q, want %q", s.ID, s.DisplayName, names[s.ID])
				}
				// The agreement comes from subscriptionPolicies.quotaId.
				quotas := map[string]string{contosoOwnedSub: "PayAsYouGo_2014-09-01", contosoOtherSub: "PayAsYouGo_2014-09-01",
					contosoEASub: "EnterpriseAgreement_2014-09-01", contosoMSDNSub: "MSDN_2014-09-01"}
				if s.QuotaID != quotas[s.ID] {
					t.Errorf("%s: quotaId %q, want %q", s.ID, s.QuotaID, quotas[s.ID])
				}
			}
		})
	}

	// Granting Owner through the control API makes the next check pass.
	if _, err := e.srv.SetOwner(OwnerChange{Tenant: "contoso", SubscriptionID: contosoOtherSub, Grant: true}); err != nil {
		t.Fatal(err)
	}
	res, err := az.Check(ctx, contosoTenant, "", []string{contosoOwnedSub, contosoOtherSub})
	if err != nil || !res.AllOwned() {
		t.Fatalf("after the grant: %+v, %v", res, err)
	}

	// Owner inherited from a management group counts (fabrikam).
	res, err = az.Check(ctx, fabrikamTenant, "", []string{fabrikamSub})
	if err != nil || !res.AllOwned() || res.PrincipalID != fabrikamPartnerSP {
		t.Fatalf("inherited Owner: %+v, %v", res, err)
	}

	// An operator-set principal is checked instead of the app's.
	res, err = az.Check(ctx, contosoTenant, contosoAdmin, []string{contosoOwnedSub})
	if err != nil || res.PrincipalID != contosoAdmin {
		t.Fatalf("operator principal: %+v, %v", res, err)
	}

	// Throttling is retried honouring Retry-After; a standing 5xx becomes ErrUnavailable.
	e.srv.SetFault(Fault{Call: "roleAssignments", Status: 429, RetryAfter: 1, Count: 1})
	if _, err := az.Check(ctx, contosoTenant, "", []string{contosoOwnedSub}); err != nil {
		t.Fatalf("one 429 must be retried: %v", err)
	}
	e.srv.SetFault(Fault{Call: "roleAssignments", Status: 503, Count: 10})
	if _, err := az.Check(ctx, contosoTenant, "", []string{contosoOwnedSub}); !errors.Is(err, ownership.ErrUnavailable) {
		t.Fatalf("standing 503: %v, want ErrUnavailable", err)
	}
	e.srv.SetFault(Fault{Call: "*", Off: true})

	// Consent revoked mid-wait: a clear failure, not a retry loop.
	if err := e.srv.SetConsent("contoso", false); err != nil {
		t.Fatal(err)
	}
	fresh := newChecker(t, e, partnerSecret)
	if _, err := fresh.Check(ctx, contosoTenant, "", []string{contosoOwnedSub}); !errors.Is(err, ownership.ErrConsentRevoked) {
		t.Fatalf("after revocation: %v, want ErrConsentRevoked", err)
	}
	// A wrong secret is not consent revoked... but it is not retryable either.
	bad := newChecker(t, e, "wrong-secret")
	if _, err := bad.Check(ctx, fabrikamTenant, "", []string{fabrikamSub}); err == nil {
		t.Fatal("a wrong secret was accepted")
	}
}
