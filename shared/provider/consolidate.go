package provider

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/agreement"
	"github.com/partnercloud/azure/shared/apperr"
)

// Consolidation: once the customer's relationships are confirmed, each
// subscription's billing comes under the partner by its own route
// (billing.go, moveplan.go). These are the rules that span the
// subscriptions: what a check of the tenant's subscriptions records, which
// ones the workflow still follows, the one deadline of the customer's steps,
// the status while the routes run, the Azure plan the resources move into,
// and each subscription's wait (its task token).

// StatusConsolidating: the relationships are confirmed; the subscriptions'
// billing is on its way under the partner (transfers, moves, approvals).
const StatusConsolidating Status = "consolidating"

// ObservedSubscription is what a check of the customer's tenant reported of
// one subscription: its Owner state for the partner principal (owned,
// missing_owner, not_found), name, quota id and state in Azure Resource
// Manager, and whether Partner Center lists it under this partner.
type ObservedSubscription struct {
	ID              string
	State           SubscriptionState
	DisplayName     string
	QuotaID         string
	ARMState        string
	BilledByPartner bool
}

// ownerStates are the states a subscription on the move route (or not yet
// routed) takes from an Owner check.
func ownerState(s SubscriptionState) bool {
	switch s {
	case SubscriptionPending, SubscriptionOwned, SubscriptionMissingOwner, SubscriptionNotFound:
		return true
	}
	return false
}

// RecordSubscriptionCheck records a check of the customer's subscriptions
// (every visible one when none was named: discovered): each one's name,
// quota id and, the first time it is visible, its route (package
// agreement), with what the customer must do; on the move route (or while
// not visible) its Owner state. The route recorded stays. It starts the one
// wait of the customer's steps after the relationships (ending deadline
// later, or with the relationship wait's deadline), and sets the status:
// awaiting_owner_access while the only thing missing is Owner, else
// consolidating. A provider that ended is invalid_state.
func (p *Provider) RecordSubscriptionCheck(checked []ObservedSubscription, principalID string, discovered bool, now time.Time, deadline time.Duration) error {
	if err := p.CheckOpen(); err != nil {
		return err
	}
	before := summary(p.Subscriptions)
	prev := map[string]Subscription{}
	for _, s := range p.Subscriptions {
		prev[strings.ToLower(s.ID)] = s
	}
	subs := make([]Subscription, 0, len(checked))
	var routed []ObservedSubscription
	for _, c := range checked {
		id := strings.ToLower(c.ID)
		s, seen := prev[id]
		if !seen {
			s = Subscription{ID: id, State: SubscriptionPending}
		}
		if n := strings.TrimSpace(c.DisplayName); n != "" {
			s.DisplayName = n
		}
		if c.QuotaID != "" {
			s.QuotaID = c.QuotaID
		}
		if s.Route == "" && c.State != SubscriptionNotFound && c.QuotaID != "" {
			routed = append(routed, c)
		}
		if (s.Route == "" || s.Route == string(agreement.MoveResources)) && ownerState(s.State) {
			s.observeOwner(c.State, now)
		}
		delete(prev, id)
		subs = append(subs, s)
	}
	if !discovered {
		// A named subscription the check did not report stays, as it was.
		for _, s := range p.Subscriptions {
			if _, left := prev[strings.ToLower(s.ID)]; left {
				subs = append(subs, s)
			}
		}
	}
	p.Subscriptions = subs
	for _, c := range routed {
		d := agreement.Classify(agreement.Facts{QuotaID: c.QuotaID, State: c.ARMState, BilledByPartner: c.BilledByPartner})
		if _, err := p.RecordRoute(c.ID, c.QuotaID, d, now); err != nil {
			return err
		}
		s := p.subscription(c.ID)
		switch d.Route {
		case agreement.BillingTransfer:
			s.State, s.ConfirmedAt = SubscriptionPending, nil
		case agreement.MoveResources:
			s.observeOwner(c.State, now)
		}
	}
	if discovered {
		p.SubscriptionsDiscovered = true
	}
	p.PrincipalID = principalID
	p.startCustomerWait(now, deadline)
	p.OwnershipWait.Checks++
	t := now
	p.OwnershipWait.LastCheckedAt = &t
	changed := p.settleStatus()
	if after := summary(p.Subscriptions); after != before || changed {
		what := "Subscriptions checked: " + after + "."
		if len(p.Subscriptions) == 0 {
			what = "Subscriptions checked: no subscription is visible to the partner principal in the tenant."
		}
		p.AddEvent(Event{At: now, Status: p.Status, Kind: EventOwnershipChecked, What: what, By: "system"})
	}
	return nil
}

