package consent

import (
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
