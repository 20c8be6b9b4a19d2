package provider

import (
	"slices"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/relationship"
)

func kinds(p *Provider) []NoticeKind {
	var out []NoticeKind
	for _, e := range p.Outbox {
		out = append(out, e.Kind)
	}
	return out
}

func TestOutboxEnqueueDequeue(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	p := &Provider{Status: StatusAwaitingOwnerAccess}
	a := p.Enqueue(NoticeOwnerWaitStarted, t0).ID
	b := p.Enqueue(NoticeCustomerStuck, t0.Add(time.Minute)).ID
	if a == b || p.OutboxSince == nil || !p.OutboxSince.Equal(t0) {
		t.Fatalf("ids %q %q, since %v", a, b, p.OutboxSince)
	}
	if _, ok := p.Pending(b); !ok {
		t.Fatal("entry b not pending")
	}
	if !p.Dequeue(a) || p.Dequeue(a) {
		t.Fatal("the first removal must report true, the second false")
	}
	if !p.OutboxSince.Equal(t0.Add(time.Minute)) {
		t.Fatalf("since %v, want the remaining entry's time", p.OutboxSince)
	}
	if !p.Dequeue(b) || p.Outbox != nil || p.OutboxSince != nil {
		t.Fatalf("an empty outbox must drop outbox and outboxSince: %+v %v", p.Outbox, p.OutboxSince)
	}
}

// TestOutboxMarks: each consumer's stream filter mark covers only its own
// entries, so a provider whose only pending entries are transfer cancels
// does not wake the relay, and the other way round.
func TestOutboxMarks(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	p := &Provider{Status: StatusCancelled}
	cancel := p.Enqueue(NoticeCancelTransfer, t0).ID
	if p.OutboxSince != nil || p.CancelSince == nil || !p.CancelSince.Equal(t0) {
		t.Fatalf("a cancel alone: outboxSince %v, cancelSince %v", p.OutboxSince, p.CancelSince)
	}
	notice := p.Enqueue(NoticeCustomerStuck, t0.Add(time.Minute)).ID
	if p.OutboxSince == nil || !p.OutboxSince.Equal(t0.Add(time.Minute)) || !p.CancelSince.Equal(t0) {
		t.Fatalf("both: outboxSince %v, cancelSince %v", p.OutboxSince, p.CancelSince)
	}
	if !p.Dequeue(cancel) || p.CancelSince != nil || p.OutboxSince == nil {
		t.Fatalf("the notice alone: outboxSince %v, cancelSince %v", p.OutboxSince, p.CancelSince)
	}
	if !p.Dequeue(notice) || p.OutboxSince != nil || p.CancelSince != nil || p.Outbox != nil {
		t.Fatalf("empty: %+v %v %v", p.Outbox, p.OutboxSince, p.CancelSince)
	}
}

func TestClaimNoticeEnqueuesOnce(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	p := &Provider{Status: StatusAwaitingOwnerAccess, OwnershipWait: &OwnershipWait{StartedAt: t0, Deadline: t0.Add(30 * 24 * time.Hour)}}
	for range 2 {
		p.ClaimNotice(p.DueNotice(t0, 36*time.Hour), t0)
	}
	near := t0.Add(29 * 24 * time.Hour)
	for range 2 {
		p.ClaimNotice(p.DueNotice(near, 36*time.Hour), near)
	}
	want := []NoticeKind{NoticeOwnerWaitStarted, NoticeOwnerDeadlineNear}
	if got := kinds(p); !slices.Equal(got, want) {
		t.Fatalf("outbox %v, want %v", got, want)
	}
}

func TestTrackStep(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	const after = 72 * time.Hour
	consented := func(reseller, gdap string) *Provider {
		return &Provider{Option: OptionMigrate, Status: StatusAwaitingCustomer, TenantID: "t", ConsentedAt: &t0,
			Relationships: &Relationships{GDAPID: "rel", Reseller: reseller, GDAP: relationship.GDAP{ID: "rel", Status: gdap}}}
	}
	type check struct {
		at             time.Duration
		reseller, gdap string
		wantNotice     bool
		wantStep       string
	}
	tests := []struct {
		name   string
		status Status
		checks []check
		want   int // notices enqueued in all
	}{
		{"stuck on the reseller step: told once", StatusAwaitingCustomer, []check{
			{0, "none", "approvalPending", false, StepReseller},
			{71 * time.Hour, "none", "approvalPending", false, StepReseller},
			{72 * time.Hour, "none", "approvalPending", true, StepReseller},
			{200 * time.Hour, "none", "approvalPending", false, StepReseller},
		}, 1},
		{"a step that moves on starts the clock again", StatusAwaitingCustomer, []check{
			{0, "none", "approvalPending", false, StepReseller},
			{50 * time.Hour, "reseller", "approvalPending", false, StepGDAP},
			{100 * time.Hour, "reseller", "approvalPending", false, StepGDAP},
			{122 * time.Hour, "reseller", "approvalPending", true, StepGDAP},
		}, 1},
		{"each stuck step is told", StatusAwaitingCustomer, []check{
			{0, "none", "approvalPending", false, StepReseller},
			{80 * time.Hour, "none", "approvalPending", true, StepReseller},
			{90 * time.Hour, "reseller", "approvalPending", false, StepGDAP},
			{170 * time.Hour, "reseller", "approvalPending", true, StepGDAP},
		}, 2},
		{"every relationship step done: the Owner wait has its own notices", StatusAwaitingCustomer, []check{
			{0, "reseller", "active", false, ""},
			{500 * time.Hour, "reseller", "active", false, ""},
		}, 0},
		{"before consent nothing is tracked", StatusPendingConsent, []check{
			{0, "none", "approvalPending", false, ""},
			{500 * time.Hour, "none", "approvalPending", false, ""},
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := consented("", "")
			p.Status = tt.status
			if tt.status == StatusPendingConsent {
				p.ConsentedAt = nil
			}
			for _, c := range tt.checks {
				p.Relationships.Reseller, p.Relationships.GDAP.Status = c.reseller, c.gdap
				got := p.TrackStep(t0.Add(c.at), after)
				if got != c.wantNotice {
					t.Fatalf("at %v: notice %v, want %v", c.at, got, c.wantNotice)
				}
				step := ""
				if p.CurrentStep != nil {
					step = p.CurrentStep.Key
				}
				if step != c.wantStep {
					t.Fatalf("at %v: current step %q, want %q", c.at, step, c.wantStep)
				}
			}
			if len(p.Outbox) != tt.want {
				t.Fatalf("%d notices, want %d", len(p.Outbox), tt.want)
			}
			for _, e := range p.Outbox {
				if e.Kind != NoticeCustomerStuck || e.Step == "" || e.Since == nil || e.At.Sub(*e.Since) < after {
					t.Fatalf("entry %+v", e)
				}
			}
		})
	}
}
