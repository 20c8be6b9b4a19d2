package store

import (
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
)

// The hand-written encoding is the ULID the reference implementation reads.
func TestProviderIDIsULID(t *testing.T) {
	for _, now := range []time.Time{time.UnixMilli(0), time.Date(2026, 11, 25, 22, 0, 0, 123e6, time.UTC), time.UnixMilli(1<<48 - 1)} {
		id := NewProviderID(now)
		u, err := ulid.ParseStrict(strings.TrimPrefix(id, ProviderIDPrefix))
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if u.Time() != uint64(now.UnixMilli()) || strings.ToLower(u.String()) != strings.TrimPrefix(id, ProviderIDPrefix) {
			t.Errorf("%s decodes to time %d (%s), want %d", id, u.Time(), u, now.UnixMilli())
		}
		if !ValidProviderID(id) {
			t.Errorf("ValidProviderID(%s) = false", id)
		}
	}
	for _, hi := range []uint16{0, 1, 0xffff} {
		for _, lo := range []uint64{0, 1, 1 << 63, ^uint64(0)} {
			var want ulid.ULID
			_ = want.SetTime(0x0123456789ab)
			e := want[6:]
			e[0], e[1] = byte(hi>>8), byte(hi)
			for i := 0; i < 8; i++ {
				e[2+i] = byte(lo >> (56 - 8*i))
			}
			if got := encodeULID(0x0123456789ab, hi, lo); got != strings.ToLower(want.String()) {
				t.Errorf("encodeULID(hi %x, lo %x) = %s, want %s", hi, lo, got, strings.ToLower(want.String()))
			}
		}
	}
}

func TestProviderIDsSortInCreationOrder(t *testing.T) {
	now := time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var made []string
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				// One millisecond for all: the monotonic step orders them.
				// Made and kept under one lock, so made is creation order.
				mu.Lock()
				made = append(made, NewProviderID(now))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if !sort.StringsAreSorted(made) {
		t.Error("ids made one after another in the same millisecond do not sort in that order")
	}
	seen := map[string]bool{}
	for _, id := range made {
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
	if later := NewProviderID(now.Add(time.Millisecond)); later <= made[len(made)-1] {
		t.Errorf("an id of a later millisecond %s sorts before %s", later, made[len(made)-1])
	}
}

func TestValidProviderID(t *testing.T) {
	good := NewProviderID(time.Now())
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{good, true},
		{strings.ToUpper(good), false},
		{strings.TrimPrefix(good, ProviderIDPrefix), false},
		{good + "0", false},
		{good[:len(good)-1], false},
		{ProviderIDPrefix + "8zzzzzzzzzzzzzzzzzzzzzzzzz", false}, // beyond 128 bits
		{ProviderIDPrefix + "7zzzzzzzzzzzzzzzzzzzzzzzzz", true},
		{ProviderIDPrefix + "01arz3ndektsv4rrffq69g5fau", false}, // u is not in the alphabet
		{ProviderIDPrefix + "01arz3ndektsv4rrffq69g5fai", false},
		{"", false},
	} {
		if got := ValidProviderID(tc.id); got != tc.want {
			t.Errorf("ValidProviderID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

func TestProviderKey(t *testing.T) {
	id := NewProviderID(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	tests := []struct {
		pk, sk      string
		wantAccount string
		ok          bool
	}{
		{"ACCOUNT#acct-1", "PROVIDER#" + id, "acct-1", true},
		{"ACCOUNT#", "PROVIDER#" + id, "", false},
		{"ACCOUNT#acct-1", "NAME#contoso", "", false},
		{"TENANT#t", "PROVIDER#" + id, "", false},
		{"ACCOUNT#acct-1", "PROVIDER#prv_short", "", false},
	}
	for _, tt := range tests {
		account, got, ok := ProviderKey(tt.pk, tt.sk)
		if ok != tt.ok || account != tt.wantAccount || (ok && got != id) {
			t.Errorf("ProviderKey(%q, %q) = %q, %q, %v", tt.pk, tt.sk, account, got, ok)
		}
	}
}
