package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/cloud"
)

// bench holds the run's state: the clouds it started and the binaries built.
type bench struct {
	cfg config
	r   *report

	mu      sync.Mutex
	clouds  []*cloud.Cloud
	binDir  string // the functions' host binaries, built by the first cloud
	minimal string // the baseline's host binary

	// Set by cost, used by gateway and load.
	costCloud  *cloud.Cloud
	providerID string // an active provider of acct-eligible on costCloud
	invitation string // its (used) invitation id
	createBody []byte // the body and key that created it
	createKey  string

	// Set by scale, used by load and health.
	scaleCloud    *cloud.Cloud
	scaleProvider string

	gatewayBaseline *baselineGateway
	selfPeakKB      int64 // VmHWM over the scale and load phases
	childPeakKB     int64 // largest sum of the function processes' RSS sampled
}

// startCloud starts a local cloud on ephemeral loopback ports with its own
// state directory under .local/bench, on the scenario file scenario (""
// for the default scenario); the functions are built once, by the first
// cloud, and reused by the others.
func (b *bench) startCloud(ctx context.Context, name string, scale float64, overrides map[string]string, scenario string, more ...func(*cloud.Options)) (*cloud.Cloud, error) {
	state := filepath.Join(b.cfg.work, "cloud-"+name)
	if err := os.RemoveAll(state); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(state, 0o755); err != nil {
		return nil, err
	}
	b.mu.Lock()
	skip := b.binDir != ""
	if skip {
		if err := os.Symlink(b.binDir, filepath.Join(state, "bin")); err != nil {
			b.mu.Unlock()
			return nil, err
		}
	}
	b.mu.Unlock()
	logf, err := os.Create(filepath.Join(b.cfg.work, "cloud-"+name+".log"))
	if err != nil {
		return nil, err
	}
	local := "127.0.0.1:0"
	sctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	opts := cloud.Options{
		Root: b.cfg.root, StateDir: state, TimeScale: scale, EnvOverrides: overrides, SkipBuild: skip,
		APIAddr: local, DynamoAddr: local, StepFunctionsAddr: local, SESAddr: local, OutboxAddr: local,
		SecretsManagerAddr: local, MicrosoftAddr: local, EventsAddr: local, Log: logf, CountDynamoDB: true, Scenario: scenario,
	}
	for _, m := range more {
		m(&opts)
	}
	c, err := cloud.Start(sctx, opts)
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("start the %s cloud (log %s): %w", name, logf.Name(), err)
	}
	b.mu.Lock()
	b.clouds = append(b.clouds, c)
	if b.binDir == "" {
		b.binDir = filepath.Join(state, "bin")
	}
	b.mu.Unlock()
	return c, nil
}

// anyCloud returns a running cloud, starting one (at time scale 2000) if none runs.
func (b *bench) anyCloud(ctx context.Context) (*cloud.Cloud, error) {
	b.mu.Lock()
	if len(b.clouds) > 0 {
		c := b.clouds[0]
		b.mu.Unlock()
		return c, nil
	}
	b.mu.Unlock()
	return b.startCloud(ctx, "standard", 2000, map[string]string{"STATE_TTL": "2m"}, "")
}

func (b *bench) closeAll() {
	b.mu.Lock()
	cs := b.clouds
	b.clouds = nil
	gw := b.gatewayBaseline
	b.gatewayBaseline = nil
	b.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
	if gw != nil {
		gw.Close()
	}
}

// minimalBinary builds the baseline function for the host, as the local
// cloud builds the product's functions.
func (b *bench) minimalBinary(ctx context.Context) (string, error) {
	if b.minimal != "" {
		return b.minimal, nil
	}
	out := filepath.Join(b.cfg.work, "bin", "MinimalFunction", "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", out, "./cmd/localcloud/bench/testdata/minimal")
	cmd.Dir = b.cfg.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the minimal function: %w\n%s", err, msg)
	}
	b.minimal = out
	return out, nil
}

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func sortDurations(d []time.Duration) []time.Duration {
	out := append([]time.Duration(nil), d...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func ratio(a, base float64) string {
	if base == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/base)
}

func mib(bytes int64) string { return fmt.Sprintf("%.1f MiB", float64(bytes)/(1<<20)) }

// --- memory -----------------------------------------------------------------

// resetPeakRSS resets this process's VmHWM (Linux: "5" to clear_refs).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// selfHWM is this process's peak resident set (VmHWM) in KiB.
func selfHWM() int64 { return statusKB("/proc/self/status", "VmHWM:") }

func statusKB(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, key) {
			fields := strings.Fields(strings.TrimPrefix(l, key))
			if len(fields) > 0 {
				n, _ := strconv.ParseInt(fields[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// childrenRSS is the summed VmRSS (KiB) and count of this process's children.
func childrenRSS() (kb int64, n int) {
	self := strconv.Itoa(os.Getpid())
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0
	}
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		if statusField("/proc/"+e.Name()+"/status", "PPid:") != self {
			continue
		}
		kb += statusKB("/proc/"+e.Name()+"/status", "VmRSS:")
		n++
	}
	return kb, n
}

func statusField(path, key string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, key) {
			return strings.TrimSpace(strings.TrimPrefix(l, key))
		}
	}
	return ""
}

// sampleChildren samples childrenRSS every interval until ctx ends and
// returns the peak sum and the peak number of children.
func sampleChildren(ctx context.Context, interval time.Duration) func() (int64, int) {
	var mu sync.Mutex
	var peak int64
	var peakN int
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			kb, n := childrenRSS()
			mu.Lock()
			peak, peakN = max(peak, kb), max(peakN, n)
			mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() (int64, int) {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return peak, peakN
	}
}

// memoryTotals reports the children's largest peak (getrusage
// RUSAGE_CHILDREN maxrss: the largest single child, once waited for).
func (b *bench) memoryTotals() {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return
	}
	b.r.h2("Memory of the whole run")
	b.r.line("- This process (the local cloud runs in it): peak RSS (VmHWM) %s over the whole run.", mib(selfHWM()*1024))
	b.r.line("- Largest single child process (getrusage RUSAGE_CHILDREN maxrss: function processes, go build and the load client): %s.", mib(ru.Maxrss*1024))
}
