package throttle

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/config"
)

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// fakeClock is a settable clock; sleep records the wait without passing
// time (the simulation advances the clock itself).
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	slept  []time.Duration
	cancel bool // sleep fails as a cancelled context does
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	if c.cancel {
		return context.Canceled
	}
	return nil
}

func (c *fakeClock) lastSleep() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.slept) == 0 {
		return 0
	}
	return c.slept[len(c.slept)-1]
}

func gateOn(c *fakeClock, spacing time.Duration) *Gate {
	g := NewGate(spacing)
	g.now, g.sleep = c.Now, c.Sleep
	return g
}

func TestPerSlot(t *testing.T) {
	for _, tc := range []struct {
		ceiling, concurrency, want int
		err                        string
	}{
		{ceiling: 20, concurrency: 4, want: 5},
		{ceiling: 5, concurrency: 4, want: 1},  // rounded down: 4 ≤ 5
		{ceiling: 25, concurrency: 4, want: 6}, // 24 ≤ 25
		{ceiling: 4, concurrency: 4, want: 1},
		{ceiling: 1, concurrency: 1, want: 1},
		{ceiling: 3, concurrency: 4, err: "cannot be shared by 4 batches"},
		{ceiling: 0, concurrency: 4, err: "must be positive"},
		{ceiling: 10, concurrency: 0, err: "must be positive"},
	} {
		got, err := PerSlot(tc.ceiling, tc.concurrency)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("PerSlot(%d, %d) = %d, %v; want an error with %q", tc.ceiling, tc.concurrency, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("PerSlot(%d, %d) = %d, %v; want %d", tc.ceiling, tc.concurrency, got, err, tc.want)
		}
		if got*tc.concurrency > tc.ceiling {
			t.Errorf("PerSlot(%d, %d) = %d: %d batches would make %d calls a second", tc.ceiling, tc.concurrency, got, tc.concurrency, got*tc.concurrency)
		}
	}
}

func TestSpacing(t *testing.T) {
	for _, tc := range []struct {
		perSlot int
		want    time.Duration
	}{
		{1, 1100 * time.Millisecond},
		{5, 220 * time.Millisecond},
		{10, 110 * time.Millisecond},
	} {
		if got := Spacing(tc.perSlot); got != tc.want {
			t.Errorf("Spacing(%d) = %v, want %v", tc.perSlot, got, tc.want)
		}
	}
}

// TestGateWaits: the waits the gate imposes on calls made at given times.
func TestGateWaits(t *testing.T) {
	const sp = 500 * time.Millisecond
	for _, tc := range []struct {
		name    string
		restart bool
		at      []time.Duration // when each call asks, from t0
		want    []time.Duration // the wait each gets
	}{
		{name: "a fresh gate lets the first call through", at: []time.Duration{0}, want: []time.Duration{0}},
		{name: "calls at once are spaced", at: []time.Duration{0, 0, 0}, want: []time.Duration{0, sp, 2 * sp}},
		{name: "a call a spacing later passes", at: []time.Duration{0, sp, 3 * sp}, want: []time.Duration{0, 0, 0}},
		{name: "idle time builds no burst", at: []time.Duration{0, 10 * time.Second, 10 * time.Second}, want: []time.Duration{0, 0, sp}},
		{name: "after a restart the first call waits a spacing", restart: true, at: []time.Duration{0, 0}, want: []time.Duration{sp, 2 * sp}},
		{name: "after a restart a later call passes", restart: true, at: []time.Duration{sp}, want: []time.Duration{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: t0}
			g := gateOn(clock, sp)
			if tc.restart {
				g.Restart()
			}
			for i, at := range tc.at {
				clock.set(t0.Add(at))
				n := len(clock.slept)
				if err := g.Wait(context.Background()); err != nil {
					t.Fatal(err)
				}
				got := time.Duration(0)
				if len(clock.slept) > n {
					got = clock.lastSleep()
				}
				if got != tc.want[i] {
					t.Errorf("call %d at +%v waited %v, want %v", i, at, got, tc.want[i])
				}
			}
		})
	}
}

