package provider

import (
	"time"
)

// StepWaitMark is the customer's step a migration waits on and since when;
// Notified is set once the representatives were told it is stuck.
type StepWaitMark struct {
	Key      string    `dynamodbav:"key"`
	Since    time.Time `dynamodbav:"since"`
	Notified bool      `dynamodbav:"notified,omitempty"`
}

// Key names a step within the provider: its name, and the subscription of
// an owner_access step.
func (s Step) Key() string {
	if s.SubscriptionID != "" {
		return s.Name + ":" + s.SubscriptionID
	}
	return s.Name
}

// TrackStep notes, at a check at now, which of the customer's relationship
// steps the migration waits on (the first one not done), and, once the
// customer has been on that same step for stuckAfter or longer, tells the
// partner's representatives, once per step: an outbox entry and a timeline
// event. A step that moves on starts the clock again. The wait for Owner
// access is not tracked here: it has its own notices (DueNotice). It
// reports whether a notice was enqueued; stuckAfter <= 0 tells no one.
// Before consent nothing is tracked: the invitation's reminders are the
// customer's prompt then.
func (p *Provider) TrackStep(now time.Time, stuckAfter time.Duration) bool {
	if !p.ConsentRecorded() || p.Status.Terminal() {
		return false
	}
	var open *Step
	for _, s := range p.Steps() {
		if !s.Done() && s.Status != StepStatusFailed {
			open = &s
			break
		}
	}
	if open == nil || open.Name == StepOwnerAccess {
		p.CurrentStep = nil
		return false
	}
	key := open.Key()
	if p.CurrentStep == nil || p.CurrentStep.Key != key {
		p.CurrentStep = &StepWaitMark{Key: key, Since: now}
		return false
	}
	mark := p.CurrentStep
	if stuckAfter <= 0 || mark.Notified || now.Sub(mark.Since) < stuckAfter {
		return false
	}
	mark.Notified = true
	e := p.Enqueue(NoticeCustomerStuck, now)
	e.Step = key
	since := mark.Since
	e.Since = &since
	p.AddEvent(Event{At: now, Status: p.Status, By: "system",
		What: "The partner's representatives were told the customer has been on one step since " + FormatTime(since) + ": " + StepName(key) + "."})
	return true
}

// StepName says a step (by its Key) in a few words.
func StepName(key string) string {
	switch key {
	case StepSignIn:
		return "sign in with Microsoft"
	case StepAppConsent:
		return "authorize the partner application"
	case StepReseller:
		return "accept the reseller relationship"
	case StepGDAP:
		return "approve the admin relationship (GDAP)"
	case StepAssignments:
		return "the admin relationship's access assignments becoming active"
	}
	if len(key) > len(StepOwnerAccess)+1 && key[:len(StepOwnerAccess)+1] == StepOwnerAccess+":" {
		return "grant Owner on subscription " + key[len(StepOwnerAccess)+1:]
	}
	return key
}

// StepSentences say the customer's steps as a reminder lists them: those
// still to do (each with who does it) and those Microsoft reports done, in
// the checklist's order. A failed step is among those to do.
func (p *Provider) StepSentences() (todo, done []string) {
	for _, s := range p.Steps() {
		what := StepName(s.Key())
		if s.Done() {
			done = append(done, upperFirst(what))
			continue
		}
		line := upperFirst(what)
		if who := ActorLabels[s.Actor]; who != "" {
			line += " (" + who + ")"
		}
		todo = append(todo, line)
	}
	return todo, done
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
