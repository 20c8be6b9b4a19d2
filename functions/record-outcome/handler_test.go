package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/fakes"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
	"github.com/partnercloud/azure/shared/workflow"
)

var t0 = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

func setup(t *testing.T, status provider.Status) (*Handler, *store.Store, *fakes.Mailer, *provider.Provider) {
	t.Helper()
	s, _ := storetest.NewTestStore(t)
	s.Now = func() time.Time { return t0 }
	hash := strings.Repeat("d", 64)
	observed := t0.Add(-time.Hour)
	p := &provider.Provider{AccountID: "acct-1", Name: "Contoso", Type: provider.TypeAzure, Option: provider.OptionMigrate, Status: status,
		RequesterEmail: "dana@eligible.example", CreatedBy: "user:u", PrincipalID: "sp-oid", TenantID: "tenant-1", ConsentedAt: &observed,
		Invitation:    &provider.Invitation{Hash: hash, Nonce: "n"},
		Relationships: &provider.Relationships{Reseller: "reseller", ResellerObservedAt: &observed},
		Subscriptions: []provider.Subscription{{ID: "00000000-0000-0000-0000-000000000001", State: provider.SubscriptionOwned, ConfirmedAt: &observed}}}
	if err := s.CreateProvider(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.PutInvitation(context.Background(), consent.Record{Hash: hash, AccountID: "acct-1", ProviderID: p.ID, Status: consent.StatusOpen, ExpiresAt: t0.Add(time.Hour), UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	m := &fakes.Mailer{}
	return &Handler{Store: s, Mailer: m, Brand: mail.Brand{PartnerName: "Partner Cloud", ContactEmail: "c@p.example"}, Now: func() time.Time { return t0 }}, s, m, p
}

func TestOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		from       provider.Status
		outcome    provider.Status
		err        *workflow.TaskError
		wantStatus provider.Status
		wantReason string
		wantMail   string
		wantInvite consent.Status
	}{
		{"active", provider.StatusAwaitingOwnerAccess, provider.StatusActive, nil, provider.StatusActive, "", "now under the partner's care", consent.StatusOpen},
		{"declined", provider.StatusPendingConsent, provider.StatusDeclined, &workflow.TaskError{Error: "ConsentDeclined"}, provider.StatusDeclined, "declined", "did not complete", consent.StatusDeclined},
		{"expired", provider.StatusPendingConsent, provider.StatusExpired, &workflow.TaskError{Error: "InvitationExpired"}, provider.StatusExpired, "expired", "did not complete", consent.StatusExpired},
		{"deadline", provider.StatusAwaitingOwnerAccess, provider.StatusFailed, &workflow.TaskError{Error: "OwnershipDeadlineExceeded", Cause: "{\"errorMessage\":\"secret internals\"}"}, provider.StatusFailed, "deadline", "did not complete", consent.StatusCancelled},
		{"unknown error hides its cause", provider.StatusAwaitingOwnerAccess, provider.StatusFailed, &workflow.TaskError{Error: "Lambda.Unknown", Cause: "panic: nil map at handler.go:12"}, provider.StatusFailed, "internal error", "did not complete", consent.StatusCancelled},
		{"cancelled meanwhile stays cancelled", provider.StatusCancelled, provider.StatusFailed, nil, provider.StatusCancelled, "", "", consent.StatusCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, s, m, p := setup(t, tt.from)
			in := workflow.OutcomeInput{Input: workflow.Input{AccountID: "acct-1", ProviderID: p.ID}, Outcome: tt.outcome, Error: tt.err}
			for range 2 { // at-least-once delivery: the second call changes nothing
				out, err := h.Handle(context.Background(), in)
				if err != nil || out.Status != tt.wantStatus {
					t.Fatalf("Handle = %+v, %v; want %s", out, err, tt.wantStatus)
				}
			}
			got, _ := s.GetProvider(context.Background(), "acct-1", p.ID)
			if !strings.Contains(got.FailureReason, tt.wantReason) || strings.Contains(got.FailureReason, "handler.go") || strings.Contains(got.FailureReason, "secret") {
				t.Fatalf("failure reason %q, want it to contain %q and no internals", got.FailureReason, tt.wantReason)
			}
			wantMails := 1
			if tt.wantMail == "" {
				wantMails = 0
			}
			if len(m.Sent) != wantMails {
				t.Fatalf("%d emails, want %d", len(m.Sent), wantMails)
			}
			if wantMails == 1 && (!strings.Contains(m.Sent[0].Subject, tt.wantMail) || m.Sent[0].To != "dana@eligible.example") {
				t.Fatalf("email %q to %q", m.Sent[0].Subject, m.Sent[0].To)
			}
			if tt.wantStatus == provider.StatusActive {
				if got.Billing != "consolidated" || got.BillingFrom == nil || !got.BillingFrom.Equal(t0) || len(got.Permissions) != 3 {
					t.Fatalf("active provider %+v", got)
				}
				// The completion email lists each permission with when
				// Microsoft showed it.
				if body := m.Sent[0].Text; !strings.Contains(body, "CSP reseller relationship with tenant tenant-1") || !strings.Contains(body, "(observed ") {
					t.Fatalf("completion email without the observed permissions:\n%s", body)
				}
			}
			rec, _ := s.GetInvitation(context.Background(), p.Invitation.Hash)
			if rec.Status != tt.wantInvite {
				t.Fatalf("invitation %s, want %s", rec.Status, tt.wantInvite)
			}
		})
	}
}

