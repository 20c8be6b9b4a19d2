package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/fakes"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store/storetest"
)

// The customer's application in the tests (the local cloud's contoso app).
const (
	testTenant       = "20000000-0000-4000-8000-000000000001"
	testClient       = "00000000-0000-0000-0000-00000000c0de"
	testSecret       = "contoso-local-secret~Q8"
	testSubscription = "20000000-0000-4000-8000-000000000101"
)

// fakeProver records the proofs asked for; err is the answer.
type fakeProver struct {
	mu    sync.Mutex
	calls [][4]string
	err   error
}

func (f *fakeProver) Prove(_ context.Context, tenantID, clientID, secret, subscriptionID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, [4]string{tenantID, clientID, secret, subscriptionID})
	return f.err
}

func (f *fakeProver) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func proverOf(h *Handler) *fakeProver     { return h.Prover.(*fakeProver) }
func secretsOf(h *Handler) *fakes.Secrets { return h.Secrets.(*fakes.Secrets) }

// existingBody is a valid existing request with fields replaced (nil removes one).
func existingBody(t testing.TB, with map[string]any) string {
	t.Helper()
	base := map[string]any{"option": "existing", "azureAdminEmail": nil, "subscriptionIds": nil, "acceptedTerms": nil,
		"name": "Contoso direct", "tenantId": strings.ToUpper(testTenant), "clientId": testClient, "clientSecret": testSecret, "subscriptionId": testSubscription}
	for k, v := range with {
		base[k] = v
	}
	return createBody(t, base)
}

func TestExistingCreates(t *testing.T) {
	for _, tt := range []struct {
		name   string
		claims map[string]string
	}{
		{"a member", apitest.Member("acct-eligible")},
		{"an admin", apitest.Admin("acct-eligible")},
		{"a member of an ineligible account (not cloud optimized: no eligibility check)", apitest.Member("acct-everything-wrong")},
		{"an account without a record", apitest.Member("acct-unknown")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			h := newHandler(st)
			resp := do(t, h, newRequest(tt.claims, existingBody(t, nil)))
			v := decodeView(t, resp, 202)
			account := tt.claims["account_id"]
			if v.Status != provider.StatusActive || v.Billing != provider.BillingCustomerDirect || v.Option != provider.OptionExisting ||
				v.TenantID != testTenant || v.ClientID != testClient || v.AccountID != account || v.NextStep != "" {
				t.Fatalf("view = %+v", v)
			}
			if len(v.Subscriptions) != 1 || v.Subscriptions[0].ID != testSubscription || v.Subscriptions[0].State != provider.SubscriptionVerified || v.Subscriptions[0].ConfirmedAt == nil {
				t.Fatalf("subscriptions = %+v", v.Subscriptions)
			}
			if len(v.Timeline) != 1 || v.Timeline[0].Status != provider.StatusActive || !strings.Contains(v.Timeline[0].What, testClient) {
				t.Fatalf("timeline = %+v", v.Timeline)
			}
			if resp.Headers["Location"] != "/providers/"+v.ID {
				t.Errorf("Location = %q", resp.Headers["Location"])
			}
			if strings.Contains(resp.Body, testSecret) || strings.Contains(resp.Body, "secretsmanager") || v.rawHasField["clientSecret"] {
				t.Fatalf("the response shows the secret or its ARN: %s", resp.Body)
			}
			// The proof used the request's credentials (ids lower-cased).
			if calls := proverOf(h).calls; len(calls) != 1 || calls[0] != [4]string{testTenant, testClient, testSecret, testSubscription} {
				t.Fatalf("proofs = %v", calls)
			}
			// One secret, named and tagged after the account and the provider.
			secrets := secretsOf(h).All()
			stored := st.stored(account, v.ID)
			sec, ok := secrets[stored.CredentialSecretARN]
			if len(secrets) != 1 || !ok {
				t.Fatalf("secrets %v, provider's ARN %q", secrets, stored.CredentialSecretARN)
			}
			if sec.Value != testSecret || sec.Name != "partner-cloud/providers/"+account+"/"+v.ID ||
				sec.Tags["account"] != account || sec.Tags["provider"] != v.ID {
				t.Fatalf("secret = %+v", sec)
			}
			if n := queuedStarts(&stored); n != 0 {
				t.Errorf("an existing provider queued %d workflow starts", n)
			}
			if len(st.acceptances[account]) != 0 {
				t.Errorf("terms were recorded: %+v", st.acceptances)
			}
		})
	}
}

