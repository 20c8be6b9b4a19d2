package throttle

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
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
		{1, time.Second},
		{3, 333333334 * time.Nanosecond}, // rounded up: three never fit in less than a second
		{5, 200 * time.Millisecond},
		{6, 166666667 * time.Nanosecond},
	} {
		got := Spacing(tc.perSlot)
		if got != tc.want {
			t.Errorf("Spacing(%d) = %v, want %v", tc.perSlot, got, tc.want)
		}
		if time.Duration(tc.perSlot)*got < time.Second {
			t.Errorf("Spacing(%d) = %v: %d calls fit in less than a second", tc.perSlot, got, tc.perSlot+1)
		}
	}
}

// call is one call through a gate in the tests: asked at ask (from t0),
// lasting took once it starts.
type call struct {
	ask, took time.Duration
}

// TestGateWaits: the wait the gate imposes on each of a sequence of calls,
// each asked after the previous one ended.
func TestGateWaits(t *testing.T) {
	const sp = 500 * time.Millisecond
	ms := time.Millisecond
	for _, tc := range []struct {
		name    string
		restart bool
		calls   []call
		want    []time.Duration
	}{
		{name: "a fresh gate lets the first call through", calls: []call{{0, 100 * ms}}, want: []time.Duration{0}},
		{name: "the next call waits a spacing from the answer", calls: []call{{0, 300 * ms}, {300 * ms, 300 * ms}}, want: []time.Duration{0, sp}},
		{name: "a slow answer delays the next call", calls: []call{{0, 2 * time.Second}, {2 * time.Second, 0}}, want: []time.Duration{0, sp}},
		{name: "time after the answer counts", calls: []call{{0, 100 * ms}, {400 * ms, 0}}, want: []time.Duration{0, 200 * ms}},
		{name: "idle time builds no burst", calls: []call{{0, 0}, {10 * time.Second, 0}, {10 * time.Second, 0}}, want: []time.Duration{0, 0, sp}},
		{name: "after a restart the first call waits a spacing", restart: true, calls: []call{{0, 0}, {sp, 0}}, want: []time.Duration{sp, sp}},
		{name: "after a restart a later call passes", restart: true, calls: []call{{sp, 0}}, want: []time.Duration{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: t0}
			g := gateOn(clock, sp)
			if tc.restart {
				g.Restart()
			}
			end := t0
			for i, c := range tc.calls {
				at := t0.Add(c.ask)
				if at.Before(end) {
					t.Fatalf("call %d asked at +%v, before the previous one ended", i, c.ask)
				}
				clock.set(at)
				n := len(clock.slept)
				done, err := g.Acquire(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				wait := time.Duration(0)
				if len(clock.slept) > n {
					wait = clock.lastSleep()
				}
				if wait != tc.want[i] {
					t.Errorf("call %d asked at +%v waited %v, want %v", i, c.ask, wait, tc.want[i])
				}
				end = at.Add(wait + c.took)
				clock.set(end)
				done()
			}
		})
	}
}

// TestGateOneCallAtATime: a second caller waits until the first call ended
// and a spacing passed; a caller whose context ends while waiting leaves
// without a call and without holding the gate.
func TestGateOneCallAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const sp = time.Second
		g := NewGate(sp)
		done1, err := g.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var second time.Time
		got := make(chan struct{})
		go func() {
			done2, err := g.Acquire(context.Background())
			if err != nil {
				t.Error(err)
			}
			second = time.Now()
			done2()
			close(got)
		}()
		time.Sleep(3 * time.Second) // the first call lasts 3 s
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("a second call started while the first was under way")
		default:
		}
		done1()
		<-got
		if d := second.Sub(start); d != 3*time.Second+sp {
			t.Errorf("the second call started %v after the first, want %v (its end plus a spacing)", d, 3*time.Second+sp)
		}

		// A waiter whose context ends leaves the gate free.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, err := g.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Acquire = %v, want the context's end", err)
		}
		done3, err := g.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		done3()
		done3() // a second done is harmless
		if _, err := g.Acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// TestChainsStayUnderCeiling simulates a run: concurrency chains of
