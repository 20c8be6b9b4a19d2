package consolidate

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/billing"
	"github.com/partnercloud/azure/shared/fakes"
	"github.com/partnercloud/azure/shared/moves"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/partnercenter"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
)

const (
	tenant   = "20000000-0000-4000-8000-000000000001"
	payg     = "20000000-0000-4000-8000-000000000101"
	ea       = "20000000-0000-4000-8000-000000000103"
	vs       = "20000000-0000-4000-8000-000000000104"
	target   = "30000000-0000-4000-8000-000000000001"
	token    = "task-token"
	sourceRG = "/subscriptions/" + payg + "/resourceGroups/web/providers/Microsoft.Web/sites/"
)

var day0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// microsoft plays Resource Manager, Azure billing and Partner Center.
type microsoft struct {
	mu        sync.Mutex
	owner     map[string]bool
	quota     map[string]string
	transfer  billing.Status // the status Azure billing reports
	transfers int            // transfer requests created
	ensureErr error
	billed    []string // subscriptions Partner Center lists under the partner
	orders    int
	moves     int              // moveResources asked
	follow    []moves.Progress // successive answers of Follow
	moveErr   error
}

func (m *microsoft) Check(_ context.Context, _, _ string, ids []string) (ownership.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	res := ownership.Result{PrincipalID: "sp"}
	if len(ids) == 0 {
		ids = []string{payg, ea, vs}
	}
	for _, id := range ids {
		st := provider.SubscriptionMissingOwner
		if m.owner[id] {
			st = provider.SubscriptionOwned
		}
		res.Subscriptions = append(res.Subscriptions, provider.Subscription{ID: id, State: st, QuotaID: m.quota[id]})
	}
	return res, nil
}

func (m *microsoft) PartnerSubscriptions(context.Context, string) ([]partnercenter.AzureEntitlement, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []partnercenter.AzureEntitlement
	for _, id := range m.billed {
		out = append(out, partnercenter.AzureEntitlement{ID: id, Status: "active"})
	}
	return out, nil
}

func (m *microsoft) OrderAzurePlan(context.Context, string, string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.orders++
	m.billed = append(m.billed, target) // listed at the next read
	return "order-1", nil
}

func (m *microsoft) Ensure(_ context.Context, _, name, _ string) (billing.Transfer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ensureErr != nil {
		return billing.Transfer{}, m.ensureErr
	}
	if m.transfer == "" {
		m.transfer = billing.Pending
		m.transfers++
	}
	return billing.Transfer{Name: name, Status: m.transfer}, nil
}

func (m *microsoft) Cancel(_ context.Context, _, name string) (billing.Transfer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.transfer = billing.Canceled
	return billing.Transfer{Name: name, Status: m.transfer}, nil
}

func (m *microsoft) Inventory(context.Context, string, string) ([]moves.Group, error) {
	return []moves.Group{{Name: "web", Resources: []moves.Resource{{ID: sourceRG + "site"}, {ID: sourceRG + "classic"}}}}, nil
}

func (m *microsoft) EnsureGroup(_ context.Context, _, _, group, to string) (string, error) {
	return "/subscriptions/" + to + "/resourceGroups/" + group, nil
}

func (m *microsoft) Validate(_ context.Context, _, _, _ string, ids []string, _ string) (moves.Report, error) {
	return moves.Report{Moves: ids[:1], Blocked: []moves.Blocked{{ID: ids[1], Code: "ResourceMoveNotSupported", Message: "cannot move"}}, Confirmed: true}, nil
}

func (m *microsoft) Move(context.Context, string, string, string, []string, string) (moves.Progress, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.moveErr != nil {
		return moves.Progress{}, m.moveErr
	}
	m.moves++
	return moves.Progress{Token: "op-1"}, nil
}

func (m *microsoft) Follow(context.Context, string, string, string) (moves.Progress, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.follow) == 0 {
		return moves.Progress{Token: "op-1"}, nil
	}
	p := m.follow[0]
	m.follow = m.follow[1:]
	return p, nil
}

// Locate finds every resource still in the source.
func (m *microsoft) Locate(_ context.Context, _, _, _ string, ids []string, _ string) ([]moves.Placement, error) {
	out := []moves.Placement{}
	for _, id := range ids {
		out = append(out, moves.Placement{ID: id, Where: moves.InSource})
	}
	return out, nil
}

type env struct {
	s     *store.Store
	ms    *microsoft
	tasks *fakes.Tasks
	c     *Consolidator
	id    string
	now   time.Time
}

