package provider

import (
	"time"
)

// The outbox. What a change must tell someone (the partner's
// representatives asked to help a customer, a customer stuck on a step) is
// written as an OutboxEntry into the provider, in the same conditional write
// as the change itself. The table's stream wakes the outbox relay
// (functions/outbox-relay), which sends each pending entry and then removes
// it. So a notice is never lost between the change and the email (a crash,
// a timeout or an SES outage between the two only delays it), and a check
// that decides a notice is due needs no mail client of its own.
//
// Delivery is at least once: an entry sent whose removal was lost is sent
// again by the next wake-up.

// NoticeKind names what an outbox entry tells, and to whom.
type NoticeKind string

const (
	// NoticeOwnerWaitStarted: to the representatives, the wait for Owner
	// access began; help the customer grant it.
	NoticeOwnerWaitStarted NoticeKind = "owner_wait_started"
	// NoticeOwnerDeadlineNear: to the representatives, the migration fails
	// soon unless Owner is granted.
	NoticeOwnerDeadlineNear NoticeKind = "owner_deadline_near"
	// NoticeCustomerStuck: to the representatives, the customer has been on
	// one step (OutboxEntry.Step) longer than the configured time.
	NoticeCustomerStuck NoticeKind = "customer_stuck"
	// NoticeHealthAttention: a re-check of an active provider found
	// something new wrong (OutboxEntry.Findings), to the entry's Audience.
	NoticeHealthAttention NoticeKind = "health_attention"
	// NoticeHealthCleared: the provider is healthy again; Findings are
	// those that cleared.
	NoticeHealthCleared NoticeKind = "health_cleared"
	// NoticeGDAPEnding: the admin relationship ends at EndsAt and does not
	// extend automatically.
	NoticeGDAPEnding NoticeKind = "gdap_ending"
	// NoticeStartWorkflow: not an email. The provider's workflow (the
	// migration, or the new-customer provisioning) is to be started: the
	// relay starts its execution, named from the provider id so a second
	// start finds the first, and records the execution with the removal.
	// Written with the new provider, so a create that succeeded always
	// starts its workflow, and the API function needs no Step Functions
	// client.
	NoticeStartWorkflow NoticeKind = "start_workflow"
)

// RecordWorkflowStarted records the execution the relay started for the
// start_workflow entry id and removes the entry; false when the entry was
// no longer pending (another relay run recorded it).
func (p *Provider) RecordWorkflowStarted(id, executionARN string) bool {
	if !p.Dequeue(id) {
		return false
	}
	p.ExecutionARN = executionARN
	return true
}

// WorkflowStartStall is how long after the create a still pending workflow
// start counts as stalled: the relay normally starts it within seconds, and
// gives up only after the stream's retries.
const WorkflowStartStall = time.Minute

// WorkflowStartStalled reports whether the open provider's workflow start
// has been pending for WorkflowStartStall or more at now.
func (p *Provider) WorkflowStartStalled(now time.Time) bool {
	if !p.Open() {
		return false
	}
	for _, e := range p.Outbox {
		if e.Kind == NoticeStartWorkflow && !now.Before(e.At.Add(WorkflowStartStall)) {
			return true
		}
	}
	return false
}

// OutboxEntry is one pending notice.
type OutboxEntry struct {
	// ID is unique within the provider: the kind and when it was written.
	ID   string     `dynamodbav:"id"`
	Kind NoticeKind `dynamodbav:"kind"`
	At   time.Time  `dynamodbav:"at"`
	// Step is the step a customer_stuck entry is about (a Step's Key).
	Step string `dynamodbav:"step,omitempty"`
	// Since is when the customer's wait on Step began.
	Since *time.Time `dynamodbav:"since,omitempty"`
	// Audience is whom the entry is for (AudienceRepresentatives,
	// AudienceRequester); "" is the representatives.
	Audience string `dynamodbav:"audience,omitempty"`
	// Findings are what a health notice is about; EndsAt when the admin
	// relationship of a gdap_ending notice ends.
	Findings []string `dynamodbav:"findings,omitempty"`
	// Subscription is the subscription a billing notice is about.
	Subscription string     `dynamodbav:"subscription,omitempty"`
	EndsAt       *time.Time `dynamodbav:"endsAt,omitempty"`
}

// Enqueue adds a pending notice of kind, written at now, and returns it,
// with the mark its consumer's stream filter looks for (markOutbox).
func (p *Provider) Enqueue(kind NoticeKind, now time.Time) *OutboxEntry {
	p.Outbox = append(p.Outbox, OutboxEntry{ID: string(kind) + "@" + now.UTC().Format(time.RFC3339Nano), Kind: kind, At: now})
	p.markOutbox()
	return &p.Outbox[len(p.Outbox)-1]
}

// markOutbox sets the marks the stream's filters look for, one per
// consumer, so that each function wakes only for its own entries:
// CancelSince, when the oldest pending cancel_transfer entry was written
// (the transfer canceller's), and OutboxSince, when the oldest of the
// others was (the relay's); each absent when it has none.
func (p *Provider) markOutbox() {
	p.OutboxSince, p.CancelSince = nil, nil
	for _, e := range p.Outbox {
		mark := &p.OutboxSince
		if e.Kind == NoticeCancelTransfer {
			mark = &p.CancelSince
		}
		if t := e.At; *mark == nil || t.Before(**mark) {
			*mark = &t
		}
	}
}

// EnqueueTo is Enqueue of a notice for one audience: its id names the
// audience too, so the entries of one change for several audiences differ.
func (p *Provider) EnqueueTo(kind NoticeKind, audience string, now time.Time) *OutboxEntry {
	e := p.Enqueue(kind, now)
	e.Audience = audience
	e.ID = string(kind) + "/" + audience + "@" + now.UTC().Format(time.RFC3339Nano)
	return e
}

// Pending returns the entry of that id and whether it is still pending.
func (p *Provider) Pending(id string) (OutboxEntry, bool) {
	for _, e := range p.Outbox {
		if e.ID == id {
			return e, true
		}
	}
	return OutboxEntry{}, false
}

// Dequeue removes the entry of that id once it was sent (or can never be).
// It reports whether the entry was pending: a second removal changes
// nothing.
func (p *Provider) Dequeue(id string) bool {
	for i, e := range p.Outbox {
		if e.ID != id {
			continue
		}
		p.Outbox = append(p.Outbox[:i:i], p.Outbox[i+1:]...)
		if len(p.Outbox) == 0 {
			p.Outbox = nil
		}
		p.markOutbox()
		return true
	}
	return false
}
