package eventbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Schedule is a scheduled event of the template: a SAM `Schedule` event
// (an EventBridge rule with a ScheduleExpression) or `ScheduleV2` event (an
// EventBridge Scheduler schedule), with its target.
type Schedule struct {
	// Name is the rule's or schedule's name (for logs); ARN its ARN, the
	// scheduled event's only resource.
	Name, ARN string
	// Scheduler is true for ScheduleV2: the event comes from EventBridge
	// Scheduler ("source": "aws.scheduler", "detail": "{}", a JSON string
	// as Scheduler sends it); else from an EventBridge rule ("source":
	// "aws.events", "detail": {}).
	Scheduler bool
	// Expression says when it fires.
	Expression Expression
	// Input, when set, is what the target gets instead of the scheduled
	// event (the event's Input property, as EventBridge passes it).
	Input string
	// Function is the target function's name, or StateMachineARN the
	// target state machine's ARN.
	Function, StateMachineARN string
}

// SchedulerOptions configures RunSchedules.
type SchedulerOptions struct {
	// TimeScale makes the schedules run this many times faster (default 1):
	// rate(1 day) at 86400 fires every second; cron times are those of a
	// local clock that starts at the real time and runs TimeScale times faster.
	TimeScale float64
	// Invoke invokes a function; StartExecution starts a state machine's
	// execution (name "" lets the engine choose one).
	Invoke         func(ctx context.Context, function string, payload []byte) ([]byte, error)
	StartExecution func(stateMachineARN, name, input string) (string, time.Time, error)
	// Region and AccountID go into the scheduled events (defaults us-east-1, 000000000000).
	Region, AccountID string
	// Logger logs each firing and failure (default: discard).
	Logger *slog.Logger
	// Hold keeps the schedules from firing on their own: only Fire fires
	// them (a benchmark starts one run when its data is ready).
	Hold bool
}

// Async invocation: Lambda retries a function error twice, about a minute
// and then two minutes later (at the time scale here).
var asyncRetryDelays = []time.Duration{time.Minute, 2 * time.Minute}

// minInterval is the shortest real time between two firings of a schedule,
// however high the time scale.
const minInterval = 10 * time.Millisecond

// Firing is one firing of a schedule, as Fired reports it.
type Firing struct {
	// Schedule is the schedule's name; At the local (scaled) time it fired for.
	Schedule string
	At       time.Time
	// Payload is what the target got.
	Payload json.RawMessage
	// Attempts is the number of invocations made (1 + retries); Err the
	// last one's error, or "".
	Attempts int
	Err      string
	// Execution is the state machine execution started, if the target is one.
	Execution string
}

// Scheduler runs schedules until Close.
type Scheduler struct {
	opts   SchedulerOptions
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	schedules []Schedule
	realStart time.Time

	mu    sync.Mutex
	fired []Firing
}

// RunSchedules starts running the schedules: each fires first one period
// (or at the first cron time) after now, then on; with Hold, only when
// Fire says so.
func RunSchedules(schedules []Schedule, opts SchedulerOptions) *Scheduler {
	if opts.TimeScale <= 0 {
		opts.TimeScale = 1
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "000000000000"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	realStart := time.Now()
	s := &Scheduler{opts: opts, ctx: ctx, cancel: cancel, schedules: schedules, realStart: realStart}
	if opts.Hold {
		return s
	}
	for _, sc := range schedules {
		s.wg.Add(1)
		go s.run(sc, realStart)
	}
	return s
}

// local is the local clock's time at real time t: it starts at realStart
// and runs TimeScale times faster.
func (s *Scheduler) local(realStart, t time.Time) time.Time {
	return realStart.Add(time.Duration(float64(t.Sub(realStart)) * s.opts.TimeScale))
}

// real is how long in real time a local duration takes.
func (s *Scheduler) real(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.opts.TimeScale)
}

