package cloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// buildParallelism bounds concurrent `go build`s.
const buildParallelism = 2

// build compiles each function for the host into
// <StateDir>/bin/<LogicalId>/bootstrap and returns the paths by logical id.
func (c *Cloud) build(ctx context.Context) (map[string]string, error) {
	bins := map[string]string{}
	type job struct{ id, pkg, out string }
	var jobs []job
	for _, f := range c.tmpl.Functions {
		pkg := f.GoPackage
		if pkg == "" && f.CodeURI != "" {
			pkg = "./" + filepath.ToSlash(filepath.Clean(f.CodeURI))
		}
		if pkg == "" {
			return nil, fmt.Errorf("function %s: no Metadata.GoPackage or CodeUri to build", f.LogicalID)
		}
		out := filepath.Join(c.opts.StateDir, "bin", f.LogicalID, "bootstrap")
		bins[f.LogicalID] = out
		jobs = append(jobs, job{f.LogicalID, pkg, out})
	}
	if c.opts.SkipBuild {
		return bins, nil
	}
	start := time.Now()
	progress := c.opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	fmt.Fprintf(progress, "building %d functions for this machine (%d at a time)…\n", len(jobs), buildParallelism)
	built := 0
	sem := make(chan struct{}, buildParallelism)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", j.out, j.pkg)
			cmd.Dir = c.opts.Root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			out, err := cmd.CombinedOutput()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("build %s (%s): %w\n%s", j.id, j.pkg, err, strings.TrimSpace(string(out))))
				fmt.Fprintf(progress, "  failed %s\n", j.id)
				return
			}
			built++
			fmt.Fprintf(progress, "  [%2d/%d] %s\n", built, len(jobs), j.id)
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c.log.Info("functions built", "count", len(jobs), "seconds", time.Since(start).Round(100*time.Millisecond).Seconds())
	return bins, nil
}
