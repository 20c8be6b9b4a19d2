package provider

import (
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/logging"
)

// InvitationSchedule is when the consent email's reminders go out and when
// the invitation expires, measured from when it was first sent.
type InvitationSchedule struct {
	Expiry    time.Duration
	Reminders []time.Duration
}

// DefaultInvitationSchedule: expires after 14 days, reminders after 3 and 7 days.
var DefaultInvitationSchedule = InvitationSchedule{Expiry: 14 * 24 * time.Hour, Reminders: []time.Duration{3 * 24 * time.Hour, 7 * 24 * time.Hour}}

// InvitationAction is what the invitation task must do when it runs.
type InvitationAction string

const (
	ActionSend     InvitationAction = "invitation" // first run: send the invitation
	ActionRemind   InvitationAction = "reminder"   // a reminder is due
	ActionWait     InvitationAction = "none"       // nothing due: keep waiting
	ActionExpire   InvitationAction = "expired"    // the invitation expired
	ActionResumeOK InvitationAction = "resume"     // consent is recorded: resume the workflow
)

// Next decides the action at now for an invitation sent at sentAt (zero when
// not sent yet) that has had remindersSent reminders.
func (s InvitationSchedule) Next(now, sentAt time.Time, remindersSent int) InvitationAction {
	if sentAt.IsZero() {
		return ActionSend
	}
	if !now.Before(sentAt.Add(s.Expiry)) {
		return ActionExpire
	}
	if remindersSent < len(s.Reminders) && !now.Before(sentAt.Add(s.Reminders[remindersSent])) {
		return ActionRemind
	}
	return ActionWait
}

// Due is the action at now for the invitation (nil: none yet).
func (s InvitationSchedule) Due(inv *Invitation, now time.Time) InvitationAction {
	if inv == nil || inv.SentAt == nil {
		return ActionSend
	}
	return s.Next(now, *inv.SentAt, inv.RemindersSent)
}

// ConsentRecorded reports whether the migration recorded the customer's
// consent: it moved on to the wait for the customer's other steps, for
// Owner access, or further to active.
func (p *Provider) ConsentRecorded() bool {
	return p.Status == StatusAwaitingCustomer || p.Status == StatusAwaitingOwnerAccess || p.Status == StatusActive
}

// StartInvitation gives a migration waiting for consent its invitation:
// the nonce the link is derived from and the link's stored hash, unless it
// has them already (so that every run and retry sends the same link). A
// migration past pending_consent is invalid_state.
func (p *Provider) StartInvitation(nonce, hash string) error {
	if p.Status != StatusPendingConsent {
		return apperr.New(apperr.InvalidState, "provider is "+string(p.Status)+"; no invitation to send")
	}
	if p.Invitation == nil {
		p.Invitation = &Invitation{}
	}
	if p.Invitation.Nonce == "" {
		p.Invitation.Nonce, p.Invitation.Hash = nonce, hash
	}
	return nil
}

// ClaimInvitationEmail claims, before it is sent, the consent email action
// (ActionSend or ActionRemind) the schedule found due at now: it records
// the send (when, and the expiry of the first email; or one more reminder)
// and its timeline event. Inside a conditional write, of two overlapping
// runs only one claims it; claim is the run's id (NewClaimID), so a run
// whose write landed but whose reply was lost knows the claim as its own.
// It reports whether this run holds the claim, and the event the claim adds
// (for UnclaimInvitationEmail). Nothing is claimed when the email is no
// longer due (another run sent it, or the migration moved on).
func (p *Provider) ClaimInvitationEmail(s InvitationSchedule, action InvitationAction, claim string, expires, now time.Time) (bool, Event) {
	e := Event{At: now, Status: StatusPendingConsent, By: "system",
		What: "Reminder email sent to the Azure administrator (" + logging.MaskEmail(p.AzureAdminEmail) + ")."}
	if action == ActionSend {
		e.What = "Consent email sent to the Azure administrator (" + logging.MaskEmail(p.AzureAdminEmail) + "); the link expires on " + expires.UTC().Format(time.RFC1123) + "."
	} else {
		e.Kind = EventReminderSent
	}
	inv := p.Invitation
	switch {
	case inv == nil:
		return false, e
	case inv.ClaimID == claim:
		return true, e
	case p.Status != StatusPendingConsent || s.Due(inv, now) != action:
		return false, e
	}
	t := now
	inv.LastSentAt = &t
	if action == ActionSend {
		inv.SentAt, inv.ExpiresAt = &t, &expires
	} else {
		inv.RemindersSent++
	}
	p.AddEvent(e)
	inv.ClaimID = claim
	return true, e
}

// UnclaimInvitationEmail gives back a claimed email whose send failed, so
// that a retry sends it: it takes back exactly what the claim of action
// wrote (its event e, and the send or the reminder).
func (p *Provider) UnclaimInvitationEmail(action InvitationAction, e Event) {
	if p.Invitation == nil || !p.RemoveEvent(e) {
		return
	}
	if action == ActionSend {
		p.Invitation.SentAt, p.Invitation.ExpiresAt = nil, nil
	} else if p.Invitation.RemindersSent > 0 {
		p.Invitation.RemindersSent--
	}
}
