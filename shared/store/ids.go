package store

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// ProviderIDPrefix starts every provider id.
const ProviderIDPrefix = "prv_"

// A provider id's body is a ULID (github.com/ulid/spec): 48 bits of Unix
// milliseconds and 80 random bits, as 26 characters of Crockford's base32,
// here in lower case. It is written out here rather than taken from
// github.com/oklog/ulid, whose package init seeds a math/rand source at
// every cold start of every function (the store is linked by all of them),
// for a default entropy the product never uses.
const (
	ulidLen      = 26
	crockford    = "0123456789abcdefghjkmnpqrstvwxyz"
	maxULIDFirst = '7' // 26 characters hold 130 bits: the first carries 3 of the 128
)

// ids is the process-wide monotonic state: ids made in the same millisecond
// still sort in creation order (the random part grows by a random step).
var ids idState

type idState struct {
	sync.Mutex
	ms     uint64
	hi     uint16 // the random part's top 16 bits
	lo     uint64 // and its low 64
	seeded bool
}

// NewProviderID returns "prv_" followed by a lower-case ULID of now. Ids sort
// by creation time, so a descending query on the sort key lists newest first.
func NewProviderID(now time.Time) string {
	ms := uint64(now.UnixMilli())
	ids.Lock()
	defer ids.Unlock()
	if !ids.seeded || ms != ids.ms || !ids.step() {
		var b [10]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
		ids.ms, ids.hi, ids.lo, ids.seeded = ms, binary.BigEndian.Uint16(b[:2]), binary.BigEndian.Uint64(b[2:]), true
	}
	return ProviderIDPrefix + encodeULID(ids.ms, ids.hi, ids.lo)
}

// step adds a random step in [1, 2^32] to the random part; false when that
// would overflow its 80 bits (a fresh random part is drawn instead).
func (s *idState) step() bool {
	var b [4]byte
	_, _ = rand.Read(b[:])
	inc := uint64(binary.BigEndian.Uint32(b[:])) + 1
	lo := s.lo + inc
	hi := s.hi
	if lo < s.lo { // carry
		if hi == 0xffff {
			return false
		}
		hi++
	}
	s.hi, s.lo = hi, lo
	return true
}

// encodeULID writes the 128 bits (ms<<80 | hi<<64 | lo) as 26 base32 digits,
// most significant first.
func encodeULID(ms uint64, hi uint16, lo uint64) string {
	var out [ulidLen]byte
	// Low to high, five bits at a time, over a 128-bit value held in two
	// words: top = ms<<16 | hi (64 bits), bottom = lo.
	top, bottom := ms<<16|uint64(hi), lo
	for i := ulidLen - 1; i >= 0; i-- {
		out[i] = crockford[bottom&31]
		bottom = bottom>>5 | top<<59
		top >>= 5
	}
	return string(out[:])
}

// ValidProviderID reports whether id has the form NewProviderID produces.
// Lookups of anything else are answered not_found without a read.
func ValidProviderID(id string) bool {
	rest, ok := strings.CutPrefix(id, ProviderIDPrefix)
	if !ok || len(rest) != ulidLen || rest[0] > maxULIDFirst {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(crockford, rest[i]) < 0 {
			return false
		}
	}
	return true
}
