package notice

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/fakes"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/relationship"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
	"github.com/partnercloud/azure/shared/workflow"
)

const (
	subA = "11111111-1111-1111-1111-111111111111"
	subB = "22222222-2222-2222-2222-222222222222"
)

var t0 = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

type env struct {
	s      *store.Store
	mailer *fakes.Mailer
	relay  *Relay
	p      *provider.Provider
}

// newEnv stores a migration waiting for Owner access with the given
// notices pending.
func newEnv(t *testing.T, kinds ...provider.NoticeKind) *env {
	t.Helper()
	s, _ := storetest.NewTestStore(t)
	e := &env{s: s, mailer: &fakes.Mailer{}}
	e.p = &provider.Provider{AccountID: "acct-1", Name: "Contoso", Type: provider.TypeAzure, Option: provider.OptionMigrate,
		Status: provider.StatusAwaitingOwnerAccess, TenantID: "tenant-1", CreatedBy: "user:u", ConsentedAt: &t0,
		PrincipalID: "sp-oid", PartnerAppName: "Partner Cloud for Azure",
		Subscriptions: []provider.Subscription{{ID: subA, State: provider.SubscriptionOwned, DisplayName: "Contoso Production"}, {ID: subB, State: provider.SubscriptionMissingOwner}},
		OwnershipWait: &provider.OwnershipWait{StartedAt: t0, Deadline: t0.Add(30 * 24 * time.Hour)},
		Relationships: &provider.Relationships{GDAPID: "rel-1", Reseller: "none", ResellerURL: "https://admin.example/reseller",
			GDAP: relationship.GDAP{ID: "rel-1", Status: relationship.GDAPApprovalPending}, Wait: &provider.StepWait{StartedAt: t0, Deadline: t0.Add(30 * 24 * time.Hour)}},
	}
	for i, k := range kinds {
		en := e.p.Enqueue(k, t0.Add(time.Duration(i)*time.Second))
		if k == provider.NoticeCustomerStuck {
			en.Step = provider.StepReseller
			since := t0.Add(-80 * time.Hour)
			en.Since = &since
		}
	}
	if err := s.CreateProvider(context.Background(), e.p, nil); err != nil {
		t.Fatal(err)
	}
	e.relay = &Relay{Store: s, Mailer: e.mailer, Brand: mail.Brand{PartnerName: "P", ContactEmail: "c@p.example"},
		Representatives: "reps@partner.example", Now: func() time.Time { return t0.Add(time.Hour) }}
	return e
}

func (e *env) stored(t *testing.T) *provider.Provider {
	t.Helper()
	p, err := e.s.GetProvider(context.Background(), "acct-1", e.p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDeliverSendsAndRemoves(t *testing.T) {
	e := newEnv(t, provider.NoticeOwnerWaitStarted, provider.NoticeCustomerStuck)
	if err := e.relay.Deliver(context.Background(), "acct-1", e.p.ID); err != nil {
		t.Fatal(err)
	}
	if p := e.stored(t); len(p.Outbox) != 0 || p.OutboxSince != nil {
		t.Fatalf("outbox after delivery: %+v", p.Outbox)
	}
	if len(e.mailer.Sent) != 2 || e.mailer.Sent[0].To != "reps@partner.example" ||
		!strings.HasPrefix(e.mailer.Sent[0].Subject, "Migration waiting for Owner access: Contoso") ||
		!strings.HasPrefix(e.mailer.Sent[1].Subject, "Customer stuck on a step: Contoso") {
		t.Fatalf("sent %+v", e.mailer.Sent)
	}
	// Delivered again (the stream delivers at least once): nothing more.
	if err := e.relay.Deliver(context.Background(), "acct-1", e.p.ID); err != nil || len(e.mailer.Sent) != 2 {
		t.Fatalf("a second delivery sent again (%d) or failed: %v", len(e.mailer.Sent), err)
	}
}

func TestDeliverFailures(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		wantErr     bool
		wantPending int
		wantEvent   string
	}{
		{"SES unavailable: stays pending, retried", apperr.New(apperr.Unavailable, "throttled"), true, 1, ""},
		{"address rejected for good: dropped, said on the timeline", apperr.New(apperr.EmailRejected, "rejected"), false, 0, "could not be delivered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, provider.NoticeOwnerDeadlineNear)
			e.mailer.Err = tt.err
			events := len(e.stored(t).Timeline)
			err := e.relay.Deliver(context.Background(), "acct-1", e.p.ID)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			p := e.stored(t)
			if len(p.Outbox) != tt.wantPending {
				t.Fatalf("%d pending, want %d", len(p.Outbox), tt.wantPending)
			}
			if tt.wantEvent != "" && (len(p.Timeline) != events+1 || !strings.Contains(p.Timeline[len(p.Timeline)-1].What, tt.wantEvent)) {
				t.Fatalf("timeline %+v", p.Timeline)
			}
			if tt.wantPending == 1 {
				e.mailer.Err = nil
				if err := e.relay.Deliver(context.Background(), "acct-1", e.p.ID); err != nil || len(e.mailer.Sent) != 1 || len(e.stored(t).Outbox) != 0 {
					t.Fatalf("the retry did not send it: %v, %d sent", err, len(e.mailer.Sent))
				}
			}
		})
	}
}

