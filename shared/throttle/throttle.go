// Package throttle keeps the scheduled health checks' calls to each
// Microsoft service under a configured ceiling: calls per second, counted
// where Microsoft counts them (on arrival) over any 1-second window, across
// every check of a run at once.
//
// A run checks at most Concurrency batches at once (the state machine's Map
// MaxConcurrency), each batch one Lambda invocation that checks its
// providers one after the other. Bounding concurrency alone does not bound
// the rate: a fast answer lets a batch call again at once. So each function
// instance also paces its own calls to a service, with a Gate: one call at
// a time, and the next one starts at least a spacing after the previous
// one's answer came back, where the spacing is a second divided by PerSlot
// = floor(ceiling / Concurrency). A request reaches Microsoft before its
// answer leaves, so the arrivals of one instance's calls are a spacing
// apart too, however the network delays each: at most PerSlot of them in
// any 1-second window. Pacing from the send instead would let a slow first
// request and a fast second one arrive closer than the spacing.
//
// The Map's running batches can be laid out in Concurrency chains, each a
// sequence of invocations that do not overlap. Restart at the start of
// every invocation makes its first call wait a spacing too (the previous
// batch of its chain got its last answer before this one started, maybe on
// another instance), so a whole chain keeps the spacing, and a 1-second
// window holds at most Concurrency × PerSlot ≤ ceiling calls in all.
//
// The bound holds for one run at a time: two runs checking at once (a run
// started by hand beside the scheduled one) may together reach twice the
// ceiling.
//
// Hand-written: rate limiters (golang.org/x/time/rate and the like) space
// the starts of calls; the bound at Microsoft needs the spacing from each
// answer, and the sharing among the Map's batches is this package's.
package throttle

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/partnercloud/azure/shared/config"
)

// The services whose calls are bounded, by key.
const (
	EntraID         = "entra-id"         // the token endpoint and its discovery document
	PartnerCenter   = "partner-center"   // api.partnercenter.microsoft.com
	Graph           = "graph"            // graph.microsoft.com (GDAP)
	ResourceManager = "resource-manager" // management.azure.com
)

// Service names a bounded service: its key, the environment variable of its
// ceiling and a name for people.
type Service struct {
	Key, Env, Name string
}

// Services are the bounded services, in the order reports list them.
var Services = []Service{
	{EntraID, "HEALTH_CHECK_CEILING_ENTRA_ID", "Microsoft Entra ID (token endpoint)"},
	{PartnerCenter, "HEALTH_CHECK_CEILING_PARTNER_CENTER", "Partner Center"},
	{Graph, "HEALTH_CHECK_CEILING_GRAPH", "Microsoft Graph"},
	{ResourceManager, "HEALTH_CHECK_CEILING_RESOURCE_MANAGER", "Azure Resource Manager"},
}

// ConcurrencyEnv is the variable holding the Map's MaxConcurrency (the
// HealthCheckConcurrency parameter, as the state machine gets it).
const ConcurrencyEnv = "HEALTH_CHECK_CONCURRENCY"

// PerSlot is the calls per second one of concurrency batches running at
// once may make so that together they stay within ceiling:
// floor(ceiling / concurrency). It is an error when that is less than one:
// the ceiling cannot be shared among that many batches.
func PerSlot(ceiling, concurrency int) (int, error) {
	if ceiling < 1 || concurrency < 1 {
		return 0, fmt.Errorf("ceiling %d and concurrency %d must be positive", ceiling, concurrency)
	}
	if ceiling < concurrency {
		return 0, fmt.Errorf("a ceiling of %d calls per second cannot be shared by %d batches at once (at least one call per second each)", ceiling, concurrency)
	}
	return ceiling / concurrency, nil
}

// Spacing is the least time between the answer to one call of an
// instance and the start of its next: a second divided by perSlot, rounded
// up to the nanosecond (perSlot calls a spacing apart never fit in less
// than a second).
func Spacing(perSlot int) time.Duration {
	return (time.Second + time.Duration(perSlot) - 1) / time.Duration(perSlot)
}

