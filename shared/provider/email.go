package provider

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// NewClaimID returns a random id for one run's claim of an email, so that a
// run whose claim was written but whose reply was lost recognises the claim
// as its own.
func NewClaimID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ClaimOutcomeEmail claims, before it is sent, the one email that tells the
// requester how the migration ended (claim: the run's NewClaimID). When
// the provider is an active new customer whose initial credentials link was
// not issued yet, the claim also records linkHash (LinkHash of the token the
// email carries) as the link, expiring at linkExpires. It reports whether
// this run holds the claim, and whether the email carries the link.
func (p *Provider) ClaimOutcomeEmail(claim, linkHash string, linkExpires time.Time) (claimed, withLink bool) {
	if !p.OutcomeEmailSent {
		p.OutcomeEmailSent, p.OutcomeEmailClaim = true, claim
		if ia := p.InitialAdmin; p.Status == StatusActive && ia != nil && ia.SecretARN != "" && ia.TokenHash == "" {
			exp := linkExpires
			ia.TokenHash, ia.ExpiresAt = linkHash, &exp
		}
	}
	if p.OutcomeEmailClaim != claim {
		return false, false
	}
	return true, p.InitialAdmin != nil && p.InitialAdmin.TokenHash == linkHash
}

// UnclaimOutcomeEmail gives back the claim (and the link it recorded) of an
// outcome email whose send failed for a passing reason, so that the retry
// claims and sends it again with a fresh link. Another run's claim is left.
func (p *Provider) UnclaimOutcomeEmail(claim, linkHash string) {
	if p.OutcomeEmailClaim != claim {
		return
	}
	p.OutcomeEmailSent, p.OutcomeEmailClaim = false, ""
	if ia := p.InitialAdmin; ia != nil && ia.TokenHash == linkHash {
		ia.TokenHash, ia.ExpiresAt = "", nil
	}
}

// NewLinkToken returns a random 256-bit link token and its LinkHash.
func NewLinkToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, LinkHash(token)
}

// LinkHash is the stored form of a link token: hex SHA-256.
func LinkHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
