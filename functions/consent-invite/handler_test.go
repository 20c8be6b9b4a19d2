package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/fakes"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
	"github.com/partnercloud/azure/shared/workflow"
)

type env struct {
	h      *Handler
	store  *store.Store
	mailer *fakes.Mailer
	tasks  *fakes.Tasks
	now    time.Time
	p      *provider.Provider
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func newEnv(t *testing.T) *env {
	t.Helper()
	s, _ := storetest.NewTestStore(t)
	e := &env{store: s, mailer: &fakes.Mailer{}, tasks: &fakes.Tasks{}, now: t0}
	s.Now = func() time.Time { return e.now }
	ctx := context.Background()
	if err := s.PutAccount(ctx, account.Account{ID: "acct-1", Name: "Eligible Org", Billable: true, USOffice: true}); err != nil {
		t.Fatal(err)
	}
	e.p = &provider.Provider{AccountID: "acct-1", Name: "Contoso", Type: provider.TypeAzure, Option: provider.OptionMigrate,
		Status: provider.StatusPendingConsent, AzureAdminEmail: "admin@contoso.example", RequesterName: "Dana Admin", CreatedBy: "user:u1",
		Subscriptions: []provider.Subscription{{ID: "00000000-0000-0000-0000-000000000001", State: provider.SubscriptionPending}}}
	if err := s.CreateProvider(ctx, e.p, nil); err != nil {
		t.Fatal(err)
	}
	e.h = &Handler{Store: s, Mailer: e.mailer, Tasks: e.tasks, Key: consent.Key(bytes.Repeat([]byte{1}, 32)), Schedule: consent.DefaultSchedule,
		BaseURL: "https://api.example/", Brand: mail.Brand{PartnerName: "Partner Cloud", ContactEmail: "help@partner.example"}, Now: func() time.Time { return e.now }}
	return e
}

func (e *env) run(t *testing.T, token string) (workflow.InviteOutput, error) {
	t.Helper()
	return e.h.Handle(context.Background(), workflow.InviteInput{Input: workflow.Input{AccountID: "acct-1", ProviderID: e.p.ID}, TaskToken: token})
}

var linkRE = regexp.MustCompile(`https://api\.example/consent/([A-Za-z0-9_-]{43})`)

func TestInvitationSchedule(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	day := 24 * time.Hour
	steps := []struct {
		at        time.Duration
		wantSent  string
		wantMails int
		subject   string
	}{
		{0, "invitation", 1, "Eligible Org: approve"},
		{1 * day, "none", 1, ""},
		{3 * day, "reminder", 2, "Reminder: "},
		{4 * day, "none", 2, ""},
		{7 * day, "reminder", 3, "Reminder: "},
		{10 * day, "none", 3, ""},
	}
	var firstLink string
	for i, st := range steps {
		e.now = t0.Add(st.at)
		token := "token-" + string(rune('a'+i))
		out, err := e.run(t, token)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if out.Sent != st.wantSent || len(e.mailer.Sent) != st.wantMails {
			t.Fatalf("step %d: sent %q with %d mails, want %q with %d", i, out.Sent, len(e.mailer.Sent), st.wantSent, st.wantMails)
		}
		p, _ := e.store.GetProvider(ctx, "acct-1", e.p.ID)
		rec, err := e.store.GetInvitation(ctx, p.Invitation.Hash)
		if err != nil || rec.TaskToken != token || rec.Status != consent.StatusOpen {
			t.Fatalf("step %d: invitation record %+v, %v; want token %s", i, rec, err, token)
		}
		if st.subject == "" {
			continue
		}
		m := e.mailer.Sent[len(e.mailer.Sent)-1]
		if !strings.HasPrefix(m.Subject, st.subject) || m.To != "admin@contoso.example" {
			t.Fatalf("step %d: mail %q to %q", i, m.Subject, m.To)
		}
		link := linkRE.FindStringSubmatch(m.Text)
		if link == nil {
			t.Fatalf("step %d: no consent link in %q", i, m.Text)
		}
		if consent.Hash(link[1]) != p.Invitation.Hash {
			t.Fatalf("step %d: the link's hash is not the stored hash", i)
		}
		if firstLink == "" {
			firstLink = link[0]
		} else if link[0] != firstLink {
			t.Fatalf("step %d: reminder link %s differs from the first %s", i, link[0], firstLink)
		}
		if strings.Contains(p.Invitation.Hash, link[1]) {
			t.Fatal("the raw invitation id is stored")
		}
	}
	p, _ := e.store.GetProvider(ctx, "acct-1", e.p.ID)
	if p.Invitation.RemindersSent != 2 || !p.Invitation.SentAt.Equal(t0) || !p.Invitation.ExpiresAt.Equal(t0.Add(14*day)) {
		t.Fatalf("invitation state %+v", p.Invitation)
	}
	// The two reminders are folded into one event with a count.
	if n := len(p.Timeline); n != 2 || p.Timeline[1].Kind != provider.EventReminderSent || p.Timeline[1].Count != 2 ||
		!p.Timeline[1].At.Equal(t0.Add(7*day)) || p.Timeline[1].FirstAt == nil || !p.Timeline[1].FirstAt.Equal(t0.Add(3*day)) {
		t.Fatalf("timeline has %d events, want 2 (sent, two reminders folded): %+v", n, p.Timeline)
	}
	if strings.Contains(p.Timeline[0].What, "admin@contoso.example") {
		t.Fatal("timeline shows the full email address")
	}

	e.now = t0.Add(14 * day)
	_, err := e.run(t, "token-late")
	if workflow.ErrorName(err) != "InvitationExpired" {
		t.Fatalf("at expiry: %v, want InvitationExpired", err)
	}
	rec, _ := e.store.GetInvitation(ctx, p.Invitation.Hash)
	if rec.Status != consent.StatusExpired {
		t.Fatalf("invitation status %s after expiry", rec.Status)
	}
}

func TestResumesWhenConsentAlreadyRecorded(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.store.UpdateProvider(ctx, "acct-1", e.p.ID, func(p *provider.Provider) error {
		p.Status, p.TenantID = provider.StatusAwaitingOwnerAccess, "tenant-guid"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out, err := e.run(t, "token-x")
	if err != nil || out.Sent != "resume" {
		t.Fatalf("Handle = %+v, %v", out, err)
	}
	if len(e.tasks.Succeeded) != 1 || e.tasks.Succeeded[0] != "token-x" || e.tasks.Outputs[0].(workflow.ConsentResult).TenantID != "tenant-guid" {
		t.Fatalf("resumed %v with %v", e.tasks.Succeeded, e.tasks.Outputs)
	}
	if len(e.mailer.Sent) != 0 {
		t.Fatal("an email was sent after consent")
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(e *env)
		token   string
		want    string
	}{
		{"missing token", func(*env) {}, "", "InvalidInput"},
		{"cancelled provider", func(e *env) {
			e.store.UpdateProvider(context.Background(), "acct-1", e.p.ID, func(p *provider.Provider) error { p.Status = provider.StatusCancelled; return nil })
		}, "t", "InvalidInput"},
		{"SES refuses the address", func(e *env) { e.mailer.Err = apperr.New(apperr.EmailRejected, "rejected") }, "t", "EmailRejected"},
		{"SES throttles", func(e *env) { e.mailer.Err = apperr.New(apperr.Unavailable, "slow down") }, "t", "TransientError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.prepare(e)
			_, err := e.run(t, tt.token)
			if got := workflow.ErrorName(err); got != tt.want {
				t.Fatalf("error %v (%s), want %s", err, got, tt.want)
			}
		})
	}
}

func TestRetryAfterMailFailureSendsTheSameLink(t *testing.T) {
	e := newEnv(t)
	e.mailer.Err = apperr.New(apperr.Unavailable, "throttled")
	if _, err := e.run(t, "t1"); err == nil {
		t.Fatal("expected the transient error")
	}
	e.mailer.Err = nil
	if _, err := e.run(t, "t2"); err != nil {
		t.Fatal(err)
	}
	p, _ := e.store.GetProvider(context.Background(), "acct-1", e.p.ID)
	link := linkRE.FindStringSubmatch(e.mailer.Sent[0].Text)
	if link == nil || consent.Hash(link[1]) != p.Invitation.Hash || len(e.mailer.Sent) != 1 {
		t.Fatalf("after a retry: %d mails, link %v", len(e.mailer.Sent), link)
	}
	if p.Invitation.SentAt == nil {
		t.Fatal("sentAt not recorded after the successful retry")
	}
}

// TestFailedReminderKeepsTheEarlierOne: a second reminder whose send fails
// gives back only its own claim; the first reminder's event stays, and the
// retry folds into it again.
func TestFailedReminderKeepsTheEarlierOne(t *testing.T) {
	e := newEnv(t)
	day := 24 * time.Hour
	for _, at := range []time.Duration{0, 3 * day} {
		e.now = t0.Add(at)
		if _, err := e.run(t, "t"); err != nil {
			t.Fatal(err)
		}
	}
	e.now = t0.Add(7 * day)
	e.mailer.Err = apperr.New(apperr.Unavailable, "throttled")
	if _, err := e.run(t, "t"); workflow.ErrorName(err) != "TransientError" {
		t.Fatalf("failed send: %v", err)
	}
	p, _ := e.store.GetProvider(context.Background(), "acct-1", e.p.ID)
	if len(p.Timeline) != 2 || p.Timeline[1].Occurrences() != 1 || !p.Timeline[1].At.Equal(t0.Add(3*day)) || p.Invitation.RemindersSent != 1 {
		t.Fatalf("after the failed reminder: reminders %d, timeline %+v", p.Invitation.RemindersSent, p.Timeline)
	}
	e.mailer.Err = nil
	e.now = t0.Add(7*day + time.Minute)
	if out, err := e.run(t, "t"); err != nil || out.Sent != "reminder" {
		t.Fatalf("retry: %+v, %v", out, err)
	}
	p, _ = e.store.GetProvider(context.Background(), "acct-1", e.p.ID)
	if len(e.mailer.Sent) != 3 || len(p.Timeline) != 2 || p.Timeline[1].Count != 2 || p.Invitation.RemindersSent != 2 {
		t.Fatalf("after the retry: %d mails, reminders %d, timeline %+v", len(e.mailer.Sent), p.Invitation.RemindersSent, p.Timeline)
	}
}

// TestEvent runs the sam local invoke event through the handler.
func TestEvent(t *testing.T) {
	raw, err := os.ReadFile("../../events/consent-invite.json")
	if err != nil {
		t.Fatal(err)
	}
	var in workflow.InviteInput
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || in.TaskToken == "" || in.ExecutionARN == "" {
		t.Fatalf("event does not decode into the task input: %v", err)
	}
	e := newEnv(t)
	in.AccountID, in.ProviderID = "acct-1", e.p.ID
	out, err := e.h.Handle(context.Background(), in)
	if err != nil || out.Sent != "invitation" {
		t.Fatalf("Handle = %+v, %v", out, err)
	}
}

// TestResumesFromAClosedInvitation covers a callback that closed the
// invitation but could not resume the wait: the next run resumes it.
func TestResumesFromAClosedInvitation(t *testing.T) {
	tests := []struct {
		close    consent.Status
		wantErr  string
		resumeTo string
	}{
		{consent.StatusConsented, "", "tenant-9"},
		{consent.StatusDeclined, "ConsentDeclined", ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.close), func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			if _, err := e.run(t, "t1"); err != nil {
				t.Fatal(err)
			}
			p, _ := e.store.GetProvider(ctx, "acct-1", e.p.ID)
			if _, err := e.store.CloseInvitation(ctx, p.Invitation.Hash, tt.close, "tenant-9"); err != nil {
				t.Fatal(err)
			}
			e.now = e.now.Add(24 * time.Hour)
			_, err := e.run(t, "t2")
			if got := workflow.ErrorName(err); err != nil && got != tt.wantErr || err == nil && tt.wantErr != "" {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if tt.resumeTo != "" {
				if len(e.tasks.Succeeded) != 1 || e.tasks.Succeeded[0] != "t2" || e.tasks.Outputs[0].(workflow.ConsentResult).TenantID != tt.resumeTo {
					t.Fatalf("resumed %v %v", e.tasks.Succeeded, e.tasks.Outputs)
				}
				q, _ := e.store.GetProvider(ctx, "acct-1", e.p.ID)
				if q.Status != provider.StatusAwaitingCustomer || q.TenantID != tt.resumeTo || !strings.Contains(q.Timeline[len(q.Timeline)-1].What, "consented in tenant") {
					t.Fatalf("the consent was not recorded on the provider: %s %+v", q.Status, q.Timeline)
				}
			}
		})
	}
}

// TestOverlappingRunsSendOnce: a slow run and the next poll (or a retry)
// overlapping must not both send the invitation.
func TestOverlappingRunsSendOnce(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Losing every optimistic write under this contention is a
			// retryable TransientError; anything else is a bug.
			if _, err := e.run(t, "token-"+string(rune('a'+i))); err != nil && workflow.ErrorName(err) != "TransientError" {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(e.mailer.Sent) != 1 {
		t.Fatalf("%d emails sent by overlapping runs, want 1", len(e.mailer.Sent))
	}
	p, _ := e.store.GetProvider(context.Background(), "acct-1", e.p.ID)
	if len(p.Timeline) != 1 {
		t.Fatalf("timeline %+v, want one sent event", p.Timeline)
	}
}