func newEnv(t *testing.T, subs ...string) *env {
	t.Helper()
	s, _ := storetest.NewTestStore(t)
	ms := &microsoft{owner: map[string]bool{payg: true, target: true}, quota: map[string]string{payg: "PayAsYouGo_2014-09-01", ea: "EnterpriseAgreement_2014-09-01", vs: "MSDN_2014-09-01"}}
	e := &env{s: s, ms: ms, tasks: &fakes.Tasks{}, now: day0}
	e.c = &Consolidator{Store: s, Subscriptions: ms, PartnerCenter: ms, Transfers: ms, Mover: ms, Tasks: e.tasks,
		Deadline: 30 * 24 * time.Hour, Warning: 36 * time.Hour, Portal: "https://portal.example", Now: func() time.Time { return e.now }}
	p := &provider.Provider{AccountID: "acct-1", Name: "Contoso", Type: provider.TypeAzure, Option: provider.OptionMigrate,
		Status: provider.StatusAwaitingCustomer, CreatedBy: "user:u", TenantID: tenant, AzureAdminEmail: "admin@contoso.example"}
	for _, id := range subs {
		p.Subscriptions = append(p.Subscriptions, provider.Subscription{ID: id, State: provider.SubscriptionPending})
	}
	if err := s.CreateProvider(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	e.id = p.ID
	return e
}

func (e *env) provider(t *testing.T) *provider.Provider {
	t.Helper()
	p, err := e.s.GetProvider(context.Background(), "acct-1", e.id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) advance(t *testing.T, sub string) Result {
	t.Helper()
	res, err := e.c.Advance(context.Background(), e.provider(t), sub, token)
	if err != nil {
		t.Fatalf("advance %s: %v", sub, err)
	}
	return res
}

func (e *env) state(t *testing.T, sub string) provider.SubscriptionState {
	t.Helper()
	s, _ := e.provider(t).Subscription(sub)
	return s.State
}

// TestClassify: each subscription's route from its quota id; those whose
// route ended are not followed.
func TestClassify(t *testing.T) {
	e := newEnv(t, payg, ea, vs)
	ids, err := e.c.Classify(context.Background(), e.provider(t))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, ",") != payg+","+ea {
		t.Fatalf("followed %v, want the pay-as-you-go and the EA subscriptions", ids)
	}
	p := e.provider(t)
	for _, tc := range []struct {
		id, route string
		state     provider.SubscriptionState
	}{
		{payg, "move_resources", provider.SubscriptionOwned},
		{ea, "billing_transfer", provider.SubscriptionPending},
		{vs, "not_movable", provider.SubscriptionNotMovable},
	} {
		s, _ := p.Subscription(tc.id)
		if s.Route != tc.route || s.State != tc.state || s.RouteReason == "" {
			t.Errorf("%s: route %q state %q reason %q, want %q %q", tc.id, s.Route, s.State, s.RouteReason, tc.route, tc.state)
		}
	}
	if p.Status != provider.StatusConsolidating || p.OwnershipWait == nil {
		t.Errorf("status %s, wait %+v", p.Status, p.OwnershipWait)
	}
	// Classifying again (a retried task) keeps the routes and changes no state.
	if _, err := e.c.Classify(context.Background(), e.provider(t)); err != nil {
		t.Fatal(err)
	}
	if s, _ := e.provider(t).Subscription(vs); s.State != provider.SubscriptionNotMovable {
		t.Errorf("reclassified: %+v", s)
	}
}

// TestTransfer: the request is made once, followed, and its end recorded.
func TestTransfer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    billing.Status
		want      provider.SubscriptionState
		final     bool
		failNotes int // billing_failed entries in the outbox
	}{
		{"pending", billing.Pending, provider.SubscriptionTransferPending, false, 0},
		{"accepted and moving", billing.InProgress, provider.SubscriptionTransferPending, false, 0},
		{"completed", billing.Completed, provider.SubscriptionConsolidated, true, 0},
		{"completed with errors", billing.CompletedWithErrors, provider.SubscriptionConsolidated, true, 0},
		{"declined", billing.Declined, provider.SubscriptionFailed, true, 2},
		{"expired", billing.Expired, provider.SubscriptionFailed, true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, ea)
			if _, err := e.c.Classify(context.Background(), e.provider(t)); err != nil {
				t.Fatal(err)
			}
			if res := e.advance(t, ea); res.Final || res.State != string(provider.SubscriptionTransferPending) {
				t.Fatalf("first run: %+v", res)
			}
			if got := e.provider(t).SubscriptionTask(ea); got != token {
				t.Fatalf("token kept %q", got)
			}
			e.ms.transfer = tc.status
			res := e.advance(t, ea)
			if res.Final != tc.final || e.state(t, ea) != tc.want {
				t.Fatalf("after %s: %+v, state %s", tc.status, res, e.state(t, ea))
			}
			if e.ms.transfers != 1 {
				t.Errorf("%d transfer requests made, want 1", e.ms.transfers)
			}
			if n, _ := e.tasks.Counts(); (n == 1) != tc.final {
				t.Errorf("wait ended %d times, final %v", n, tc.final)
			}
			notes := 0
			for _, o := range e.provider(t).Outbox {
				if o.Kind == provider.NoticeBillingFailed && o.Subscription == ea {
					notes++
				}
			}
			if notes != tc.failNotes {
				t.Errorf("%d failure notices, want %d", notes, tc.failNotes)
			}
			s, _ := e.provider(t).Subscription(ea)
			if s.Transfer == nil || !strings.HasPrefix(s.Transfer.Link, "https://portal.example/") {
				t.Errorf("transfer recorded %+v", s.Transfer)
			}
		})
	}
}

