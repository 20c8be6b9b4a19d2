package microsoft

import (
	"net/http"
	"strings"
	"time"
)

// Call rates: every counted call is also timed, in real time (Options.Wall),
// by the Microsoft service it belongs to, so that a test or the benchmark
// can tell how fast the product called each service: the calls since a
// moment and the most in any 1-second window. Microsoft throttles each
// service on its own, so the rates are per service, not per call kind.
//
//	GET /_control/rates?since=<RFC 3339 time>   (default: every call kept)

// The services of the call kinds (see ServiceOf).
const (
	ServiceEntraID         = "entra-id"         // token, discovery, sign-in and admin-consent pages
	ServicePartnerCenter   = "partner-center"   // /v1 and the webhook registration
	ServiceGraph           = "graph"            // /v1.0
	ServiceResourceManager = "resource-manager" // subscriptions and role assignments
)

// Services lists the services in the order the rates are reported.
var Services = []string{ServiceEntraID, ServicePartnerCenter, ServiceGraph, ServiceResourceManager}

// ServiceOf is the Microsoft service a call kind belongs to.
func ServiceOf(kind string) string {
	switch {
	case kind == CallPartnerCenter || strings.HasPrefix(kind, CallPartnerCenter+"."):
		return ServicePartnerCenter
	case kind == CallGraph || strings.HasPrefix(kind, CallGraph+"."):
		return ServiceGraph
	case kind == CallSubscriptionsList || kind == CallSubscriptionsGet || kind == CallRoleAssignments:
		return ServiceResourceManager
	}
	return ServiceEntraID
}

// maxTimedCalls bounds the call times kept per service (the oldest half is
// dropped when it is reached), so a cloud that runs for days stays small.
const maxTimedCalls = 1 << 18

// ServiceRate is one service's calls in a period.
type ServiceRate struct {
	// Calls is how many arrived.
	Calls int `json:"calls"`
	// PeakPerSecond is the most that arrived in any 1-second window
	// [t, t+1s), and PeakWindowStart that window's start (the first call
	// in it).
	PeakPerSecond   int        `json:"peakPerSecond"`
	PeakWindowStart *time.Time `json:"peakWindowStart,omitempty"`
}

// CallRates are the calls of every service (Services, each present) that
// arrived at since or later, by real time.
func (s *Server) CallRates(since time.Time) map[string]ServiceRate {
	s.mu.Lock()
	times := map[string][]time.Time{}
	for _, svc := range Services {
		ts := s.timed[svc]
		i := firstAtOrAfter(ts, since)
		times[svc] = append([]time.Time(nil), ts[i:]...)
	}
	s.mu.Unlock()
	out := make(map[string]ServiceRate, len(times))
	for svc, ts := range times {
		r := ServiceRate{Calls: len(ts)}
		if peak, at := peakPerSecond(ts); peak > 0 {
			r.PeakPerSecond, r.PeakWindowStart = peak, &at
		}
		out[svc] = r
	}
	return out
}

// time records a call of kind at the wall clock's now. s.mu must be held.
func (s *Server) time(kind string) {
	svc := ServiceOf(kind)
	ts := s.timed[svc]
	if len(ts) >= maxTimedCalls {
		ts = append(ts[:0], ts[len(ts)/2:]...)
	}
	s.timed[svc] = append(ts, s.wall())
}

// firstAtOrAfter is the index of the first of the sorted times at or after t.
func firstAtOrAfter(ts []time.Time, t time.Time) int {
	lo, hi := 0, len(ts)
	for lo < hi {
		mid := (lo + hi) / 2
		if ts[mid].Before(t) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// peakPerSecond is the most of the sorted times in any window [t, t+1s)
// and the first time of the first such window. A busiest window can always
// be moved to start at a call, so only those windows are counted.
func peakPerSecond(ts []time.Time) (int, time.Time) {
	peak, j := 0, 0
	var at time.Time
	for i := range ts {
		for j < len(ts) && ts[j].Before(ts[i].Add(time.Second)) {
			j++
		}
		if j-i > peak {
			peak, at = j-i, ts[i]
		}
	}
	return peak, at
}

// serveRates answers GET /_control/rates?since=.
func (s *Server) serveRates(w http.ResponseWriter, r *http.Request) {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "since must be an RFC 3339 time, e.g. 2026-11-26T09:00:00.000Z"})
			return
		}
		since = t
	}
	writeJSON(w, http.StatusOK, map[string]any{"since": since.UTC().Format(time.RFC3339Nano), "window": "1s", "services": s.CallRates(since)})
}