// invocations, each calling as soon as its gate lets it, each new
// invocation landing on an instance other than the chain's last (some idle
// for long, some fresh), every request delayed on its way to Microsoft and
// its answer on the way back by up to half a second each. It asserts that
// no 1-second window of arrivals at Microsoft holds more calls than the
// ceiling. Without the restart per invocation, an idle instance lets a
// chain call again at once.
func TestChainsStayUnderCeiling(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		ceiling, concurrency int
		callsPerInvocation   int
		maxDelay             time.Duration // each way, drawn uniformly
		noRestart            bool
		wantOver             bool
	}{
		{name: "Partner Center's default: 5 a second, 4 batches", ceiling: 5, concurrency: 4, callsPerInvocation: 10},
		{name: "Entra ID's default with a slow network", ceiling: 20, concurrency: 4, callsPerInvocation: 40, maxDelay: 500 * time.Millisecond},
		{name: "Resource Manager's default: 6 a second each", ceiling: 25, concurrency: 4, callsPerInvocation: 20, maxDelay: 300 * time.Millisecond},
		{name: "one batch at a time", ceiling: 3, concurrency: 1, callsPerInvocation: 7, maxDelay: 200 * time.Millisecond},
		{name: "as many batches as calls a second", ceiling: 10, concurrency: 10, callsPerInvocation: 1, maxDelay: 500 * time.Millisecond},
		{name: "the largest concurrency", ceiling: 80, concurrency: 40, callsPerInvocation: 3, maxDelay: 100 * time.Millisecond},
		{name: "without the restart the ceiling is passed", ceiling: 4, concurrency: 4, callsPerInvocation: 1, noRestart: true, wantOver: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			per, err := PerSlot(tc.ceiling, tc.concurrency)
			if err != nil {
				t.Fatal(err)
			}
			rnd := rand.New(rand.NewPCG(1, uint64(tc.ceiling*100+tc.concurrency)))
			delay := func() time.Duration {
				if tc.maxDelay == 0 {
					return 0
				}
				return time.Duration(rnd.Int64N(int64(tc.maxDelay)))
			}
			clock := &fakeClock{now: t0}
			type instance struct {
				gate   *Gate
				busy   bool
				freeAt time.Time
			}
			instances := make([]*instance, 2*tc.concurrency)
			for i := range instances {
				instances[i] = &instance{gate: gateOn(clock, Spacing(per)), freeAt: t0}
			}
			type chain struct {
				ready time.Time // when it asks for its next call
				inv   int       // invocations done
				calls int       // calls done in this invocation
				in    *instance
				last  *instance
			}
			next := 0
			start := func(c *chain, at time.Time) {
				// The next idle instance, never the chain's last.
				for {
					in := instances[next%len(instances)]
					next++
					if !in.busy && !in.freeAt.After(at) && in != c.last {
						c.in, in.busy = in, true
						break
					}
				}
				c.calls = 0
				if !tc.noRestart {
					clock.set(at)
					c.in.gate.Restart()
				}
			}
			chains := make([]*chain, tc.concurrency)
			for i := range chains {
				chains[i] = &chain{ready: t0}
				start(chains[i], t0)
			}
			var arrivals []time.Time
			const invocations = 12
			for {
				var c *chain // the chain that asks first
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
				done, err := c.in.gate.Acquire(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				sent := c.ready
				if len(clock.slept) > n {
					sent = sent.Add(clock.lastSleep())
				}
				arrived := sent.Add(delay())
				answered := arrived.Add(delay())
				arrivals = append(arrivals, arrived)
				clock.set(answered)
				done()
				c.ready = answered
				if c.calls++; c.calls == tc.callsPerInvocation {
					c.inv++
					c.in.busy, c.in.freeAt, c.last = false, answered, c.in
					// The Map starts the chain's next batch a little later.
					start(c, answered.Add(delay()/10))
					c.ready = answered
				}
			}
			peak := peakPerSecond(arrivals)
			if tc.wantOver {
				if peak <= tc.ceiling {
					t.Errorf("peak %d calls in a second, want more than %d without the restart (the test no longer shows why it is needed)", peak, tc.ceiling)
				}
				return
			}
			if peak > tc.ceiling {
				t.Errorf("peak %d calls arrived in a second, ceiling %d", peak, tc.ceiling)
			}
			if tc.maxDelay == 0 && peak < per*tc.concurrency {
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

// slowTransport answers after took on the fake clock and counts requests.
type slowTransport struct {
	clock *fakeClock
	took  time.Duration
	n     int
}

func (s *slowTransport) RoundTrip(*http.Request) (*http.Response, error) {
	s.n++
	s.clock.set(s.clock.Now().Add(s.took))
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(""))}, nil
}

// TestRoundTripper: each request waits a spacing from the previous answer,
// then goes through; a request whose context ends while it waits is not
// sent.
func TestRoundTripper(t *testing.T) {
	for _, tc := range []struct {
		name      string
		requests  int
		took      time.Duration
		cancel    bool
		wantSent  int
		wantWaits []time.Duration
	}{
		{name: "three in a row", requests: 3, took: 300 * time.Millisecond, wantSent: 3, wantWaits: []time.Duration{time.Second, time.Second}},
		{name: "cancelled while waiting", requests: 2, cancel: true, wantSent: 1, wantWaits: []time.Duration{time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: t0}
			g := gateOn(clock, time.Second)
			next := &slowTransport{clock: clock, took: tc.took}
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
