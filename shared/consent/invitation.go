// Package consent is the customer administrator's side of a migration: the
// invitation behind the email link (its id, the record kept behind it, and
// when the link no longer leads anywhere), and the signed states that bind
// Microsoft's sign-in and admin-consent redirects to an invitation. When the
// consent emails are due is the provider's rule (provider.InvitationSchedule).
package consent

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/partnercloud/azure/shared/provider"
)

// Key is the secret (from Secrets Manager) behind invitation ids and state
// signatures. At least 32 bytes.
type Key []byte

// ErrShortKey is returned for a key under 32 bytes.
var ErrShortKey = errors.New("consent: the signing key must be at least 32 bytes")

// ParseKey checks a key's length.
func ParseKey(b []byte) (Key, error) {
	if len(b) < 32 {
		return nil, ErrShortKey
	}
	return Key(b), nil
}

// NewNonce returns 128 random bits, hex-encoded, stored with the provider.
func NewNonce() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// InvitationID derives the id in the email link from the provider and its
// nonce: base64url(HMAC-SHA256(key, "invitation\x00" + providerID + "\x00" + nonce)),
// 256 bits. The id itself is never stored, only its Hash; deriving it lets a
// resend reuse the same link without keeping the link in the database.
func (k Key) InvitationID(providerID, nonce string) string {
	m := hmac.New(sha256.New, k)
	m.Write([]byte("invitation\x00" + providerID + "\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Hash is the stored form of an invitation id: hex SHA-256.
func Hash(invitationID string) string {
	s := sha256.Sum256([]byte(invitationID))
	return hex.EncodeToString(s[:])
}

// WellFormedID reports whether s could be an invitation id (43 base64url
// characters), so lookups of garbage never reach the database.
func WellFormedID(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// Schedule is when the consent email's reminders go out and when the
// invitation expires: provider.InvitationSchedule, which decides when an
// email is due. The function mains configure it under this name.
type Schedule = provider.InvitationSchedule

// DefaultSchedule: expires after 14 days, reminders after 3 and 7 days.
var DefaultSchedule = provider.DefaultInvitationSchedule

// LoadKey reads the signing key with read (the value of the secret arn in
// Secrets Manager: lazysecretsmanager.Reader) and checks it.
func LoadKey(ctx context.Context, read SecretReader, arn string) (Key, error) {
	raw, err := read(ctx, arn)
	if err != nil {
		return nil, fmt.Errorf("signing key unavailable: %w", err)
	}
	k, err := ParseKey(raw)
	if err != nil {
		return nil, fmt.Errorf("signing key unusable (SIGNING_KEY_SECRET_ARN): %w", err)
	}
	return k, nil
}

// Link is the invitation link of a provider: BaseURL + "/consent/" + the id
// derived from its stored nonce (the same link for every send).
func (k Key) Link(baseURL string, p *provider.Provider) string {
	return strings.TrimRight(baseURL, "/") + "/consent/" + k.InvitationID(p.ID, p.Invitation.Nonce)
}
