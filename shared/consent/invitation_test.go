package consent

import (
	"bytes"
	"testing"
)

func testKey(t *testing.T) Key {
	t.Helper()
	k, err := ParseKey(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestInvitationID(t *testing.T) {
	k := testKey(t)
	id := k.InvitationID("prv_1", "nonce-a")
	if !WellFormedID(id) {
		t.Fatalf("id %q is not well formed", id)
	}
	if id != k.InvitationID("prv_1", "nonce-a") {
		t.Fatal("the same provider and nonce must derive the same link (resend reuses it)")
	}
	for _, other := range []string{k.InvitationID("prv_2", "nonce-a"), k.InvitationID("prv_1", "nonce-b"), Key(bytes.Repeat([]byte{8}, 32)).InvitationID("prv_1", "nonce-a")} {
		if other == id {
			t.Fatal("a different provider, nonce or key derived the same id")
		}
	}
	if Hash(id) == id || len(Hash(id)) != 64 {
		t.Fatal("hash must differ from the id and be hex SHA-256")
	}
	if _, err := ParseKey([]byte("short")); err == nil {
		t.Fatal("a short key was accepted")
	}
	n1, _ := NewNonce()
	n2, _ := NewNonce()
	if len(n1) != 32 || n1 == n2 {
		t.Fatalf("nonces %q %q are not 128 random bits", n1, n2)
	}
}

func TestWellFormedID(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"", false},
		{"../../etc/passwd", false},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=", false},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	} {
		if got := WellFormedID(tt.in); got != tt.want {
			t.Errorf("WellFormedID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
