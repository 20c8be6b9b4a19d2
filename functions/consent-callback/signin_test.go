package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/signin"
)

// signInCallback is Microsoft's redirect after the sign-in: a code and the state.
func (e *env) signInCallback(t *testing.T, code, state string) api.Response {
	t.Helper()
	req := apitest.Request(RouteCallback, nil)
	req.QueryStringParameters = map[string]string{"code": code, "state": state, "session_state": "00000000-0000-0000-0000-000000000000"}
	req.RawQueryString = url.Values{"code": {code}, "state": {state}}.Encode()
	resp, err := e.handle(e.ctx(), req)
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	if resp.StatusCode != http.StatusFound {
		checkPage(t, resp)
	}
	return resp
}

func TestSignInLeadsToAdminConsentInTheProvenTenant(t *testing.T) {
	e := newEnv(t)
	st, raw := e.signInState(t)
	resp := e.signInCallback(t, "code-1", raw)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want 302: %s", resp.StatusCode, text(resp.Body))
	}
	if e.signIn.verifier != testKey.PKCEVerifier(st) || e.signIn.nonce != testKey.Nonce(st) {
		t.Fatal("the code was redeemed without the state's PKCE verifier and nonce")
	}
	if resp.Headers["Strict-Transport-Security"] == "" || resp.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("redirect headers %v", resp.Headers)
	}
	loc, err := url.Parse(resp.Headers["Location"])
	if err != nil || loc.Host != "login.microsoftonline.com" || loc.Path != "/"+tenantID+"/v2.0/adminconsent" {
		t.Fatalf("Location %q: want admin consent in the proven tenant", resp.Headers["Location"])
	}
	cs, err := testKey.Verify(loc.Query().Get("state"), e.clock())
	if err != nil || cs.Step != consent.StepConsent || cs.Tenant != tenantID || cs.Invitation != e.hash || cs.JTI == st.JTI {
		t.Fatalf("admin-consent state %+v, %v: want a new consent state bound to %s", cs, err, tenantID)
	}
	s := e.snap(t, e.p, e.hash)
	if s.p.Status != provider.StatusPendingConsent || s.p.TenantID != tenantID || s.rec.Status != consent.StatusOpen {
		t.Fatalf("after sign-in: provider %s tenant %q, invitation %s", s.p.Status, s.p.TenantID, s.rec.Status)
	}
	if last := s.p.Timeline[len(s.p.Timeline)-1]; !strings.Contains(last.What, "signed in to tenant "+tenantID) || last.By != "azure-admin" {
		t.Fatalf("timeline event %+v", last)
	}
	if strings.Contains(e.logs.String(), "code-1") || strings.Contains(e.logs.String(), adminEmail) {
		t.Fatal("logs carry the authorization code or the administrator's email")
	}

	// The consent redirect naming the proven tenant completes the consent.
	done := e.callback(t, success(loc.Query().Get("state")))
	expectStatus(t, done, http.StatusOK, "Thank you", tenantID)
	if s, f := e.tasks.Counts(); s != 1 || f != 0 {
		t.Fatalf("resumes: %d succeed, %d fail", s, f)
	}
}

