package consent

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestStateRoundTripAndRejections(t *testing.T) {
	k := testKey(t)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	inv := Hash(k.InvitationID("prv_1", "n"))
	st, err := NewState(inv, now, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	raw := k.Sign(st)
	got, err := k.Verify(raw, now.Add(time.Minute))
	if err != nil || got != st {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, st)
	}
	other := Key([]byte(strings.Repeat("x", 32)))
	p, sig, _ := strings.Cut(raw, ".")
	tampered := k.Sign(State{Invitation: strings.Repeat("a", 64), JTI: st.JTI, Expires: st.Expires})
	tp, _, _ := strings.Cut(tampered, ".")
	tests := []struct {
		name string
		raw  string
		at   time.Time
		want error
	}{
		{"missing", "", now, ErrStateMissing},
		{"no dot", p, now, ErrStateMalformed},
		{"empty signature", p + ".", now, ErrStateMalformed},
		{"foreign key", other.Sign(st), now, ErrStateSignature},
		{"payload swapped under old signature", tp + "." + sig, now, ErrStateSignature},
		{"signature not base64", p + ".***", now, ErrStateMalformed},
		{"oversized", strings.Repeat("a", MaxStateLen+1), now, ErrStateMalformed},
		{"expired", raw, now.Add(31 * time.Minute), ErrStateExpired},
		{"signed garbage payload", func() string { return "Z2FyYmFnZQ." + encodeMAC(k, "Z2FyYmFnZQ") }(), now, ErrStateMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := k.Verify(tt.raw, tt.at); !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzVerifyState(f *testing.F) {
	k := Key([]byte(strings.Repeat("k", 32)))
	now := time.Unix(1_700_000_000, 0)
	st := State{Invitation: strings.Repeat("a", 64), JTI: strings.Repeat("b", 32), Expires: now.Add(time.Hour).Unix()}
	signed := k.Sign(st)
	signedPayload, _, _ := strings.Cut(signed, ".")
	f.Add(signed)
	f.Add("")
	f.Add("a.b")
	f.Add("eyJpbnYiOiIifQ.AAAA")
	f.Fuzz(func(t *testing.T, raw string) {
		_, err := k.Verify(raw, now)
		if err != nil {
			return
		}
		// Anything accepted carries a payload the key signed: the seed's.
		if payload, _, _ := strings.Cut(raw, "."); payload != signedPayload {
			t.Fatalf("accepted %q that does not re-sign to itself", raw)
		}
	})
}

// encodeMAC signs an arbitrary payload as Sign would.
func encodeMAC(k Key, p string) string { return b64(k.mac(p)) }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// TestStateLivesAtLeastTTL: the expiry is rounded up to a whole second, so a
// state is valid for at least its TTL, even a TTL under a second (the local
// cloud divides STATE_TTL by its time scale) issued early in a second.
func TestStateLivesAtLeastTTL(t *testing.T) {
	k := testKey(t)
	inv := Hash(k.InvitationID("prv_1", "n"))
	for _, frac := range []time.Duration{0, 50 * time.Millisecond, 500 * time.Millisecond, 999 * time.Millisecond} {
		now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).Add(frac)
		ttl := 900 * time.Millisecond
		st, err := NewState(inv, now, ttl)
		if err != nil {
			t.Fatal(err)
		}
		raw := k.Sign(st)
		for _, at := range []time.Duration{0, ttl - time.Millisecond} {
			if _, err := k.Verify(raw, now.Add(at)); err != nil {
				t.Errorf("issued at +%v, verified %v later: %v", frac, at, err)
			}
		}
		if _, err := k.Verify(raw, now.Add(ttl+time.Second)); !errors.Is(err, ErrStateExpired) {
			t.Errorf("issued at +%v: still valid a second after its TTL (%v)", frac, err)
		}
	}
}

func TestStateSteps(t *testing.T) {
	k := testKey(t)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	inv := Hash(k.InvitationID("prv_1", "n"))
	const tenant = "20000000-0000-4000-8000-000000000001"
	cs, err := NewConsentState(inv, strings.ToUpper(tenant), now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.Verify(k.Sign(cs), now)
	if err != nil || got.Step != StepConsent || got.Tenant != tenant {
		t.Fatalf("consent state = %+v, %v; want step consent, tenant %s", got, err, tenant)
	}
	ss, _ := NewState(inv, now, time.Minute)
	if ss.Step != StepSignIn || ss.Tenant != "" {
		t.Fatalf("sign-in state = %+v", ss)
	}
	for _, bad := range []State{
		{Invitation: inv, JTI: ss.JTI, Expires: ss.Expires},                                          // no step (an old state)
		{Invitation: inv, JTI: ss.JTI, Expires: ss.Expires, Step: "admin"},                           // unknown step
		{Invitation: inv, JTI: ss.JTI, Expires: ss.Expires, Step: StepSignIn, Tenant: tenant},        // sign-in naming a tenant
		{Invitation: inv, JTI: ss.JTI, Expires: ss.Expires, Step: StepConsent},                       // consent without tenant
		{Invitation: inv, JTI: ss.JTI, Expires: ss.Expires, Step: StepConsent, Tenant: "contoso"},    // not a GUID
		{Invitation: inv, JTI: ss.JTI, Expires: ss.Expires, Step: StepConsent, Tenant: "{" + tenant}, // not a GUID
	} {
		if _, err := k.Verify(k.Sign(bad), now); !errors.Is(err, ErrStateMalformed) {
			t.Errorf("Verify(%+v) = %v, want malformed", bad, err)
		}
	}
}

func TestPKCEAndNonce(t *testing.T) {
	k := testKey(t)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	a, _ := NewState(strings.Repeat("a", 64), now, time.Minute)
	b, _ := NewState(strings.Repeat("a", 64), now, time.Minute)
	va, vb := k.PKCEVerifier(a), k.PKCEVerifier(b)
	if len(va) != 43 || va == vb {
		t.Fatalf("verifiers %q %q: want 43 characters, distinct per state", va, vb)
	}
	if va != k.PKCEVerifier(a) {
		t.Fatal("the verifier must be derivable again from the state")
	}
	if k.Nonce(a) == va || k.Nonce(a) == k.Nonce(b) {
		t.Fatal("the nonce must differ from the verifier and between states")
	}
	if Key(bytes.Repeat([]byte{9}, 32)).PKCEVerifier(a) == va {
		t.Fatal("another key derived the same verifier")
	}
	// RFC 7636 appendix B.
	if got := PKCEChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Fatalf("PKCEChallenge = %q", got)
	}
}
