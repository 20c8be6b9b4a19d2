package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/fakes"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
)

func TestMain(m *testing.M) {
	if os.Getenv("RESEND_INVITATION_RUN_MAIN") == "1" {
		main() // TestBadConfig: must exit before lambda.Start
		os.Exit(0)
	}
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

var (
	t0      = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC) // the invitation was sent
	expires = t0.Add(14 * 24 * time.Hour)
	testKey = consent.Key(bytes.Repeat([]byte{7}, 32))
	linkRE  = regexp.MustCompile(`https://api\.example/consent/([A-Za-z0-9_-]{43})`)
)

type env struct {
	h      *Handler
	st     *fakes.FaultyStore
	mailer *fakes.Mailer
	now    time.Time
	p      *provider.Provider
}

// newEnv stores a provider of acct-1 whose consent email was sent at t0 and
// a handler whose clock reads t0 + 1h.
func newEnv(t *testing.T, id string) *env {
	t.Helper()
	s, _ := storetest.NewTestStore(t)
	e := &env{st: fakes.NewFaultyStore(s), mailer: &fakes.Mailer{}, now: t0.Add(time.Hour)}
	ctx := context.Background()
	if err := s.PutAccount(ctx, account.Account{ID: "acct-1", Name: "Eligible Org", Billable: true, USOffice: true}); err != nil {
		t.Fatal(err)
	}
	nonce, err := consent.NewNonce()
	if err != nil {
		t.Fatal(err)
	}
	sent, exp := t0, expires
	e.p = &provider.Provider{ID: id, AccountID: "acct-1", Name: "Contoso", Type: provider.TypeAzure, Option: provider.OptionMigrate,
		Status: provider.StatusPendingConsent, AzureAdminEmail: "admin@contoso.example", RequesterName: "Dana Admin", CreatedBy: "user:u1",
		Subscriptions: []provider.Subscription{{ID: "00000000-0000-0000-0000-000000000001", State: provider.SubscriptionPending}},
		Invitation:    &provider.Invitation{SentAt: &sent, ExpiresAt: &exp, LastSentAt: &sent},
		Timeline:      []provider.Event{{At: t0, Status: provider.StatusPendingConsent, What: "Provider created", By: "user:u1"}},
	}
	if err := s.CreateProvider(ctx, e.p, nil); err != nil {
		t.Fatal(err)
	}
	e.p.Invitation.Nonce, e.p.Invitation.Hash = nonce, consent.Hash(testKey.InvitationID(e.p.ID, nonce))
	e.set(t, func(p *provider.Provider) { p.Invitation = e.p.Invitation })
	e.h = &Handler{Store: e.st, Mailer: e.mailer, Key: testKey, BaseURL: "https://api.example/",
		Brand: mail.Brand{PartnerName: "Partner Cloud", ContactEmail: "help@partner.example"}, Interval: DefaultInterval,
		Now: func() time.Time { return e.now }}
	return e
}

// set changes the stored provider.
func (e *env) set(t testing.TB, change func(*provider.Provider)) {
	t.Helper()
	if _, err := e.st.Store.UpdateProvider(context.Background(), "acct-1", e.p.ID, func(p *provider.Provider) error { change(p); return nil }); err != nil {
		t.Fatal(err)
	}
}