// The attack of issue 11: a valid state and a tenant of someone else's. A
// sign-in state is not accepted for admin consent; a consent state is
// bound to the tenant the sign-in proved.
func TestForgedConsentRedirectChangesNothing(t *testing.T) {
	tests := []struct {
		name   string
		params func(t *testing.T, e *env) map[string]string
	}{
		{"sign-in state with admin_consent", func(t *testing.T, e *env) map[string]string {
			_, raw := e.signInState(t)
			return success(raw)
		}},
		{"consent state, another tenant", func(t *testing.T, e *env) map[string]string {
			p := success(e.state(t))
			p["tenant"] = otherTID
			return p
		}},
		{"consent state with a code", func(t *testing.T, e *env) map[string]string {
			return map[string]string{"code": "code-1", "state": e.state(t)}
		}},
		{"code and admin_consent together", func(t *testing.T, e *env) map[string]string {
			_, raw := e.signInState(t)
			p := success(raw)
			p["code"] = "code-1"
			return p
		}},
		{"code with markup", func(t *testing.T, e *env) map[string]string {
			_, raw := e.signInState(t)
			return map[string]string{"code": "<script>alert(1)</script>", "state": raw}
		}},
		{"empty code", func(t *testing.T, e *env) map[string]string {
			_, raw := e.signInState(t)
			return map[string]string{"code": "", "state": raw}
		}},
		{"oversized code", func(t *testing.T, e *env) map[string]string {
			_, raw := e.signInState(t)
			return map[string]string{"code": strings.Repeat("A", 5000), "state": raw}
		}},
		{"code Microsoft refuses (replayed, foreign invitation, PKCE mismatch)", func(t *testing.T, e *env) map[string]string {
			e.signIn.err = fmt.Errorf("%w: status 400: AADSTS501481", signin.ErrCodeRejected)
			_, raw := e.signInState(t)
			return map[string]string{"code": "code-of-another-invitation", "state": raw}
		}},
		{"ID token for another audience or with a bad signature", func(t *testing.T, e *env) map[string]string {
			e.signIn.err = fmt.Errorf("%w: oidc: expected audience", signin.ErrTokenInvalid)
			_, raw := e.signInState(t)
			return map[string]string{"code": "code-1", "state": raw}
		}},
		{"nonce mismatch", func(t *testing.T, e *env) map[string]string {
			e.signIn.err = fmt.Errorf("%w: nonce does not match", signin.ErrTokenInvalid)
			_, raw := e.signInState(t)
			return map[string]string{"code": "code-1", "state": raw}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			before := e.snap(t, e.p, e.hash)
			resp := e.callback(t, tt.params(t, e))
			expectStatus(t, resp, http.StatusBadRequest, "not valid")
			if after := e.snap(t, e.p, e.hash); !reflect.DeepEqual(before, after) {
				t.Fatalf("records changed:\nbefore %+v %+v\nafter  %+v %+v", before.p, before.rec, after.p, after.rec)
			}
			if s, f := e.tasks.Counts(); s+f != 0 || e.verifier.count() != 0 {
				t.Fatalf("workflow or tenant touched: %d succeed, %d fail, %d verifications", s, f, e.verifier.count())
			}
			if strings.Contains(resp.Body, "alert(1)") {
				t.Fatal("page echoes the query")
			}
		})
	}
}

func TestSignInWithoutAdminRole(t *testing.T) {
	e := newEnv(t)
	e.signIn.proof = signin.Proof{TenantID: tenantID, ObjectID: "5e1f0000-0000-4000-8000-0000000000e2", Username: "dev@contoso.example"}
	before := e.snap(t, e.p, e.hash)
	_, raw := e.signInState(t)
	resp := e.signInCallback(t, "code-1", raw)
	expectStatus(t, resp, http.StatusForbidden, "Global Administrator", "Privileged Role Administrator", "Cloud Application Administrator", "dev@contoso.example")
	if after := e.snap(t, e.p, e.hash); !reflect.DeepEqual(before, after) {
		t.Fatalf("records changed: %+v -> %+v", before.p, after.p)
	}
	// Nothing was consumed: an administrator can still use the same link.
	e.signIn.proof = adminProof
	if r := e.signInCallback(t, "code-2", raw); r.StatusCode != http.StatusFound {
		t.Fatalf("the administrator's sign-in after a refused one: %d %s", r.StatusCode, text(r.Body))
	}
}

func TestSignInUnavailable(t *testing.T) {
	e := newEnv(t)
	e.signIn.err = fmt.Errorf("%w: status 503", signin.ErrUnavailable)
	_, raw := e.signInState(t)
	expectStatus(t, e.signInCallback(t, "code-1", raw), http.StatusServiceUnavailable, "Try again")
}

