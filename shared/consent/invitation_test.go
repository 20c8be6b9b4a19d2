package consent

import (
	"bytes"
	"testing"
	"time"
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

func TestScheduleNext(t *testing.T) {
	day := 24 * time.Hour
	sent := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := DefaultSchedule
	tests := []struct {
		name     string
		now      time.Time
		sentAt   time.Time
		reminded int
		want     Action
	}{
		{"never sent", sent, time.Time{}, 0, ActionSend},
		{"day 1", sent.Add(day), sent, 0, ActionWait},
		{"day 3 first reminder", sent.Add(3 * day), sent, 0, ActionRemind},
		{"day 5 after first reminder", sent.Add(5 * day), sent, 1, ActionWait},
		{"day 7 second reminder", sent.Add(7 * day), sent, 1, ActionRemind},
		{"day 8 missed first reminder still sends one", sent.Add(8 * day), sent, 0, ActionRemind},
		{"day 10 all reminders sent", sent.Add(10 * day), sent, 2, ActionWait},
		{"day 14 expired", sent.Add(14 * day), sent, 2, ActionExpire},
		{"expiry beats a due reminder", sent.Add(15 * day), sent, 0, ActionExpire},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Next(tt.now, tt.sentAt, tt.reminded); got != tt.want {
				t.Errorf("Next = %s, want %s", got, tt.want)
			}
		})
	}
}