func (e *env) stored(t testing.TB) *provider.Provider {
	t.Helper()
	p, err := e.st.Store.GetProvider(context.Background(), "acct-1", e.p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func request(claims map[string]string, id string) api.Request {
	req := apitest.Request("POST /providers/{id}/resend", claims)
	req.PathParameters = map[string]string{"id": id}
	return req
}

func (e *env) do(t testing.TB, claims map[string]string) api.Response {
	t.Helper()
	return e.doID(t, claims, e.p.ID)
}

func (e *env) doID(t testing.TB, claims map[string]string, id string) api.Response {
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

// checkResent checks the one email a resend sends and what it records.
func checkResent(t *testing.T, e *env, resp api.Response, sub string, resends int) {
	t.Helper()
	var v view
	apitest.ExpectJSON(t, resp, 202, &v)
	if v.ID != e.p.ID || v.Status != provider.StatusPendingConsent || v.NextStep == "" {
		t.Errorf("response = %s", resp.Body)
	}
	for _, secret := range []string{e.p.Invitation.Nonce, e.p.Invitation.Hash, "nonce", "taskToken"} {
		if strings.Contains(resp.Body, secret) {
			t.Errorf("response shows %q: %s", secret, resp.Body)
		}
	}
	if e.mailer.Count() != resends {
		t.Fatalf("%d emails, want %d", e.mailer.Count(), resends)
	}
	m := e.mailer.Sent[len(e.mailer.Sent)-1]
	if m.To != "admin@contoso.example" || !strings.HasPrefix(m.Subject, "Resent: Eligible Org") {
		t.Errorf("email %q to %q", m.Subject, m.To)
	}
	for _, part := range []string{m.Text, m.HTML} {
		link := linkRE.FindStringSubmatch(part)
		if link == nil || consent.Hash(link[1]) != e.p.Invitation.Hash {
			t.Errorf("the email's link is not the stored invitation's: %v", link)
		}
		for _, want := range []string{"Dana Admin", expires.Format("Monday 2 January 2006, 15:04 MST"), "00000000-0000-0000-0000-000000000001"} {
			if !strings.Contains(part, want) {
				t.Errorf("email lacks %q", want)
			}
		}
	}
	p := e.stored(t)
	inv := p.Invitation
	if inv.Resends != resends || inv.LastResentAt == nil || !inv.LastResentAt.Equal(e.now) ||
		!inv.ExpiresAt.Equal(expires) || !inv.SentAt.Equal(t0) || inv.Nonce != e.p.Invitation.Nonce || inv.Hash != e.p.Invitation.Hash {
		t.Errorf("stored invitation = %+v", inv)
	}
	last := p.Timeline[len(p.Timeline)-1]
	if len(p.Timeline) != 2 || last.Occurrences() != resends || last.Kind != provider.EventConsentResent || last.What != "Consent email resent by user:"+sub+"." || last.By != "user:"+sub ||
		last.Status != provider.StatusPendingConsent || !last.At.Equal(e.now) {
		t.Errorf("timeline = %+v", p.Timeline)
	}
	if v.Version != p.Version || len(v.Timeline) != len(p.Timeline) {
		t.Errorf("the response is not the stored provider: version %d/%d", v.Version, p.Version)
	}
}

func TestResend(t *testing.T) {
	t.Run("a member resends; 5 minutes later again", func(t *testing.T) {
		e := newEnv(t, store.NewProviderID(t0))
		checkResent(t, e, e.do(t, apitest.Member("acct-1")), "user-member", 1)
		e.now = e.now.Add(DefaultInterval)
		checkResent(t, e, e.do(t, apitest.Admin("acct-1")), "user-admin", 2)
	})
	t.Run("without the requester's name", func(t *testing.T) {
		e := newEnv(t, store.NewProviderID(t0))
		e.set(t, func(p *provider.Provider) { p.RequesterName = "" })
		resp := e.do(t, apitest.Member("acct-1"))
		apitest.ExpectJSON(t, resp, 202, nil)
		if !strings.Contains(e.mailer.Sent[0].Text, "An administrator") {
			t.Errorf("email text: %s", e.mailer.Sent[0].Text)
		}
	})
	t.Run("the account's name cannot be read: the account id names the organization", func(t *testing.T) {
		e := newEnv(t, store.NewProviderID(t0))
		e.st.Fail["GetAccount"] = errors.New(apitest.Fault)
		apitest.ExpectJSON(t, e.do(t, apitest.Member("acct-1")), 202, nil)
		if !strings.HasPrefix(e.mailer.Sent[0].Subject, "Resent: acct-1") {
			t.Errorf("subject %q", e.mailer.Sent[0].Subject)
		}
	})
	t.Run("the timeline write fails after the email went out: still 202, one email", func(t *testing.T) {
		e := newEnv(t, store.NewProviderID(t0))
		e.st.Fail["UpdateProvider"], e.st.PassFirst["UpdateProvider"] = errors.New(apitest.Fault), 1
		apitest.ExpectJSON(t, e.do(t, apitest.Member("acct-1")), 202, nil)
		if e.mailer.Count() != 1 || e.stored(t).Invitation.LastResentAt == nil {
			t.Fatalf("%d emails, invitation %+v", e.mailer.Count(), e.stored(t).Invitation)
		}
	})
}

func TestRefusals(t *testing.T) {
	minute := time.Minute
	tests := []struct {
		name      string
		claims    map[string]string
		id        string // default: the provider's
		prepare   func(e *env, p *provider.Provider)
		fail      map[string]error
		wantCode  apperr.Code
		wantRetry string // Retry-After header
		wantMsg   string
	}{
		// 401
		{name: "no authorizer", wantCode: apperr.Unauthenticated},
		{name: "no sub", claims: apitest.Claims("", "acct-1", ""), wantCode: apperr.Unauthenticated},
		{name: "no account_id", claims: apitest.Claims("u1", "", `["admin"]`), wantCode: apperr.Unauthenticated},
		// 404
		{name: "another account's provider", claims: apitest.Admin("acct-2"), wantCode: apperr.NotFound},
		{name: "unknown id", id: store.NewProviderID(t0), wantCode: apperr.NotFound},
		{name: "malformed id", id: "../acct-1", wantCode: apperr.NotFound},
		{name: "no id", id: "-", wantCode: apperr.NotFound},
		// 409
		{name: "awaiting owner access", prepare: func(_ *env, p *provider.Provider) { p.Status = provider.StatusAwaitingOwnerAccess },
			wantCode: apperr.InvalidState, wantMsg: "not waiting for consent"},
		{name: "cancelled", prepare: func(_ *env, p *provider.Provider) { p.Status = provider.StatusCancelled },
			wantCode: apperr.InvalidState, wantMsg: "not waiting for consent"},
		{name: "active", prepare: func(_ *env, p *provider.Provider) { p.Status = provider.StatusActive },
			wantCode: apperr.InvalidState, wantMsg: "not waiting for consent"},
		{name: "invitation not made yet", prepare: func(_ *env, p *provider.Provider) { p.Invitation = nil },
			wantCode: apperr.InvalidState, wantMsg: "has not been sent yet"},
		{name: "nonce made, email not sent yet", prepare: func(_ *env, p *provider.Provider) { p.Invitation.SentAt, p.Invitation.ExpiresAt = nil, nil },
			wantCode: apperr.InvalidState, wantMsg: "has not been sent yet"},
		{name: "expired at this instant", prepare: func(e *env, _ *provider.Provider) { e.now = expires },
			wantCode: apperr.InvalidState, wantMsg: "expired on 15 March 2026"},
		{name: "expired long ago", prepare: func(e *env, _ *provider.Provider) { e.now = expires.Add(30 * 24 * time.Hour) },
			wantCode: apperr.InvalidState, wantMsg: "expired"},
		{name: "409 before 429", prepare: func(e *env, p *provider.Provider) {
			p.Status, p.Invitation.LastResentAt = provider.StatusDeclined, &e.now
		}, wantCode: apperr.InvalidState},
		// 429
		{name: "resent a minute ago", prepare: func(e *env, p *provider.Provider) { last := e.now.Add(-minute); p.Invitation.LastResentAt = &last },
			wantCode: apperr.TooManyRequests, wantRetry: "240", wantMsg: "at most once every 5 minutes"},
		{name: "resent just now", prepare: func(e *env, p *provider.Provider) { p.Invitation.LastResentAt = &e.now },
			wantCode: apperr.TooManyRequests, wantRetry: "300"},
		{name: "half a second left rounds up", prepare: func(e *env, p *provider.Provider) {
			last := e.now.Add(-DefaultInterval + 500*time.Millisecond)
			p.Invitation.LastResentAt = &last
		}, wantCode: apperr.TooManyRequests, wantRetry: "1"},
		// 500
		{name: "store read fails", fail: map[string]error{"GetProvider": errors.New(apitest.Fault)}, wantCode: apperr.Internal},
		{name: "claim write fails", fail: map[string]error{"UpdateProvider": errors.New(apitest.Fault)}, wantCode: apperr.Internal},
		{name: "SES throttles", fail: map[string]error{"Send": &apperr.Error{Code: apperr.Unavailable, Message: "SES send failed; will retry", Cause: errors.New(apitest.Fault)}},
			wantCode: apperr.Internal, wantRetry: "300", wantMsg: "try again in 5 minutes"},
		{name: "SES rejects the address", fail: map[string]error{"Send": &apperr.Error{Code: apperr.EmailRejected, Message: "SES rejected the message", Cause: errors.New(apitest.Fault)}},
			wantCode: apperr.Internal, wantRetry: "300", wantMsg: "could not be delivered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, store.NewProviderID(t0))
			if tt.prepare != nil {
				e.set(t, func(p *provider.Provider) { tt.prepare(e, p) })
			}
			for k, v := range tt.fail {
				if k == "Send" {
					e.mailer.Err = v
				} else {
					e.st.Fail[k] = v
				}
			}
			before := e.stored(t)
			id := e.p.ID
			switch tt.id {
			case "":
			case "-":
				id = ""
			default:
				id = tt.id
			}
			claims := tt.claims
			if claims == nil && tt.wantCode != apperr.Unauthenticated {
				claims = apitest.Member("acct-1")
			}
			resp := e.doID(t, claims, id)
			body := apitest.ExpectError(t, resp, api.HTTPStatus(tt.wantCode), tt.wantCode)
			if got := resp.Headers["Retry-After"]; got != tt.wantRetry {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetry)
			}
			if tt.wantCode == apperr.TooManyRequests && string(body.Raw["retryAfterSeconds"]) != tt.wantRetry {
				t.Errorf("retryAfterSeconds = %s", body.Raw["retryAfterSeconds"])
			}
			if !strings.Contains(body.Message, tt.wantMsg) {
				t.Errorf("message %q lacks %q", body.Message, tt.wantMsg)
			}
			if e.mailer.Count() != 0 {
				t.Errorf("a refused resend sent %d emails", e.mailer.Count())
			}
			after := e.stored(t)
			if len(after.Timeline) != len(before.Timeline) || (after.Invitation != nil && after.Invitation.Resends != 0) {
				t.Errorf("a refused resend recorded it: %+v", after.Invitation)
			}
			if _, sesFault := tt.fail["Send"]; sesFault {
				// The slot stays claimed: a retry within the interval is refused.
				if after.Invitation.LastResentAt == nil || !after.Invitation.LastResentAt.Equal(e.now) {
					t.Errorf("the slot was not kept: %+v", after.Invitation)
				}
				e.mailer.Err = nil
				apitest.ExpectError(t, e.do(t, apitest.Member("acct-1")), 429, apperr.TooManyRequests)
				e.now = e.now.Add(DefaultInterval)
				checkResent(t, e, e.do(t, apitest.Member("acct-1")), "user-member", 1)
			} else if after.Version != before.Version {
				t.Errorf("a refused resend wrote the provider (version %d → %d)", before.Version, after.Version)
			}
		})
	}
}

// TestResendLimit: at most provider.MaxResends resends per invitation; the
// next is a 429 that says so and changes nothing. Failed sends count too.
func TestResendLimit(t *testing.T) {
	e := newEnv(t, store.NewProviderID(t0))
	for i := 1; i <= provider.MaxResends; i++ {
		if i == 3 { // SES fails once: the claim still counts
			e.mailer.Err = &apperr.Error{Code: apperr.Unavailable, Message: "SES send failed; will retry", Cause: errors.New(apitest.Fault)}
			apitest.ExpectError(t, e.do(t, apitest.Member("acct-1")), 500, apperr.Internal)
			e.mailer.Err = nil
			e.now = e.now.Add(DefaultInterval)
			continue
		}
		want := e.mailer.Count() + 1
		checkResent(t, e, e.do(t, apitest.Member("acct-1")), "user-member", want)
		e.now = e.now.Add(DefaultInterval)
	}
	if e.mailer.Count() != provider.MaxResends-1 {
		t.Fatalf("%d emails", e.mailer.Count())
	}
	before := e.stored(t)
	for _, later := range []time.Duration{0, 24 * time.Hour} {
		e.now = e.now.Add(later)
		resp := e.do(t, apitest.Admin("acct-1"))
		body := apitest.ExpectError(t, resp, 429, apperr.TooManyRequests)
		if !strings.Contains(body.Message, "already resent 10 times") || !strings.Contains(body.Message, "create a new one") {
			t.Errorf("message %q", body.Message)
		}
		if string(body.Raw["maxResends"]) != "10" || resp.Headers["Retry-After"] != "" {
			t.Errorf("maxResends %s, Retry-After %q", body.Raw["maxResends"], resp.Headers["Retry-After"])
		}
	}
	after := e.stored(t)
	if e.mailer.Count() != provider.MaxResends-1 || after.Version != before.Version || len(after.Timeline) != len(before.Timeline) {
		t.Fatalf("the refused resend changed something: %d emails, version %d → %d", e.mailer.Count(), before.Version, after.Version)
	}
	if ev := after.Timeline[len(after.Timeline)-1]; len(after.Timeline) != 2 || ev.Occurrences() != provider.MaxResends-1 {
		t.Fatalf("timeline %+v", after.Timeline)
	}
}

func TestResendRuleOfTheInvitation(t *testing.T) {
	now := t0.Add(time.Hour)
	var inv provider.Invitation
	for i := range provider.MaxResends {
		if err := inv.ClaimResend(now, time.Minute); err != nil {
			t.Fatalf("claim %d: %v", i+1, err)
		}
		var refused *provider.ResendRefused
		if err := inv.ClaimResend(now.Add(30*time.Second), time.Minute); i < provider.MaxResends-1 && (!errors.As(err, &refused) || refused.Exhausted || refused.RetryAfter != 30*time.Second) {
			t.Fatalf("claim within the interval: %v", err)
		}
		now = now.Add(time.Minute)
	}
	var refused *provider.ResendRefused
	if err := inv.ClaimResend(now.Add(time.Hour), time.Minute); !errors.As(err, &refused) || !refused.Exhausted {
		t.Fatalf("claim %d: %v", provider.MaxResends+1, err)
	}
	// An item from before claims were counted: its resends count.
	old := provider.Invitation{Resends: provider.MaxResends}
	if err := old.CheckResend(now, time.Minute); !errors.As(err, &refused) || !refused.Exhausted {
		t.Fatalf("old item: %v", err)
	}
}

// TestConcurrentResends: ten resends at once send exactly one email.
func TestConcurrentResends(t *testing.T) {
	e := newEnv(t, store.NewProviderID(t0))
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
			resp, err := api.Handle(e.h.Handle)(context.Background(), request(apitest.Member("acct-1"), e.p.ID))
			if err != nil {
				t.Error(err)
				return
			}
			if resp.StatusCode == 429 && resp.Headers["Retry-After"] != "300" {
				t.Errorf("Retry-After = %q", resp.Headers["Retry-After"])
			}
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if statuses[202] != 1 || statuses[429] != 9 || e.mailer.Count() != 1 {
		t.Fatalf("statuses %v, %d emails; want one 202, nine 429, one email", statuses, e.mailer.Count())
	}
	p := e.stored(t)
	if p.Invitation.Resends != 1 || len(p.Timeline) != 2 {
		t.Fatalf("resends %d, timeline %+v", p.Invitation.Resends, p.Timeline)
	}
}

// TestBadConfig runs main with bad configuration: it must log one JSON line
// naming every bad variable and exit 1.
func TestBadConfig(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{"RESEND_INVITATION_RUN_MAIN=1", "RESEND_INTERVAL=soon", "PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit = %v, want status 1; output %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !json.Valid([]byte(lines[0])) {
		t.Fatalf("want one JSON line, got:\n%s", out)
	}
	for _, name := range []string{"TABLE_NAME", "PUBLIC_BASE_URL", "MAIL_FROM", "SIGNING_KEY_SECRET_ARN", "RESEND_INTERVAL"} {
		if !strings.Contains(lines[0], name) {
			t.Errorf("the log line does not name %s: %s", name, lines[0])
		}
	}
}

func TestEvent(t *testing.T) {
	req := apitest.LoadEvent(t, "../../events/resend-invitation.json")
	e := newEnv(t, req.PathParameters["id"])
	e.p.AccountID = req.RequestContext.Authorizer.JWT.Claims["account_id"]
	// The event's caller belongs to acct-eligible: store the provider there.
	p := e.stored(t)
	p.AccountID, p.Name, p.Version = e.p.AccountID, "Event provider", 0
	if err := e.st.Store.CreateProvider(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	resp, err := api.Handle(e.h.Handle)(context.Background(), req)
	if err != nil || resp.StatusCode != 202 || resp.Headers["X-Request-Id"] != req.RequestContext.RequestID {
		t.Fatalf("event answered %d %v: %s", resp.StatusCode, err, resp.Body)
	}
	if e.mailer.Count() != 1 || !strings.HasPrefix(e.mailer.Sent[0].Subject, "Resent: ") {
		t.Fatalf("emails: %+v", e.mailer.Sent)
	}
}