func TestDeliverProviderGone(t *testing.T) {
	e := newEnv(t)
	if err := e.relay.Deliver(context.Background(), "acct-1", store.NewProviderID(t0)); err != nil {
		t.Fatalf("a provider that no longer exists: %v", err)
	}
	if err := e.relay.Deliver(context.Background(), "acct-other", e.p.ID); err != nil || len(e.mailer.Sent) != 0 {
		t.Fatalf("another account's key: %v, %d sent", err, len(e.mailer.Sent))
	}
}

func TestRender(t *testing.T) {
	e := newEnv(t)
	stuck := provider.OutboxEntry{Kind: provider.NoticeCustomerStuck, At: t0, Step: provider.StepReseller, Since: &t0}
	tests := []struct {
		name    string
		entry   provider.OutboxEntry
		subject string
		want    []string
	}{
		{"wait started", provider.OutboxEntry{Kind: provider.NoticeOwnerWaitStarted, At: t0}, "Migration waiting for Owner access: Contoso",
			[]string{"Contoso Production (" + subA + "): owned", subB + ": missing_owner", "The migration fails on 31 May 2026, 00:00 UTC", "partner principal Partner Cloud for Azure (sp-oid) does not"}},
		{"deadline near", provider.OutboxEntry{Kind: provider.NoticeOwnerDeadlineNear, At: t0}, "Deadline near: Migration waiting for Owner access: Contoso",
			[]string{"fails soon", subB + ": missing_owner"}},
		{"customer stuck", stuck, "Customer stuck on a step: Contoso",
			[]string{"waiting since 1 May 2026, 00:00 UTC for the customer to accept the reseller relationship", "accept the reseller relationship: pending (Microsoft reports none) - https://admin.example/reseller", "approve the admin relationship (GDAP): pending (Microsoft reports approvalPending)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Render(e.p, tt.entry, e.relay.Brand, "reps@partner.example")
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != tt.subject || m.To != "reps@partner.example" {
				t.Fatalf("subject %q to %q", m.Subject, m.To)
			}
			for _, w := range tt.want {
				if !strings.Contains(m.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, m.Text)
				}
			}
		})
	}
	if _, err := Render(e.p, provider.OutboxEntry{Kind: "unknown"}, e.relay.Brand, "x@y.example"); err == nil {
		t.Fatal("an unknown kind rendered")
	}
}

