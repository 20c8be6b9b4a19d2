package cloud

import (
	"errors"
	"fmt"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/eventbridge"
	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
)

// startSchedules runs the enabled Schedule and ScheduleV2 events of the
// template's functions and state machines at the cloud's time scale (see
// eventbridge.RunSchedules): a function is invoked asynchronously in the
// Lambda host, a state machine gets StartExecution in the local Step
// Functions engine. They start once the host is ready. An invalid schedule
// expression fails the start; one EventBridge accepts but the local cloud
// cannot run (cron's L, W or #) is left out with a warning.
func (c *Cloud) startSchedules() error {
	var list []eventbridge.Schedule
	add := func(kind, owner string, ev samtemplate.ScheduleEvent, function, stateMachineARN string) error {
		log := c.log.With(kind, owner, "event", ev.Name, "schedule", ev.Expression)
		if !ev.Enabled {
			log.Info("scheduled event disabled; not run")
			return nil
		}
		scheduler := ev.Type == samtemplate.EventScheduleV2
		expr, err := eventbridge.ParseExpression(ev.Expression, ev.Timezone, scheduler)
		var unsupported *eventbridge.UnsupportedError
		if errors.As(err, &unsupported) {
			log.Warn("scheduled event not run locally", "err", err)
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s %s event %s: %w", kind, owner, ev.Name, err)
		}
		list = append(list, eventbridge.Schedule{Name: ev.ResourceName, ARN: ev.ARN, Scheduler: scheduler, Expression: expr,
			Input: ev.Input, Function: function, StateMachineARN: stateMachineARN})
		log.Info("scheduled event running", "timeScale", c.opts.TimeScale)
		return nil
	}
	for _, f := range c.tmpl.Functions {
		for _, ev := range f.ScheduleEvents {
			if err := add("function", f.LogicalID, ev, f.LogicalID, ""); err != nil {
				return err
			}
		}
	}
	for _, sm := range c.tmpl.StateMachines {
		for _, ev := range sm.ScheduleEvents {
			if err := add("stateMachine", sm.LogicalID, ev, "", sm.ARN); err != nil {
				return err
			}
		}
	}
	if len(list) == 0 {
		return nil
	}
	engine := c.Engine()
	start := func(arn, name, input string) (string, time.Time, error) {
		if engine == nil {
			return "", time.Time{}, errors.New("the local Step Functions engine is not running")
		}
		return engine.StartExecution(arn, name, input)
	}
	c.schedules = eventbridge.RunSchedules(list, eventbridge.SchedulerOptions{
		TimeScale: c.opts.TimeScale, Invoke: c.host.Invoke, StartExecution: start,
		Region: samtemplate.Region, AccountID: samtemplate.AccountID, Logger: c.log.With("component", "schedules"),
		Hold: c.opts.HoldSchedules,
	})
	return nil
}

// FireSchedule fires the scheduled event named event of the function or
// state machine owner (logical ids) now, as its own firing would, and
// returns once the target was invoked or its execution started.
func (c *Cloud) FireSchedule(owner, event string) (eventbridge.Firing, error) {
	name := ""
	for _, f := range c.tmpl.Functions {
		for _, ev := range f.ScheduleEvents {
			if f.LogicalID == owner && ev.Name == event {
				name = ev.ResourceName
			}
		}
	}
	for _, sm := range c.tmpl.StateMachines {
		for _, ev := range sm.ScheduleEvents {
			if sm.LogicalID == owner && ev.Name == event {
				name = ev.ResourceName
			}
		}
	}
	if name == "" {
		return eventbridge.Firing{}, fmt.Errorf("no scheduled event %s of %s in the template", event, owner)
	}
	if c.schedules == nil {
		return eventbridge.Firing{}, fmt.Errorf("the scheduled event %s of %s is not running (disabled, or not run locally)", event, owner)
	}
	return c.schedules.Fire(name)
}

// ScheduleFirings are the template's scheduled events delivered so far (see
// eventbridge.Firing), in the order they finished.
func (c *Cloud) ScheduleFirings() []eventbridge.Firing {
	if c.schedules == nil {
		return nil
	}
	return c.schedules.Fired()
}