func TestExistingRefusals(t *testing.T) {
	for _, tt := range []struct {
		err       error
		wantCode  apperr.Code
		wantField string
	}{
		{fmt.Errorf("%w (AADSTS7000215)", ownership.ErrInvalidClientSecret), apperr.InvalidClientSecret, "clientSecret"},
		{fmt.Errorf("%w (AADSTS90002)", ownership.ErrTenantNotFound), apperr.TenantNotFound, "tenantId"},
		{fmt.Errorf("%w (AADSTS700016)", ownership.ErrAppNotFound), apperr.AppNotFound, "clientId"},
		{ownership.ErrCredentialsRejected, apperr.CredentialsRejected, "clientId"},
		{fmt.Errorf("%w (HTTP 404)", ownership.ErrSubscriptionNotFound), apperr.SubscriptionNotFound, "subscriptionId"},
		{fmt.Errorf("%w (HTTP 403 AuthorizationFailed)", ownership.ErrSubscriptionAccessDenied), apperr.SubscriptionAccessDenied, "subscriptionId"},
		{fmt.Errorf("%w: token request answered HTTP 503", ownership.ErrUnavailable), apperr.AzureUnavailable, ""},
		{errors.New(apitest.Fault), apperr.Internal, ""},
	} {
		t.Run(string(tt.wantCode), func(t *testing.T) {
			st := newFakeStore()
			h := newHandler(st)
			proverOf(h).err = tt.err
			e := apitest.ExpectError(t, do(t, h, newRequest(apitest.Member("acct-eligible"), existingBody(t, nil))), api.HTTPStatus(tt.wantCode), tt.wantCode)
			if tt.wantField != "" && (len(e.Details) != 1 || e.Details[0].Field != tt.wantField || e.Message == "") {
				t.Errorf("details = %+v", e.Details)
			}
			if st.count() != 0 || secretsOf(h).Creates != 0 {
				t.Fatalf("a refused proof stored %d providers and %d secrets", st.count(), secretsOf(h).Creates)
			}
		})
	}
	if s := api.HTTPStatus(apperr.InvalidClientSecret); s != 422 {
		t.Fatalf("invalid_client_secret is %d, want 422", s)
	}
}

// TestExistingNothingStoredOnFailure: after the proof, a failure to store the
// secret creates no provider, and a provider that cannot be created leaves
// no secret behind.
func TestExistingNothingStoredOnFailure(t *testing.T) {
	member := apitest.Member("acct-eligible")
	for _, tt := range []struct {
		name        string
		setup       func(*fakeStore, *fakes.Secrets)
		wantCode    apperr.Code
		wantDeletes int
	}{
		{"name taken", func(st *fakeStore, _ *fakes.Secrets) {
			st.names["acct-eligible/contoso direct"] = "prv_other"
		}, apperr.NameTaken, 1},
		{"the provider write fails", func(st *fakeStore, _ *fakes.Secrets) {
			st.fail["CreateProvider"] = errors.New(apitest.Fault)
		}, apperr.Internal, 1},
		{"the provider write fails and so does the secret's deletion", func(st *fakeStore, sm *fakes.Secrets) {
			st.fail["CreateProvider"] = apperr.New(apperr.NameTaken, "taken")
			sm.DeleteErr = errors.New("secretsmanager: throttled")
		}, apperr.NameTaken, 1},
		{"Secrets Manager fails", func(_ *fakeStore, sm *fakes.Secrets) {
			sm.CreateErr = errors.New("secretsmanager: AccessDeniedException")
		}, apperr.Internal, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			h := newHandler(st)
			sm := secretsOf(h)
			tt.setup(st, sm)
			var logs bytes.Buffer
			ctx := logging.With(context.Background(), slog.New(slog.NewJSONHandler(&logs, nil)))
			resp, err := api.Handle(h.Handle)(ctx, newRequest(member, existingBody(t, nil)))
			if err != nil {
				t.Fatal(err)
			}
			apitest.ExpectError(t, resp, api.HTTPStatus(tt.wantCode), tt.wantCode)
			if st.count() != 0 {
				t.Fatalf("%d providers stored", st.count())
			}
			if sm.Deletes != tt.wantDeletes {
				t.Fatalf("%d secret deletions, want %d", sm.Deletes, tt.wantDeletes)
			}
			if sm.DeleteErr == nil && len(sm.All()) != 0 {
				t.Fatalf("a secret was left behind: %v", sm.All())
			}
			if sm.DeleteErr != nil && !strings.Contains(logs.String(), "cannot delete the secret") {
				t.Fatalf("the failed clean-up is not logged:\n%s", logs.String())
			}
			if strings.Contains(logs.String(), testSecret) || strings.Contains(resp.Body, testSecret) {
				t.Fatalf("the secret leaked:\n%s\n%s", logs.String(), resp.Body)
			}
		})
	}
}

