package check

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/fakes"
	"github.com/partnercloud/azure/shared/gdap"
	"github.com/partnercloud/azure/shared/partnercenter"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/relationship"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
	"github.com/partnercloud/azure/shared/workflow"
)

const (
	tenant = "8f6e3c1a-0000-4000-8000-00000000c0c0"
	group  = "7a1d2c3b-0000-4000-8000-0000000000a9"
	relID  = "rel-1"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// microsoft plays Partner Center and Graph.
type microsoft struct {
	mu          sync.Mutex
	reseller    string // "" when the tenant is not a customer
	gdapStatus  string
	approvedBy  string
	assignments []gdap.AccessAssignment
	err         error
	made        int
}

func (m *microsoft) Customer(_ context.Context, tenantID string) (partnercenter.CustomerRelationship, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return partnercenter.CustomerRelationship{}, m.err
	}
	if m.reseller == "" {
		return partnercenter.CustomerRelationship{TenantID: tenantID}, nil
	}
	return partnercenter.CustomerRelationship{Found: true, TenantID: tenantID, CustomerID: tenantID, RelationshipToPartner: m.reseller}, nil
}

func (m *microsoft) Get(_ context.Context, id string) (gdap.Relationship, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return gdap.Relationship{}, m.err
	}
	return gdap.Relationship{ID: id, DisplayName: gdap.DisplayName("p"), Status: m.gdapStatus, CustomerTenantID: m.approvedBy, Roles: []string{gdap.DirectoryReaders}, EndAt: t0.AddDate(2, 0, 0)}, nil
}

func (m *microsoft) AccessAssignments(context.Context, string) ([]gdap.AccessAssignment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]gdap.AccessAssignment(nil), m.assignments...), nil
}

func (m *microsoft) EnsureAccessAssignment(_ context.Context, _, groupID string, roles []string) (gdap.AccessAssignment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.made++
	a := gdap.AccessAssignment{ID: "a1", GroupID: groupID, Roles: roles, Status: gdap.AssignmentPending}
	m.assignments = append(m.assignments, a)
	return a, nil
}

type env struct {
	c     *Checker
	s     *store.Store
	ms    *microsoft
	tasks *fakes.Tasks
	p     *provider.Provider
}

