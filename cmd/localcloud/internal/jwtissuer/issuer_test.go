package jwtissuer

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSignVerifyAndKeyFile(t *testing.T) {
	iss, err := New("http://127.0.0.1:3000/local-issuer", "partner-cloud")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jwt.pem")
	if err := iss.WriteKeyFile(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Issuer != iss.Issuer || loaded.Audience != iss.Audience {
		t.Fatalf("loaded %q %q", loaded.Issuer, loaded.Audience)
	}
	// A token signed by the loaded copy (the `token` command) verifies in the original (the cloud).
	tok, err := loaded.Sign(Claims{Subject: "u1", AccountID: "acct-eligible", Roles: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	claims, err := iss.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if claims["sub"] != "u1" || claims["account_id"] != "acct-eligible" || !reflect.DeepEqual(claims["roles"], []any{"admin"}) {
		t.Errorf("claims %v", claims)
	}
	exp, _ := claims.GetExpirationTime()
	if d := time.Until(exp.Time); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("exp in %v", d)
	}
}

func TestVerifyRejects(t *testing.T) {
	iss, _ := New("https://issuer.example/", "aud-1")
	other, _ := New("https://issuer.example/", "aud-1")
	wrongIss, _ := New("https://other.example/", "aud-1")
	wrongIss.key = iss.key
	wrongAud, _ := New("https://issuer.example/", "aud-2")
	wrongAud.key = iss.key
	sign := func(i *Issuer, ttl time.Duration) string {
		tok, err := i.Sign(Claims{Subject: "u", AccountID: "a", TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct{ name, token, want string }{
		{"other key", sign(other, 0), "signature"},
		{"wrong issuer", sign(wrongIss, 0), "iss"},
		{"wrong audience", sign(wrongAud, 0), "audience"},
		{"expired", sign(iss, -time.Minute), "expired"},
		{"garbage", "not.a.jwt", "malformed"},
		{"alg none", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0.", "signing method"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := iss.Verify(tc.token)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want containing %q", err, tc.want)
			}
		})
	}
	// Accepted widens the audiences.
	iss.Accepted = []string{"aud-1", "aud-2"}
	if _, err := iss.Verify(sign(wrongAud, 0)); err != nil {
		t.Errorf("accepted audience rejected: %v", err)
	}
}
