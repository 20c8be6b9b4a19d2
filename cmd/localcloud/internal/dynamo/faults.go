package dynamo

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Fault kinds.
const (
	FaultThrottle = "throttle" // 400 ProvisionedThroughputExceededException
	FaultInternal = "internal" // 500 InternalServerError
)

// Faults fails a share of DynamoDB calls the way DynamoDB does when it
// throttles or breaks, before the call takes effect. Fault injection for
// tests: off until Set is called. The share is applied deterministically
// (call i fails when ⌊i·share⌋ grows), so runs are repeatable.
type Faults struct {
	mu     sync.Mutex
	share  float64
	kind   string
	calls  int64
	failed int64
}

// Set fails share (0 to 1) of the calls from now on with kind; 0 switches it off.
func (f *Faults) Set(share float64, kind string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.share, f.kind, f.calls = min(max(share, 0), 1), kind, 0
}

// Failed is how many calls were failed on purpose so far.
func (f *Faults) Failed() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

func (f *Faults) take() (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.share <= 0 {
		return "", false
	}
	before := int64(float64(f.calls) * f.share)
	f.calls++
	if int64(float64(f.calls)*f.share) == before {
		return "", false
	}
	f.failed++
	return f.kind, true
}

// Wrap returns next with the faults in front of it.
func (f *Faults) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_") {
			next.ServeHTTP(w, r)
			return
		}
		kind, fail := f.take()
		if !fail {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if kind == FaultInternal {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error (injected)"}`))
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded (injected)"}`))
	})
}

// StartWithFaults serves DynamoDB on ln with the fault switch f in front of
// minidyn (inside the checksum, so injected answers carry X-Amz-Crc32 like
// real ones), and counter in front of everything when not nil. The tables'
// streams are recorded in the server's Streams; a faulted call never
// reaches them.
func StartWithFaults(ln net.Listener, f *Faults, counter *Counter) *Server {
	streams := NewStreams()
	var h http.Handler = WithCRC32(f.Wrap(minidyn(streams)))
	if counter != nil {
		h = counter.Wrap(h)
	}
	s := &Server{URL: "http://" + ln.Addr().String(), Streams: streams, ln: ln, srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s
}