func TestSignInReplayed(t *testing.T) {
	e := newEnv(t)
	e.h.ReplayWait = 0
	_, raw := e.signInState(t)
	if r := e.signInCallback(t, "code-1", raw); r.StatusCode != http.StatusFound {
		t.Fatalf("first: %d", r.StatusCode)
	}
	// Microsoft refuses the used code; the page says the response was used.
	e.signIn.err = fmt.Errorf("%w: AADSTS54005", signin.ErrCodeRejected)
	expectStatus(t, e.signInCallback(t, "code-1", raw), http.StatusBadRequest, "already used")
}

// One tenant, one organization: a tenant held by another account's open
// provider ends this one failed with a page naming nobody; a second open
// migration of the same account is refused the same way.
func TestSignInTenantHeldElsewhere(t *testing.T) {
	for _, tt := range []struct {
		name, account, code, errName string
	}{
		{"another organization", "acct-2", provider.FailureTenantAlreadyConnected, "TenantAlreadyConnected"},
		{"same organization", "acct-1", provider.FailureMigrationInProgress, "MigrationInProgress"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			if err := e.store.PutAccount(ctx, account.Account{ID: "acct-2", Name: "Northwind Secret Org", Billable: true, USOffice: true}); err != nil {
				t.Fatal(err)
			}
			holder := &provider.Provider{AccountID: tt.account, Name: "Holder", Type: provider.TypeAzure, Option: provider.OptionMigrate,
				Status: provider.StatusAwaitingOwnerAccess, TenantID: tenantID, CreatedBy: "user:u9"}
			if err := e.store.CreateProvider(ctx, holder, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := e.store.ClaimTenant(ctx, tenantID, holder.AccountID, holder.ID); err != nil {
				t.Fatal(err)
			}
			_, raw := e.signInState(t)
			resp := e.signInCallback(t, "code-1", raw)
			expectStatus(t, resp, http.StatusConflict, "already", "help@partner.example")
			for _, secret := range []string{"Northwind", holder.ID, "Holder"} {
				if strings.Contains(resp.Body, secret) {
					t.Fatalf("the page reveals %q of the other provider", secret)
				}
			}
			s := e.snap(t, e.p, e.hash)
			if s.p.Status != provider.StatusFailed || s.p.FailureCode != tt.code || s.rec.Status != consent.StatusRefused {
				t.Fatalf("provider %s (%s), invitation %s", s.p.Status, s.p.FailureCode, s.rec.Status)
			}
			if _, f := e.tasks.Counts(); f != 1 || e.tasks.Failed[0].Name != tt.errName || e.tasks.Failed[0].Token != taskToken {
				t.Fatalf("task failures %+v, want one %s", e.tasks.Failed, tt.errName)
			}
			// The holder keeps the tenant.
			if h, _ := e.store.ClaimTenant(ctx, tenantID, "acct-3", "prv_x"); !h.Is(holder.AccountID, holder.ID) {
				t.Fatalf("holder after the refusal: %+v", h)
			}
			// A reload shows the same page and fails nothing twice.
			_, raw2 := e.signInState(t)
			again := e.signInCallback(t, "code-2", raw2)
			if again.StatusCode != resp.StatusCode || text(again.Body) != text(resp.Body) {
				t.Fatalf("reload page differs: %d %s", again.StatusCode, text(again.Body))
			}
			if _, f := e.tasks.Counts(); f != 1 {
				t.Fatalf("%d task failures after a reload", f)
			}
		})
	}
}

// A landing page cannot mint unlimited states.
func TestLandingStateMintBounded(t *testing.T) {
	e := newEnv(t)
	for i := range consent.MaxStatesPerWindow {
		if r := e.landing(t, e.id); r.StatusCode != http.StatusOK {
			t.Fatalf("view %d: %d", i+1, r.StatusCode)
		}
	}
	resp := e.landing(t, e.id)
	expectStatus(t, resp, http.StatusTooManyRequests, "Too many")
	if len(links(resp.Body)) > 0 && strings.Contains(resp.Body, "authorize") {
		t.Fatal("the refusal page carries a sign-in link")
	}
	e.setNow(t0.Add(consent.StateMintWindow))
	expectStatus(t, e.landing(t, e.id), http.StatusOK, "Sign in with Microsoft")
	_ = time.Second
}
