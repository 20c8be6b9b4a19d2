package provider

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/agreement"
	"github.com/partnercloud/azure/shared/apperr"
)

// MovePlan is the move report of the subscriptions on the move_resources
// route: per subscription and resource group, the resources that move into
// the partner's Azure plan subscription and those Microsoft refuses to move
// (with its code and message). Nothing moves before an administrator
// approves the plan's current Version; a new report (resources changed)
// is a new version and needs a new approval.
type MovePlan struct {
	Version int `json:"version" dynamodbav:"version"`
	// Target is the Azure plan subscription the resources move into.
	Target        string             `json:"targetSubscriptionId" dynamodbav:"target"`
	Subscriptions []SubscriptionMove `json:"subscriptions" dynamodbav:"subscriptions"`
	ReportedAt    time.Time          `json:"reportedAt" dynamodbav:"reportedAt"`
	ApprovedAt    *time.Time         `json:"approvedAt,omitempty" dynamodbav:"approvedAt,omitempty"`
	ApprovedBy    string             `json:"approvedBy,omitempty" dynamodbav:"approvedBy,omitempty"`
	// Warning is what moving does to the resources, for whoever approves.
	Warning string `json:"warning" dynamodbav:"-"`
}

// MoveWarning is the move report's warning.
const MoveWarning = "Moving a resource changes its resource id (the subscription and resource group in it): update scripts, templates, alerts and anything else that names it. Resources Microsoft refuses to move stay where they are."

// SubscriptionMove is one subscription's part of the plan.
type SubscriptionMove struct {
	SubscriptionID string      `json:"subscriptionId" dynamodbav:"subscriptionId"`
	Groups         []GroupMove `json:"resourceGroups" dynamodbav:"groups"`
}

// GroupMove is one resource group: what moves into the group of the same
// name in the target, what cannot, and how its move went.
type GroupMove struct {
	Name    string            `json:"name" dynamodbav:"name"`
	Moves   []string          `json:"moves" dynamodbav:"moves"`
	Blocked []BlockedResource `json:"blocked" dynamodbav:"blocked"`
	// State is planned, moving, moved or failed (nothing to move: moved).
	State string `json:"state" dynamodbav:"state"`
	// Operation resumes the long-running move (never shown).
	Operation string           `json:"-" dynamodbav:"operation,omitempty"`
	Failure   *BlockedResource `json:"failure,omitempty" dynamodbav:"failure,omitempty"`
	// StartedAt is when the move was about to be asked of Azure (written
	// before the call: RecordMoveIntent).
	StartedAt *time.Time `json:"startedAt,omitempty" dynamodbav:"startedAt,omitempty"`
	MovedAt   *time.Time `json:"movedAt,omitempty" dynamodbav:"movedAt,omitempty"`
	// InTarget, InSource and Missing say, once a move ended failed, where
	// Resource Manager lists the group's resources (by their ids in the
	// source): moved into the target before the move failed, still in the
	// source, or in neither group.
	InTarget []string `json:"inTarget,omitempty" dynamodbav:"inTarget,omitempty"`
	InSource []string `json:"inSource,omitempty" dynamodbav:"inSource,omitempty"`
	Missing  []string `json:"missing,omitempty" dynamodbav:"missing,omitempty"`
}

// BlockedResource is a resource Microsoft refused to move (or a move's
// failure), with Microsoft's code and message.
type BlockedResource struct {
	ID      string `json:"id,omitempty" dynamodbav:"id,omitempty"`
	Code    string `json:"code" dynamodbav:"code"`
	Message string `json:"message" dynamodbav:"message"`
}

// States of a resource group's move.
const (
	GroupPlanned = "planned"
	GroupMoving  = "moving"
	GroupMoved   = "moved"
	GroupFailed  = "failed"
)