// observeOwner records an Owner check's state, with when Owner was first
// confirmed.
func (s *Subscription) observeOwner(state SubscriptionState, now time.Time) {
	if state == SubscriptionOwned && (s.State != SubscriptionOwned || s.ConfirmedAt == nil) {
		t := now
		s.ConfirmedAt = &t
	}
	if state != SubscriptionOwned {
		s.ConfirmedAt = nil
	}
	s.State = state
}

// RecordOwner records an Owner check of one subscription on the move route
// (or not yet routed) while it waits for Owner; a subscription past that
// (validating, awaiting approval, moving, final) is left as it is. It
// reports whether its state changed.
func (p *Provider) RecordOwner(subID string, state SubscriptionState, now time.Time) bool {
	s := p.subscription(subID)
	if s == nil || !ownerState(s.State) || (s.Route != "" && s.Route != string(agreement.MoveResources)) {
		return false
	}
	if s.State == state {
		return false
	}
	s.observeOwner(state, now)
	p.settleStatus()
	p.AddEvent(Event{At: now, Status: p.Status, Kind: EventOwnershipChecked, By: "system",
		What: fmt.Sprintf("Subscription %s: %s.", s.Label(), ownerWords(state))})
	return true
}

func ownerWords(s SubscriptionState) string {
	switch s {
	case SubscriptionOwned:
		return "the partner principal holds Owner"
	case SubscriptionMissingOwner:
		return "the partner principal does not hold Owner yet"
	case SubscriptionNotFound:
		return "not visible to the partner principal"
	}
	return string(s)
}

// startCustomerWait starts the one wait of the customer's steps after the
// relationships, once: it ends deadline after now, or with the relationship
// wait's deadline when that comes first.
func (p *Provider) startCustomerWait(now time.Time, deadline time.Duration) {
	if p.OwnershipWait != nil {
		return
	}
	end := now.Add(deadline)
	if r := p.Relationships; r != nil && r.Wait != nil && r.Wait.Deadline.After(now) && r.Wait.Deadline.Before(end) {
		end = r.Wait.Deadline
	}
	p.OwnershipWait = &OwnershipWait{StartedAt: now, Deadline: end}
}

// settleStatus sets the status of a migration whose subscriptions are on
// their routes: awaiting_owner_access while every subscription still on
// its way lacks Owner (or is not visible), else consolidating. It reports
// whether the status changed. A provider not in those statuses (or past
// them) is left as it is.
func (p *Provider) settleStatus() bool {
	switch p.Status {
	case StatusAwaitingCustomer, StatusAwaitingOwnerAccess, StatusConsolidating:
	default:
		return false
	}
	next := StatusConsolidating
	waiting, ownerOnly := 0, true
	for _, s := range p.Subscriptions {
		if s.State.Final() {
			continue
		}
		waiting++
		if s.State != SubscriptionMissingOwner && s.State != SubscriptionNotFound {
			ownerOnly = false
		}
	}
	if waiting > 0 && ownerOnly || len(p.Subscriptions) == 0 {
		next = StatusAwaitingOwnerAccess
	}
	if p.Status == next {
		return false
	}
	p.Status = next
	return true
}

