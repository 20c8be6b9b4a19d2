package provider

import (
	"crypto/subtle"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
)

// Why the initial credentials link of a new customer does not open.
var (
	// ErrLinkUnknown: the token is not this provider's link.
	ErrLinkUnknown = apperr.New(apperr.NotFound, "This link is not valid.")
	// ErrLinkUsed: the credentials were shown once already.
	ErrLinkUsed = apperr.New(apperr.InvalidState, "The credentials were already shown once.")
	// ErrLinkExpired: the link's time ran out, or there is nothing to show.
	ErrLinkExpired = apperr.New(apperr.InvalidState, "The link expired.")
)

// CheckCredentialsLink is nil when token opens the provider's initial
// credentials link at now: the token's hash is the one recorded with the
// completion email (compared in constant time), the credentials were not
// shown yet, and the link has not expired. Otherwise it is ErrLinkUnknown,
// ErrLinkUsed or ErrLinkExpired.
func (p *Provider) CheckCredentialsLink(token string, now time.Time) error {
	ia := p.InitialAdmin
	if ia == nil || ia.TokenHash == "" || subtle.ConstantTimeCompare([]byte(LinkHash(token)), []byte(ia.TokenHash)) != 1 {
		return ErrLinkUnknown
	}
	if ia.ViewedAt != nil {
		return ErrLinkUsed
	}
	if ia.ExpiresAt == nil || !now.Before(*ia.ExpiresAt) || ia.SecretARN == "" {
		return ErrLinkExpired
	}
	return nil
}

// RecordCredentialsShown uses the link of tokenHash up, with its timeline
// event, before the credentials are shown: inside a conditional write, of
// concurrent uses one wins. claim is the request's own NewClaimID: when the
// write succeeded but its reply was lost and the store runs this again,
// the use is recognised as this request's and succeeds. It is ErrLinkUsed
// when they were shown before (to another request) or the link is no
// longer tokenHash's.
func (p *Provider) RecordCredentialsShown(tokenHash, claim string, now time.Time) error {
	ia := p.InitialAdmin
	if ia != nil && ia.ViewedAt != nil && claim != "" && ia.ViewClaim == claim && ia.TokenHash == tokenHash {
		return nil
	}
	if ia == nil || ia.ViewedAt != nil || ia.TokenHash != tokenHash {
		return ErrLinkUsed
	}
	t := now
	ia.ViewedAt, ia.ViewClaim = &t, claim
	p.AddEvent(Event{At: now, Status: p.Status, What: "The initial administrator's credentials were shown once through the emailed link.", By: "requester-link"})
	return nil
}
