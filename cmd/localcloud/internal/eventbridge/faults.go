package eventbridge

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// EventBridge failures on demand, for tests of the publisher's retries
// (off by default). Two kinds, as EventBridge shows them:
//
//   - entry faults: the next n entries of PutEvents calls are refused one
//     by one with ErrorCode InternalFailure and ErrorMessage "Internal
//     Service Failure" (FailedEntryCount counts them); the call's other
//     entries are accepted, which is what a publisher must handle: retry
//     only the failed entries;
//   - request faults: the next n PutEvents calls are answered 500
//     InternalException and accept nothing (an SDK client retries them on
//     its own, up to its attempts).
//
// `POST /_control/faults` sets them: {"failNext": n} (entries, the
// default) or {"failNext": n, "mode": "request"}; n 0 clears that kind.
// `GET /_control/faults` shows what is left: {"entries": n, "requests": m}.

// FaultMode names a kind of fault.
type FaultMode string

const (
	FaultEntry   FaultMode = "entry"
	FaultRequest FaultMode = "request"
)

// Faults are the failures still to inject.
type Faults struct {
	Entries  int `json:"entries"`
	Requests int `json:"requests"`
}

// FaultChange is the body of POST /_control/faults.
type FaultChange struct {
	FailNext int       `json:"failNext"`
	Mode     FaultMode `json:"mode,omitempty"`
}

// FailNext makes the next n entries (FaultEntry) or PutEvents calls
// (FaultRequest) fail; n 0 clears that kind.
func (s *Server) FailNext(n int, mode FaultMode) error {
	if n < 0 {
		return fmt.Errorf("failNext must be 0 or more, not %d", n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch mode {
	case FaultEntry, "":
		s.faults.Entries = n
	case FaultRequest:
		s.faults.Requests = n
	default:
		return fmt.Errorf("unknown mode %q (want entry or request)", mode)
	}
	return nil
}

// Faults returns the failures still to inject.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// takeRequestFault reports whether this PutEvents call is to fail whole.
func (s *Server) takeRequestFault() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.Requests > 0 {
		s.faults.Requests--
		return true
	}
	return false
}

// takeEntryFault reports whether this entry is to fail.
func (s *Server) takeEntryFault() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.Entries > 0 {
		s.faults.Entries--
		return true
	}
	return false
}

// errInternal is the answer to a PutEvents call failed on purpose.
var errInternal = &apiError{http.StatusInternalServerError, "InternalException", "This exception occurs due to unexpected causes."}

// serveFaults serves /_control/faults.
func (s *Server) serveFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		var ch FaultChange
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ch); err != nil {
			http.Error(w, `body: {"failNext": n, "mode": "entry" | "request"}: `+err.Error(), http.StatusBadRequest)
			return
		}
		if err := s.FailNext(ch.FailNext, ch.Mode); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "GET or POST /_control/faults", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.Faults())
}