// FollowedSubscriptions are the ids of the subscriptions whose route has
// not ended, in order: those the workflow follows.
func (p *Provider) FollowedSubscriptions() []string {
	ids := []string{}
	for _, s := range p.Subscriptions {
		if !s.State.Final() {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// Subscription returns the subscription of that id (a copy), or false.
func (p *Provider) Subscription(id string) (Subscription, bool) {
	s := p.subscription(id)
	if s == nil {
		return Subscription{}, false
	}
	return *s, true
}

// waitsOnSomeone reports whether a subscription waits for a person (the
// customer or the platform administrator) rather than for Microsoft's work
// the partner started.
func waitsOnSomeone(s SubscriptionState) bool {
	switch s {
	case SubscriptionPending, SubscriptionMissingOwner, SubscriptionNotFound, SubscriptionTransferPending, SubscriptionAwaitingApproval, SubscriptionOwned:
		return true
	}
	return false
}

// deadlineReasons say why a subscription failed at the deadline, by what it
// was waiting for.
var deadlineReasons = map[SubscriptionState]string{
	SubscriptionMissingOwner:     "Owner access was not granted before the deadline.",
	SubscriptionNotFound:         "The subscription did not become visible to the partner before the deadline.",
	SubscriptionTransferPending:  "The billing transfer request was not accepted before the deadline; it was cancelled.",
	SubscriptionAwaitingApproval: "The move plan was not approved before the deadline.",
}

// FailAtDeadline ends, once the customer's wait passed its deadline at
// now, the route of subscription subID when it still waits for a person:
// failed, with why. It reports whether it did (the caller cancels what was
// asked of Microsoft, e.g. an open transfer request). Work the partner
// started (validation, moves) is followed to its end.
func (p *Provider) FailAtDeadline(subID string, now time.Time) bool {
	s := p.subscription(subID)
	w := p.OwnershipWait
	if s == nil || w == nil || now.Before(w.Deadline) || !waitsOnSomeone(s.State) {
		return false
	}
	reason, ok := deadlineReasons[s.State]
	if !ok {
		reason = "The subscription's billing did not come under the partner before the deadline."
	}
	s.State, s.FailureReason = SubscriptionFailed, reason
	p.settleStatus()
	p.AddEvent(Event{At: now, Status: p.Status, By: "system", What: fmt.Sprintf("Subscription %s: %s", s.Label(), reason)})
	return true
}

// PastDeadline reports whether the customer's wait passed its deadline.
func (p *Provider) PastDeadline(now time.Time) bool {
	return p.OwnershipWait != nil && !now.Before(p.OwnershipWait.Deadline)
}

// KeepSubscriptionTask keeps the task token of the workflow's wait for one
// subscription, so that what resumes it (the move plan's approval) can.
func (p *Provider) KeepSubscriptionTask(subID, token string) error {
	s := p.subscription(subID)
	if s == nil {
		return apperr.New(apperr.InvalidRequest, "no subscription "+subID+" on the provider")
	}
	s.Task = token
	return nil
}

// SubscriptionTask is the kept task token of a subscription's wait ("").
func (p *Provider) SubscriptionTask(subID string) string {
	if s := p.subscription(subID); s != nil {
		return s.Task
	}
	return ""
}

// TargetPlan is the customer's Azure plan subscription under the partner
// that resources move into: ordered once per provider in Partner Center
// (OrderID), or one the customer already has from this partner; then the
// Azure subscription Partner Center lists under it.
type TargetPlan struct {
	OrderID        string     `json:"orderId,omitempty" dynamodbav:"orderId,omitempty"`
	OrderedAt      *time.Time `json:"orderedAt,omitempty" dynamodbav:"orderedAt,omitempty"`
	SubscriptionID string     `json:"subscriptionId,omitempty" dynamodbav:"subscriptionId,omitempty"`
	ConfirmedAt    *time.Time `json:"confirmedAt,omitempty" dynamodbav:"confirmedAt,omitempty"`
}

// RecordTargetOrder records the Azure plan order (once: a second order id
// is ignored, the first order's subscription is awaited).
func (p *Provider) RecordTargetOrder(orderID string, now time.Time) bool {
	if p.Target == nil {
		p.Target = &TargetPlan{}
	}
	if p.Target.OrderID != "" || p.Target.SubscriptionID != "" {
		return false
	}
	t := now
	p.Target.OrderID, p.Target.OrderedAt = orderID, &t
	p.AddEvent(Event{At: now, Status: p.Status, By: "system", What: "An Azure plan was ordered in Partner Center for the customer (order " + orderID + "); the resources will move into its subscription."})
	return true
}

// RecordTarget records the Azure subscription Partner Center lists under
// the customer's Azure plan with this partner: where resources move.
func (p *Provider) RecordTarget(subscriptionID string, now time.Time) bool {
	if p.Target == nil {
		p.Target = &TargetPlan{}
	}
	if p.Target.SubscriptionID != "" {
		return false
	}
	t := now
	p.Target.SubscriptionID, p.Target.ConfirmedAt = strings.ToLower(subscriptionID), &t
	p.AddEvent(Event{At: now, Status: p.Status, By: "system", What: "Partner Center lists Azure subscription " + p.Target.SubscriptionID + " under the customer's Azure plan with the partner: the resources move into it."})
	return true
}

// TargetSubscription is the Azure plan subscription resources move into,
// "" until Partner Center listed it.
func (p *Provider) TargetSubscription() string {
	if p.Target == nil {
		return ""
	}
	return p.Target.SubscriptionID
}

// StartValidation marks an owned subscription on the move route as being
// validated (its move report is being made). It reports whether it did.
func (p *Provider) StartValidation(subID string, now time.Time) bool {
	s := p.subscription(subID)
	if s == nil || s.Route != string(agreement.MoveResources) || s.State != SubscriptionOwned {
		return false
	}
	s.State = SubscriptionValidating
	p.settleStatus()
	return true
}

// RecordMoveIntent records, before a group's move is asked of Azure, that
// it is about to be: a retry that finds the intent and no operation knows a
// move may be running and locates the resources before anything else. A
// migration that ended (cancelled) starts no move: invalid_state.
func (p *Provider) RecordMoveIntent(subID, group string, now time.Time) error {
	if err := p.CheckOpen(); err != nil {
		return err
	}
	g := p.group(subID, group)
	if g == nil {
		return apperr.New(apperr.InvalidState, "no resource group "+group+" in the move plan")
	}
	if g.State != GroupPlanned {
		return nil
	}
	t := now
	g.State, g.StartedAt = GroupMoving, &t
	return nil
}

// GroupsOf are a subscription's groups in the move plan (copies).
func (p *Provider) GroupsOf(subID string) []GroupMove {
	if p.MovePlan == nil {
		return nil
	}
	for _, m := range p.MovePlan.Subscriptions {
		if strings.EqualFold(m.SubscriptionID, subID) {
			return append([]GroupMove(nil), m.Groups...)
		}
	}
	return nil
}

// BillingAdmin is who accepts billing transfer requests: the
// billingAdminEmail given, else the Azure administrator.
func (p *Provider) BillingAdmin() string {
	if p.BillingAdminEmail != "" {
		return p.BillingAdminEmail
	}
	return p.AzureAdminEmail
}

// FailSubscription ends a subscription's route as failed, with the reason
// (safe words: Microsoft's refusal). It reports whether it did; a route
// that ended is left as it is.
func (p *Provider) FailSubscription(subID, reason string, now time.Time) bool {
	s := p.subscription(subID)
	if s == nil || s.State.Final() {
		return false
	}
	s.State, s.FailureReason = SubscriptionFailed, reason
	p.settleStatus()
	p.AddEvent(Event{At: now, Status: p.Status, By: "system", What: fmt.Sprintf("Subscription %s: %s", s.Label(), reason)})
	return true
}

// NoticeBillingFailed: a subscription's billing could not come under the
// partner (OutboxEntry.Subscription: which; its FailureReason: why), to the
// representatives and to the customer's billing administrator.
const NoticeBillingFailed NoticeKind = "billing_failed"

// AudienceCustomer is the customer's administrator who acts on the
// subscription's route (the billing administrator for a transfer).
const AudienceCustomer = "customer"

// EnqueueBillingFailure puts the notices of a subscription whose route
// failed into the outbox: one to the representatives, one to the customer.
func (p *Provider) EnqueueBillingFailure(subID string, now time.Time) {
	for _, a := range []string{AudienceRepresentatives, AudienceCustomer} {
		e := p.EnqueueTo(NoticeBillingFailed, a, now)
		e.Subscription = strings.ToLower(subID)
		e.ID += "/" + e.Subscription
	}
}

// CustomerContact is who at the customer acts on a subscription's route,
// the recipient of AudienceCustomer's notices about it: the Azure
// administrator for a move of resources (who owns them), else the billing
// administrator (a transfer request's recipient).
func (p *Provider) CustomerContact(subID string) string {
	if s := p.subscription(subID); s != nil && s.Route == string(agreement.MoveResources) && p.AzureAdminEmail != "" {
		return p.AzureAdminEmail
	}
	return p.BillingAdmin()
}

// BillingChange says what changed in how a subscription whose route failed
// is billed, for the notices about it: nothing, or, after a move that
// failed half-way, how many resources moved into the partner's Azure plan
// subscription (billed by the partner from then) and which groups.
func (p *Provider) BillingChange(subID string) string {
	var parts []string
	for _, g := range p.GroupsOf(subID) {
		if g.State == GroupFailed && len(g.InTarget) > 0 {
			parts = append(parts, fmt.Sprintf("%d of the %d resources of resource group %s", len(g.InTarget), len(g.Moves), g.Name))
		}
	}
	if len(parts) == 0 {
		return "Nothing changed in how this subscription is billed."
	}
	return "Part of it moved before the move failed: " + strings.Join(parts, ", ") + " are now in the partner's Azure plan subscription and billed by the partner; the rest stays in this subscription, billed as before."
}

// NoticeResumeBilling is not an email: it asks the outbox relay to resume
// the workflow's wait for OutboxEntry.Subscription (its kept task token),
// written with the change that the wait should act on at once (the move
// plan's approval).
const NoticeResumeBilling NoticeKind = "resume_billing"

// ApproveMovePlanBy records an administrator's approval of the move plan's
// version (ApproveMovePlan) and, in the same write, asks the outbox relay
// to resume the wait of each subscription that starts moving.
func (p *Provider) ApproveMovePlanBy(version int, by string, now time.Time) (bool, error) {
	var awaiting []string
	for _, s := range p.Subscriptions {
		if s.State == SubscriptionAwaitingApproval {
			awaiting = append(awaiting, s.ID)
		}
	}
	changed, err := p.ApproveMovePlan(version, by, now)
	if err != nil || !changed {
		return changed, err
	}
	for _, id := range awaiting {
		e := p.Enqueue(NoticeResumeBilling, now)
		e.Subscription = id
		e.ID += "/" + id
	}
	return true, nil
}

// routed reports whether the migration's subscriptions went through the
// billing routes (a migration whose subscriptions were classified).
func (p *Provider) routed() bool {
	if p.Option != OptionMigrate {
		return false
	}
	for _, s := range p.Subscriptions {
		if s.Route != "" {
			return true
		}
	}
	return false
}

// activateRouted ends a migration whose subscriptions' routes all ended:
// active with billing consolidated, or partially_consolidated when some
// could not come under the partner; failed (billing_not_consolidated) when
// none could. A subscription still on its way is invalid_state.
func (p *Provider) activateRouted(tenantID string, now time.Time) (bool, error) {
	done, billing, err := p.BillingOutcome()
	if !done {
		return false, apperr.New(apperr.InvalidState, "some subscriptions' billing is still on its way under the partner")
	}
	if err != nil {
		p.Status = StatusFailed
		p.FailureCode = string(apperr.BillingNotConsolidated)
		p.FailureReason = strings.TrimSpace(EndReason(apperr.BillingNotConsolidated, StatusFailed) + " " + strings.Join(p.subscriptionReasons(), " "))
		p.AddEvent(Event{At: now, Status: p.Status, What: p.FailureReason, By: "system"})
		return true, nil
	}
	p.Activate(tenantID, now)
	p.Billing = billing
	if t := p.lastConsolidated(); t != nil {
		p.BillingFrom = t
	}
	return true, nil
}

// lastConsolidated is when Microsoft confirmed the last subscription
// consolidated: billing is consolidated from then.
func (p *Provider) lastConsolidated() *time.Time {
	var last *time.Time
	for _, s := range p.Subscriptions {
		if s.ConsolidatedAt != nil && (last == nil || s.ConsolidatedAt.After(*last)) {
			t := *s.ConsolidatedAt
			last = &t
		}
	}
	return last
}

// subscriptionReasons say, per subscription that did not come under the
// partner, why.
func (p *Provider) subscriptionReasons() []string {
	var out []string
	for _, s := range p.Subscriptions {
		switch {
		case s.State == SubscriptionNotMovable:
			out = append(out, fmt.Sprintf("%s: %s", s.Label(), s.RouteReason))
		case s.State == SubscriptionFailed:
			out = append(out, fmt.Sprintf("%s: %s", s.Label(), s.FailureReason))
		}
	}
	return out
}

// RouteLines say, per subscription that went through a billing route, what
// happened to it: for the completion and failure emails.
func RouteLines(subs []Subscription) []string {
	var out []string
	for _, s := range subs {
		if s.Route == "" && s.State != SubscriptionFailed {
			continue
		}
		line := s.Label() + ": "
		switch s.State {
		case SubscriptionConsolidated:
			line += "billed by the partner"
			if s.ConsolidatedAt != nil {
				line += " from " + FormatTime(*s.ConsolidatedAt)
			}
			line += " (" + routeWords(agreement.Route(s.Route)) + ")."
		case SubscriptionNotMovable:
			line += "stays as it is. " + s.RouteReason + " " + s.CustomerAction
		case SubscriptionFailed:
			// "Not moved" would be untrue of a move that failed half-way:
			// the reason says what moved.
			line += "not billed by the partner. " + s.FailureReason
		default:
			line += string(s.State) + "."
		}
		out = append(out, strings.TrimSpace(line))
	}
	return out
}

// transferStep is the billing administrator's step of a subscription on the
// billing_transfer route: accepting the transfer request, as Azure billing
// reports it.
func (s Subscription) transferStep(status Status) Step {
	st := Step{Name: StepTransferAcceptance, SubscriptionID: s.ID, Status: StepStatusToDo, Actor: ActorBillingAdmin}
	if t := s.Transfer; t != nil {
		at := t.ObservedAt
		st.State, st.ObservedAt, st.Link = t.Status, &at, t.Link
	}
	switch s.State {
	case SubscriptionConsolidated:
		st.Status = StepStatusDone
	case SubscriptionFailed:
		st.Status = StepStatusFailed
	}
	if s.Transfer != nil && s.Transfer.Status == TransferInProgress {
		st.Actor = ActorMicrosoft
	}
	return st
}

// approvalStep is the platform administrator's step of a subscription on
// the move_resources route: approving the move report.
func (p *Provider) approvalStep(s Subscription) Step {
	st := Step{Name: StepMoveApproval, SubscriptionID: s.ID, Status: StepStatusToDo, Actor: ActorPlatformAdmin}
	switch s.State {
	case SubscriptionAwaitingApproval:
		st.State = "awaiting_approval"
	case SubscriptionMoving, SubscriptionConsolidated:
		st.Status, st.State = StepStatusDone, "approved"
		if p.MovePlan != nil && p.MovePlan.ApprovedAt != nil {
			t := *p.MovePlan.ApprovedAt
			st.ObservedAt = &t
		}
		if s.State == SubscriptionConsolidated && p.MovePlan == nil {
			st.State = "nothing_to_move"
		}
	case SubscriptionFailed:
		if p.MovePlan != nil && p.MovePlan.ApprovedAt != nil {
			st.Status, st.State = StepStatusDone, "approved"
		}
	}
	return st
}

// consolidatingSentence says what the migration waits for while the
// subscriptions' routes run, and who must act.
func (p *Provider) consolidatingSentence() string {
	var parts []string
	approval, transfer, owner, working := false, false, false, false
	for _, s := range p.Subscriptions {
		switch s.State {
		case SubscriptionAwaitingApproval:
			approval = true
		case SubscriptionTransferPending, SubscriptionPending:
			if s.Route == string(agreement.BillingTransfer) {
				transfer = true
			} else {
				working = true
			}
		case SubscriptionMissingOwner, SubscriptionNotFound:
			owner = true
		case SubscriptionValidating, SubscriptionMoving, SubscriptionOwned:
			working = true
		}
	}
	if approval {
		v := 0
		if p.MovePlan != nil {
			v = p.MovePlan.Version
		}
		parts = append(parts, "An administrator of the organization approves the move report (version "+strconv.Itoa(v)+"): POST /providers/"+p.ID+"/move-plan/approve.")
	}
	if transfer {
		parts = append(parts, "A billing account owner of the customer accepts the partner's billing transfer request in the Azure portal (the link is on the subscription).")
	}
	if owner {
		parts = append(parts, p.OwnerRequest().Sentences()...)
	}
	if working {
		parts = append(parts, "Microsoft is moving the subscriptions' billing under the partner; nothing for anyone to do.")
	}
	if len(parts) == 0 {
		return "Checking each subscription's billing route."
	}
	if w := p.OwnershipWait; w != nil {
		parts = append(parts, "Whatever a person must do has to be done by "+FormatTime(w.Deadline)+".")
	}
	return strings.Join(parts, " ")
}

// NoticeCancelTransfer is not an email: it asks the transfer canceller
// (functions/cancel-transfers, woken by CancelSince) to cancel the open
// partner transfer request of OutboxEntry.Subscription at Azure billing
// (the migration was cancelled), and to record what Azure billing answers.
// The outbox relay leaves it alone.
const NoticeCancelTransfer NoticeKind = "cancel_transfer"

// cancelBillingRoutes, in the cancel's write: every open transfer request
// is to be cancelled at Azure billing (through the outbox), and a move under
// way is said to be one: Azure finishes an accepted move, the groups not
// started stay where they are.
func (p *Provider) cancelBillingRoutes(now time.Time) {
	for _, s := range p.Subscriptions {
		if s.State == SubscriptionTransferPending && s.Transfer != nil {
			e := p.Enqueue(NoticeCancelTransfer, now)
			e.Subscription = s.ID
			e.ID += "/" + s.ID
		}
		for _, g := range p.GroupsOf(s.ID) {
			if g.State == GroupMoving {
				p.AddEvent(Event{At: now, Status: p.Status, By: "system",
					What: fmt.Sprintf("Subscription %s: the move of resource group %s was already accepted by Azure and is not stopped by the cancel; the groups not started stay where they are.", s.Label(), g.Name)})
			}
		}
	}
}

// RecordCancelledTransfer records Azure billing's answer to the cancel of a
// subscription's transfer request after the migration was cancelled (the
// provider ended: only the subscription's record changes).
func (p *Provider) RecordCancelledTransfer(subID string, t Transfer, now time.Time) bool {
	s := p.subscription(subID)
	if s == nil || s.Route != string(agreement.BillingTransfer) || s.State.Final() {
		return false
	}
	s.observeTransfer(t, now)
	if !s.State.Final() {
		return true
	}
	p.AddEvent(Event{At: now, Status: p.Status, By: "system", What: fmt.Sprintf("Subscription %s: Azure billing reports the transfer request %s.", s.Label(), t.Status)})
	return true
}

// partnerBilled are the subscriptions Partner Center must list under the
// customer's Azure plan with the partner while the provider is healthy: a
// new customer's Azure plan subscriptions; a migration's subscriptions
// whose billing was transferred (or was the partner's already), and the
// Azure plan subscription its resources moved into.
func (p *Provider) partnerBilled() []Subscription {
	if p.Option != OptionMigrate {
		return p.Subscriptions
	}
	var out []Subscription
	moved := false
	for _, s := range p.Subscriptions {
		if s.Route == "" {
			// Recorded before the routes: said to be billed by the partner.
			out = append(out, s)
			continue
		}
		if s.Route == string(agreement.MoveResources) && p.movedAny(s.ID) {
			// A move that failed half-way left resources in the Azure plan
			// subscription too.
			moved = true
		}
		if s.State != SubscriptionConsolidated {
			continue
		}
		switch agreement.Route(s.Route) {
		case agreement.BillingTransfer, agreement.AlreadyPartner:
			out = append(out, s)
		case agreement.MoveResources:
			moved = true
		}
	}
	if t := p.TargetSubscription(); moved && t != "" {
		out = append(out, Subscription{ID: t, DisplayName: "the Azure plan subscription the resources moved into"})
	}
	return out
}

// movedAny reports whether a move of the subscription's resources left
// some in the target: a group's move that failed after moving part of them.
func (p *Provider) movedAny(subID string) bool {
	for _, g := range p.GroupsOf(subID) {
		if g.State == GroupFailed && len(g.InTarget) > 0 {
			return true
		}
	}
	return false
}

// OwnerRouteSubscriptions are the ids of the subscriptions whose route
// needs Owner for the partner principal (move_resources, and those of a
// migration made before routes were recorded).
func (p *Provider) OwnerRouteSubscriptions() []string {
	var ids []string
	for _, s := range p.Subscriptions {
		if s.Route == "" || s.Route == string(agreement.MoveResources) {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// LoseOwner records that Resource Manager refused a subscription's move
// report for want of Owner (revoked since the check): it waits for Owner
// again.
func (p *Provider) LoseOwner(subID string, now time.Time) {
	s := p.subscription(subID)
	if s == nil || (s.State != SubscriptionOwned && s.State != SubscriptionValidating) {
		return
	}
	s.State, s.ConfirmedAt = SubscriptionMissingOwner, nil
	p.settleStatus()
	p.AddEvent(Event{At: now, Status: p.Status, Kind: EventOwnershipChecked, By: "system",
		What: fmt.Sprintf("Subscription %s: Azure Resource Manager refused to report the move: the partner principal no longer holds Owner.", s.Label())})
}

// NoteMoveBlocked records (once in a row: the event folds) that the moves
// of a subscription wait because Resource Manager refused them for want of
// Owner.
func (p *Provider) NoteMoveBlocked(subID string, now time.Time) {
	s := p.subscription(subID)
	if s == nil {
		return
	}
	p.AddEvent(Event{At: now, Status: p.Status, Kind: EventOwnershipChecked, By: "system",
		What: fmt.Sprintf("Subscription %s: the moves wait: the partner principal no longer holds Owner on the source or the target.", s.Label())})
}
