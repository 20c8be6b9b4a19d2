package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/cloud"
	"github.com/partnercloud/azure/cmd/localcloud/internal/microsoft"
	"github.com/partnercloud/azure/shared/throttle"
)

// The health-check state machine and its scheduled event (template.yaml),
// and its function.
const (
	healthStateMachine = "HealthCheckStateMachine"
	healthSchedule     = "Schedule"
	healthFunction     = "HealthCheckFunction"
)

// healthParams are the template parameters the scale cloud runs with, so
// that the health phase can run on its providers: the health check's
// interval (its pages are spread over 80% of it, at the time scale). Its
// schedule is held: the phase fires it once the providers are active.
func (b *bench) healthParams() map[string]string {
	return map[string]string{"HealthCheckIntervalMinutes": strconv.Itoa(b.cfg.healthInterval)}
}

// health checks every active provider of the scale phase's cloud in one
// scheduled run and reports the calls to each Microsoft service: how many,
// and the most in any 1-second window of real time at the Microsoft
// double, against the ceiling the health check function is configured
// with. It fails when a service's peak passes its ceiling, when a provider
// is not checked, or when a check finds something (the providers are
// healthy). Without a scale cloud it runs the scale phase first: the
// providers are real migrations, each in a tenant of its own at the double.
func (b *bench) health(ctx context.Context) error {
	if b.scaleCloud == nil {
		if err := b.scale(ctx); err != nil {
			return fmt.Errorf("the scale phase, which makes the providers: %w", err)
		}
	}
	c := b.scaleCloud
	d, err := newDriver(c, 4)
	if err != nil {
		return err
	}
	conf, err := healthConfig(c)
	if err != nil {
		return err
	}
	before, err := listHealth(ctx, d, time.Time{})
	if err != nil {
		return err
	}
	if before.active == 0 {
		return fmt.Errorf("no active provider to check (statuses %v)", before.statuses)
	}

	hctx, cancel := context.WithTimeout(ctx, b.cfg.healthTimeout)
	defer cancel()
	invBefore := c.Host().Invocations()
	sesBefore := c.Outbox().Calls()
	callsBefore := c.Microsoft().Calls()
	start := time.Now()
	firing, err := c.FireSchedule(healthStateMachine, healthSchedule)
	if err != nil {
		return err
	}
	if firing.Err != "" || firing.Execution == "" {
		return fmt.Errorf("the schedule did not start a run: %+v", firing)
	}
	status, err := c.Engine().Wait(hctx, firing.Execution)
	if err != nil {
		return fmt.Errorf("the run %s did not end within %s: %w", firing.Execution, b.cfg.healthTimeout, err)
	}
	took := time.Since(start)
	// Every batch's checks are done when its Map iteration ends; wait a
	// little longer in case a provider's write is still on its way.
	var after healthList
	for {
		if after, err = listHealth(hctx, d, start); err != nil {
			return err
		}
		if after.checked >= before.active || hctx.Err() != nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	rates := c.Microsoft().CallRates(start)
	calls := diff(c.Microsoft().Calls(), callsBefore)
	inv := diff(c.Host().Invocations(), invBefore)

	pages := (before.active + 99) / 100
	spreadLocal := time.Duration(float64(b.cfg.healthInterval) * 0.8 * float64(time.Minute) / float64(max(1, pages)))
	b.r.h2(fmt.Sprintf("Health checks: %d active providers in one scheduled run", before.active))
	b.r.line("On the scale phase's cloud (time scale %g), whose %d providers reached `active` through the migration, each in a tenant of its own at the Microsoft double (consent, reseller relationship, GDAP relationship with its access assignment, Owner): its health-check schedule, held until then, is fired once, as EventBridge fires it (`StartExecution` with `%s`). `HealthCheckIntervalMinutes` %d: the %d pages of 100 are spread %s apart in local time (%s real). `HealthCheckConcurrency` %d. Call rates are measured at the double in real time: the calls that arrived from the run's start, and the most in any 1-second window.",
		b.cfg.scaleTimeScale, before.active, firing.Payload, b.cfg.healthInterval, pages, spreadLocal.Round(time.Second), time.Duration(float64(spreadLocal)/b.cfg.scaleTimeScale).Round(10*time.Millisecond), conf.concurrency)
	b.r.line("")
	b.r.table([]string{"figure", "value"}, [][]string{
		{"providers checked (checkedAt after the run's start)", fmt.Sprintf("%d of %d", after.checked, before.active)},
		{"findings", fmt.Sprintf("%d (health: %s)", after.findings, countsOf(after.health))},
		{"the run (fired to the execution's end)", fmt.Sprintf("%s, %s (%.1f checks/s)", took.Round(100*time.Millisecond), status, float64(after.checked)/took.Seconds())},
		{"state transitions, Lambda invocations of " + healthFunction, fmt.Sprintf("%d, %d (peak instances %d)", c.Engine().Transitions(firing.Execution), inv[healthFunction], c.Host().PeakInstances(healthFunction))},
		{"emails sent during the run", fmt.Sprint(c.Outbox().Calls() - sesBefore)},
		{"Microsoft calls by kind", detail(calls)},
	})
	var rows [][]string
	var over []string
	for _, s := range throttle.Services {
		r := rates[s.Key]
		ceiling := conf.ceilings[s.Key]
		per, _ := throttle.PerSlot(ceiling, conf.concurrency)
		verdict := "under"
		if r.PeakPerSecond > ceiling {
			verdict = "**over**"
			over = append(over, fmt.Sprintf("%s %d/s > %d/s", s.Name, r.PeakPerSecond, ceiling))
		}
		at := "—"
		if r.PeakWindowStart != nil {
			at = "+" + r.PeakWindowStart.Sub(start).Round(100*time.Millisecond).String()
		}
		rows = append(rows, []string{s.Name, fmt.Sprint(r.Calls), fmt.Sprintf("%.2f", float64(r.Calls)/float64(max(1, after.checked))),
			fmt.Sprintf("%d/s", r.PeakPerSecond), at, fmt.Sprintf("%d/s", ceiling), fmt.Sprintf("%d × %d/s", conf.concurrency, per), verdict})
	}
	b.r.table([]string{"Microsoft service", "calls", "per check", "peak (busiest 1 s, real time)", "peak window from the run's start", "ceiling", "batches × each instance's pace", ""}, rows)
	switch {
	case len(over) > 0:
		return fmt.Errorf("peak call rate over the ceiling: %s", strings.Join(over, "; "))
	case after.checked < before.active:
		return fmt.Errorf("%d of %d providers checked", after.checked, before.active)
	case after.findings > 0:
		return fmt.Errorf("%d findings on healthy providers", after.findings)
	case status != "SUCCEEDED":
		return fmt.Errorf("the run ended %s", status)
	}
	return nil
}

// healthConf is what the health check function is configured with.
type healthConf struct {
	concurrency int
	ceilings    map[string]int
}

// healthConfig reads the concurrency and ceilings from the health check
// function's environment as the template resolves it.
func healthConfig(c *cloud.Cloud) (healthConf, error) {
	conf := healthConf{ceilings: map[string]int{}}
	for _, f := range c.Template().Functions {
		if f.LogicalID != healthFunction {
			continue
		}
		var err error
		if conf.concurrency, err = strconv.Atoi(f.Environment[throttle.ConcurrencyEnv]); err != nil {
			return conf, fmt.Errorf("%s %s: %w", healthFunction, throttle.ConcurrencyEnv, err)
		}
		for _, s := range throttle.Services {
			if conf.ceilings[s.Key], err = strconv.Atoi(f.Environment[s.Env]); err != nil {
				return conf, fmt.Errorf("%s %s: %w", healthFunction, s.Env, err)
			}
		}
		// The double reports by the same service keys.
		for _, s := range throttle.Services {
			if !contains(microsoft.Services, s.Key) {
				return conf, fmt.Errorf("the Microsoft double does not time service %q", s.Key)
			}
		}
		return conf, nil
	}
	return conf, fmt.Errorf("no %s in the template", healthFunction)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// healthList is the providers' health as GET /providers shows it.
type healthList struct {
	active   int
	checked  int // active and checked at or after the time asked
	findings int
	health   map[string]int
	statuses map[string]int
}

// listHealth reads every page of GET /providers and counts the active
// providers, those checked at since or later, and their findings.
func listHealth(ctx context.Context, d *driver, since time.Time) (healthList, error) {
	out := healthList{health: map[string]int{}, statuses: map[string]int{}}
	cursor := ""
	for page := 0; page < 10000; page++ {
		u := d.api + "/providers?limit=100"
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		st, raw, _, err := d.do(ctx, "GET", u, nil, map[string]string{"Authorization": "Bearer " + d.token})
		if err != nil || st != 200 {
			return out, fmt.Errorf("GET /providers: %d %v %.200s", st, err, raw)
		}
		var body struct {
			Providers []struct {
				Status string `json:"status"`
				Health *struct {
					Status    string            `json:"status"`
					Findings  []json.RawMessage `json:"findings"`
					CheckedAt time.Time         `json:"checkedAt"`
				} `json:"health"`
			} `json:"providers"`
			NextCursor string `json:"nextCursor"`
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			return out, err
		}
		for _, p := range body.Providers {
			out.statuses[p.Status]++
			if p.Status != "active" {
				continue
			}
			out.active++
			if p.Health == nil || p.Health.CheckedAt.Before(since) {
				out.health["not checked"]++
				continue
			}
			out.checked++
			out.health[p.Health.Status]++
			out.findings += len(p.Health.Findings)
		}
		if cursor = body.NextCursor; cursor == "" {
			break
		}
	}
	return out, nil
}

func countsOf(m map[string]int) string {
	m64 := map[string]int64{}
	for k, v := range m {
		m64[k] = int64(v)
	}
	return detail(m64)
}
