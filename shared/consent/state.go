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
)

// State is the payload of the signed `state` parameter sent to Microsoft's
// admin-consent endpoint and returned on the callback (RFC 6749 §10.12: the
// CSRF defence). It binds the redirect to one invitation, expires, and has a
// unique id (JTI) that the callback consumes once.
//
// Hand-written rather than a JWT library: it is one HMAC over a fixed JSON
// shape with no algorithm negotiation, which keeps "alg" confusion out.
type State struct {
	// Invitation is the hash of the invitation id (never the id itself).
	Invitation string `json:"inv"`
	JTI        string `json:"jti"`
	Expires    int64  `json:"exp"`
}

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
	return State{Invitation: invitationHash, JTI: hex.EncodeToString(b), Expires: secs}, nil
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
	if err := json.Unmarshal(payload, &s); err != nil || len(s.Invitation) != 64 || len(s.JTI) != 32 || s.Expires <= 0 {
		return State{}, ErrStateMalformed
	}
	if now.Unix() >= s.Expires {
		return State{}, ErrStateExpired
	}
	return s, nil
}
