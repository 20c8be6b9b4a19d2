package store

import (
	"crypto/rand"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
)

// ProviderIDPrefix starts every provider id.
const ProviderIDPrefix = "prv_"

// entropy is a process-wide, concurrency-safe monotonic source over
// crypto/rand: ids made in the same millisecond still sort in creation order.
var entropy = &ulid.LockedMonotonicReader{MonotonicReader: ulid.Monotonic(rand.Reader, 0)}

// NewProviderID returns "prv_" followed by a lower-case ULID of now. Ids sort
// by creation time, so a descending query on the sort key lists newest first.
func NewProviderID(now time.Time) string {
	ms := ulid.Timestamp(now)
	id, err := ulid.New(ms, entropy)
	if err != nil { // monotonic overflow within one millisecond: start afresh
		id = ulid.MustNew(ms, rand.Reader)
	}
	return ProviderIDPrefix + strings.ToLower(id.String())
}

// ValidProviderID reports whether id has the form NewProviderID produces.
// Lookups of anything else are answered not_found without a read.
func ValidProviderID(id string) bool {
	rest, ok := strings.CutPrefix(id, ProviderIDPrefix)
	if !ok || rest != strings.ToLower(rest) {
		return false
	}
	_, err := ulid.ParseStrict(rest)
	return err == nil
}