// TestRenderHealth: the health notices go to their audience, name what is
// new or cleared, and list the findings with what to do.
func TestRenderHealth(t *testing.T) {
	e := newEnv(t)
	p := *e.p
	p.Status, p.RequesterEmail = provider.StatusActive, "requester@acct-1.example"
	p.Health = &provider.Health{Status: provider.HealthAttention, CheckedAt: t0,
		Findings: []provider.HealthFinding{{What: "Admin consent is gone.", Since: t0, Do: "Grant it again."}}}
	end := t0.Add(7 * 24 * time.Hour)
	tests := []struct {
		name    string
		entry   provider.OutboxEntry
		to      string
		subject string
		want    []string
	}{
		{"attention to the representatives", provider.OutboxEntry{Kind: provider.NoticeHealthAttention, Audience: provider.AudienceRepresentatives, Findings: []string{"Admin consent is gone."}},
			"reps@partner.example", "Azure provider needs attention: Contoso", []string{"stays active", "Admin consent is gone.", "What to do: Grant it again."}},
		{"attention to the requester", provider.OutboxEntry{Kind: provider.NoticeHealthAttention, Audience: provider.AudienceRequester, Findings: []string{"Admin consent is gone."}},
			"requester@acct-1.example", "Azure provider needs attention: Contoso", []string{"Admin consent is gone."}},
		{"cleared", provider.OutboxEntry{Kind: provider.NoticeHealthCleared, Audience: provider.AudienceRequester, Findings: []string{"Admin consent is gone."}},
			"requester@acct-1.example", "Azure provider healthy again: Contoso", []string{"no longer found", "Admin consent is gone."}},
		{"admin relationship ending", provider.OutboxEntry{Kind: provider.NoticeGDAPEnding, Audience: provider.AudienceRepresentatives, EndsAt: &end},
			"reps@partner.example", "Admin relationship ending: Contoso", []string{"ends on 8 May 2026, 00:00 UTC", "does not extend automatically"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Render(&p, tt.entry, e.relay.Brand, "reps@partner.example")
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != tt.subject || m.To != tt.to {
				t.Fatalf("subject %q to %q", m.Subject, m.To)
			}
			for _, w := range tt.want {
				if !strings.Contains(m.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, m.Text)
				}
			}
		})
	}
	p.RequesterEmail = ""
	if _, err := Render(&p, provider.OutboxEntry{Kind: provider.NoticeHealthCleared, Audience: provider.AudienceRequester}, e.relay.Brand, "reps@partner.example"); err == nil {
		t.Fatal("a requester notice without the requester's address rendered")
	}
}

// TestDeliverStartsWorkflow: a start_workflow entry starts the execution of
// the provider's option (named from the provider, so a second start finds
// the first) and records it with the entry's removal, sending no email; a
// Step Functions fault leaves it pending; a provider that ended before its
// start is not started.
func TestDeliverStartsWorkflow(t *testing.T) {
	const migration, newCustomer = "arn:aws:states:us-east-1:1:stateMachine:m", "arn:aws:states:us-east-1:1:stateMachine:n"
	tests := []struct {
		name      string
		option    provider.Option
		status    provider.Status
		fault     bool
		wantStart string // the state machine started, "" for none
	}{
		{"migration", provider.OptionMigrate, provider.StatusPendingConsent, false, migration},
		{"new customer", provider.OptionNew, provider.StatusProvisioning, false, newCustomer},
		{"Step Functions unavailable: stays pending", provider.OptionMigrate, provider.StatusPendingConsent, true, migration},
		{"cancelled before its start", provider.OptionMigrate, provider.StatusCancelled, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := storetest.NewTestStore(t)
			p := &provider.Provider{AccountID: "acct-1", Name: "Contoso", Type: provider.TypeAzure, Option: tt.option, Status: tt.status, CreatedBy: "user:u"}
			p.Enqueue(provider.NoticeStartWorkflow, t0)
			if err := s.CreateProvider(context.Background(), p, nil); err != nil {
				t.Fatal(err)
			}
			mailer := &fakes.Mailer{}
			flows := map[provider.Option]*fakes.Executions{
				provider.OptionMigrate: {StateMachineARN: migration},
				provider.OptionNew:     {StateMachineARN: newCustomer},
			}
			if tt.fault {
				flows[tt.option].Err = apperr.New(apperr.Unavailable, "throttled")
			}
			relay := &Relay{Store: s, Mailer: mailer, Now: func() time.Time { return t0 },
				Workflows: map[provider.Option]Starter{provider.OptionMigrate: flows[provider.OptionMigrate], provider.OptionNew: flows[provider.OptionNew]}}
			err := relay.Deliver(context.Background(), "acct-1", p.ID)
			stored, gerr := s.GetProvider(context.Background(), "acct-1", p.ID)
			if gerr != nil {
				t.Fatal(gerr)
			}
			started := map[string]int{migration: len(flows[provider.OptionMigrate].Inputs), newCustomer: len(flows[provider.OptionNew].Inputs)}
			switch {
			case len(mailer.Sent) != 0:
				t.Fatalf("sent %d emails", len(mailer.Sent))
			case tt.wantStart == "" && (started[migration]+started[newCustomer] != 0 || len(stored.Outbox) != 0 || stored.ExecutionARN != ""):
				t.Fatalf("an ended provider: started %v, outbox %+v, execution %q", started, stored.Outbox, stored.ExecutionARN)
			case tt.wantStart != "" && (started[tt.wantStart] != 1 || started[migration]+started[newCustomer] != 1):
				t.Fatalf("started %v, want one start of %s", started, tt.wantStart)
			case tt.fault && (err == nil || len(stored.Outbox) != 1 || stored.ExecutionARN != ""):
				t.Fatalf("a fault: err %v, outbox %+v, execution %q; want an error and the entry pending", err, stored.Outbox, stored.ExecutionARN)
			case !tt.fault && tt.wantStart != "" && (err != nil || len(stored.Outbox) != 0 || stored.OutboxSince != nil || stored.ExecutionARN != workflow.ExecutionARN(tt.wantStart, p.ID)):
				t.Fatalf("started: err %v, outbox %+v, execution %q", err, stored.Outbox, stored.ExecutionARN)
			}
			if tt.fault {
				// Step Functions is back: the stream's next delivery starts it.
				flows[tt.option].Err = nil
				if err := relay.Deliver(context.Background(), "acct-1", p.ID); err != nil {
					t.Fatal(err)
				}
				if stored, _ := s.GetProvider(context.Background(), "acct-1", p.ID); len(stored.Outbox) != 0 || stored.ExecutionARN != workflow.ExecutionARN(migration, p.ID) {
					t.Fatalf("after the retry: outbox %+v, execution %q", stored.Outbox, stored.ExecutionARN)
				}
			}
		})
	}
}