func (s *Scheduler) run(sc Schedule, realStart time.Time) {
	defer s.wg.Done()
	at, ok := sc.Expression.Next(realStart, realStart)
	for ok {
		wait := max(s.real(at.Sub(s.local(realStart, time.Now()))), minInterval)
		timer := time.NewTimer(wait)
		select {
		case <-s.ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		s.wg.Add(1)
		go func(at time.Time) {
			defer s.wg.Done()
			s.fire(sc, at)
		}(at)
		// A firing missed while the process was busy is not made up: the
		// next is the first after the local time now, as EventBridge does.
		at, ok = sc.Expression.Next(realStart, maxTime(at, s.local(realStart, time.Now())))
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Event is the scheduled event a schedule sends at local time at (when it
// has no Input).
func (s *Scheduler) Event(sc Schedule, at time.Time) json.RawMessage {
	ev := map[string]any{
		"version": "0", "id": uuid.NewString(), "detail-type": "Scheduled Event", "source": "aws.events",
		"account": s.opts.AccountID, "time": at.UTC().Format(TimeFormat), "region": s.opts.Region,
		"resources": []string{sc.ARN}, "detail": map[string]any{},
	}
	if sc.Scheduler {
		ev["source"], ev["detail"] = "aws.scheduler", "{}"
	}
	b, _ := json.Marshal(ev)
	return b
}

// Fire fires the schedule named name now (at the local clock's time), as
// its own firing would: a function is invoked (with Lambda's retries of an
// asynchronous invocation), a state machine gets StartExecution. It returns
// once the target was invoked or the execution started.
func (s *Scheduler) Fire(name string) (Firing, error) {
	for _, sc := range s.schedules {
		if sc.Name == name {
			s.wg.Add(1)
			defer s.wg.Done()
			return s.fire(sc, s.local(s.realStart, time.Now())), nil
		}
	}
	return Firing{}, fmt.Errorf("no schedule named %q", name)
}

// fire delivers one firing to the target: a function asynchronously, with
// Lambda's retries of a function error; a state machine by StartExecution.
func (s *Scheduler) fire(sc Schedule, at time.Time) Firing {
	payload := json.RawMessage(sc.Input)
	if sc.Input == "" {
		payload = s.Event(sc, at)
	}
	f := Firing{Schedule: sc.Name, At: at, Payload: payload}
	log := s.opts.Logger.With("schedule", sc.Name, "at", at.UTC().Format(TimeFormat))
	switch {
	case sc.StateMachineARN != "":
		f.Attempts = 1
		arn, _, err := s.opts.StartExecution(sc.StateMachineARN, "", string(payload))
		if err != nil {
			f.Err = err.Error()
			log.Warn("scheduled StartExecution failed", "stateMachine", sc.StateMachineARN, "err", err)
		} else {
			f.Execution = arn
			log.Info("schedule started an execution", "execution", arn)
		}
	default:
		for attempt := 0; ; attempt++ {
			f.Attempts++
			_, err := s.opts.Invoke(s.ctx, sc.Function, payload)
			if err == nil {
				f.Err = ""
				log.Info("schedule invoked a function", "function", sc.Function, "attempts", f.Attempts)
				break
			}
			f.Err = err.Error()
			if attempt >= len(asyncRetryDelays) || errors.Is(err, context.Canceled) {
				log.Warn("scheduled invocation failed", "function", sc.Function, "attempts", f.Attempts, "err", err)
				break
			}
			timer := time.NewTimer(s.real(asyncRetryDelays[attempt]))
			select {
			case <-s.ctx.Done():
				timer.Stop()
				s.record(f)
				return f
			case <-timer.C:
			}
		}
	}
	s.record(f)
	return f
}

func (s *Scheduler) record(f Firing) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fired = append(s.fired, f)
}

// Fired returns the firings delivered so far (each once its target was
// invoked, retries included), in the order they finished.
func (s *Scheduler) Fired() []Firing {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Firing(nil), s.fired...)
}

// Close stops the schedules and waits for the firings under way (an
// invocation in progress is cancelled).
func (s *Scheduler) Close() {
	s.cancel()
	s.wg.Wait()
}