// RecordMoveReport records a subscription's validated move report into the
// plan (target: the Azure plan subscription). A report that differs from
// the one recorded makes a new version, which needs a new approval; the
// same report again changes nothing. The subscription awaits approval (or,
// with nothing to move, is consolidated: nothing stays billed elsewhere).
func (p *Provider) RecordMoveReport(subID, target string, groups []GroupMove, now time.Time) (bool, error) {
	s := p.subscription(subID)
	if s == nil || s.Route != string(agreement.MoveResources) {
		return false, apperr.New(apperr.InvalidState, "subscription "+subID+" is not on the move route")
	}
	if s.State.Final() || s.State == SubscriptionMoving {
		return false, nil
	}
	for i := range groups {
		g := &groups[i]
		if g.Moves == nil {
			g.Moves = []string{}
		}
		if g.Blocked == nil {
			g.Blocked = []BlockedResource{}
		}
		g.State = GroupPlanned
		if len(g.Moves) == 0 {
			g.State = GroupMoved
		}
	}
	if p.MovePlan == nil {
		p.MovePlan = &MovePlan{Target: target}
	}
	plan := p.MovePlan
	i := slices.IndexFunc(plan.Subscriptions, func(m SubscriptionMove) bool { return strings.EqualFold(m.SubscriptionID, subID) })
	entry := SubscriptionMove{SubscriptionID: s.ID, Groups: groups}
	if i >= 0 && sameGroups(plan.Subscriptions[i].Groups, groups) && plan.Target == target {
		return false, nil
	}
	if i >= 0 {
		plan.Subscriptions[i] = entry
	} else {
		plan.Subscriptions = append(plan.Subscriptions, entry)
	}
	plan.Target, plan.ReportedAt = target, now
	plan.Version++
	plan.ApprovedAt, plan.ApprovedBy = nil, ""
	if moves(groups) == 0 {
		t := now
		s.State, s.ConsolidatedAt = SubscriptionConsolidated, &t
	} else {
		s.State = SubscriptionAwaitingApproval
	}
	p.AddEvent(Event{At: now, Status: p.Status, By: "system",
		What: fmt.Sprintf("Move report version %d: subscription %s, %d resources move, %d cannot.", plan.Version, s.Label(), moves(groups), blocked(groups))})
	return true, nil
}

func sameGroups(a, b []GroupMove) bool {
	return slices.EqualFunc(a, b, func(x, y GroupMove) bool {
		return x.Name == y.Name && slices.Equal(x.Moves, y.Moves) && slices.Equal(x.Blocked, y.Blocked)
	})
}

func moves(groups []GroupMove) (n int) {
	for _, g := range groups {
		n += len(g.Moves)
	}
	return n
}

func blocked(groups []GroupMove) (n int) {
	for _, g := range groups {
		n += len(g.Blocked)
	}
	return n
}

// ApproveMovePlan records an administrator's approval (by) of the plan's
// version. A version other than the current one (the report changed since
// it was read) or a plan with nothing awaiting approval is invalid_state;
// approving the approved version again changes nothing. The subscriptions
// awaiting approval start moving.
func (p *Provider) ApproveMovePlan(version int, by string, now time.Time) (bool, error) {
	plan := p.MovePlan
	if plan == nil {
		return false, apperr.New(apperr.InvalidState, "There is no move plan to approve yet.")
	}
	if version != plan.Version {
		return false, apperr.New(apperr.InvalidState, fmt.Sprintf("The move plan is at version %d; reload it and approve that version.", plan.Version))
	}
	if plan.ApprovedAt != nil {
		return false, nil
	}
	waiting := 0
	for i := range p.Subscriptions {
		if p.Subscriptions[i].State == SubscriptionAwaitingApproval {
			p.Subscriptions[i].State = SubscriptionMoving
			waiting++
		}
	}
	if waiting == 0 {
		return false, apperr.New(apperr.InvalidState, "Nothing in the move plan awaits approval.")
	}
	t := now
	plan.ApprovedAt, plan.ApprovedBy = &t, by
	p.AddEvent(Event{At: now, Status: p.Status, By: by, What: fmt.Sprintf("Move plan version %d approved; the resources move now.", version)})
	return true, nil
}

