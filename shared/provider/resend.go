package provider

import (
	"fmt"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
)

// MaxResends is the most times one invitation's consent email may be resent
// (and at most once per interval: see Invitation.CheckResend).
const MaxResends = 10

// ResendRefused is why a resend is refused: too soon after the last one
// (RetryAfter is the wait left), or the invitation's resends are used up
// (Exhausted; waiting does not help).
type ResendRefused struct {
	RetryAfter time.Duration
	Exhausted  bool
}

func (e *ResendRefused) Error() string {
	if e.Exhausted {
		return fmt.Sprintf("provider: the consent email was already resent %d times", MaxResends)
	}
	return fmt.Sprintf("provider: resend within the interval; %s left", e.RetryAfter)
}

// CheckResend returns a *ResendRefused when the consent email may not be
// resent at now: MaxResends resends were already claimed, or the last was
// claimed less than interval ago. Whether the invitation is open at all is
// the caller's check.
func (inv *Invitation) CheckResend(now time.Time, interval time.Duration) error {
	if inv.resendsClaimed() >= MaxResends {
		return &ResendRefused{Exhausted: true}
	}
	if last := inv.LastResentAt; last != nil {
		if next := last.Add(interval); now.Before(next) {
			return &ResendRefused{RetryAfter: next.Sub(now)}
		}
	}
	return nil
}

// ClaimResend checks the limits and claims one resend at now. A claim
// counts whether or not the email then goes out (SES may have accepted a
// message whose send reported an error), so the limits hold even when
// sending fails; call it inside a conditional write so that of concurrent
// claims only one is stored.
func (inv *Invitation) ClaimResend(now time.Time, interval time.Duration) error {
	if err := inv.CheckResend(now, interval); err != nil {
		return err
	}
	t := now
	inv.LastResentAt = &t
	inv.ResendClaims = inv.resendsClaimed() + 1
	return nil
}

// resendsClaimed counts the claims; items written before claims were
// counted have only the resends sent.
func (inv *Invitation) resendsClaimed() int { return max(inv.ResendClaims, inv.Resends) }

// CheckResend refuses a resend of the consent email at now: invalid_state
// for a migration not waiting for consent, or whose invitation was not sent
// yet or expired; a *ResendRefused past the invitation's limits.
func (p *Provider) CheckResend(now time.Time, interval time.Duration) error {
	if p.Status != StatusPendingConsent {
		return apperr.New(apperr.InvalidState, fmt.Sprintf(
			"The migration is not waiting for consent (its status is %s); there is no consent email to resend.", p.Status))
	}
	inv := p.Invitation
	if inv == nil || inv.SentAt == nil || inv.ExpiresAt == nil || inv.Nonce == "" {
		return apperr.New(apperr.InvalidState, "The consent email has not been sent yet; it goes out shortly after the provider is created.")
	}
	if !now.Before(*inv.ExpiresAt) {
		return apperr.New(apperr.InvalidState, fmt.Sprintf(
			"The consent link expired on %s; create a new provider to try again.", FormatTime(*inv.ExpiresAt)))
	}
	return inv.CheckResend(now, interval)
}

// ClaimResend checks (CheckResend) and claims one resend at now
// (Invitation.ClaimResend), inside a conditional write.
func (p *Provider) ClaimResend(now time.Time, interval time.Duration) error {
	if err := p.CheckResend(now, interval); err != nil {
		return err
	}
	return p.Invitation.ClaimResend(now, interval)
}

// RecordResent records that the consent email was resent, by a user (by).
func (p *Provider) RecordResent(by string, now time.Time) {
	if p.Invitation != nil {
		p.Invitation.Resends++
	}
	p.AddEvent(Event{At: now, Status: p.Status, Kind: EventConsentResent, What: "Consent email resent by " + by + ".", By: by})
}
