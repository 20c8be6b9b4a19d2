package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/fakes"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
)

func TestMain(m *testing.M) {
	if os.Getenv("DELETE_PROVIDER_RUN_MAIN") == "1" {
		main() // TestBadConfig: must exit before lambda.Start
		os.Exit(0)
	}
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

const secretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:partner-cloud/providers/acct-1/p-AbCdEf"

type env struct {
	h       *Handler
	st      *fakes.FaultyStore
	secrets *fakes.Secrets
	p       *provider.Provider
}

// newEnv stores a provider of acct-1 with the option and status; an
// existing provider has a credential secret.
func newEnv(t *testing.T, id string, option provider.Option, status provider.Status) *env {
	t.Helper()
	s, _ := storetest.NewTestStore(t)
	e := &env{st: fakes.NewFaultyStore(s), secrets: &fakes.Secrets{}}
	e.p = &provider.Provider{ID: id, AccountID: "acct-1", Name: "Contoso", Type: provider.TypeAzure, Option: option, Status: status,
		CreatedBy: "user:u1", Timeline: []provider.Event{{At: t0, Status: status, What: "Provider created", By: "user:u1"}}}
	if option == provider.OptionExisting {
		e.p.CredentialSecretARN = secretARN
		e.secrets.Put(secretARN, "s3cret")
	}
	if err := s.CreateProvider(context.Background(), e.p, nil); err != nil {
		t.Fatal(err)
	}
	e.h = &Handler{Store: e.st, Secrets: e.secrets}
	return e
}

func (e *env) do(t testing.TB, claims map[string]string, id string) api.Response {
	t.Helper()
	req := apitest.Request("DELETE /providers/{id}", claims)
	req.PathParameters = map[string]string{"id": id}
	resp, err := api.Handle(e.h.Handle)(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func (e *env) exists(t testing.TB) bool {
	t.Helper()
	_, err := e.st.Store.GetProvider(context.Background(), "acct-1", e.p.ID)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func expectNoContent(t *testing.T, resp api.Response) {
	t.Helper()
	if resp.StatusCode != 204 || resp.Body != "" || resp.Headers["X-Request-Id"] != apitest.RequestID {
		t.Fatalf("answer %d %v %q, want 204 with the request id and no body", resp.StatusCode, resp.Headers, resp.Body)
	}
}

func TestDeletes(t *testing.T) {
	id := store.NewProviderID(t0)
	for _, tt := range []struct {
		option provider.Option
		status provider.Status
		claims map[string]string
	}{
		{provider.OptionExisting, provider.StatusActive, apitest.Member("acct-1")},
		{provider.OptionExisting, provider.StatusActive, apitest.Admin("acct-1")},
		{provider.OptionMigrate, provider.StatusActive, apitest.Admin("acct-1")},
		{provider.OptionMigrate, provider.StatusDeclined, apitest.Admin("acct-1")},
		{provider.OptionMigrate, provider.StatusExpired, apitest.Admin("acct-1")},
		{provider.OptionMigrate, provider.StatusFailed, apitest.Admin("acct-1")},
		{provider.OptionMigrate, provider.StatusCancelled, apitest.Admin("acct-1")},
		{provider.OptionNew, provider.StatusActive, apitest.Admin("acct-1")},
	} {
		t.Run(string(tt.option)+" "+string(tt.status)+" by "+tt.claims["roles"], func(t *testing.T) {
			e := newEnv(t, id, tt.option, tt.status)
			expectNoContent(t, e.do(t, tt.claims, id))
			if e.exists(t) {
				t.Fatal("the provider is still there")
			}
			if len(e.secrets.All()) != 0 {
				t.Fatalf("secrets left: %v", e.secrets.All())
			}
			wantDeletes := 0
			if tt.option == provider.OptionExisting {
				wantDeletes = 1
			}
			if len(e.secrets.Deleted) != wantDeletes {
				t.Fatalf("secret deletions %v", e.secrets.Deleted)
			}
			// The name is free again.
			again := &provider.Provider{AccountID: "acct-1", Name: "CONTOSO", Type: provider.TypeAzure, Option: tt.option, Status: provider.StatusActive, CreatedBy: "user:u1"}
			if err := e.st.Store.CreateProvider(context.Background(), again, nil); err != nil {
				t.Fatalf("the name is still claimed: %v", err)
			}
			// A second DELETE finds nothing.
			apitest.ExpectError(t, e.do(t, tt.claims, id), 404, apperr.NotFound)
		})
	}
}

func TestRefusals(t *testing.T) {
	id := store.NewProviderID(t0)
	for _, tt := range []struct {
		name     string
		option   provider.Option
		status   provider.Status
		claims   map[string]string
		path     string
		wantCode apperr.Code
	}{
		{"no token", provider.OptionExisting, provider.StatusActive, nil, id, apperr.Unauthenticated},
		{"another account's provider", provider.OptionExisting, provider.StatusActive, apitest.Admin("acct-2"), id, apperr.NotFound},
		{"an unknown id", provider.OptionExisting, provider.StatusActive, apitest.Admin("acct-1"), store.NewProviderID(t0.Add(time.Hour)), apperr.NotFound},
		{"a malformed id", provider.OptionExisting, provider.StatusActive, apitest.Admin("acct-1"), "../../etc", apperr.NotFound},
		{"a pending migration", provider.OptionMigrate, provider.StatusPendingConsent, apitest.Admin("acct-1"), id, apperr.InvalidState},
		{"a migration awaiting Owner access", provider.OptionMigrate, provider.StatusAwaitingOwnerAccess, apitest.Admin("acct-1"), id, apperr.InvalidState},
		{"a migration by a member", provider.OptionMigrate, provider.StatusActive, apitest.Member("acct-1"), id, apperr.AdminRequired},
		{"another account's migration by a member", provider.OptionMigrate, provider.StatusActive, apitest.Member("acct-2"), id, apperr.NotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, id, tt.option, tt.status)
			apitest.ExpectError(t, e.do(t, tt.claims, tt.path), api.HTTPStatus(tt.wantCode), tt.wantCode)
			if !e.exists(t) || len(e.secrets.Deleted) != 0 {
				t.Fatalf("a refused delete changed something: exists %v, secret deletions %v", e.exists(t), e.secrets.Deleted)
			}
		})
	}
}

// TestFaults: a failure answers 500 and a retry completes the deletion.
func TestFaults(t *testing.T) {
	id := store.NewProviderID(t0)
	t.Run("Secrets Manager fails: nothing is deleted", func(t *testing.T) {
		e := newEnv(t, id, provider.OptionExisting, provider.StatusActive)
		e.secrets.DeleteErr = errors.New("secretsmanager: throttled")
		apitest.ExpectError(t, e.do(t, apitest.Member("acct-1"), id), 500, apperr.Internal)
		if !e.exists(t) || !e.secrets.Has(secretARN) {
			t.Fatal("something was deleted")
		}
		e.secrets.DeleteErr = nil
		expectNoContent(t, e.do(t, apitest.Member("acct-1"), id))
		if e.exists(t) || len(e.secrets.All()) != 0 {
			t.Fatal("the retry did not delete")
		}
	})
	t.Run("the table fails after the secret is deleted: a retry completes", func(t *testing.T) {
		e := newEnv(t, id, provider.OptionExisting, provider.StatusActive)
		e.st.SetFault("DeleteProvider", apperr.Wrap(errors.New(apitest.Fault), "delete provider"))
		apitest.ExpectError(t, e.do(t, apitest.Member("acct-1"), id), 500, apperr.Internal)
		if !e.exists(t) || len(e.secrets.All()) != 0 {
			t.Fatalf("after the fault: exists %v, secrets %v", e.exists(t), e.secrets.All())
		}
		e.st.SetFault("DeleteProvider", nil)
		expectNoContent(t, e.do(t, apitest.Member("acct-1"), id))
		if e.exists(t) || len(e.secrets.Deleted) != 2 {
			t.Fatalf("the retry: exists %v, secret deletions %v", e.exists(t), e.secrets.Deleted)
		}
	})
	t.Run("deleted meanwhile by another request", func(t *testing.T) {
		e := newEnv(t, id, provider.OptionExisting, provider.StatusActive)
		e.st.SetFault("DeleteProvider", apperr.New(apperr.NotFound, "The provider does not exist."))
		expectNoContent(t, e.do(t, apitest.Member("acct-1"), id))
	})
}

func TestConcurrentDeletes(t *testing.T) {
	id := store.NewProviderID(t0)
	e := newEnv(t, id, provider.OptionExisting, provider.StatusActive)
	var wg sync.WaitGroup
	statuses := make(chan int, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- e.do(t, apitest.Member("acct-1"), id).StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 204 && s != 404 {
			t.Fatalf("a concurrent delete answered %d", s)
		}
	}
	if e.exists(t) || len(e.secrets.All()) != 0 {
		t.Fatal("not deleted")
	}
}

// TestBadConfig runs main with bad configuration: it must log one JSON line
// naming every bad variable and exit 1.
func TestBadConfig(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{"DELETE_PROVIDER_RUN_MAIN=1", "PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit = %v, want status 1; output %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !json.Valid([]byte(lines[0])) || !strings.Contains(lines[0], "TABLE_NAME") {
		t.Fatalf("want one JSON line naming TABLE_NAME, got:\n%s", out)
	}
}

func TestEvent(t *testing.T) {
	req := apitest.LoadEvent(t, "../../events/delete-provider.json")
	if req.RouteKey != "DELETE /providers/{id}" || req.RequestContext.HTTP.Method != "DELETE" {
		t.Fatalf("event route %q", req.RouteKey)
	}
	s, _ := storetest.NewTestStore(t)
	p := &provider.Provider{ID: req.PathParameters["id"], AccountID: req.RequestContext.Authorizer.JWT.Claims["account_id"], Name: "Contoso",
		Type: provider.TypeAzure, Option: provider.OptionExisting, Status: provider.StatusActive, CreatedBy: "user:u1", CredentialSecretARN: secretARN}
	if err := s.CreateProvider(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	secrets := &fakes.Secrets{}
	secrets.Put(secretARN, "s3cret")
	h := &Handler{Store: s, Secrets: secrets}
	resp, err := api.Handle(h.Handle)(context.Background(), req)
	if err != nil || resp.StatusCode != 204 || resp.Headers["X-Request-Id"] != req.RequestContext.RequestID {
		t.Fatalf("event answered %d %v: %s", resp.StatusCode, err, resp.Body)
	}
	if len(secrets.All()) != 0 {
		t.Fatal("the event did not delete the secret")
	}
}
