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
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/fakes"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
	"github.com/partnercloud/azure/shared/workflow"
)

func TestMain(m *testing.M) {
	if os.Getenv("CANCEL_PROVIDER_RUN_MAIN") == "1" {
		main() // TestBadConfig: must exit before lambda.Start
		os.Exit(0)
	}
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

const stateMachine = "arn:aws:states:us-east-1:123456789012:stateMachine:partnercloud-migration"

var (
	t0      = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	expires = t0.Add(14 * 24 * time.Hour)
)

type env struct {
	h       *Handler
	st      *fakes.FaultyStore
	stopper *fakes.Executions
	p       *provider.Provider
	hash    string
}

// invitation states of the stored provider.
const (
	inviteOpen     = "open"      // nonce, hash and an open record
	inviteNone     = "none"      // no invitation yet
	inviteNoRecord = "no-record" // nonce and hash, record not written yet
	inviteClosed   = "consented" // the record was closed by consent
)

// newEnv stores a provider of acct-1 in status with the invitation state.
func newEnv(t *testing.T, id string, accountID string, status provider.Status, invite string) *env {
	t.Helper()
	s, _ := storetest.NewTestStore(t)
	e := &env{st: fakes.NewFaultyStore(s), stopper: &fakes.Executions{}}
	ctx := context.Background()
	sent, exp := t0, expires
	e.hash = consent.Hash("invitation-id-of-" + id)
	e.p = &provider.Provider{ID: id, AccountID: accountID, Name: "Contoso", Type: provider.TypeAzure, Option: provider.OptionMigrate,
		Status: status, AzureAdminEmail: "admin@contoso.example", CreatedBy: "user:u1",
		ExecutionARN: workflow.ExecutionARN(stateMachine, id),
		Timeline:     []provider.Event{{At: t0, Status: provider.StatusPendingConsent, What: "Provider created", By: "user:u1"}},
	}
	if invite != inviteNone {
		e.p.Invitation = &provider.Invitation{Nonce: "nonce", Hash: e.hash, SentAt: &sent, ExpiresAt: &exp}
	}
	if err := s.CreateProvider(ctx, e.p, nil); err != nil {
		t.Fatal(err)
	}
	if invite == inviteOpen || invite == inviteClosed {
		if err := s.PutInvitation(ctx, consent.Record{Hash: e.hash, AccountID: accountID, ProviderID: id, TaskToken: "task-token",
			Status: consent.StatusOpen, ExpiresAt: expires, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if invite == inviteClosed {
		if _, err := s.CloseInvitation(ctx, e.hash, consent.StatusConsented, "tenant-1"); err != nil {
			t.Fatal(err)
		}
	}
	e.h = &Handler{Store: e.st, Executions: e.stopper, StateMachineARN: stateMachine, Now: func() time.Time { return t0.Add(time.Hour) }}
	return e
}

func (e *env) stored(t testing.TB) *provider.Provider {
	t.Helper()
	p, err := e.st.Store.GetProvider(context.Background(), e.p.AccountID, e.p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) record(t testing.TB) *consent.Record {
	t.Helper()
	r, err := e.st.Store.GetInvitation(context.Background(), e.hash)
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func request(claims map[string]string, id string) api.Request {
	req := apitest.Request("POST /providers/{id}/cancel", claims)
	req.PathParameters = map[string]string{"id": id}
	return req
}

func (e *env) do(t testing.TB, claims map[string]string, id string) api.Response {
	t.Helper()
	resp, err := api.Handle(e.h.Handle)(context.Background(), request(claims, id))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

type view struct {
	provider.Provider
	NextStep string `json:"nextStep"`
}

// checkCancelled checks a 200 and the provider cancelled with one event,
// its link closed and its execution stopped (stops times in all).
func checkCancelled(t *testing.T, e *env, resp api.Response, wantRecord consent.Status, stops int) {
	t.Helper()
	var v view
	apitest.ExpectJSON(t, resp, 200, &v)
	if v.ID != e.p.ID || v.Status != provider.StatusCancelled || v.NextStep != "The migration was cancelled." {
		t.Errorf("response = %s", resp.Body)
	}
	if strings.Contains(resp.Body, "arn:") || strings.Contains(resp.Body, "nonce") {
		t.Errorf("response shows internals: %s", resp.Body)
	}
	p := e.stored(t)
	var cancels []provider.Event
	for _, ev := range p.Timeline {
		if ev.Status == provider.StatusCancelled {
			cancels = append(cancels, ev)
		}
	}
	if p.Status != provider.StatusCancelled || len(cancels) != 1 || cancels[0].What != "Cancelled by user:user-admin." ||
		cancels[0].By != "user:user-admin" || !cancels[0].At.Equal(t0.Add(time.Hour)) {
		t.Errorf("stored status %s, timeline %+v", p.Status, p.Timeline)
	}
	if v.Version != p.Version || len(v.Timeline) != len(p.Timeline) {
		t.Errorf("the response is not the stored provider")
	}
	r := e.record(t)
	switch {
	case wantRecord == "" && r != nil:
		t.Errorf("an invitation record was written: %+v", r)
	case wantRecord != "" && (r == nil || r.Status != wantRecord):
		t.Errorf("invitation record %+v, want status %s", r, wantRecord)
	}
	if e.stopper.StoppedCount() != stops {
		t.Fatalf("stopped %d times, want %d", e.stopper.StoppedCount(), stops)
	}
	for i, arn := range e.stopper.Stopped {
		if arn != "arn:aws:states:us-east-1:123456789012:execution:partnercloud-migration:provider-"+e.p.ID || e.stopper.Causes[i] != "Cancelled by user" {
			t.Errorf("stopped %s (%s)", arn, e.stopper.Causes[i])
		}
	}
}

func TestCancel(t *testing.T) {
	admin := apitest.Admin("acct-1")
	tests := []struct {
		name       string
		status     provider.Status
		invite     string
		wantRecord consent.Status
	}{
		{"waiting for consent, link open", provider.StatusPendingConsent, inviteOpen, consent.StatusCancelled},
		{"waiting for consent, email not sent yet", provider.StatusPendingConsent, inviteNone, ""},
		{"waiting for consent, record not written yet", provider.StatusPendingConsent, inviteNoRecord, consent.StatusCancelled},
		{"awaiting owner access, link used", provider.StatusAwaitingOwnerAccess, inviteClosed, consent.StatusConsented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, store.NewProviderID(t0), "acct-1", tt.status, tt.invite)
			checkCancelled(t, e, e.do(t, admin, e.p.ID), tt.wantRecord, 1)
			if tt.invite == inviteOpen || tt.invite == inviteNoRecord {
				// The invitation task can no longer open the link.
				err := e.st.Store.PutInvitation(context.Background(), consent.Record{Hash: e.hash, AccountID: "acct-1", ProviderID: e.p.ID,
					TaskToken: "new-token", Status: consent.StatusOpen, ExpiresAt: expires, UpdatedAt: t0})
				if !apperr.Is(err, apperr.InvalidState) {
					t.Fatalf("reopening the link: %v", err)
				}
			}
			// Cancelling again: 200, nothing new recorded, steps repeated.
			version := e.stored(t).Version
			checkCancelled(t, e, e.do(t, admin, e.p.ID), tt.wantRecord, 2)
			if e.stored(t).Version != version {
				t.Error("a repeated cancel wrote the provider")
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name     string
		claims   map[string]string
		id       string // default: the provider's; "-": none
		status   provider.Status
		fail     map[string]error
		stopErr  error
		wantCode apperr.Code
		wantMsg  string
	}{
		// 401
		{name: "no authorizer", wantCode: apperr.Unauthenticated},
		{name: "no sub", claims: apitest.Claims("", "acct-1", `["admin"]`), wantCode: apperr.Unauthenticated},
		{name: "no account_id", claims: apitest.Claims("u1", "", `["admin"]`), wantCode: apperr.Unauthenticated},
		// 403, before anything about the provider
		{name: "a member", claims: apitest.Member("acct-1"), wantCode: apperr.AdminRequired},
		{name: "roles without admin", claims: apitest.Claims("u1", "acct-1", "operator viewer"), wantCode: apperr.AdminRequired},
		{name: "a member of another account", claims: apitest.Member("acct-2"), wantCode: apperr.AdminRequired},
		{name: "a member, unknown id", claims: apitest.Member("acct-1"), id: "prv_nope", wantCode: apperr.AdminRequired},
		// 404
		{name: "another account's provider", claims: apitest.Admin("acct-2"), wantCode: apperr.NotFound},
		{name: "unknown id", id: store.NewProviderID(t0), wantCode: apperr.NotFound},
		{name: "malformed id", id: "prv_x#PROVIDER", wantCode: apperr.NotFound},
		{name: "no id", id: "-", wantCode: apperr.NotFound},
		// 409
		{name: "active", status: provider.StatusActive, wantCode: apperr.InvalidState, wantMsg: "status is active"},
		{name: "declined", status: provider.StatusDeclined, wantCode: apperr.InvalidState, wantMsg: "status is declined"},
		{name: "expired", status: provider.StatusExpired, wantCode: apperr.InvalidState, wantMsg: "status is expired"},
		{name: "failed", status: provider.StatusFailed, wantCode: apperr.InvalidState, wantMsg: "already ended"},
		// 500
		{name: "store fails", fail: map[string]error{"UpdateProvider": errors.New(apitest.Fault)}, wantCode: apperr.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := tt.status
			if status == "" {
				status = provider.StatusPendingConsent
			}
			e := newEnv(t, store.NewProviderID(t0), "acct-1", status, inviteOpen)
			for k, v := range tt.fail {
				e.st.Fail[k] = v
			}
			claims := tt.claims
			if claims == nil && tt.wantCode != apperr.Unauthenticated {
				claims = apitest.Admin("acct-1")
			}
			id := e.p.ID
			switch tt.id {
			case "":
			case "-":
				id = ""
			default:
				id = tt.id
			}
			before := e.stored(t)
			resp := e.do(t, claims, id)
			body := apitest.ExpectError(t, resp, api.HTTPStatus(tt.wantCode), tt.wantCode)
			if !strings.Contains(body.Message, tt.wantMsg) {
				t.Errorf("message %q lacks %q", body.Message, tt.wantMsg)
			}
			if tt.wantCode == apperr.NotFound && strings.Contains(resp.Body, "acct-1") {
				t.Errorf("404 reveals the owner: %s", resp.Body)
			}
			after := e.stored(t)
			if after.Version != before.Version || after.Status != status {
				t.Errorf("a refused cancel wrote the provider: %s v%d", after.Status, after.Version)
			}
			if r := e.record(t); r.Status != consent.StatusOpen {
				t.Errorf("a refused cancel closed the link: %+v", r)
			}
			if e.stopper.StoppedCount() != 0 {
				t.Errorf("a refused cancel stopped the execution")
			}
		})
	}
}

// TestFailureAfterTheStatusChange: when closing the link or stopping the
// execution fails, the answer is 500 and a retry completes the cancel
// without a second timeline event.
func TestFailureAfterTheStatusChange(t *testing.T) {
	admin := apitest.Admin("acct-1")
	for _, failing := range []string{"CloseInvitation", "GetInvitation", "Stop"} {
		t.Run(failing+" fails", func(t *testing.T) {
			invite := inviteOpen
			if failing == "GetInvitation" {
				invite = inviteNoRecord
			}
			e := newEnv(t, store.NewProviderID(t0), "acct-1", provider.StatusPendingConsent, invite)
			fault := errors.New(apitest.Fault)
			if failing == "Stop" {
				e.stopper.SetErr(fault)
			} else {
				e.st.SetFault(failing, fault)
			}
			apitest.ExpectError(t, e.do(t, admin, e.p.ID), 500, apperr.Internal)
			if e.stored(t).Status != provider.StatusCancelled {
				t.Fatal("the status change was not kept")
			}
			e.stopper.SetErr(nil)
			e.st.SetFault(failing, nil)
			checkCancelled(t, e, e.do(t, admin, e.p.ID), consent.StatusCancelled, 1)
		})
	}
}

// TestConcurrentCancels: ten cancels at once record one cancellation; all
// answer 200.
func TestConcurrentCancels(t *testing.T) {
	e := newEnv(t, store.NewProviderID(t0), "acct-1", provider.StatusPendingConsent, inviteOpen)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
		start    = make(chan struct{})
	)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := api.Handle(e.h.Handle)(context.Background(), request(apitest.Admin("acct-1"), e.p.ID))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if statuses[200] != 10 {
		t.Fatalf("statuses %v, want ten 200", statuses)
	}
	checkCancelled(t, e, e.do(t, apitest.Admin("acct-1"), e.p.ID), consent.StatusCancelled, 11)
}

// TestBadConfig runs main with bad configuration: it must log one JSON line
// naming every bad variable and exit 1.
func TestBadConfig(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{"CANCEL_PROVIDER_RUN_MAIN=1", "PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit = %v, want status 1; output %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !json.Valid([]byte(lines[0])) {
		t.Fatalf("want one JSON line, got:\n%s", out)
	}
	for _, name := range []string{"TABLE_NAME", "STATE_MACHINE_ARN"} {
		if !strings.Contains(lines[0], name) {
			t.Errorf("the log line does not name %s: %s", name, lines[0])
		}
	}
}

func TestEvent(t *testing.T) {
	req := apitest.LoadEvent(t, "../../events/cancel-provider.json")
	e := newEnv(t, req.PathParameters["id"], req.RequestContext.Authorizer.JWT.Claims["account_id"], provider.StatusPendingConsent, inviteOpen)
	resp, err := api.Handle(e.h.Handle)(context.Background(), req)
	if err != nil || resp.StatusCode != 200 || resp.Headers["X-Request-Id"] != req.RequestContext.RequestID {
		t.Fatalf("event answered %d %v: %s", resp.StatusCode, err, resp.Body)
	}
	if e.stored(t).Status != provider.StatusCancelled || e.stopper.StoppedCount() != 1 || e.record(t).Status != consent.StatusCancelled {
		t.Fatal("the event did not cancel the provider")
	}
}
