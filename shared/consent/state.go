package consent

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/msid"
)

// State is the payload of the signed `state` parameter sent to Microsoft and
// returned on the callback (RFC 6749 §10.12: the CSRF defence). It binds the
// redirect to one invitation and one step, expires, and has a unique id (JTI)
// that the callback consumes once.
//
// The sign-in step (StepSignIn) carries no tenant: the tenant is what the
// sign-in proves. The admin-consent step (StepConsent) is issued only after a
// validated sign-in and carries the proven tenant, so a consent redirect
// naming any other tenant is refused.
//
// Hand-written rather than a JWT library: it is one HMAC over a fixed JSON
// shape with no algorithm negotiation, which keeps "alg" confusion out.
type State struct {
	// Invitation is the hash of the invitation id (never the id itself).
	Invitation string `json:"inv"`
	JTI        string `json:"jti"`
	Expires    int64  `json:"exp"`
	// Step is StepSignIn or StepConsent.
	Step string `json:"stp"`
	// Tenant is the tenant id the sign-in proved (StepConsent only), lower case.
	Tenant string `json:"tid,omitempty"`
}

// The steps a state is issued for.
const (
	// StepSignIn: the OpenID Connect sign-in that proves who the
	// administrator is and which tenant is theirs.
	StepSignIn = "signin"
	// StepConsent: admin consent in the tenant the sign-in proved.
	StepConsent = "consent"
)

// State errors; the callback shows each as a 400 page.
var (
	ErrStateMissing   = errors.New("consent: state is missing")
	ErrStateMalformed = errors.New("consent: state is malformed")
	ErrStateSignature = errors.New("consent: state signature does not match")
	ErrStateExpired   = errors.New("consent: state has expired")
)

// MaxStateLen bounds what is parsed at all.
const MaxStateLen = 512

// NewState returns a state for the invitation hash, valid for at least ttl
// (Expires is in whole seconds).
func NewState(invitationHash string, now time.Time, ttl time.Duration) (State, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return State{}, err
	}
	// Round the expiry up to a whole second: truncating it would cut up to a
	// second off the lifetime, and a lifetime under a second (a local cloud
	// with a time scale) could end before the state was even used.
	exp := now.Add(ttl)
	secs := exp.Unix()
	if exp.Nanosecond() > 0 {
		secs++
	}
	return State{Invitation: invitationHash, JTI: hex.EncodeToString(b), Expires: secs, Step: StepSignIn}, nil
}

// NewConsentState returns an admin-consent state for the invitation hash and
// the tenant a validated sign-in proved, valid for at least ttl.
func NewConsentState(invitationHash, tenantID string, now time.Time, ttl time.Duration) (State, error) {
	s, err := NewState(invitationHash, now, ttl)
	if err != nil {
		return State{}, err
	}
	s.Step, s.Tenant = StepConsent, strings.ToLower(tenantID)
	return s, nil
}

// Sign encodes the state as base64url(JSON) "." base64url(HMAC-SHA256).
func (k Key) Sign(s State) string {
	payload, _ := json.Marshal(s)
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(k.mac(p))
}

func (k Key) mac(payload string) []byte {
	m := hmac.New(sha256.New, k)
	m.Write([]byte("state\x00" + payload))
	return m.Sum(nil)
}

// Verify checks the signature first, then the shape, then expiry. It does not
// check single use: the caller consumes the JTI with a conditional write.
func (k Key) Verify(raw string, now time.Time) (State, error) {
	if raw == "" {
		return State{}, ErrStateMissing
	}
	if len(raw) > MaxStateLen {
		return State{}, ErrStateMalformed
	}
	p, sig, ok := strings.Cut(raw, ".")
	if !ok || p == "" || sig == "" {
		return State{}, ErrStateMalformed
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return State{}, ErrStateMalformed
	}
	if !hmac.Equal(got, k.mac(p)) {
		return State{}, ErrStateSignature
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return State{}, ErrStateMalformed
	}
	var s State
	if err := json.Unmarshal(payload, &s); err != nil || len(s.Invitation) != 64 || len(s.JTI) != 32 || s.Expires <= 0 || !s.wellFormedStep() {
		return State{}, ErrStateMalformed
	}
	if now.Unix() >= s.Expires {
		return State{}, ErrStateExpired
	}
	return s, nil
}

// wellFormedStep: a sign-in state names no tenant, a consent state names a
// tenant GUID.
func (s State) wellFormedStep() bool {
	switch s.Step {
	case StepSignIn:
		return s.Tenant == ""
	case StepConsent:
		return msid.IsLowerGUID(s.Tenant)
	}
	return false
}

// PKCEVerifier is the PKCE code verifier (RFC 7636) of a sign-in state. It is
// derived from the state's JTI with the signing key, so nothing is stored
// between the redirect to Microsoft and the callback, and only this service
// can compute it: 43 characters of base64url over an HMAC-SHA-256.
func (k Key) PKCEVerifier(s State) string {
	return base64.RawURLEncoding.EncodeToString(k.derive("pkce", s.JTI))
}

// PKCEChallenge is the S256 code challenge of a verifier.
func PKCEChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Nonce is the OpenID Connect nonce of a sign-in state: the ID token must
// carry it back. Derived like the verifier, and distinct from it.
func (k Key) Nonce(s State) string {
	return base64.RawURLEncoding.EncodeToString(k.derive("nonce", s.JTI))
}

func (k Key) derive(purpose, jti string) []byte {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(purpose + "\x00" + jti))
	return m.Sum(nil)
}
