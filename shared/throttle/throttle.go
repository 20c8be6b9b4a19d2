// Package throttle keeps the scheduled health checks' calls to each
// Microsoft service under a configured ceiling: calls per second, counted
// over any 1-second window, across every check of a run at once.
//
// A run checks at most Concurrency batches at once (the state machine's Map
// MaxConcurrency), each batch one Lambda invocation that checks its
// providers one after the other. Bounding concurrency alone does not bound
// the rate: a fast answer lets a batch call again at once. So each function
// instance also spaces its own calls to a service: at most PerSlot calls
// per second, one every (1+Margin)/PerSlot seconds, where PerSlot is
// floor(ceiling / Concurrency). The Map's running batches can be laid out
// in Concurrency chains, each a sequence of invocations that do not
// overlap; Restart at the start of every invocation makes its first call
// wait one spacing too, so the calls of a whole chain keep the spacing even
// when consecutive batches land on different instances. A 1-second window
// then holds at most PerSlot calls of a chain, and at most
// Concurrency × PerSlot ≤ ceiling in all. Margin absorbs the network's
// jitter between the spacing at the caller and the arrival at Microsoft.
//
// The bound holds for one run at a time: two runs checking at once (a run
// started by hand beside the scheduled one) may together reach twice the
// ceiling.
//
// Why hand-written around golang.org/x/time/rate: the limiter spaces the
// calls of one instance; the division of the ceiling among the Map's
// concurrent batches and the restart per invocation are this package's.
package throttle

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

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

// Margin widens each instance's spacing beyond 1/PerSlot seconds, so that
// calls sent PerSlot a second still arrive PerSlot a second when the
// network delays one more than the next (by up to Margin/PerSlot seconds).
const Margin = 0.1

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

// Spacing is the least time between two calls of one instance allowed
// perSlot calls per second.
func Spacing(perSlot int) time.Duration {
	return time.Duration(float64(time.Second) * (1 + Margin) / float64(perSlot))
}

// Gate spaces one instance's calls to one service. Safe for concurrent use.
type Gate struct {
	spacing time.Duration
	// now and sleep are the clock (tests inject them).
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu  sync.Mutex
	lim *rate.Limiter
}

// NewGate is a gate that lets a call through every spacing.
func NewGate(spacing time.Duration) *Gate {
	g := &Gate{spacing: spacing, now: time.Now, sleep: sleepCtx}
	g.lim = rate.NewLimiter(rate.Every(spacing), 1)
	return g
}

// Restart starts an invocation: its first call waits one spacing from now,
// as if a call had just been made (the previous batch of the chain may
// have called just now on another instance).
func (g *Gate) Restart() {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.lim = rate.NewLimiter(rate.Every(g.spacing), 1)
	g.lim.ReserveN(now, 1)
}

// Wait blocks until a call may be made, or ctx ends.
func (g *Gate) Wait(ctx context.Context) error {
	g.mu.Lock()
	now := g.now()
	r := g.lim.ReserveN(now, 1)
	g.mu.Unlock()
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	if err := g.sleep(ctx, d); err != nil {
		r.CancelAt(g.now())
		return err
	}
	return nil
}

// RoundTripper sends each request through next once the gate lets it
// (retries and token requests included: each is a call).
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
	if err := t.g.Wait(req.Context()); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
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
