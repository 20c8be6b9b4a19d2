// Package jwtissuer is the local cloud's token issuer: an ECDSA P-256 key made
// at start-up, kept in memory and written as PEM (with the issuer and audience
// as PEM headers) so that a separate `localcloud token` process can sign tokens
// the running cloud accepts.
//
// Defaults when the template's JwtConfiguration cannot be resolved:
// issuer "http://127.0.0.1:<api port>/local-issuer" (DefaultIssuer) and
// audience "partner-cloud-local" (DefaultAudience).
package jwtissuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultAudience is the audience used when the template gives none.
const DefaultAudience = "partner-cloud-local"

// DefaultTTL is the lifetime of a token.
const DefaultTTL = time.Hour

// DefaultIssuer is the issuer used when the template gives none, for an API
// served at apiAddr (host:port).
func DefaultIssuer(apiAddr string) string { return "http://" + apiAddr + "/local-issuer" }

const pemType = "EC PRIVATE KEY"

// Issuer signs and verifies the local cloud's tokens (ES256).
type Issuer struct {
	key *ecdsa.PrivateKey
	// Issuer is the iss claim; Audience the aud claim of issued tokens.
	Issuer   string
	Audience string
	// Accepted are the audiences Verify accepts (the authorizer's audience
	// list); Audience when empty.
	Accepted []string
	now      func() time.Time
}

// New makes a fresh key.
func New(issuer, audience string) (*Issuer, error) {
	if issuer == "" || audience == "" {
		return nil, errors.New("jwtissuer: issuer and audience are required")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &Issuer{key: key, Issuer: issuer, Audience: audience, now: time.Now}, nil
}

// WriteKeyFile writes the key with its issuer and audience as PEM, readable by
// the owner only.
func (i *Issuer) WriteKeyFile(path string) error {
	der, err := x509.MarshalECPrivateKey(i.key)
	if err != nil {
		return err
	}
	block := &pem.Block{Type: pemType, Headers: map[string]string{"Issuer": i.Issuer, "Audience": i.Audience}, Bytes: der}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(block), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Load reads a key file written by WriteKeyFile.
func Load(path string) (*Issuer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != pemType {
		return nil, fmt.Errorf("jwtissuer: %s is not an %s PEM file", path, pemType)
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("jwtissuer: %s: %w", path, err)
	}
	i := &Issuer{key: key, Issuer: block.Headers["Issuer"], Audience: block.Headers["Audience"], now: time.Now}
	if i.Issuer == "" || i.Audience == "" {
		return nil, fmt.Errorf("jwtissuer: %s lacks the Issuer or Audience header", path)
	}
	return i, nil
}

// Claims are what a token says about its holder.
type Claims struct {
	// Subject is the user id (sub).
	Subject string
	// AccountID is the caller's platform account (account_id).
	AccountID string
	// Roles, e.g. ["admin"] (roles, a JSON array).
	Roles []string
	// Scope is an optional space-separated OAuth scope list (scope).
	Scope string
	// Name and Email are the user's display name and address (name, email), optional.
	Name, Email string
	// TTL is the lifetime; DefaultTTL if zero. A negative TTL makes an
	// expired token (for tests).
	TTL time.Duration
}

// Sign issues a token with sub, account_id, roles, iss, aud, iat and exp.
func (i *Issuer) Sign(c Claims) (string, error) {
	ttl := c.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	now := i.now()
	roles := c.Roles
	if roles == nil {
		roles = []string{}
	}
	mc := jwt.MapClaims{
		"iss":        i.Issuer,
		"aud":        i.Audience,
		"sub":        c.Subject,
		"account_id": c.AccountID,
		"roles":      roles,
		"iat":        now.Unix(),
		"exp":        now.Add(ttl).Unix(),
	}
	if c.Scope != "" {
		mc["scope"] = c.Scope
	}
	if c.Name != "" {
		mc["name"] = c.Name
	}
	if c.Email != "" {
		mc["email"] = c.Email
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, mc)
	t.Header["kid"] = "local-cloud"
	return t.SignedString(i.key)
}

// Verify checks a token's signature (ES256 with this key), issuer, audience
// (one of Accepted), expiry and not-before, as API Gateway's JWT authorizer
// does, and returns its claims.
func (i *Issuer) Verify(token string) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return &i.key.PublicKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}),
		jwt.WithIssuer(i.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(i.now),
	)
	if err != nil {
		return nil, err
	}
	accepted := i.Accepted
	if len(accepted) == 0 {
		accepted = []string{i.Audience}
	}
	aud, _ := claims.GetAudience()
	for _, a := range aud {
		if slices.Contains(accepted, a) {
			return claims, nil
		}
	}
	return nil, fmt.Errorf("token audience %v is not accepted", []string(aud))
}