// TestGateCancelledWaitFreesItsTurn: a call whose context ends while it
// waits gives its turn back.
func TestGateCancelledWaitFreesItsTurn(t *testing.T) {
	const sp = time.Second
	clock := &fakeClock{now: t0}
	g := gateOn(clock, sp)
	_ = g.Wait(context.Background()) // passes at once
	clock.cancel = true
	if err := g.Wait(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	clock.cancel = false
	clock.slept = nil
	if err := g.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := clock.lastSleep(); got != sp {
		t.Errorf("the next call waited %v, want %v (the cancelled turn returned)", got, sp)
	}
}

// TestChainsStayUnderCeiling simulates a run: concurrency chains of
// invocations, each checking as fast as the gates allow (Microsoft
// answers at once), each new invocation landing on another instance (some
// idle for long, some fresh), and asserts that no 1-second window holds
// more calls than the ceiling. Without the restart per invocation, an idle
// instance's full bucket lets a chain call twice in a row.
func TestChainsStayUnderCeiling(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		ceiling, concurrency int
		callsPerInvocation   int
		noRestart            bool
		wantOver             bool
	}{
		{name: "Partner Center's default: 5 a second, 4 batches", ceiling: 5, concurrency: 4, callsPerInvocation: 10},
		{name: "Graph's default: 20 a second, 4 batches, 2 calls per check", ceiling: 20, concurrency: 4, callsPerInvocation: 20},
		{name: "one batch at a time", ceiling: 3, concurrency: 1, callsPerInvocation: 7},
		{name: "as many batches as calls a second", ceiling: 10, concurrency: 10, callsPerInvocation: 1},
		{name: "the largest concurrency", ceiling: 80, concurrency: 40, callsPerInvocation: 3},
		{name: "without the restart the ceiling is passed", ceiling: 4, concurrency: 4, callsPerInvocation: 1, noRestart: true, wantOver: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			per, err := PerSlot(tc.ceiling, tc.concurrency)
			if err != nil {
				t.Fatal(err)
			}
			clock := &fakeClock{now: t0}
			// Twice as many instances as chains: an invocation never runs
			// where the chain's previous one ran.
			instances := make([]*Gate, 2*tc.concurrency)
			for i := range instances {
				instances[i] = gateOn(clock, Spacing(per))
			}
			type chain struct {
				ready    time.Time // when its next call asks
				inv      int       // invocations done
				calls    int       // calls done in this invocation
				instance int
			}
			chains := make([]*chain, tc.concurrency)
			next := 0
			start := func(c *chain, at time.Time) {
				c.instance = next % len(instances)
				next++
				c.calls = 0
				if !tc.noRestart {
					clock.set(at)
					instances[c.instance].Restart()
				}
			}
			for i := range chains {
				chains[i] = &chain{ready: t0}
				start(chains[i], t0)
			}
			var calls []time.Time
			const invocations = 12
			for {
				// The chain whose next call asks first.
				var c *chain
				for _, ch := range chains {
					if ch.inv < invocations && (c == nil || ch.ready.Before(c.ready)) {
						c = ch
					}
				}
				if c == nil {
					break
				}
				clock.set(c.ready)
				n := len(clock.slept)
				if err := instances[c.instance].Wait(context.Background()); err != nil {
					t.Fatal(err)
				}
				at := c.ready
				if len(clock.slept) > n {
					at = at.Add(clock.lastSleep())
				}
				calls = append(calls, at)
				c.ready = at
				if c.calls++; c.calls == tc.callsPerInvocation {
					c.inv++
					start(c, at)
				}
			}
			peak := peakPerSecond(calls)
			if tc.wantOver {
				if peak <= tc.ceiling {
					t.Errorf("peak %d calls in a second, want more than %d without the restart (the test no longer shows why it is needed)", peak, tc.ceiling)
				}
				return
			}
			if peak > tc.ceiling {
				t.Errorf("peak %d calls in a second, ceiling %d", peak, tc.ceiling)
			}
			if want := per * tc.concurrency; peak < want-tc.concurrency {
				t.Errorf("peak %d calls in a second: the gates hold back more than needed (%d batches × %d)", peak, tc.concurrency, per)
			}
		})
	}
}

// peakPerSecond is the most calls in any window [t, t+1s).
func peakPerSecond(calls []time.Time) int {
	s := append([]time.Time(nil), calls...)
	sort.Slice(s, func(i, j int) bool { return s[i].Before(s[j]) })
	peak, j := 0, 0
	for i := range s {
		for j < len(s) && s[j].Before(s[i].Add(time.Second)) {
			j++
		}
		peak = max(peak, j-i)
	}
	return peak
}

