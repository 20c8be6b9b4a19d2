package provider

import "time"

// HealthStatus is the outcome of an active provider's scheduled re-check:
// ok, or attention while something is wrong (the stored health map's
// status).
type HealthStatus string

const (
	HealthOK        HealthStatus = "ok"
	HealthAttention HealthStatus = "attention"
)

// Valid reports whether h is a known health status.
func (h HealthStatus) Valid() bool { return h == HealthOK || h == HealthAttention }

// WaitingSince is when an open provider started waiting on the step it is
// on now, and false for a finished one (or one that never started).
// The step's start is, in this order:
//   - the customer's relationship step it waits on (CurrentStep, kept by
//     the relationship checks);
//   - the wait for Owner access (OwnershipWait);
//   - before consent, the invitation's first email (Invitation.SentAt);
//   - after consent, before a check has named the next step, the consent;
//   - otherwise its creation: the invitation not sent yet, or a new
//     customer still being provisioned.
func (p *Provider) WaitingSince() (time.Time, bool) {
	if !p.Open() {
		return time.Time{}, false
	}
	switch {
	case p.CurrentStep != nil && !p.CurrentStep.Since.IsZero():
		return p.CurrentStep.Since, true
	case p.OwnershipWait != nil && !p.OwnershipWait.StartedAt.IsZero():
		return p.OwnershipWait.StartedAt, true
	case p.Status == StatusPendingConsent && p.Invitation != nil && p.Invitation.SentAt != nil:
		return *p.Invitation.SentAt, true
	case p.ConsentedAt != nil:
		return *p.ConsentedAt, true
	case !p.CreatedAt.IsZero():
		return p.CreatedAt, true
	}
	return time.Time{}, false
}

// StuckSince says since when an open provider waits on its current step
// (WaitingSince) and whether, at now, it has waited longer than after: it is
// stuck. A finished provider is never stuck; after <= 0 makes none stuck.
func (p *Provider) StuckSince(now time.Time, after time.Duration) (time.Time, bool) {
	since, ok := p.WaitingSince()
	if !ok {
		return time.Time{}, false
	}
	return since, after > 0 && now.Sub(since) > after
}

// OperatorView is the provider as the operators' listing shows it: the
// View, plus whether it is stuck at now and, when open, since when it
// waits on its current step.
func (p *Provider) OperatorView(now time.Time, after time.Duration) View {
	v := p.View()
	since, stuck := p.StuckSince(now, after)
	v.Stuck = &stuck
	if !since.IsZero() {
		v.WaitingSince = &since
	}
	return v
}
