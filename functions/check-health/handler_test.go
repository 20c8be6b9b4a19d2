package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/gdap"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/partnercenter"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
	"github.com/partnercloud/azure/shared/workflow"
)

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

const (
	tenant = "tenant-1"
	subA   = "11111111-1111-1111-1111-111111111111"
	group  = "group-1"
)

// Fakes of the adapters: a function field per method; nil answers as a
// healthy tenant does.
type fakeAzure struct {
	consent func() error
	checks  int
}

func (f *fakeAzure) ConfirmConsent(context.Context, string) error {
	if f.consent != nil {
		return f.consent()
	}
	return nil
}

func (f *fakeAzure) Check(_ context.Context, _, principal string, subs []string) (ownership.Result, error) {
	f.checks++
	res := ownership.Result{PrincipalID: principal}
	for _, s := range subs {
		res.Subscriptions = append(res.Subscriptions, provider.Subscription{ID: s, State: provider.SubscriptionOwned})
	}
	return res, nil
}

type fakePartnerCenter struct {
	relationship string
	err          error
	billed       []partnercenter.AzureEntitlement
}

func (f *fakePartnerCenter) Customer(_ context.Context, tid string) (partnercenter.CustomerRelationship, error) {
	if f.err != nil {
		return partnercenter.CustomerRelationship{}, f.err
	}
	return partnercenter.CustomerRelationship{Found: f.relationship != "", TenantID: tid, RelationshipToPartner: f.relationship}, nil
}

func (f *fakePartnerCenter) AzureEntitlements(context.Context, string) ([]partnercenter.AzureEntitlement, error) {
	return f.billed, nil
}

type fakeGraph struct{ status, assignment string }

func (f *fakeGraph) Get(_ context.Context, id string) (gdap.Relationship, error) {
	return gdap.Relationship{ID: id, Status: f.status, CustomerTenantID: tenant, AutoExtend: "P180D", EndAt: t0.Add(700 * 24 * time.Hour)}, nil
}

func (f *fakeGraph) AccessAssignments(context.Context, string) ([]gdap.AccessAssignment, error) {
	return []gdap.AccessAssignment{{ID: "a1", GroupID: "GROUP-1", Status: f.assignment}}, nil
}

type fakeCredentials struct{ err error }

func (f *fakeCredentials) Prove(context.Context, string, string, string, string) error { return f.err }

var (
	_ Azure         = (*fakeAzure)(nil)
	_ PartnerCenter = (*fakePartnerCenter)(nil)
	_ Graph         = (*fakeGraph)(nil)
	_ Credentials   = (*fakeCredentials)(nil)
	_ Azure         = (*ownership.Azure)(nil)
	_ PartnerCenter = (*partnercenter.Client)(nil)
	_ Graph         = (*gdap.Client)(nil)
	_ Credentials   = (*ownership.CustomerCredentials)(nil)
	_ Store         = (*store.Store)(nil)
)

type env struct {
	h     *Handler
	s     *store.Store
	azure *fakeAzure
	pc    *fakePartnerCenter
	graph *fakeGraph
	creds *fakeCredentials
	now   time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s, _ := storetest.NewTestStore(t)
	e := &env{s: s, azure: &fakeAzure{}, pc: &fakePartnerCenter{relationship: "Reseller"}, graph: &fakeGraph{status: "active", assignment: "active"}, creds: &fakeCredentials{}, now: t0}
	e.h = &Handler{Store: s, Azure: e.azure, PartnerCenter: e.pc, Graph: e.graph, Credentials: e.creds, WantGroup: group,
		Secret: func(context.Context, string) ([]byte, error) { return []byte("s3cret"), nil },
		Now:    func() time.Time { return e.now }}
	return e
}

