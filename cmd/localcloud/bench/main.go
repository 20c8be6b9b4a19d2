// Command bench measures the product on the local cloud and prints the
// figures, each as a ratio to a baseline measured in the same run, and
// writes them to .local/bench/results.md (`make bench`):
//
//  1. binary sizes (linux/arm64, stripped) and cold starts through the
//     Lambda Runtime API host, against a minimal aws-lambda-go function
//     (testdata/minimal) built and started the same way;
//  2. warm handler latency: the BenchmarkHandle of each API function
//     (go test -bench, in-process) against apitest.BenchmarkConstant, and
//     each route through the local API Gateway against a constant route
//     served by the same gateway and Lambda host code;
//  3. cost per migration (state transitions, Lambda invocations, DynamoDB
//     requests, SES sends, Azure calls) counted by the local cloud, for the
//     happy path, the path with a missing Owner granted later, and a 30-day
//     ownership wait that reaches the deadline;
//  4. scale: N concurrent migrations, each checked to reach active exactly
//     once, with time and peak memory; and the API under load from a second
//     process (this binary's `loadgen` subcommand);
//  5. health: those N active providers checked in one scheduled health-check
//     run, with each Microsoft service's calls and peak rate (busiest
//     1-second window, at the double) against its configured ceiling.
//
// Every loop is bounded in count and time, and all traffic stays on
// 127.0.0.1. `bench -h` lists the flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/cloud"
)

type config struct {
	root, out, work string
	phases          map[string]bool
	coldRuns        int
	benchIters      int
	gatewayRequests int
	scaleN          int
	scaleClients    int
	scaleTimeScale  float64
	scaleTimeout    time.Duration
	waitDays        time.Duration
	loadRequests    int
	loadDuration    time.Duration
	loadClients     int
	healthInterval  int
	healthTimeout   time.Duration
}

