package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/lambdahost"
)

// sizes builds every function of the template and the minimal function for
// linux/arm64, stripped, as `sam build` does, and reports their sizes.
func (b *bench) sizes(ctx context.Context) error {
	c, err := b.anyCloud(ctx)
	if err != nil {
		return err
	}
	dir := filepath.Join(b.cfg.work, "arm64")
	type job struct{ name, pkg string }
	jobs := []job{{"minimal (baseline)", "./cmd/localcloud/bench/testdata/minimal"}}
	for _, f := range c.Template().Functions {
		pkg := f.GoPackage
		if pkg == "" {
			pkg = "./" + f.CodeURI
		}
		jobs = append(jobs, job{f.LogicalID, pkg})
	}
	sizes := make([]int64, len(jobs))
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out := filepath.Join(dir, fmt.Sprint(i), "bootstrap")
			cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, j.pkg)
			cmd.Dir = b.cfg.root
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
			if msg, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("%s: %w\n%s", j.name, err, msg)
				return
			}
			st, err := os.Stat(out)
			if err != nil {
				errs[i] = err
				return
			}
			sizes[i] = st.Size()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	b.r.h2("Binary sizes (linux/arm64, stripped)")
	b.r.line("`GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags='-s -w'`, against the minimal aws-lambda-go function built the same way.")
	b.r.line("")
	var rows [][]string
	for i, j := range jobs {
		rows = append(rows, []string{j.name, mib(sizes[i]), ratio(float64(sizes[i]), float64(sizes[0]))})
	}
	b.r.table([]string{"function", "size", "vs minimal"}, rows)
	return nil
}

// coldPayload is the cheap first request of a function: for an API
// function an API Gateway v2 event without claims (401 from the UI routes;
// the consent pages answer an unknown route with their 404 page); for a task
// function an empty input, which fails validation before any call.
func coldPayload(api bool) []byte {
	if !api {
		return []byte(`{}`)
	}
	ev := map[string]any{
		"version": "2.0", "routeKey": "GET /bench-cold-start", "rawPath": "/bench-cold-start",
		"headers": map[string]string{"content-type": "application/json"},
		"requestContext": map[string]any{"requestId": "bench-cold-start", "routeKey": "GET /bench-cold-start",
			"http": map[string]string{"method": "GET", "path": "/bench-cold-start", "sourceIp": "127.0.0.1"}},
	}
	raw, _ := json.Marshal(ev)
	return raw
}

// answer describes a first response: the status code, or the error type.
func answer(out []byte, err error) string {
	var fe *lambdahost.FunctionError
	if errors.As(err, &fe) {
		return fe.ErrorType
	}
	if err != nil {
		return "error: " + err.Error()
	}
	var resp struct {
		StatusCode int `json:"statusCode"`
	}
	if json.Unmarshal(out, &resp) == nil && resp.StatusCode != 0 {
		return fmt.Sprint(resp.StatusCode)
	}
	return "ok"
}

// cold starts each function's bootstrap (host build, the local cloud's
// environment, its endpoints live) in a Lambda host of its own, fresh
// process each time, and times the first Invoke: process start, init and
// the first response.
func (b *bench) cold(ctx context.Context) error {
	c, err := b.anyCloud(ctx)
	if err != nil {
		return err
	}
	minimal, err := b.minimalBinary(ctx)
	if err != nil {
		return err
	}
	api := map[string]bool{}
	for _, f := range c.Template().Functions {
		api[f.LogicalID] = len(f.Events) > 0
	}
	fns := append([]lambdahost.Function{{Name: "MinimalFunction", Binary: minimal, Timeout: 10 * time.Second}}, c.Functions()...)
	api["MinimalFunction"] = true
	env := c.HostEnv()
	times := map[string][]time.Duration{}
	answers := map[string]string{}
	// Interleaved: run r of every function, then run r+1, so drift in the
	// machine's load spreads over all of them.
	for r := 0; r < b.cfg.coldRuns; r++ {
		for _, fn := range fns {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			h := lambdahost.New(lambdahost.Options{Env: env, MaxInstances: 1})
			if err := h.Register(fn); err != nil {
				h.Close()
				return err
			}
			ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
			start := time.Now()
			out, ierr := h.Invoke(ictx, fn.Name, coldPayload(api[fn.Name]))
			d := time.Since(start)
			cancel()
			h.Close()
			times[fn.Name] = append(times[fn.Name], d)
			answers[fn.Name] = answer(out, ierr)
		}
	}
	base := percentile(sortDurations(times["MinimalFunction"]), 0.5)
	b.r.h2("Cold start through the Lambda Runtime API host")
	b.r.line("Each function's `bootstrap` (built for this machine as the local cloud builds it: `go build -tags lambda.norpc`) started by `lambdahost` until its first response; %d runs each, a fresh process every time, median. API functions get an API Gateway v2 event without claims; task functions an empty input that fails validation. Every function reads its configuration from the environment at start-up and builds its clients and reads its secrets on first use (none for these requests); they run with the environment of a running local cloud, whose emulators would answer those calls. Baseline: the minimal aws-lambda-go function (`cmd/localcloud/bench/testdata/minimal`). Target: no function above 1.5×.", b.cfg.coldRuns)
	b.r.line("")
	var rows [][]string
	names := make([]string, 0, len(fns))
	for _, fn := range fns {
		names = append(names, fn.Name)
	}
	sort.SliceStable(names[1:], func(i, j int) bool { return names[1+i] < names[1+j] })
	over := 0
	for _, n := range names {
		s := sortDurations(times[n])
		med := percentile(s, 0.5)
		rt := float64(med) / float64(base)
		flag := ""
		if n != "MinimalFunction" && rt > 1.5 {
			flag = " (above 1.5×)"
			over++
		}
		label := n
		if n == "MinimalFunction" {
			label = "minimal (baseline)"
		}
		rows = append(rows, []string{label, answers[n], ms(med), ms(s[0]), ms(s[len(s)-1]), ratio(float64(med), float64(base)) + flag})
	}
	b.r.table([]string{"function", "first answer", "median", "min", "max", "vs minimal"}, rows)
	if over == 0 {
		b.r.line("Every function is within 1.5× of the minimal function.")
	} else {
		b.r.line("%d function(s) above 1.5× of the minimal function.", over)
	}
	b.r.line("")
	return nil
}