// TestTransferRefused: a request Azure billing refuses for good fails the
// subscription with Microsoft's reason; a fault is returned for a retry.
func TestTransferRefused(t *testing.T) {
	e := newEnv(t, ea)
	if _, err := e.c.Classify(context.Background(), e.provider(t)); err != nil {
		t.Fatal(err)
	}
	e.ms.ensureErr = billing.ErrUnavailable
	if _, err := e.c.Advance(context.Background(), e.provider(t), ea, token); !errors.Is(err, billing.ErrUnavailable) {
		t.Fatalf("fault: %v", err)
	}
	if st := e.state(t, ea); st != provider.SubscriptionPending {
		t.Fatalf("a fault changed the state to %s", st)
	}
	e.ms.ensureErr = billing.ErrRejected
	res := e.advance(t, ea)
	s, _ := e.provider(t).Subscription(ea)
	if !res.Final || s.State != provider.SubscriptionFailed || !strings.Contains(s.FailureReason, "refused") {
		t.Fatalf("refused: %+v %+v", res, s)
	}
}

// TestMove: Owner, the Azure plan (ordered once), the report, nothing moved
// before the approval; after it the move is asked once and followed.
func TestMove(t *testing.T) {
	e := newEnv(t, payg)
	// A subscription the partner bills (transferred) but may not write
	// into is no target: an Azure plan is ordered.
	const transferred = "40000000-0000-4000-8000-000000000001"
	e.ms.billed = []string{transferred}
	if _, err := e.c.Classify(context.Background(), e.provider(t)); err != nil {
		t.Fatal(err)
	}
	// First run: the plan is ordered; its subscription is not listed yet.
	if res := e.advance(t, payg); res.Final {
		t.Fatalf("final before anything moved: %+v", res)
	}
	// Second run: the plan is listed; the report is made.
	e.advance(t, payg)
	p := e.provider(t)
	if e.ms.orders != 1 || p.TargetSubscription() != target {
		t.Fatalf("%d orders, target %q", e.ms.orders, p.TargetSubscription())
	}
	if e.state(t, payg) != provider.SubscriptionAwaitingApproval || p.MovePlan == nil || p.MovePlan.Version != 1 {
		t.Fatalf("after validation: %s %+v", e.state(t, payg), p.MovePlan)
	}
	g := p.GroupsOf(payg)
	if len(g) != 1 || len(g[0].Moves) != 1 || len(g[0].Blocked) != 1 || g[0].Blocked[0].Code != "ResourceMoveNotSupported" {
		t.Fatalf("report %+v", g)
	}
	// Runs before the approval move nothing.
	e.advance(t, payg)
	if e.ms.moves != 0 {
		t.Fatalf("%d moves before the approval", e.ms.moves)
	}
	// A stale version is refused; the current one moves.
	if _, err := e.s.UpdateProvider(context.Background(), "acct-1", e.id, func(q *provider.Provider) error {
		_, err := q.ApproveMovePlanBy(2, "user:admin", day0)
		return err
	}); err == nil {
		t.Fatal("a stale version was approved")
	}
	if _, err := e.s.UpdateProvider(context.Background(), "acct-1", e.id, func(q *provider.Provider) error {
		_, err := q.ApproveMovePlanBy(1, "user:admin", day0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if resume := e.provider(t).Outbox; len(resume) != 1 || resume[0].Kind != provider.NoticeResumeBilling {
		t.Fatalf("outbox after the approval: %+v", resume)
	}
	e.advance(t, payg) // moves: asked once, recorded with its operation
	if g := e.provider(t).GroupsOf(payg); e.ms.moves != 1 || g[0].State != provider.GroupMoving || g[0].Operation != "op-1" {
		t.Fatalf("after the move started: %d moves, %+v", e.ms.moves, g)
	}
	e.advance(t, payg) // still running: followed, not asked again
	e.ms.follow = []moves.Progress{{Done: true}}
	res := e.advance(t, payg)
	if !res.Final || e.ms.moves != 1 || e.state(t, payg) != provider.SubscriptionConsolidated {
		t.Fatalf("after the move ended: %+v, %d moves, %s", res, e.ms.moves, e.state(t, payg))
	}
}

// TestMoveAfterCrash: an intent recorded without its operation (a crash
// between the call and the record) asks again; Resource Manager refusing
// because the first move still runs (ScopeLocked) is followed, not failed.
func TestMoveAfterCrash(t *testing.T) {
	e := newEnv(t, payg)
	e.ms.billed = []string{target}
	if _, err := e.c.Classify(context.Background(), e.provider(t)); err != nil {
		t.Fatal(err)
	}
	e.advance(t, payg)
	if _, err := e.s.UpdateProvider(context.Background(), "acct-1", e.id, func(q *provider.Provider) error {
		if _, err := q.ApproveMovePlanBy(1, "user:admin", day0); err != nil {
			return err
		}
		return q.RecordMoveIntent(payg, "web", day0) // the crashed run's intent
	}); err != nil {
		t.Fatal(err)
	}
	e.ms.moveErr = nil
	e.ms.mu.Lock()
	e.ms.moves = 0
	e.ms.mu.Unlock()
	// The repeated ask is refused: the first move holds the lock.
	lockedMover := &lockedMove{microsoft: e.ms}
	e.c.Mover = lockedMover
	res := e.advance(t, payg)
	g := e.provider(t).GroupsOf(payg)
	if res.Final || g[0].State != provider.GroupMoving || g[0].Failure != nil {
		t.Fatalf("a locked group was taken for a failed move: %+v %+v", res, g)
	}
	// The first move ended: the resources are in the target, the next ask
	// finds nothing left to move.
	lockedMover.done = true
	res = e.advance(t, payg)
	if !res.Final || e.state(t, payg) != provider.SubscriptionConsolidated {
		t.Fatalf("after the first move ended: %+v %s", res, e.state(t, payg))
	}
}

// lockedMove answers Move as Resource Manager does while another move of
// the group runs (409 ScopeLocked), then as moves.Move does once the
// resources are in the target (done, nothing asked).
type lockedMove struct {
	*microsoft
	done bool
}

func (l *lockedMove) Move(context.Context, string, string, string, []string, string) (moves.Progress, error) {
	if l.done {
		return moves.Progress{Done: true}, nil
	}
	return moves.Progress{Done: true, Failure: &moves.Failure{Code: "ScopeLocked", Message: "locked"}}, nil
}

// TestDeadline: what waits for a person fails at the deadline (an open
// transfer request is cancelled); a provider that ended is refused.
func TestDeadline(t *testing.T) {
	e := newEnv(t, ea)
	if _, err := e.c.Classify(context.Background(), e.provider(t)); err != nil {
		t.Fatal(err)
	}
	e.advance(t, ea)
	e.now = day0.Add(31 * 24 * time.Hour)
	res := e.advance(t, ea)
	s, _ := e.provider(t).Subscription(ea)
	if !res.Final || s.State != provider.SubscriptionFailed || !strings.Contains(s.FailureReason, "deadline") || e.ms.transfer != billing.Canceled {
		t.Fatalf("at the deadline: %+v %+v, transfer %s", res, s, e.ms.transfer)
	}
	if _, err := e.s.UpdateProvider(context.Background(), "acct-1", e.id, func(q *provider.Provider) error {
		return q.Cancel("user:u", e.now)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Advance(context.Background(), e.provider(t), ea, token); err == nil {
		t.Fatal("a cancelled provider was advanced")
	}
}