const allPhases = "sizes,cold,handlers,gateway,cost,scale,load,health"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "loadgen" {
		if err := loadgen(os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var cfg config
	var phases string
	fs.StringVar(&cfg.root, "root", "", "repository root (default: found from the working directory)")
	fs.StringVar(&cfg.out, "out", "", "results file (default <root>/.local/bench/results.md)")
	fs.StringVar(&phases, "phases", allPhases, "phases to run, comma-separated")
	fs.IntVar(&cfg.coldRuns, "cold-runs", 5, "cold starts per function (a fresh process each)")
	fs.IntVar(&cfg.benchIters, "bench-iterations", 500, "iterations of each go test benchmark (-benchtime Nx)")
	fs.IntVar(&cfg.gatewayRequests, "gateway-requests", 200, "sequential requests per route through the gateway")
	fs.IntVar(&cfg.scaleN, "scale-n", 1000, "concurrent migrations in the scale phase")
	fs.IntVar(&cfg.scaleClients, "scale-clients", 16, "concurrent HTTP clients driving the scale phase")
	fs.Float64Var(&cfg.scaleTimeScale, "scale-time-scale", 100, "time scale of the scale phase's cloud")
	fs.DurationVar(&cfg.scaleTimeout, "scale-timeout", 15*time.Minute, "time limit of the scale phase")
	fs.DurationVar(&cfg.waitDays, "wait-timeout", 3*time.Minute, "time limit of the 30-day ownership wait (at time scale 86400)")
	fs.IntVar(&cfg.loadRequests, "load-requests", 3000, "requests per route of the load client")
	fs.DurationVar(&cfg.loadDuration, "load-duration", 20*time.Second, "time limit per route of the load client")
	fs.IntVar(&cfg.loadClients, "load-clients", 8, "concurrent connections of the load client")
	fs.IntVar(&cfg.healthInterval, "health-interval", 60, "HealthCheckIntervalMinutes of the scale cloud, whose providers the health phase checks in one scheduled run")
	fs.DurationVar(&cfg.healthTimeout, "health-timeout", 20*time.Minute, "time limit of the health phase's run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.phases = map[string]bool{}
	for _, p := range strings.Split(phases, ",") {
		if p = strings.TrimSpace(p); p != "" {
			if !strings.Contains(","+allPhases+",", ","+p+",") {
				return fmt.Errorf("unknown phase %q (want some of %s)", p, allPhases)
			}
			cfg.phases[p] = true
		}
	}
	if cfg.root == "" {
		root, err := cloud.FindRoot()
		if err != nil {
			return err
		}
		cfg.root = root
	}
	cfg.work = filepath.Join(cfg.root, ".local", "bench")
	if cfg.out == "" {
		cfg.out = filepath.Join(cfg.work, "results.md")
	}
	if err := os.MkdirAll(cfg.work, 0o755); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	r := &report{out: os.Stdout}
	start := time.Now()
	r.h1("Partner Cloud for Azure: benchmarks")
	r.line("Run %s with `%s` (`make bench` runs it with BENCH_FLAGS).", start.UTC().Format("2006-01-02 15:04 MST"), strings.TrimSpace("bench "+strings.Join(args, " ")))
	r.line("")
	machine(r)

	b := &bench{cfg: cfg, r: r}
	defer b.closeAll()
	steps := []struct {
		phase string
		fn    func(context.Context) error
	}{
		{"handlers", b.handlers},
		{"sizes", b.sizes},
		{"cold", b.cold},
		{"cost", b.cost},
		{"gateway", b.gateway},
		{"scale", b.scale},
		{"load", b.load},
		{"health", b.health},
	}
	var failed []string
	for _, s := range steps {
		if !cfg.phases[s.phase] {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(os.Stderr, "bench: %s (%s since start)\n", s.phase, time.Since(start).Round(time.Second))
		if err := s.fn(ctx); err != nil {
			failed = append(failed, s.phase)
			r.line("")
			r.line("**%s failed:** %v", s.phase, err)
			r.line("")
		}
	}
	b.closeAll()
	b.memoryTotals()
	r.line("")
	r.line("Total time %s.", time.Since(start).Round(time.Second))
	if err := os.MkdirAll(filepath.Dir(cfg.out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(cfg.out, []byte(r.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: results written to %s\n", cfg.out)
	if len(failed) > 0 {
		return fmt.Errorf("phases failed: %s", strings.Join(failed, ", "))
	}
	return nil
}

// machine prints what the machine was.
func machine(r *report) {
	model := "unknown"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				mem = strings.TrimSpace(strings.TrimPrefix(l, "MemTotal:"))
			}
		}
	}
	goVersion := runtime.Version()
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		goVersion = strings.TrimSpace(string(out))
	}
	load := ""
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(data))[:3], " ")
	}
	r.h2("Machine")
	r.line("- CPU: %s, %d cores (GOMAXPROCS %d), %s/%s", model, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
	r.line("- Memory: %s", mem)
	r.line("- Go: %s", goVersion)
	r.line("- Load average at start (1, 5, 15 min): %s — the cores are shared with other work, so figures are noisy", load)
	r.line("")
}

// report collects markdown and echoes it to out as it goes.
type report struct {
	out io.Writer
	b   strings.Builder
}

func (r *report) line(format string, a ...any) {
	s := fmt.Sprintf(format, a...) + "\n"
	r.b.WriteString(s)
	io.WriteString(r.out, s)
}

func (r *report) h1(s string) { r.line("# %s\n", s) }
func (r *report) h2(s string) { r.line("## %s\n", s) }
func (r *report) h3(s string) { r.line("### %s\n", s) }

// table writes a markdown table.
func (r *report) table(header []string, rows [][]string) {
	r.line("| %s |", strings.Join(header, " | "))
	seps := make([]string, len(header))
	for i := range seps {
		seps[i] = "---"
	}
	r.line("|%s|", strings.Join(seps, "|"))
	for _, row := range rows {
		r.line("| %s |", strings.Join(row, " | "))
	}
	r.line("")
}

func (r *report) String() string { return r.b.String() }