// group returns the plan's group of a subscription, or nil.
func (p *Provider) group(subID, name string) *GroupMove {
	if p.MovePlan == nil {
		return nil
	}
	for i := range p.MovePlan.Subscriptions {
		m := &p.MovePlan.Subscriptions[i]
		if !strings.EqualFold(m.SubscriptionID, subID) {
			continue
		}
		for j := range m.Groups {
			if m.Groups[j].Name == name {
				return &m.Groups[j]
			}
		}
	}
	return nil
}

// RecordMoveStarted records that a group's move was accepted by Azure, with
// the operation that follows it.
func (p *Provider) RecordMoveStarted(subID, group, operation string) error {
	g := p.group(subID, group)
	if g == nil {
		return apperr.New(apperr.InvalidState, "no resource group "+group+" in the move plan")
	}
	if g.State == GroupMoved || g.State == GroupFailed {
		return nil
	}
	g.State, g.Operation = GroupMoving, operation
	return nil
}

// RecordMoveResult records how a group's move ended (failure nil: moved)
// when where its resources are is not known: a move refused before it
// started moves nothing, so its resources are all in the source. A move
// whose operation ended failed is RecordMoveFailure's.
func (p *Provider) RecordMoveResult(subID, group string, failure *BlockedResource, now time.Time) error {
	if failure == nil {
		return p.recordGroupEnd(subID, group, nil, MovePlaces{}, now)
	}
	g := p.group(subID, group)
	if g == nil {
		return apperr.New(apperr.InvalidState, "no resource group "+group+" in the move plan")
	}
	return p.recordGroupEnd(subID, group, failure, MovePlaces{InSource: g.Moves}, now)
}

// MovePlaces is where a group's resources are after its move ended failed,
// as Resource Manager lists the source and target groups, each resource by
// its id in the source (the plan's ids).
type MovePlaces struct {
	InTarget []string
	InSource []string
	Missing  []string
}

// RecordMoveFailure records a group's move whose operation Azure ended
// failed, with Microsoft's code and message (failure) and where Resource
// Manager lists the group's resources after it (places, read after the
// failure). A failed move is not all or nothing; Microsoft's FAQ on moving
// resources: "Resources that were successfully moved are in the
// destination resource group. Resources that failed to move are left the
// source resource group"; and its troubleshooting of ResourceMoveTimedOut:
// "Even after a timeout error, the underlying resources might move
// successfully … If resources appear in the destination, the move
// succeeded despite the timeout message." So:
//   - every planned resource in the target: the group moved (Microsoft's
//     error is kept in the timeline);
//   - else the group failed, with Microsoft's code and message and each
//     resource's place; none is said to have moved unless Resource Manager
//     lists it in the target.
//
// A failed move is not asked again: Resource Manager already retried the
// failed steps inside the operation for up to four hours ("During the
// allowed time, Resource Manager retries the failed step"), and the Azure
// SDK keeps polling through the operation's transient answers (408, 429,
// 5xx); an operation that ends failed is Resource Manager's final answer,
// and Microsoft's remedies (a smaller batch, Azure Resource Mover) are a
// person's to choose. Only a refusal because a move of the same groups
// runs waits and is asked again (MoveWaits). The subscription fails once
// its groups ended, naming each failed group with Microsoft's code and
// message.
func (p *Provider) RecordMoveFailure(subID, group string, failure BlockedResource, places MovePlaces, now time.Time) error {
	g := p.group(subID, group)
	if g == nil {
		return apperr.New(apperr.InvalidState, "no resource group "+group+" in the move plan")
	}
	if len(g.Moves) > 0 && len(places.InTarget) == len(g.Moves) {
		if s := p.subscription(subID); s != nil && g.State == GroupMoving {
			p.AddEvent(Event{At: now, Status: p.Status, By: "system", What: fmt.Sprintf("Subscription %s: Azure reported the move of resource group %s failed: %s (%s); Azure Resource Manager lists all its resources in the target.", s.Label(), group, strings.TrimSuffix(strings.TrimSpace(failure.Message), "."), failure.Code)})
		}
		return p.recordGroupEnd(subID, group, nil, places, now)
	}
	return p.recordGroupEnd(subID, group, &failure, places, now)
}