func TestExistingIdempotency(t *testing.T) {
	member := apitest.Member("acct-eligible")
	t.Run("a replay answers the same provider without a new proof or secret", func(t *testing.T) {
		st := newFakeStore()
		h := newHandler(st)
		first := decodeView(t, do(t, h, newRequest(member, existingBody(t, nil), withHeader("Idempotency-Key", "k1"))), 202)
		again := decodeView(t, do(t, h, newRequest(member, existingBody(t, nil), withHeader("Idempotency-Key", "k1"))), 202)
		if again.ID != first.ID || proverOf(h).count() != 1 || secretsOf(h).Creates != 1 || st.count() != 1 {
			t.Fatalf("replay %s of %s: %d proofs, %d secrets, %d providers", again.ID, first.ID, proverOf(h).count(), secretsOf(h).Creates, st.count())
		}
		apitest.ExpectError(t, do(t, h, newRequest(member, existingBody(t, map[string]any{"clientSecret": "other"}), withHeader("Idempotency-Key", "k1"))), 409, apperr.IdempotencyConflict)
		if proverOf(h).count() != 1 {
			t.Fatal("a reused key was proved again")
		}
	})
	t.Run("a concurrent request with the same key wins", func(t *testing.T) {
		st := newFakeStore()
		h := newHandler(st)
		var winner *provider.Provider
		st.beforeCreate = func(f *fakeStore) {
			f.beforeCreate = nil
			winner = provider.New(provider.CreateRequest{Name: "Contoso direct", Option: provider.OptionExisting}, provider.Requester{UserID: "u2", AccountID: "acct-eligible"}, testNow)
			winner.CreatedAt = testNow
			body := existingBody(t, nil)
			if err := f.CreateProvider(context.Background(), winner, idempotencyRecord("k2", []byte(body), testNow)); err != nil {
				t.Error(err)
			}
		}
		v := decodeView(t, do(t, h, newRequest(member, existingBody(t, nil), withHeader("Idempotency-Key", "k2"))), 202)
		if winner == nil || v.ID != winner.ID || st.count() != 1 {
			t.Fatalf("answered %s, want the winner", v.ID)
		}
		if sm := secretsOf(h); sm.Creates != 1 || sm.Deletes != 1 || len(sm.All()) != 0 {
			t.Fatalf("the loser's secret was not deleted: %d created, %d deleted", sm.Creates, sm.Deletes)
		}
	})
}

// TestExistingWithStore runs the real store (embedded DynamoDB): the table
// holds the secret's ARN and never the secret.
func TestExistingWithStore(t *testing.T) {
	st, client := storetest.NewTestStore(t)
	h := newHandler(st)
	var logs bytes.Buffer
	ctx := logging.With(context.Background(), slog.New(slog.NewJSONHandler(&logs, nil)))
	resp, err := api.Handle(h.Handle)(ctx, newRequest(apitest.Member("acct-eligible"), existingBody(t, nil)))
	if err != nil {
		t.Fatal(err)
	}
	v := decodeView(t, resp, 202)
	stored, err := st.GetProvider(ctx, "acct-eligible", v.ID)
	if err != nil || stored.Status != provider.StatusActive || stored.Billing != provider.BillingCustomerDirect ||
		!strings.HasPrefix(stored.CredentialSecretARN, "arn:aws:secretsmanager:") || stored.ClientID != testClient {
		t.Fatalf("stored = %+v, %v", stored, err)
	}
	// The name is claimed: a second provider of that name is refused, and its secret deleted.
	apitest.ExpectError(t, do(t, h, newRequest(apitest.Member("acct-eligible"), existingBody(t, map[string]any{"name": "CONTOSO DIRECT"}))), 409, apperr.NameTaken)
	if sm := secretsOf(h); len(sm.All()) != 1 || sm.Deletes != 1 {
		t.Fatalf("secrets %d, deletions %d", len(sm.All()), sm.Deletes)
	}
	scan, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(storetest.TableName)})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(scan.Items)
	if strings.Contains(string(raw), testSecret) || !strings.Contains(string(raw), stored.CredentialSecretARN) {
		t.Fatalf("table items: %s", raw)
	}
	if strings.Contains(logs.String(), testSecret) {
		t.Fatalf("logs show the secret:\n%s", logs.String())
	}
}
