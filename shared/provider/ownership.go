package provider

import (
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
)

// CheckOpen refuses (invalid_state) a provider that ended: the steps of its
// workflow have nothing left to do.
func (p *Provider) CheckOpen() error {
	if p.Status.Terminal() {
		return apperr.New(apperr.InvalidState, "provider is "+string(p.Status))
	}
	return nil
}

// AllOwned reports whether every subscription is owned, and there is one.
func AllOwned(subs []Subscription) bool {
	if len(subs) == 0 {
		return false
	}
	for _, s := range subs {
		if s.State != SubscriptionOwned {
			return false
		}
	}
	return true
}

// CheckOwnershipDeadline is ownership_deadline_exceeded once the wait for
// Owner access passed its deadline at now, else nil.
func (p *Provider) CheckOwnershipDeadline(now time.Time) error {
	if w := p.OwnershipWait; w != nil && !now.Before(w.Deadline) {
		return apperr.New(apperr.OwnershipDeadlineExceeded, "Owner access was not granted on every subscription before the deadline of "+FormatTime(w.Deadline)+".")
	}
	return nil
}

// CheckOwned is ownership_pending, naming the subscriptions that still lack
// Owner for the partner's principal, until every subscription is owned.
func (p *Provider) CheckOwned() error {
	if AllOwned(p.Subscriptions) {
		return nil
	}
	var ids []string
	for _, s := range p.Subscriptions {
		if s.State != SubscriptionOwned {
			ids = append(ids, s.Label())
		}
	}
	if len(ids) == 0 {
		ids = append(ids, "(no subscription visible)")
	}
	return apperr.New(apperr.OwnershipPending, "Owner access is missing on: "+strings.Join(ids, ", "))
}

// RecordOwnershipCheck records a check of Owner access for principalID in
// the customer tenant: each subscription's state (with when Owner was first
// confirmed, and its display name: the one observed, else the one last
// recorded), whether the subscriptions were discovered (none were named),
// the wait (started at the first check, ending deadline later, or when the
// relationship wait's deadline ends it), the status
// awaiting_owner_access, and one timeline event when anything changed (the
// event folds into the last check's). A provider that ended is
// invalid_state.
func (p *Provider) RecordOwnershipCheck(checked []Subscription, principalID string, discovered bool, now time.Time, deadline time.Duration) error {
	if err := p.CheckOpen(); err != nil {
		return err
	}
	before := summary(p.Subscriptions)
	prev := map[string]Subscription{}
	for _, s := range p.Subscriptions {
		prev[strings.ToLower(s.ID)] = s
	}
	subs := make([]Subscription, 0, len(checked))
	for _, c := range checked {
		s := Subscription{ID: strings.ToLower(c.ID), State: c.State, DisplayName: strings.TrimSpace(c.DisplayName)}
		old, seen := prev[s.ID]
		if s.DisplayName == "" {
			s.DisplayName = old.DisplayName
		}
		if seen && old.ConfirmedAt != nil && s.State == SubscriptionOwned {
			s.ConfirmedAt = old.ConfirmedAt
		} else if s.State == SubscriptionOwned {
			t := now
			s.ConfirmedAt = &t
		}
		subs = append(subs, s)
	}
	p.Subscriptions = subs
	if discovered {
		p.SubscriptionsDiscovered = true
	}
	p.PrincipalID = principalID
	if p.OwnershipWait == nil {
		// The customer's steps after consent share one deadline: a wait
		// for the relationships that ran first counts.
		end := now.Add(deadline)
		if r := p.Relationships; r != nil && r.Wait != nil && r.Wait.Deadline.After(now) && r.Wait.Deadline.Before(end) {
			end = r.Wait.Deadline
		}
		p.OwnershipWait = &OwnershipWait{StartedAt: now, Deadline: end}
	}
	p.OwnershipWait.Checks++
	t := now
	p.OwnershipWait.LastCheckedAt = &t
	changedStatus := p.Status != StatusAwaitingOwnerAccess
	p.Status = StatusAwaitingOwnerAccess
	if after := summary(subs); after != before || changedStatus {
		what := "Ownership checked: " + after + "."
		if len(subs) == 0 {
			what = "Ownership checked: no subscription is visible to the partner principal in the tenant."
		}
		p.AddEvent(Event{At: now, Status: p.Status, Kind: EventOwnershipChecked, What: what, By: "system"})
	}
	return nil
}

func summary(subs []Subscription) string {
	parts := make([]string, 0, len(subs))
	for _, s := range subs {
		parts = append(parts, s.ID+" "+string(s.State))
	}
	return strings.Join(parts, ", ")
}

// OwnershipNotice is an email to the partner's representatives while a
// migration waits for Owner access.
type OwnershipNotice string

const (
	// NoticeWaitStarted: the wait began; help the customer grant Owner.
	NoticeWaitStarted OwnershipNotice = "start"
	// NoticeDeadlineNear: the migration fails soon unless Owner is granted.
	NoticeDeadlineNear OwnershipNotice = "deadline"
)

// DueNotice is the notice due at now, "" when none: one when the wait
// begins, one once the deadline is within warning. warning must exceed the
// longest wait between two checks, or the checks may step over the window.
func (p *Provider) DueNotice(now time.Time, warning time.Duration) OwnershipNotice {
	w := p.OwnershipWait
	switch {
	case w == nil:
		return ""
	case !w.NotifiedStart:
		return NoticeWaitStarted
	case !w.NotifiedDeadline && !now.Before(w.Deadline.Add(-warning)):
		return NoticeDeadlineNear
	}
	return ""
}

// ClaimNotice records notice n as due, with its timeline event, and puts
// it in the outbox (the relay sends it): inside a conditional write, of two
// concurrent checks only one claims it. It reports whether this call
// claimed it.
func (p *Provider) ClaimNotice(n OwnershipNotice, now time.Time) bool {
	w := p.OwnershipWait
	switch {
	case w == nil:
		return false
	case n == NoticeWaitStarted && !w.NotifiedStart:
		w.NotifiedStart = true
		p.Enqueue(NoticeOwnerWaitStarted, now)
		p.AddEvent(Event{At: now, Status: p.Status, What: "The partner's representatives were asked to help the customer grant Owner access.", By: "system"})
		return true
	case n == NoticeDeadlineNear && !w.NotifiedDeadline:
		w.NotifiedDeadline = true
		p.Enqueue(NoticeOwnerDeadlineNear, now)
		p.AddEvent(Event{At: now, Status: p.Status, What: "The partner's representatives were reminded that the deadline is near.", By: "system"})
		return true
	}
	return false
}