type countingTransport struct{ n int }

func (c *countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.n++
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(""))}, nil
}

// TestRoundTripper: every request waits its turn, then goes through; a
// request whose context ends while it waits is not sent.
func TestRoundTripper(t *testing.T) {
	for _, tc := range []struct {
		name      string
		requests  int
		cancel    bool
		wantSent  int
		wantWaits []time.Duration
	}{
		{name: "three at once", requests: 3, wantSent: 3, wantWaits: []time.Duration{time.Second, 2 * time.Second}},
		{name: "cancelled while waiting", requests: 2, cancel: true, wantSent: 1, wantWaits: []time.Duration{time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: t0}
			g := gateOn(clock, time.Second)
			next := &countingTransport{}
			rt := g.RoundTripper(next)
			for i := 0; i < tc.requests; i++ {
				clock.cancel = tc.cancel && i > 0
				req, _ := http.NewRequest(http.MethodGet, "https://graph.example/v1.0/x", nil)
				resp, err := rt.RoundTrip(req)
				if clock.cancel {
					if err == nil {
						t.Fatalf("request %d: sent although its wait was cancelled", i)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			if next.n != tc.wantSent {
				t.Errorf("sent %d requests, want %d", next.n, tc.wantSent)
			}
			if len(clock.slept) != len(tc.wantWaits) {
				t.Fatalf("waits %v, want %v", clock.slept, tc.wantWaits)
			}
			for i, w := range tc.wantWaits {
				if clock.slept[i] != w {
					t.Errorf("wait %d = %v, want %v", i, clock.slept[i], w)
				}
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	full := func(over map[string]string) map[string]string {
		m := map[string]string{
			ConcurrencyEnv:                          "4",
			"HEALTH_CHECK_CEILING_ENTRA_ID":         "20",
			"HEALTH_CHECK_CEILING_PARTNER_CENTER":   "5",
			"HEALTH_CHECK_CEILING_GRAPH":            "20",
			"HEALTH_CHECK_CEILING_RESOURCE_MANAGER": "25",
		}
		for k, v := range over {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		perSlot map[string]int
		errs    []string
	}{
		{name: "the defaults", env: full(nil), perSlot: map[string]int{EntraID: 5, PartnerCenter: 1, Graph: 5, ResourceManager: 6}},
		{name: "one batch at a time", env: full(map[string]string{ConcurrencyEnv: "1"}), perSlot: map[string]int{EntraID: 20, PartnerCenter: 5, Graph: 20, ResourceManager: 25}},
		{name: "a ceiling below the concurrency", env: full(map[string]string{ConcurrencyEnv: "8"}),
			errs: []string{"HEALTH_CHECK_CEILING_PARTNER_CENTER must be at least HEALTH_CHECK_CONCURRENCY (8)"}},
		{name: "a missing ceiling", env: full(map[string]string{"HEALTH_CHECK_CEILING_GRAPH": ""}), errs: []string{"HEALTH_CHECK_CEILING_GRAPH"}},
		{name: "a missing concurrency", env: full(map[string]string{ConcurrencyEnv: ""}), errs: []string{ConcurrencyEnv}},
		{name: "not a number", env: full(map[string]string{"HEALTH_CHECK_CEILING_ENTRA_ID": "fast"}), errs: []string{"HEALTH_CHECK_CEILING_ENTRA_ID must be a positive integer"}},
		{name: "zero", env: full(map[string]string{"HEALTH_CHECK_CEILING_RESOURCE_MANAGER": "0"}), errs: []string{"HEALTH_CHECK_CEILING_RESOURCE_MANAGER must be a positive integer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := config.FromMap(tc.env)
			g := FromEnv(env)
			err := env.Err()
			if len(tc.errs) > 0 {
				if err == nil {
					t.Fatalf("no error, want %q", tc.errs)
				}
				for _, e := range tc.errs {
					if !strings.Contains(err.Error(), e) {
						t.Errorf("error %q lacks %q", err, e)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.perSlot {
				if g.PerSlot[k] != want {
					t.Errorf("PerSlot[%s] = %d, want %d", k, g.PerSlot[k], want)
				}
				if g.Gate(k) == nil || g.Gate(k).spacing != Spacing(want) {
					t.Errorf("gate %s missing or not spaced %v", k, Spacing(want))
				}
			}
		})
	}
}