// add stores a provider of the option in status st.
func (e *env) add(t *testing.T, account string, opt provider.Option, st provider.Status) store.ProviderRef {
	t.Helper()
	p := &provider.Provider{AccountID: account, Name: fmt.Sprintf("P %s %d", account, time.Now().UnixNano()), Type: provider.TypeAzure, Option: opt, Status: st,
		TenantID: tenant, PrincipalID: "sp-1", CreatedBy: "user:u", RequesterEmail: "requester@" + account + ".example",
		Subscriptions: []provider.Subscription{{ID: subA, State: provider.SubscriptionOwned}}}
	switch opt {
	case provider.OptionMigrate:
		p.Relationships = &provider.Relationships{GDAPID: "rel-1"}
	case provider.OptionExisting:
		p.ClientID, p.CredentialSecretARN = "client-1", "arn:secret"
	case provider.OptionNew:
		p.CustomerID = "customer-1"
		p.RecordPlanSubscriptions([]provider.PlanSubscription{{ID: subA, PlanID: "plan-1"}}, t0)
	}
	if err := e.s.CreateProvider(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	return store.ProviderRef{AccountID: account, ProviderID: p.ID}
}

func (e *env) check(t *testing.T, refs ...store.ProviderRef) CheckOutput {
	t.Helper()
	out, err := e.h.Handle(context.Background(), Input{Step: "check", Providers: refs})
	if err != nil {
		t.Fatal(err)
	}
	return out.(CheckOutput)
}

func (e *env) stored(t *testing.T, r store.ProviderRef) *provider.Provider {
	t.Helper()
	p, err := e.s.GetProvider(context.Background(), r.AccountID, r.ProviderID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func outbox(p *provider.Provider) []string {
	var out []string
	for _, en := range p.Outbox {
		out = append(out, string(en.Kind)+"/"+en.Audience)
	}
	return out
}

// TestPage: the pages list every active provider once, in batches of at
// most ten, with the wait that spreads the pages over 80% of the interval.
func TestPage(t *testing.T) {
	e := newEnv(t)
	active := map[string]bool{}
	for i := range 205 {
		r := e.add(t, fmt.Sprintf("acct-%d", i%7), provider.OptionMigrate, provider.StatusActive)
		active[r.ProviderID] = true
	}
	e.add(t, "acct-x", provider.OptionMigrate, provider.StatusAwaitingCustomer)
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		raw, err := e.h.Handle(context.Background(), Input{Step: "page", IntervalMinutes: 1440, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		out := raw.(PageOutput)
		pages++
		if pages == 1 && out.Total != 205 {
			t.Errorf("total %d, want 205", out.Total)
		}
		for _, b := range out.Batches {
			if len(b) == 0 || len(b) > batchSize {
				t.Fatalf("batch of %d", len(b))
			}
			for _, r := range b {
				if seen[r.ProviderID] || !active[r.ProviderID] {
					t.Fatalf("provider %s listed twice or not active", r.ProviderID)
				}
				seen[r.ProviderID] = true
			}
		}
		if out.Next == "" {
			if out.WaitSeconds != 0 {
				t.Errorf("last page waits %d", out.WaitSeconds)
			}
			break
		}
		// 3 pages over 80% of a day.
		if want := 1440 * 60 * 8 / 10 / 3; out.WaitSeconds != want {
			t.Errorf("page %d waits %d s, want %d", pages, out.WaitSeconds, want)
		}
		cursor = out.Next
	}
	if pages != 3 || len(seen) != 205 {
		t.Fatalf("%d pages, %d providers", pages, len(seen))
	}

	for _, in := range []Input{{Step: "page"}, {Step: "page", Cursor: "bad"}, {Step: "check"}, {Step: "other"},
		{Step: "check", Providers: make([]store.ProviderRef, 11)}} {
		_, err := e.h.Handle(context.Background(), in)
		var invalid *workflow.InvalidInput
		if !errors.As(err, &invalid) {
			t.Errorf("input %+v: %v, want InvalidInput", in, err)
		}
	}
}

// TestCheckMigration: a migrated provider's consent revoked, then granted
// again: attention with the finding and two emails, then ok with two more.
func TestCheckMigration(t *testing.T) {
	e := newEnv(t)
	r := e.add(t, "acct-1", provider.OptionMigrate, provider.StatusActive)

	if out := e.check(t, r); out.Checked != 1 || out.Attention != 0 {
		t.Fatalf("healthy: %+v", out)
	}
	p := e.stored(t, r)
	if p.Health == nil || p.Health.Status != provider.HealthOK || len(p.Outbox) != 0 || e.azure.checks != 1 {
		t.Fatalf("healthy: health %+v, outbox %v, owner checks %d", p.Health, outbox(p), e.azure.checks)
	}

	e.now = t0.Add(24 * time.Hour)
	e.azure.consent = func() error { return fmt.Errorf("%w (AADSTS700016)", ownership.ErrConsentRevoked) }
	if out := e.check(t, r); out.Attention != 1 {
		t.Fatalf("revoked: %+v", out)
	}
	p = e.stored(t, r)
	if p.Health.Status != provider.HealthAttention || len(p.Health.Findings) != 1 || !strings.Contains(p.Health.Findings[0].What, "Admin consent") ||
		!p.Health.Findings[0].Since.Equal(e.now) || p.Status != provider.StatusActive {
		t.Fatalf("revoked: status %s, health %+v", p.Status, p.Health)
	}
	if got := strings.Join(outbox(p), ","); got != "health_attention/representatives,health_attention/requester" {
		t.Fatalf("outbox %s", got)
	}
	if e.azure.checks != 1 {
		t.Errorf("Owner checked without a token in the tenant (%d checks)", e.azure.checks)
	}

	// Checked again the next day: the same finding, no new email.
	e.now = t0.Add(48 * time.Hour)
	e.check(t, r)
	if p = e.stored(t, r); len(p.Outbox) != 2 || !p.Health.Findings[0].Since.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("repeat: outbox %v, findings %+v", outbox(p), p.Health.Findings)
	}

	e.azure.consent = nil
	e.now = t0.Add(72 * time.Hour)
	e.check(t, r)
	p = e.stored(t, r)
	if p.Health.Status != provider.HealthOK || len(p.Health.Findings) != 0 || len(p.Outbox) != 4 || p.Outbox[3].Kind != provider.NoticeHealthCleared {
		t.Fatalf("cleared: health %+v, outbox %v", p.Health, outbox(p))
	}
}

// TestCheckFindingsByOption: what each option checks, and what it skips.
func TestCheckFindingsByOption(t *testing.T) {
	for _, tt := range []struct {
		name   string
		option provider.Option
		break_ func(*env)
		want   string // part of the one finding, "" for none
	}{
		{"migrate: reseller gone", provider.OptionMigrate, func(e *env) { e.pc.relationship = "" }, "relationshipToPartner: none"},
		{"migrate: gdap terminated", provider.OptionMigrate, func(e *env) { e.graph.status = "terminated" }, "is terminated"},
		{"migrate: assignment deleted", provider.OptionMigrate, func(e *env) { e.graph.assignment = "deleted" }, "group-1"},
		{"existing: credentials refused", provider.OptionExisting, func(e *env) { e.creds.err = fmt.Errorf("%w (AADSTS7000215)", ownership.ErrInvalidClientSecret) }, "invalid_client_secret"},
		{"existing: no reseller or consent checked", provider.OptionExisting, func(e *env) {
			e.pc.relationship = ""
			e.azure.consent = func() error { return ownership.ErrConsentRevoked }
		}, ""},
		{"new: plan subscription suspended", provider.OptionNew, func(e *env) {
			e.pc.billed = []partnercenter.AzureEntitlement{{ID: strings.ToUpper(subA), Status: "suspended", PlanID: "plan-1"}}
		}, "shows it suspended"},
		{"new: the plan's subscription no longer listed", provider.OptionNew, func(e *env) {
			e.pc.billed = []partnercenter.AzureEntitlement{{ID: "plan-1", Status: "active", PlanID: "plan-1"}}
		}, "shows it not listed"},
		{"new: active plan subscription, no consent checked", provider.OptionNew, func(e *env) {
			e.pc.billed = []partnercenter.AzureEntitlement{{ID: subA, Status: "active", PlanID: "plan-1"}}
			e.azure.consent = func() error { return ownership.ErrConsentRevoked }
		}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.add(t, "acct-1", tt.option, provider.StatusActive)
			tt.break_(e)
			e.check(t, r)
			p := e.stored(t, r)
			switch {
			case tt.want == "" && (p.Health == nil || p.Health.Status != provider.HealthOK):
				t.Fatalf("health %+v, want ok", p.Health)
			case tt.want != "" && (p.Health == nil || len(p.Health.Findings) != 1 || !strings.Contains(p.Health.Findings[0].What, tt.want)):
				t.Fatalf("health %+v, want one finding with %q", p.Health, tt.want)
			}
		})
	}
}

// TestCheckBilling: a migration billed through the partner needs each of
// its subscriptions listed active under the customer's Azure plan; one
// suspended or cancelled is named with its status, a missing one as not
// listed.
func TestCheckBilling(t *testing.T) {
	for _, tt := range []struct {
		name   string
		billed []partnercenter.AzureEntitlement
		want   string // part of the one finding, "" for none
	}{
		{"active", []partnercenter.AzureEntitlement{{ID: strings.ToUpper(subA), Status: "Active"}}, ""},
		{"suspended", []partnercenter.AzureEntitlement{{ID: subA, Status: "suspended"}}, "Partner Center shows it suspended"},
		{"cancelled", []partnercenter.AzureEntitlement{{ID: subA, Status: "inactive"}}, "Partner Center shows it inactive"},
		{"inactive under one plan, active under another", []partnercenter.AzureEntitlement{{ID: subA, Status: "inactive"}, {ID: subA, Status: "active"}}, ""},
		{"not listed", []partnercenter.AzureEntitlement{{ID: "other", Status: "active"}}, "Partner Center shows it not listed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.add(t, "acct-1", provider.OptionMigrate, provider.StatusActive)
			if _, err := e.s.UpdateProvider(context.Background(), r.AccountID, r.ProviderID, func(p *provider.Provider) error {
				p.Billing = provider.BillingConsolidated
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			e.pc.billed = tt.billed
			e.check(t, r)
			p := e.stored(t, r)
			switch {
			case tt.want == "" && (p.Health == nil || p.Health.Status != provider.HealthOK):
				t.Fatalf("health %+v, want ok", p.Health)
			case tt.want != "" && (p.Health == nil || len(p.Health.Findings) != 1 || !strings.Contains(p.Health.Findings[0].What, tt.want) ||
				!strings.Contains(p.Health.Findings[0].What, "no longer billed by the partner")):
				t.Fatalf("health %+v, want one finding with %q", p.Health, tt.want)
			}
		})
	}
}

// TestCheckFaults: a provider whose check cannot finish is counted failed
// and nothing is recorded; those gone or no longer active are skipped;
// the others in the batch are checked.
func TestCheckFaults(t *testing.T) {
	e := newEnv(t)
	ok := e.add(t, "acct-1", provider.OptionMigrate, provider.StatusActive)
	waiting := e.add(t, "acct-2", provider.OptionMigrate, provider.StatusAwaitingCustomer)
	gone := store.ProviderRef{AccountID: "acct-3", ProviderID: store.NewProviderID(t0)}
	if out := e.check(t, ok, waiting, gone); out != (CheckOutput{Checked: 1, Skipped: 2}) {
		t.Fatalf("batch %+v", out)
	}

	e.pc.err = apperr.New(apperr.AzureUnavailable, "throttled")
	before := e.stored(t, ok)
	e.now = t0.Add(time.Hour)
	if out := e.check(t, ok); out != (CheckOutput{Failed: 1}) {
		t.Fatalf("unavailable: %+v", out)
	}
	if after := e.stored(t, ok); after.Version != before.Version || !after.Health.CheckedAt.Equal(before.Health.CheckedAt) {
		t.Fatalf("a failed check wrote the provider: version %d → %d", before.Version, after.Version)
	}
}

// TestInputDecodes: the state machine's payloads decode into Input.
func TestInputDecodes(t *testing.T) {
	var in Input
	raw := `{"step":"check","providers":[{"accountId":"a","providerId":"p"}]}`
	if err := json.Unmarshal([]byte(raw), &in); err != nil || in.Step != "check" || len(in.Providers) != 1 || in.Providers[0].AccountID != "a" {
		t.Fatalf("%+v %v", in, err)
	}
}

// TestBatchStart: the pacing restarts once per batch of checks, before its
// first Microsoft call, and not for a page or a refused input.
func TestBatchStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   func(refs []store.ProviderRef) Input
		want []string
	}{
		{name: "a batch of two", in: func(refs []store.ProviderRef) Input { return Input{Step: "check", Providers: refs} },
			want: []string{"start", "consent", "consent"}},
		{name: "a page", in: func([]store.ProviderRef) Input { return Input{Step: "page", IntervalMinutes: 60} }},
		{name: "an empty batch", in: func([]store.ProviderRef) Input { return Input{Step: "check"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			refs := []store.ProviderRef{e.add(t, "acct-1", provider.OptionMigrate, provider.StatusActive), e.add(t, "acct-2", provider.OptionMigrate, provider.StatusActive)}
			var got []string
			e.h.BatchStart = func() { got = append(got, "start") }
			e.azure.consent = func() error { got = append(got, "consent"); return nil }
			_, _ = e.h.Handle(context.Background(), tc.in(refs))
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("calls %v, want %v", got, tc.want)
			}
		})
	}
}