// MoveWaits reports whether Microsoft's refusal of a group's move (its
// code) means the move waits and is asked again on the next run rather
// than failing the group: Resource Manager locks the source and target
// groups of a running move and refuses another move from or to them
// (ScopeLocked, ResourceGroupLocked) until it ends.
func MoveWaits(code string) bool {
	return code == "ScopeLocked" || code == "ResourceGroupLocked"
}

// recordGroupEnd records how a group's move ended (failure nil: moved;
// else failed, its resources where places says). Once every group of the
// subscription has ended, the subscription is consolidated when all moved,
// or failed naming what did not.
func (p *Provider) recordGroupEnd(subID, group string, failure *BlockedResource, places MovePlaces, now time.Time) error {
	g := p.group(subID, group)
	s := p.subscription(subID)
	if g == nil || s == nil {
		return apperr.New(apperr.InvalidState, "no resource group "+group+" in the move plan")
	}
	if g.State == GroupMoved || g.State == GroupFailed {
		return nil
	}
	t := now
	g.Operation = ""
	if failure != nil {
		g.State, g.Failure = GroupFailed, failure
		g.InTarget, g.InSource, g.Missing = places.InTarget, places.InSource, places.Missing
		p.AddEvent(Event{At: now, Status: p.Status, By: "system", What: fmt.Sprintf("Subscription %s: the move of %s", s.Label(), g.failureWords())})
	} else {
		g.State, g.MovedAt = GroupMoved, &t
		p.AddEvent(Event{At: now, Status: p.Status, By: "system", What: fmt.Sprintf("Subscription %s: resource group %s moved (%d resources).", s.Label(), group, len(g.Moves))})
	}
	var failed []string
	for _, m := range p.MovePlan.Subscriptions {
		if !strings.EqualFold(m.SubscriptionID, subID) {
			continue
		}
		for _, x := range m.Groups {
			switch x.State {
			case GroupPlanned, GroupMoving:
				return nil
			case GroupFailed:
				failed = append(failed, "The move of "+x.failureWords())
			}
		}
	}
	if len(failed) > 0 {
		s.State, s.FailureReason = SubscriptionFailed, strings.Join(failed, " ")
		return nil
	}
	s.State, s.ConsolidatedAt = SubscriptionConsolidated, &t
	return nil
}

// failureWords say how a failed group's move ended, after "the move of":
// Microsoft's message and code, and where its resources are (those in the
// target are billed by the partner; those in the source as before).
func (g GroupMove) failureWords() string {
	out := "resource group " + g.Name + " failed"
	if f := g.Failure; f != nil {
		out += ": " + strings.TrimSuffix(strings.TrimSpace(f.Message), ".") + " (" + f.Code + ")"
	}
	out += "."
	switch n := len(g.Moves); {
	case len(g.InTarget) > 0:
		out += fmt.Sprintf(" %d of its %d resources moved into the partner's Azure plan subscription before it failed; %d stay in the subscription", len(g.InTarget), n, len(g.InSource))
		if len(g.Missing) > 0 {
			out += fmt.Sprintf(" and %d are in neither resource group", len(g.Missing))
		}
		out += "."
	case len(g.Missing) > 0:
		out += fmt.Sprintf(" None of its %d resources moved; %d stay in the subscription and %d are in neither resource group.", n, len(g.InSource), len(g.Missing))
	default:
		out += fmt.Sprintf(" None of its %d resources moved.", n)
	}
	return out
}

// BillingOutcome is where the migration's billing stands once every
// subscription's route has ended: done (false while any is on its way),
// the billing to record (consolidated, or partially_consolidated when some
// could not come under the partner), and, when none could, the failure.
func (p *Provider) BillingOutcome() (done bool, billing string, err error) {
	consolidated, other := 0, 0
	for _, s := range p.Subscriptions {
		switch {
		case !s.State.Final():
			return false, "", nil
		case s.State == SubscriptionConsolidated:
			consolidated++
		default:
			other++
		}
	}
	switch {
	case consolidated == 0:
		return true, "", apperr.New(apperr.InvalidState, "No subscription's billing could come under the partner.")
	case other > 0:
		return true, BillingPartiallyConsolidated, nil
	}
	return true, BillingConsolidated, nil
}