func newEnv(t *testing.T, consented bool) *env {
	t.Helper()
	s, _ := storetest.NewTestStore(t)
	ms := &microsoft{gdapStatus: gdap.StatusApprovalPending}
	tasks := &fakes.Tasks{}
	e := &env{s: s, ms: ms, tasks: tasks, c: &Checker{Store: s, PartnerCenter: ms, Graph: ms, Tasks: tasks,
		Want: relationship.Want{GroupID: group, Roles: []string{gdap.DirectoryReaders}}, Deadline: 30 * 24 * time.Hour, Now: func() time.Time { return t0 }}}
	p := &provider.Provider{AccountID: "acct-1", Name: "Contoso", Type: provider.TypeAzure, Option: provider.OptionMigrate, Status: provider.StatusPendingConsent, CreatedBy: "user:u"}
	if err := s.CreateProvider(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	p, err := s.UpdateProvider(context.Background(), "acct-1", p.ID, func(q *provider.Provider) error {
		_, err := q.RecordRelationshipRequest(provider.RelationshipRequest{ID: relID, Status: gdap.StatusApprovalPending, AccessGroupID: group}, t0)
		if consented {
			q.RecordConsent(tenant, "sp", t0)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.p = p
	return e
}

func (e *env) provider(t *testing.T) *provider.Provider {
	t.Helper()
	p, err := e.s.GetProvider(context.Background(), "acct-1", e.p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheck: what each check records, which token it keeps, and how it
// ends the wait.
func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name        string
		consented   bool
		setup       func(*microsoft)
		token       string
		wantOutcome relationship.Outcome
		wantKept    string
		wantSucceed []string
		wantFail    string
		wantMade    int
	}{
		{"nothing done yet: the wait's token is kept", true, func(m *microsoft) {}, "tok-1",
			relationship.Pending, "tok-1", nil, "", 0},
		{"GDAP approved out of order: the assignment is made, the reseller still missing", true, func(m *microsoft) { m.gdapStatus, m.approvedBy = gdap.StatusActive, tenant }, "tok-1",
			relationship.Pending, "tok-1", nil, "", 1},
		{"everything confirmed: the wait succeeds with its own token", true, func(m *microsoft) {
			m.reseller, m.gdapStatus, m.approvedBy = "Reseller", gdap.StatusActive, tenant
			m.assignments = []gdap.AccessAssignment{{ID: "a1", GroupID: group, Status: gdap.AssignmentActive}}
		}, "tok-1", relationship.Confirmed, "", []string{"tok-1"}, "", 0},
		{"terminated: the wait fails with the named error", true, func(m *microsoft) { m.gdapStatus = gdap.StatusTerminated }, "tok-1",
			relationship.Failed, "", nil, "RelationshipTerminated", 0},
		{"expired", true, func(m *microsoft) { m.gdapStatus = gdap.StatusExpired }, "tok-1",
			relationship.Failed, "", nil, "RelationshipExpired", 0},
		{"approved in another tenant", true, func(m *microsoft) {
			m.reseller, m.gdapStatus, m.approvedBy = "reseller", gdap.StatusActive, "other-tenant"
		}, "tok-1",
			relationship.Failed, "", nil, "RelationshipRejected", 0},
		{"a webhook before consent records and resumes nothing", false, func(m *microsoft) { m.gdapStatus = gdap.StatusActive }, "",
			relationship.Pending, "", nil, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.consented)
			tc.setup(e.ms)
			res, err := e.c.Check(context.Background(), e.p, tc.token)
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tc.wantOutcome {
				t.Errorf("outcome %s, want %s (%+v)", res.Outcome, tc.wantOutcome, res)
			}
			p := e.provider(t)
			if got := p.RelationshipTask(); got != tc.wantKept {
				t.Errorf("kept token %q, want %q", got, tc.wantKept)
			}
			if len(e.tasks.Succeeded) != len(tc.wantSucceed) || len(tc.wantSucceed) > 0 && e.tasks.Succeeded[0] != tc.wantSucceed[0] {
				t.Errorf("succeeded %v, want %v", e.tasks.Succeeded, tc.wantSucceed)
			}
			if tc.wantFail == "" && len(e.tasks.Failed) > 0 || tc.wantFail != "" && (len(e.tasks.Failed) != 1 || e.tasks.Failed[0].Name != tc.wantFail || e.tasks.Failed[0].Token != tc.token) {
				t.Errorf("failed %+v, want %q", e.tasks.Failed, tc.wantFail)
			}
			if e.ms.made != tc.wantMade {
				t.Errorf("%d assignments made, want %d", e.ms.made, tc.wantMade)
			}
			if p.Relationships.GDAPObservedAt == nil || !p.Relationships.GDAPObservedAt.Equal(t0) || p.Relationships.GDAP.Status != e.ms.gdapStatus {
				t.Errorf("GDAP not recorded: %+v", p.Relationships)
			}
			if tc.consented && p.Relationships.ResellerObservedAt == nil {
				t.Errorf("the reseller relationship was not recorded after consent")
			}
			if !tc.consented && (p.Status != provider.StatusPendingConsent || p.Relationships.ResellerObservedAt != nil) {
				t.Errorf("before consent: status %s, reseller observed %v", p.Status, p.Relationships.ResellerObservedAt)
			}
		})
	}
}

// TestWebhookUsesKeptToken: a check without a token of its own (the
// webhook) that confirms everything resumes the wait with the token the
// workflow's check kept; twice is harmless (the second finds the token
// gone); a check of the workflow after it succeeds with its own token.
func TestWebhookUsesKeptToken(t *testing.T) {
	e := newEnv(t, true)
	if _, err := e.c.Check(context.Background(), e.p, "tok-1"); err != nil {
		t.Fatal(err)
	}
	e.ms.reseller, e.ms.gdapStatus, e.ms.approvedBy = "reseller", gdap.StatusActive, tenant
	e.ms.assignments = []gdap.AccessAssignment{{ID: "a1", GroupID: group, Status: gdap.AssignmentActive}}
	res, err := e.c.Check(context.Background(), e.provider(t), "")
	if err != nil || res.Outcome != relationship.Confirmed || !res.Resumed {
		t.Fatalf("webhook check: %+v %v", res, err)
	}
	if len(e.tasks.Succeeded) != 1 || e.tasks.Succeeded[0] != "tok-1" {
		t.Fatalf("resumed %v", e.tasks.Succeeded)
	}
	e.tasks.Errs = []error{workflow.ErrTaskGone}
	if res, err := e.c.Check(context.Background(), e.provider(t), ""); err != nil || res.Resumed {
		t.Fatalf("a duplicate event: %+v %v", res, err)
	}
	e.tasks.Errs = nil
	if _, err := e.c.Check(context.Background(), e.provider(t), "tok-2"); err != nil || e.tasks.Succeeded[len(e.tasks.Succeeded)-1] != "tok-2" {
		t.Fatalf("the workflow's next check: %v %v", err, e.tasks.Succeeded)
	}
}

// TestDeadlineAndFaults: past the deadline the wait fails
// (RelationshipDeadlineExceeded, recorded as the failure code); a fault of
// Microsoft is returned as it is (transient), and nothing is recorded.
func TestDeadlineAndFaults(t *testing.T) {
	e := newEnv(t, true)
	if _, err := e.c.Check(context.Background(), e.p, "tok-1"); err != nil {
		t.Fatal(err)
	}
	e.c.Now = func() time.Time { return t0.Add(30 * 24 * time.Hour) }
	res, err := e.c.Check(context.Background(), e.provider(t), "tok-2")
	if err != nil || res.Outcome != relationship.Failed || len(e.tasks.Failed) != 1 || e.tasks.Failed[0].Name != "RelationshipDeadlineExceeded" {
		t.Fatalf("deadline: %+v %v %+v", res, err, e.tasks.Failed)
	}
	if got := e.provider(t).RelationshipFailureCode(); got != string(apperr.RelationshipDeadlineExceeded) {
		t.Errorf("failure code %q", got)
	}

	f := newEnv(t, true)
	f.ms.err = gdap.ErrUnavailable
	before := f.provider(t).Version
	if _, err := f.c.Check(context.Background(), f.p, "tok-1"); !errors.Is(err, gdap.ErrUnavailable) || workflow.ErrorName(err) != "TransientError" {
		t.Fatalf("fault: %v (%s)", err, workflow.ErrorName(err))
	}
	if f.provider(t).Version != before {
		t.Error("a failed check wrote the provider")
	}
}