// Gate paces one instance's calls to one service: one at a time, each
// starting at least a spacing after the previous one ended. Safe for
// concurrent use (concurrent callers wait their turn).
type Gate struct {
	spacing time.Duration
	// now and sleep are the clock (tests inject them).
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	turn chan struct{} // holds a token while a call is under way
	mu   sync.Mutex
	next time.Time // the earliest start of the next call
}

// NewGate is a gate that spaces calls by spacing.
func NewGate(spacing time.Duration) *Gate {
	return &Gate{spacing: spacing, now: time.Now, sleep: sleepCtx, turn: make(chan struct{}, 1)}
}

// Restart starts an invocation: its first call waits one spacing from now,
// as if a call had just ended (the previous batch of the chain may have
// had its last answer just now, on another instance).
func (g *Gate) Restart() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.next = g.now().Add(g.spacing)
}

// Acquire waits until no other call of this gate is under way and a
// spacing has passed since the last one ended, or ctx ends. done must be
// called once the call has ended (its answer arrived, or it failed).
func (g *Gate) Acquire(ctx context.Context) (done func(), err error) {
	select {
	case g.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	g.mu.Lock()
	wait := g.next.Sub(g.now())
	g.mu.Unlock()
	if wait > 0 {
		if err := g.sleep(ctx, wait); err != nil {
			<-g.turn
			return nil, err
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			g.next = g.now().Add(g.spacing)
			g.mu.Unlock()
			<-g.turn
		})
	}, nil
}

// RoundTripper sends each request through next when the gate lets it
// (retries and token requests included: each is a call); the call ends
// when next returns (the answer's headers arrived).
func (g *Gate) RoundTripper(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper{g: g, next: next}
}

type roundTripper struct {
	g    *Gate
	next http.RoundTripper
}

func (t roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	done, err := t.g.Acquire(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	defer done()
	return t.next.RoundTrip(req)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Gates are one instance's gates, one per service.
type Gates struct {
	Concurrency int
	// Ceilings and PerSlot by service key.
	Ceilings map[string]int
	PerSlot  map[string]int
	gates    map[string]*Gate
}

// FromEnv reads HEALTH_CHECK_CONCURRENCY and each service's ceiling
// (calls per second, a positive integer each; all required) and records
// problems in env: a ceiling below the concurrency cannot be shared.
func FromEnv(env *config.Env) *Gates {
	g := &Gates{Ceilings: map[string]int{}, PerSlot: map[string]int{}, gates: map[string]*Gate{}}
	g.Concurrency = positive(env, ConcurrencyEnv)
	for _, s := range Services {
		c := positive(env, s.Env)
		g.Ceilings[s.Key] = c
		per := 1
		if c > 0 && g.Concurrency > 0 {
			var err error
			if per, err = PerSlot(c, g.Concurrency); err != nil {
				env.Invalid(s.Env, fmt.Sprintf("must be at least %s (%d): each batch running at once needs one call per second", ConcurrencyEnv, g.Concurrency), strconv.Itoa(c))
				per = 1
			}
		}
		g.PerSlot[s.Key] = per
		g.gates[s.Key] = NewGate(Spacing(per))
	}
	return g
}

// positive reads a required positive integer.
func positive(env *config.Env, name string) int {
	v := env.Required(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		env.Invalid(name, "must be a positive integer", v)
		return 0
	}
	return n
}

// Gate is the service's gate.
func (g *Gates) Gate(service string) *Gate { return g.gates[service] }

// Client is an HTTP client whose requests pass the service's gate, with
// timeout (0 for none) as its overall limit.
func (g *Gates) Client(service string, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: g.gates[service].RoundTripper(nil)}
}

// Restart restarts every gate: call it at the start of each invocation
// that calls Microsoft.
func (g *Gates) Restart() {
	for _, gate := range g.gates {
		gate.Restart()
	}
}
