package stepfunctions

import "sync"

// faults makes the next calls of chosen API operations fail with HTTP 500
// ServiceUnavailable, before they take effect. Fault injection for tests:
// nothing fails unless FailNext is called.
type faults struct {
	mu   sync.Mutex
	next map[string]int
}

// FailNext makes the next n calls of an API operation (e.g. "SendTaskSuccess")
// fail with a 500 before doing anything. SDK clients retry such errors, so n
// above the client's attempts (3 by default) reaches the caller.
func (e *Engine) FailNext(operation string, n int) {
	e.faults.mu.Lock()
	defer e.faults.mu.Unlock()
	if e.faults.next == nil {
		e.faults.next = map[string]int{}
	}
	e.faults.next[operation] += n
}

func (f *faults) take(operation string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.next[operation] <= 0 {
		return false
	}
	f.next[operation]--
	return true
}