func TestRejectsUnknownOutcome(t *testing.T) {
	h, _, _, p := setup(t, provider.StatusPendingConsent)
	_, err := h.Handle(context.Background(), workflow.OutcomeInput{Input: workflow.Input{AccountID: "acct-1", ProviderID: p.ID}, Outcome: "pending_consent"})
	if workflow.ErrorName(err) != "InvalidInput" {
		t.Fatalf("error %v", err)
	}
}

// TestEvent runs the sam local invoke event through the handler.
func TestEvent(t *testing.T) {
	raw, err := os.ReadFile("../../events/record-outcome.json")
	if err != nil {
		t.Fatal(err)
	}
	var in workflow.OutcomeInput
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || in.Error == nil {
		t.Fatalf("event does not decode into the task input: %v", err)
	}
	h, _, m, p := setup(t, provider.StatusAwaitingOwnerAccess)
	in.AccountID, in.ProviderID = "acct-1", p.ID
	out, err := h.Handle(context.Background(), in)
	if err != nil || out.Status != provider.StatusFailed || len(m.Sent) != 1 {
		t.Fatalf("Handle = %+v, %v (%d mails)", out, err, len(m.Sent))
	}
}

// TestNewCustomerLink: a new customer's completion email carries the single
// use initial credentials link; only the token's hash is stored.
func TestNewCustomerLink(t *testing.T) {
	h, s, m, p := setup(t, provider.StatusAwaitingOwnerAccess)
	h.PublicBaseURL = "https://api.partner.example/"
	ctx := context.Background()
	if _, err := s.UpdateProvider(ctx, "acct-1", p.ID, func(q *provider.Provider) error {
		q.Option, q.Status = provider.OptionNew, provider.StatusProvisioning
		q.InitialAdmin = &provider.InitialAdmin{UserName: "admin@fabrikam.onmicrosoft.com", SecretARN: "arn:secret"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	in := workflow.OutcomeInput{Input: workflow.Input{AccountID: "acct-1", ProviderID: p.ID}, Outcome: provider.StatusActive, TenantID: "tenant-new"}
	for range 2 {
		if _, err := h.Handle(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if len(m.Sent) != 1 {
		t.Fatalf("%d emails", len(m.Sent))
	}
	prefix := "https://api.partner.example/providers/" + p.ID + "/initial-credentials?token="
	i := strings.Index(m.Sent[0].Text, prefix)
	if i < 0 || !strings.Contains(m.Sent[0].Subject, "new Azure account is ready") {
		t.Fatalf("email without the link: %s\n%s", m.Sent[0].Subject, m.Sent[0].Text)
	}
	token := strings.Fields(m.Sent[0].Text[i+len(prefix):])[0]
	got, _ := s.GetProvider(ctx, "acct-1", p.ID)
	sum := sha256.Sum256([]byte(token))
	ia := got.InitialAdmin
	if len(token) < 22 || ia == nil || ia.TokenHash != hex.EncodeToString(sum[:]) || ia.ExpiresAt == nil || !ia.ExpiresAt.Equal(t0.Add(DefaultLinkLifetime)) {
		t.Fatalf("token %q, stored %+v", token, ia)
	}
	if raw, _ := json.Marshal(got); strings.Contains(string(raw), token) {
		t.Fatal("the provider holds the token")
	}
}

// TestOutcomeEmailRetriedOnTransientFailure: SES throttles the completion
// email of a new customer once. The task fails with TransientError (the
// state machine retries it), the re-run sends exactly one email, and its
// initial credentials link is the one the store knows; later runs send
// nothing more.
func TestOutcomeEmailRetriedOnTransientFailure(t *testing.T) {
	h, s, _, p := setup(t, provider.StatusAwaitingOwnerAccess)
	m := &fakes.Mailer{Failures: 1, Err: apperr.New(apperr.Unavailable, "SES send failed (TooManyRequestsException); will retry")}
	h.Mailer, h.PublicBaseURL = m, "https://api.partner.example"
	ctx := context.Background()
	if _, err := s.UpdateProvider(ctx, "acct-1", p.ID, func(q *provider.Provider) error {
		q.Option, q.Status = provider.OptionNew, provider.StatusProvisioning
		q.InitialAdmin = &provider.InitialAdmin{UserName: "admin@fabrikam.onmicrosoft.com", SecretARN: "arn:secret"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	in := workflow.OutcomeInput{Input: workflow.Input{AccountID: "acct-1", ProviderID: p.ID}, Outcome: provider.StatusActive, TenantID: "tenant-new"}
	_, err := h.Handle(ctx, in)
	if workflow.ErrorName(err) != "TransientError" {
		t.Fatalf("first run: %v (%s), want TransientError for the state machine's Retry", err, workflow.ErrorName(err))
	}
	got, _ := s.GetProvider(ctx, "acct-1", p.ID)
	if got.Status != provider.StatusActive || got.OutcomeEmailSent || got.InitialAdmin.TokenHash != "" || len(m.Sent) != 0 {
		t.Fatalf("after the failed send: status %s, claimed %v, token hash %q, %d mails", got.Status, got.OutcomeEmailSent, got.InitialAdmin.TokenHash, len(m.Sent))
	}
	for range 3 { // the Retry, then at-least-once repeats
		if out, err := h.Handle(ctx, in); err != nil || out.Status != provider.StatusActive {
			t.Fatalf("retry: %+v, %v", out, err)
		}
	}
	if len(m.Sent) != 1 || m.Attempts != 2 {
		t.Fatalf("%d emails after %d attempts, want exactly 1 after 2", len(m.Sent), m.Attempts)
	}
	prefix := "https://api.partner.example/providers/" + p.ID + "/initial-credentials?token="
	i := strings.Index(m.Sent[0].Text, prefix)
	if i < 0 {
		t.Fatalf("no link in %s", m.Sent[0].Text)
	}
	sum := sha256.Sum256([]byte(strings.Fields(m.Sent[0].Text[i+len(prefix):])[0]))
	got, _ = s.GetProvider(ctx, "acct-1", p.ID)
	if !got.OutcomeEmailSent || got.InitialAdmin.TokenHash != hex.EncodeToString(sum[:]) {
		t.Fatalf("the emailed link is not the stored one: %+v", got.InitialAdmin)
	}
}

// TestOutcomeEmailRefusedIsNotRetried: an address SES refuses for good is
// not retried (the outcome stands; a retry cannot help).
func TestOutcomeEmailRefusedIsNotRetried(t *testing.T) {
	h, _, _, p := setup(t, provider.StatusAwaitingOwnerAccess)
	m := &fakes.Mailer{Failures: 5, Err: apperr.New(apperr.EmailRejected, "rejected")}
	h.Mailer = m
	in := workflow.OutcomeInput{Input: workflow.Input{AccountID: "acct-1", ProviderID: p.ID}, Outcome: provider.StatusActive}
	for range 2 {
		if _, err := h.Handle(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	if m.Attempts != 1 {
		t.Fatalf("%d attempts, want 1", m.Attempts)
	}
}
