package samtemplate

import (
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"
)

// TypeEventBus is an EventBridge event bus.
const TypeEventBus = "AWS::Events::EventBus"

// EventBus is an AWS::Events::EventBus.
type EventBus struct {
	LogicalID string
	// Name is the Name property, resolved. CloudFormation requires it;
	// locally a bus without one is named by its logical id. ARN is the
	// local ARN (`!GetAtt Bus.Arn`, EventBusARN(Name)); `!Ref` gives Name.
	Name, ARN string
}

// EventBusARN is the local ARN of the event bus with the given name.
func EventBusARN(name string) string {
	return "arn:aws:events:" + Region + ":" + AccountID + ":event-bus/" + name
}

// EventRuleARN is the local ARN of the EventBridge rule with the given name.
func EventRuleARN(name string) string {
	return "arn:aws:events:" + Region + ":" + AccountID + ":rule/" + name
}

// SchedulerScheduleARN is the local ARN of the EventBridge Scheduler
// schedule with the given group and name.
func SchedulerScheduleARN(group, name string) string {
	return "arn:aws:scheduler:" + Region + ":" + AccountID + ":schedule/" + group + "/" + name
}

// Event types of scheduled events.
const (
	EventSchedule   = "Schedule"   // an EventBridge rule with a ScheduleExpression
	EventScheduleV2 = "ScheduleV2" // an EventBridge Scheduler schedule
)

// ScheduleEvent is a `Type: Schedule` or `Type: ScheduleV2` event of a
// function or state machine.
type ScheduleEvent struct {
	// Name is the event's key under Events; Type EventSchedule or EventScheduleV2.
	Name, Type string
	// Expression is Schedule (Schedule) or ScheduleExpression (ScheduleV2),
	// as written: rate(...), cron(...) or at(...). Timezone is ScheduleV2's
	// ScheduleExpressionTimezone ("" is UTC).
	Expression, Timezone string
	// Input is the Input property (JSON the target gets instead of the
	// scheduled event), or "".
	Input string
	// Enabled is false for `Enabled: false` or `State: DISABLED`.
	Enabled bool
	// ResourceName and ARN name the rule or schedule SAM generates: for
	// Schedule the Name property, else the name CloudFormation generates
	// without its random suffix (<stack>-<logical id><event>, at most 64
	// characters); for ScheduleV2 the Name property, else SAM's default
	// (<logical id><event>), in GroupName (default "default").
	ResourceName, ARN string
}

// loadScheduleEvents reads the Schedule and ScheduleV2 events of the
// function or state machine r.
func loadScheduleEvents(res *Resolver, r *Resource) ([]ScheduleEvent, error) {
	var out []ScheduleEvent
	for _, kv := range pairs(get(r.Properties, "Events")) {
		typ := get(kv.val, "Type")
		if typ == nil || (typ.Value != EventSchedule && typ.Value != EventScheduleV2) {
			continue
		}
		ev, err := loadScheduleEvent(res, r.LogicalID, kv.key, typ.Value, get(kv.val, "Properties"))
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", kv.key, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

func loadScheduleEvent(res *Resolver, logicalID, name, typ string, p *yaml.Node) (ScheduleEvent, error) {
	ev := ScheduleEvent{Name: name, Type: typ, Enabled: true}
	str := func(key string) (string, error) {
		n := get(p, key)
		if n == nil {
			return "", nil
		}
		v, err := res.String(n)
		if err != nil {
			return "", fmt.Errorf("%s: %w", key, err)
		}
		return v, nil
	}
	exprKey := "Schedule"
	if typ == EventScheduleV2 {
		exprKey = "ScheduleExpression"
	}
	var err error
	if ev.Expression, err = str(exprKey); err != nil {
		return ev, err
	}
	if ev.Expression == "" {
		return ev, fmt.Errorf("%s is required", exprKey)
	}
	if ev.Input, err = str("Input"); err != nil {
		return ev, err
	}
	if ev.Input != "" && !json.Valid([]byte(ev.Input)) {
		return ev, fmt.Errorf("Input is not JSON: %s", ev.Input)
	}
	enabled, err := str("Enabled")
	if err != nil {
		return ev, err
	}
	state, err := str("State")
	if err != nil {
		return ev, err
	}
	if enabled != "" && state != "" {
		return ev, fmt.Errorf("Enabled and State cannot both be set")
	}
	switch {
	case enabled != "":
		ev.Enabled = enabled == "true"
	case state != "":
		ev.Enabled = state != "DISABLED"
	}
	if ev.ResourceName, err = str("Name"); err != nil {
		return ev, err
	}
	if typ == EventSchedule {
		if ev.ResourceName == "" {
			ev.ResourceName = StackName + "-" + logicalID + name
			if len(ev.ResourceName) > 64 {
				ev.ResourceName = ev.ResourceName[:64]
			}
		}
		ev.ARN = EventRuleARN(ev.ResourceName)
		return ev, nil
	}
	if ev.Timezone, err = str("ScheduleExpressionTimezone"); err != nil {
		return ev, err
	}
	group, err := str("GroupName")
	if err != nil {
		return ev, err
	}
	if group == "" {
		group = "default"
	}
	if ev.ResourceName == "" {
		ev.ResourceName = logicalID + name
	}
	ev.ARN = SchedulerScheduleARN(group, ev.ResourceName)
	return ev, nil
}

func loadEventBus(res *Resolver, r *Resource) (EventBus, error) {
	b := EventBus{LogicalID: r.LogicalID}
	var err error
	if b.Name, err = res.resourceName(r); err != nil {
		return b, err
	}
	b.ARN = EventBusARN(b.Name)
	return b, nil
}