// TestRenderMoveFailedHalfWay: the notices of a subscription whose move
// failed half-way go to the representatives and to the customer's Azure
// administrator (who owns the resources; not the billing administrator),
// with Microsoft's code and message and what moved and what did not.
func TestRenderMoveFailedHalfWay(t *testing.T) {
	p := &provider.Provider{ID: "prv-1", Name: "Contoso", Status: provider.StatusConsolidating,
		AzureAdminEmail: "admin@contoso.example", BillingAdminEmail: "billing@contoso.example",
		Subscriptions: []provider.Subscription{{ID: subA, DisplayName: "Contoso Production", Route: "move_resources", State: provider.SubscriptionMoving}},
		MovePlan: &provider.MovePlan{Version: 1, Target: subB, ApprovedAt: &t0, Subscriptions: []provider.SubscriptionMove{{SubscriptionID: subA, Groups: []provider.GroupMove{
			{Name: "web", Moves: []string{"w1", "w2", "w3"}, State: provider.GroupMoving},
		}}}},
	}
	if err := p.RecordMoveFailure(subA, "web", provider.BlockedResource{Code: "ResourceMoveFailed", Message: "The batch move job failed."},
		provider.MovePlaces{InTarget: []string{"w1"}, InSource: []string{"w2", "w3"}}, t0); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ audience, to string }{
		{provider.AudienceRepresentatives, "reps@partner.example"},
		{provider.AudienceCustomer, "admin@contoso.example"},
	} {
		m, err := Render(p, provider.OutboxEntry{Kind: provider.NoticeBillingFailed, Audience: tt.audience, Subscription: subA, At: t0}, mail.Brand{PartnerName: "P", ContactEmail: "c@p.example"}, "reps@partner.example")
		if err != nil {
			t.Fatal(err)
		}
		if m.To != tt.to || !strings.Contains(m.Subject, "Contoso Production") {
			t.Errorf("%s: to %q, subject %q", tt.audience, m.To, m.Subject)
		}
		for _, w := range []string{"The batch move job failed (ResourceMoveFailed)", "1 of its 3 resources moved", "1 of the 3 resources of resource group web are now in the partner's Azure plan subscription and billed by the partner"} {
			if !strings.Contains(m.Text, w) {
				t.Errorf("%s: text lacks %q:\n%s", tt.audience, w, m.Text)
			}
		}
		if strings.Contains(m.Text, "Nothing changed") {
			t.Errorf("%s: says nothing changed after a part moved:\n%s", tt.audience, m.Text)
		}
	}
}
