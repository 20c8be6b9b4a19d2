package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/cloud"
)

// scale runs N migrations at once on a cloud of its own: all are created,
// each administrator signs in and consents as their email arrives, and all
// must reach active; then providers and completion emails are counted. A
// tenant connects through one open or active provider at a time, so the
// cloud runs on a scenario with N customer tenants (scenario.go) and
// migration i moves tenant i's subscription, its administrator consenting.
func (b *bench) scale(ctx context.Context) error {
	n := b.cfg.scaleN
	if n < 1 {
		return fmt.Errorf("-scale-n %d: at least one migration", n)
	}
	tenants := make([]benchTenant, n)
	for i := range tenants {
		tenants[i] = benchTenantOf(i)
	}
	scenario := filepath.Join(b.cfg.work, "scale-scenario.json")
	if err := writeBenchScenario(b.cfg.root, scenario, n); err != nil {
		return err
	}
	// The earlier phases' clouds are no longer needed: stop them (and their
	// function processes) so that the memory sampled is the scale cloud's.
	b.mu.Lock()
	earlier := b.clouds
	b.clouds = nil
	b.mu.Unlock()
	for _, c := range earlier {
		c.Close()
	}
	b.costCloud = nil
	// The health phase runs on this cloud's providers: its health-check
	// schedule is held (nothing is checked while migrations run) until
	// that phase fires it.
	c, err := b.startCloud(ctx, "scale", b.cfg.scaleTimeScale, map[string]string{"STATE_TTL": "2m"}, scenario, func(o *cloud.Options) {
		o.Parameters, o.HoldSchedules = b.healthParams(), true
	})
	if err != nil {
		return err
	}
	b.scaleCloud = c
	d, err := newDriver(c, b.cfg.scaleClients*2)
	if err != nil {
		return err
	}
	run := time.Now().Format("150405")
	name := func(i int) string { return fmt.Sprintf("Bench scale %s %05d", run, i) }
	nameRe := regexp.MustCompile(`Bench scale ` + run + ` [0-9]{5}`)

	sctx, cancel := context.WithTimeout(ctx, b.cfg.scaleTimeout)
	defer cancel()
	resetPeakRSS()
	sctxSample, stopSample := context.WithCancel(sctx)
	peak := sampleChildren(sctxSample, 250*time.Millisecond)
	before := snapshot(c)
	start := time.Now()

	// Create every migration, scaleClients at a time.
	ids := make([]string, n)
	var createErrs atomic.Int64
	var firstErr atomic.Value
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < b.cfg.scaleClients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				id, err := d.create(sctx, createBody(name(i), tenants[i].admin, tenants[i].subscription), "")
				if err != nil {
					createErrs.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				ids[i] = id
			}
		}()
	}
	for i := 0; i < n && sctx.Err() == nil; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	created := time.Since(start)

	// Consent as each invitation arrives.
	index := map[string]int{}
	for i := 0; i < n; i++ {
		index[name(i)] = i
	}
	consented := make([]bool, n)
	var consentErrs atomic.Int64
	type consentJob struct {
		i     int
		link  string
		links []string
	}
	jobs := make(chan consentJob, n)
	var cwg sync.WaitGroup
	for w := 0; w < b.cfg.scaleClients; w++ {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			for j := range jobs {
				err := d.consent(sctx, j.link, tenants[j.i].admin)
				if err == nil {
					err = d.relationships(sctx, j.links, tenants[j.i].admin)
				}
				if err != nil {
					consentErrs.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Errorf("%s (%s): %w", name(j.i), tenants[j.i].admin, err))
				}
			}
		}()
	}
	pending := 0
	for i := range ids {
		if ids[i] != "" {
			pending++
		}
	}
	seen := map[string]bool{}
	for pending > 0 && sctx.Err() == nil {
		for _, m := range c.Outbox().Messages() {
			if seen[m.ID] {
				continue
			}
			seen[m.ID] = true
			if len(m.To) == 0 || !strings.Contains(m.Subject, "approve moving") {
				continue
			}
			nm := nameRe.FindString(m.Subject + "\n" + m.Text)
			if i, ok := index[nm]; ok && m.To[0] == tenants[i].admin && !consented[i] && ids[i] != "" {
				consented[i] = true
				pending--
				jobs <- consentJob{i, d.consentLink(m.Links), m.Links}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	close(jobs)
	cwg.Wait()
	consentDone := time.Since(start)

	// Wait for every execution to end.
	var notDone int
	for i, id := range ids {
		if id == "" || !consented[i] {
			continue
		}
		if _, err := c.Engine().Wait(sctx, d.executionARN(id)); err != nil {
			notDone++
		}
	}
	took := time.Since(start)
	after := snapshot(c)
	stopSample()
	childKB, childN := peak()
	selfKB := selfHWM()
	b.selfPeakKB, b.childPeakKB = max(b.selfPeakKB, selfKB), max(b.childPeakKB, childKB)
	peakInstances := 0
	for _, fn := range c.Host().Functions() {
		peakInstances += c.Host().PeakInstances(fn)
	}

	// Count: providers through the API (every page), completion emails in the outbox.
	byName := map[string]int{}
	statuses := map[string]int{}
	wrongTenant := 0
	cursor := ""
	for page := 0; page < n/100+50; page++ {
		u := d.api + "/providers?limit=100"
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		st, raw, _, err := d.do(ctx, "GET", u, nil, map[string]string{"Authorization": "Bearer " + d.token})
		if err != nil || st != 200 {
			return fmt.Errorf("GET /providers: %d %v %.200s", st, err, raw)
		}
		var out struct {
			Providers []struct {
				ID, Name, Status string
				TenantID         string `json:"tenantId"`
			} `json:"providers"`
			NextCursor string `json:"nextCursor"`
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return err
		}
		for _, p := range out.Providers {
			if strings.HasPrefix(p.Name, "Bench scale "+run+" ") {
				byName[p.Name]++
				statuses[p.Status]++
				if i, ok := index[p.Name]; !ok || !strings.EqualFold(p.TenantID, tenants[i].id) {
					wrongTenant++
				}
			}
		}
		if cursor = out.NextCursor; cursor == "" {
			break
		}
	}
	completion, invitations := map[string]int{}, map[string]int{}
	for _, m := range c.Outbox().Messages() {
		nm := nameRe.FindString(m.Subject + "\n" + m.Text)
		if _, ok := index[nm]; !ok || len(m.To) == 0 {
			continue
		}
		if m.To[0] == requester && strings.Contains(m.Subject, "now under the partner's care") {
			completion[nm]++
		}
		if m.To[0] == tenants[index[nm]].admin && strings.Contains(m.Subject, "approve moving") {
			invitations[nm]++
		}
	}
	dupProviders, dupEmails, missingEmails := 0, 0, 0
	for i := 0; i < n; i++ {
		nm := name(i)
		if byName[nm] > 1 {
			dupProviders++
		}
		switch {
		case completion[nm] > 1:
			dupEmails++
		case completion[nm] == 0:
			missingEmails++
		}
	}
	active := statuses["active"]
	transitions := 0
	for _, id := range ids {
		if id != "" {
			transitions += c.Engine().Transitions(d.executionARN(id))
		}
	}
	per := func(v int64) string { return fmt.Sprintf("%.1f", float64(v)/float64(max(1, n))) }
	inv := diff(after.invocations, before.invocations)
	dyn := diff(after.dynamo, before.dynamo)
	var reads, writes int64
	for _, m := range []migrationCost{{dynamo: dyn}} {
		reads, writes = m.reads(), m.writes()
	}

	b.r.h2(fmt.Sprintf("Scale: %d concurrent migrations", n))
	b.r.line("On a local cloud of its own at time scale %g (STATE_TTL 2m so that a consent state outlives the queueing), up to 8 instances per function, whose scenario adds %d customer tenants to the default one (a tenant connects through one open or active provider at a time): migration i moves tenant-i's one subscription, on which the partner already holds Owner, and admin@tenant-i.example consents. %d HTTP clients create every migration, then each administrator's path (landing page, Microsoft sign-in, the callback with the code, Microsoft admin consent, the callback; then the admin center's reseller invitation and GDAP approval pages the email links to; a cookie jar per administrator) runs as its invitation arrives; the run waits for every execution to end.", b.cfg.scaleTimeScale, n, b.cfg.scaleClients)
	b.r.line("")
	b.r.table([]string{"figure", "value"}, [][]string{
		{"created (202)", fmt.Sprintf("%d of %d (%d errors), in %s", n-int(createErrs.Load()), n, createErrs.Load(), created.Round(time.Second))},
		{"consented", fmt.Sprintf("%d (%d errors), all by %s", countTrue(consented), consentErrs.Load(), consentDone.Round(time.Second))},
		{"active (GET /providers, every page)", fmt.Sprintf("%d of %d; statuses %v", active, n, statuses)},
		{"lost / duplicated providers", fmt.Sprintf("%d / %d", n-len(byName), dupProviders)},
		{"providers not in their own tenant", fmt.Sprint(wrongTenant)},
		{"completion emails: missing / duplicated", fmt.Sprintf("%d / %d (invitation emails: %d for %d migrations)", missingEmails, dupEmails, sumInts(invitations), len(invitations))},
		{"executions not ended in time", fmt.Sprint(notDone)},
		{"time, first create to last execution ended", fmt.Sprintf("%s (%.1f migrations/s)", took.Round(time.Second), float64(n)/took.Seconds())},
		{"peak RSS, this process (cloud in-process: gateway, engine, DynamoDB, emulators)", mib(selfKB * 1024)},
		{"peak RSS, all function processes together (sampled every 250 ms)", fmt.Sprintf("%s in %d processes at most (peak instances summed over functions: %d)", mib(childKB*1024), childN, peakInstances)},
		{"per migration: transitions, invocations, DynamoDB reads / writes, SES sends, Microsoft calls", fmt.Sprintf("%.1f, %s, %s / %s, %s, %s", float64(transitions)/float64(max(1, n)), per(sum(inv)), per(reads), per(writes), per(after.ses-before.ses), per(sum(diff(after.azure, before.azure))))},
	})
	if e := firstErr.Load(); e != nil {
		b.r.line("First error: %v", e)
		b.r.line("")
	}
	for _, id := range ids {
		if id != "" {
			b.scaleProvider = id
			break
		}
	}
	if active != n || dupProviders > 0 || dupEmails > 0 || missingEmails > 0 || wrongTenant > 0 {
		return fmt.Errorf("%d of %d active, %d duplicated providers, %d missing and %d duplicated completion emails, %d providers not in their own tenant", active, n, dupProviders, missingEmails, dupEmails, wrongTenant)
	}
	return nil
}

func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

func sumInts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// load runs this binary's loadgen subcommand as a second process against
// the baseline route and two real routes, each bounded in requests and time.
func (b *bench) load(ctx context.Context) error {
	c := b.scaleCloud
	if c == nil {
		c = b.costCloud
	}
	if c == nil {
		var err error
		if c, err = b.anyCloud(ctx); err != nil {
			return err
		}
	}
	gw, err := b.baseline(ctx)
	if err != nil {
		return err
	}
	tok, err := c.Token("acct-eligible", []string{"admin"})
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	id := b.scaleProvider
	if id == "" {
		id = b.providerID
	}
	targets := []struct{ label, url, token string }{
		{"GET /baseline (baseline)", gw.url + "/baseline", gw.token},
		{"GET /provider-options", c.APIURL() + "/provider-options?type=azure", tok},
	}
	if id != "" {
		targets = append(targets, struct{ label, url, token string }{"GET /providers/{id}", c.APIURL() + "/providers/" + id, tok})
	}
	var results []loadResult
	for _, t := range targets {
		cmd := exec.CommandContext(ctx, self, "loadgen", "-url", t.url, "-token", t.token,
			"-n", fmt.Sprint(b.cfg.loadRequests), "-duration", b.cfg.loadDuration.String(), "-c", fmt.Sprint(b.cfg.loadClients))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("loadgen %s: %w", t.label, err)
		}
		var res loadResult
		if err := json.Unmarshal(out, &res); err != nil {
			return fmt.Errorf("loadgen %s: %w: %s", t.label, err, out)
		}
		res.Label = t.label
		results = append(results, res)
	}
	base := results[0]
	b.r.h2("The API under load from a second process")
	b.r.line("`bench loadgen` (this program, run as a separate process) with %d connections on loopback, at most %d requests or %s per route, whichever ends first; the cloud is the scale phase's (its table holds those migrations). Baseline: the constant route `GET /baseline` behind the same gateway and Lambda host code (8 instances at most per function, as in the local cloud).", b.cfg.loadClients, b.cfg.loadRequests, b.cfg.loadDuration)
	b.r.line("")
	var rows [][]string
	for _, r := range results {
		rows = append(rows, []string{r.Label, fmt.Sprint(r.Requests), fmt.Sprint(r.Errors), r.Statuses, fmt.Sprintf("%.0f/s", r.RPS),
			fmt.Sprintf("%.2f ms", r.P50ms), fmt.Sprintf("%.2f ms", r.P99ms), ratio(r.RPS, base.RPS), ratio(r.P50ms, base.P50ms), ratio(r.P99ms, base.P99ms)})
	}
	b.r.table([]string{"route", "requests", "errors", "statuses", "throughput", "p50", "p99", "throughput vs baseline", "p50 vs baseline", "p99 vs baseline"}, rows)
	return nil
}

// loadResult is loadgen's output.
type loadResult struct {
	Label    string  `json:"label,omitempty"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	Statuses string  `json:"statuses"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	P50ms    float64 `json:"p50ms"`
	P99ms    float64 `json:"p99ms"`
}

// loadgen sends GET requests to one loopback URL from c connections until n
// requests are done or the duration passes, and prints a loadResult as JSON.
func loadgen(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	target := fs.String("url", "", "URL to GET (loopback only)")
	token := fs.String("token", "", "bearer token")
	n := fs.Int("n", 1000, "requests at most")
	dur := fs.Duration("duration", 10*time.Second, "time at most")
	conns := fs.Int("c", 8, "concurrent connections")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*target)
	if err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost" && u.Hostname() != "::1") {
		return errors.New("-url must be an http URL on loopback")
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns}}
	ctx, cancel := context.WithTimeout(context.Background(), *dur)
	defer cancel()
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	statuses := map[int]int{}
	errs := 0
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(*n) && ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "GET", *target, nil)
				if *token != "" {
					req.Header.Set("Authorization", "Bearer "+*token)
				}
				t := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					mu.Lock()
					errs++
					mu.Unlock()
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				d := time.Since(t)
				mu.Lock()
				lat = append(lat, d)
				statuses[resp.StatusCode]++
				if resp.StatusCode >= 500 {
					errs++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	s := sortDurations(lat)
	res := loadResult{Requests: len(lat), Errors: errs, Statuses: statusList(statuses), Seconds: secs, RPS: float64(len(lat)) / secs,
		P50ms: float64(percentile(s, 0.5).Microseconds()) / 1000, P99ms: float64(percentile(s, 0.99).Microseconds()) / 1000}
	return json.NewEncoder(stdout).Encode(res)
}
