package provider

import (
	"fmt"
	"time"
)

// MaxResends is the most times one invitation's consent email may be resent
// (spec §4: at most once per 5 minutes and 10 times per invitation).
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
