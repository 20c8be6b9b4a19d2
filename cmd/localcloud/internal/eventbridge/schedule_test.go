package eventbridge

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestParseExpression(t *testing.T) {
	tests := []struct {
		expr, tz    string
		scheduler   bool
		rate        time.Duration
		err         string // substring of the error, "" for none
		unsupported bool
	}{
		{expr: "rate(1 minute)", rate: time.Minute},
		{expr: "rate(5 minutes)", rate: 5 * time.Minute},
		{expr: "rate(1 hour)", rate: time.Hour},
		{expr: "rate(12 hours)", rate: 12 * time.Hour},
		{expr: "rate(1 day)", rate: 24 * time.Hour},
		{expr: "rate(7 days)", rate: 7 * 24 * time.Hour},
		{expr: "rate(1 minutes)", err: "write rate(1 minute)"},
		{expr: "rate(5 minute)", err: "write rate(1 minute) or rate(5 minutes)"},
		{expr: "rate(0 minutes)", err: "positive whole number"},
		{expr: "rate(2 weeks)", err: `the unit "weeks"`},
		{expr: "rate(5)", err: "positive whole number"},
		{expr: "every 5 minutes", err: "want rate(...), cron(...)"},
		{expr: "cron(0 12 * * ? *)"},
		{expr: "cron(15 10 ? * MON-FRI *)"},
		{expr: "cron(0/15 * * * ? 2026-2030)"},
		{expr: "cron(0 9 * * ? *)", tz: "America/New_York", scheduler: true},
		{expr: "cron(0 12 * * * *)", err: "one of day-of-month and day-of-week must be ?"},
		{expr: "cron(0 12 ? * ? *)", err: "one of day-of-month and day-of-week must be ?"},
		{expr: "cron(0 12 * *)", err: "six fields"},
		{expr: "cron(60 12 * * ? *)", err: `minutes "60"`},
		{expr: "cron(0 ? * * ? *)", err: "? is only allowed"},
		{expr: "cron(0 12 L * ? *)", err: `"L" in the day-of-month field is not supported`, unsupported: true},
		{expr: "cron(0 12 15W * ? *)", err: `"W" in the day-of-month field is not supported`, unsupported: true},
		{expr: "cron(0 12 ? * 6L *)", err: `"L" in the day-of-week field is not supported`, unsupported: true},
		{expr: "cron(0 12 ? * 3#2 *)", err: `"#" in the day-of-week field is not supported`, unsupported: true},
		{expr: "at(2026-05-01T10:00:00)", scheduler: true},
		{expr: "at(2026-05-01T10:00:00)", err: "at() is an EventBridge Scheduler expression"},
		{expr: "cron(0 9 * * ? *)", tz: "Mars/Olympus", scheduler: true, err: "timezone"},
	}
	for _, tc := range tests {
		t.Run(tc.expr+tc.tz, func(t *testing.T) {
			e, err := ParseExpression(tc.expr, tc.tz, tc.scheduler)
			if tc.err == "" {
				if err != nil || e.Rate() != tc.rate || e.String() != tc.expr {
					t.Fatalf("%v rate %v", err, e.Rate())
				}
				return
			}
			var u *UnsupportedError
			if err == nil || !strings.Contains(err.Error(), tc.err) || errors.As(err, &u) != tc.unsupported {
				t.Fatalf("err = %v, want %q (unsupported %v)", err, tc.err, tc.unsupported)
			}
		})
	}
}

func TestExpressionNext(t *testing.T) {
	// A Wednesday.
	start := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		expr, tz string
		after    time.Time
		want     []string // the next firings, in UTC
	}{
		{"rate(1 hour)", "", start, []string{"2026-03-04T06:06:07Z", "2026-03-04T07:06:07Z"}},
		{"rate(1 hour)", "", start.Add(90 * time.Minute), []string{"2026-03-04T07:06:07Z", "2026-03-04T08:06:07Z"}},
		{"cron(0 12 * * ? *)", "", start, []string{"2026-03-04T12:00:00Z", "2026-03-05T12:00:00Z"}},
		{"cron(15 10 ? * MON-FRI *)", "", time.Date(2026, 3, 6, 11, 0, 0, 0, time.UTC), []string{"2026-03-09T10:15:00Z", "2026-03-10T10:15:00Z"}},
		{"cron(0/15 * * * ? *)", "", start, []string{"2026-03-04T05:15:00Z", "2026-03-04T05:30:00Z"}},
		{"cron(0 8 1 * ? *)", "", start, []string{"2026-04-01T08:00:00Z", "2026-05-01T08:00:00Z"}},
		{"cron(0 0 ? JAN,JUL 1 2027)", "", start, []string{"2027-01-03T00:00:00Z", "2027-01-10T00:00:00Z"}},
		{"cron(0 9 * * ? *)", "America/New_York", start, []string{"2026-03-04T14:00:00Z", "2026-03-05T14:00:00Z"}},
		{"at(2026-03-04T06:00:00)", "", start, []string{"2026-03-04T06:00:00Z"}},
		{"at(2026-03-04T05:00:00)", "", start, nil},
		{"cron(0 0 1 1 ? 2025)", "", start, nil},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			e, err := ParseExpression(tc.expr, tc.tz, true)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			at := tc.after
			for range 2 {
				next, ok := e.Next(start, at)
				if !ok {
					break
				}
				got = append(got, next.UTC().Format(TimeFormat))
				at = next
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// fakeTargets records what the schedules deliver.
type fakeTargets struct {
	mu         sync.Mutex
	invoked    []string // function: payload
	executions []string // arn: input
	failFirst  int      // invocations that fail before one succeeds
}

func (f *fakeTargets) invoke(_ context.Context, fn string, payload []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invoked = append(f.invoked, fn+": "+string(payload))
	if f.failFirst > 0 {
		f.failFirst--
		return nil, errors.New("lambda " + fn + ": Sandbox.Timedout")
	}
	return []byte(`null`), nil
}

func (f *fakeTargets) start(arn, name, input string) (string, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.executions = append(f.executions, arn+": "+input)
	return arn + ":exec-" + name, time.Now(), nil
}

func (f *fakeTargets) calls() ([]string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.invoked...), append([]string(nil), f.executions...)
}

func mustParse(t *testing.T, expr string, scheduler bool) Expression {
	t.Helper()
	e, err := ParseExpression(expr, "", scheduler)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestSchedulesFireAtTheTimeScale: at scale 86400 a rate of one day fires
// every second; a function gets the scheduled event EventBridge (rule) or
// EventBridge Scheduler sends, or the Input verbatim; a state machine gets
// StartExecution with it; Close stops every schedule.
func TestSchedulesFireAtTheTimeScale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeTargets{}
		start := time.Now()
		s := RunSchedules([]Schedule{
			{Name: "rule", ARN: "arn:aws:events:us-east-1:000000000000:rule/partner-cloud-local-SweepDaily", Expression: mustParse(t, "rate(1 day)", false), Function: "Sweep"},
			{Name: "v2", ARN: "arn:aws:scheduler:us-east-1:000000000000:schedule/default/SweepNightly", Scheduler: true, Expression: mustParse(t, "rate(2 days)", true), Function: "Sweep"},
			{Name: "input", ARN: "arn:aws:events:us-east-1:000000000000:rule/x", Expression: mustParse(t, "rate(1 day)", false), Input: `{"mode":"full"}`, Function: "Report"},
			{Name: "sm", ARN: "arn:aws:scheduler:us-east-1:000000000000:schedule/default/Flow", Scheduler: true, Expression: mustParse(t, "rate(1 day)", true), Input: `{"a":1}`,
				StateMachineARN: "arn:aws:states:us-east-1:000000000000:stateMachine:flow"},
		}, SchedulerOptions{TimeScale: 86400, Invoke: f.invoke, StartExecution: f.start})

		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		if inv, ex := f.calls(); len(inv)+len(ex) != 0 {
			t.Fatalf("fired before the first period: %v %v", inv, ex)
		}
		time.Sleep(2500 * time.Millisecond) // local time: 3.5 days
		synctest.Wait()
		s.Close()
		time.Sleep(10 * time.Second)
		synctest.Wait()

		byName := map[string][]Firing{}
		for _, fr := range s.Fired() {
			byName[fr.Schedule] = append(byName[fr.Schedule], fr)
		}
		if n := []int{len(byName["rule"]), len(byName["v2"]), len(byName["input"]), len(byName["sm"])}; n[0] != 3 || n[1] != 1 || n[2] != 3 || n[3] != 3 {
			t.Fatalf("firings per schedule %v", n)
		}
		// The rule's event: source aws.events, detail an object, the rule's
		// ARN as resource, the local time of the firing.
		var ev map[string]any
		if err := json.Unmarshal(byName["rule"][1].Payload, &ev); err != nil {
			t.Fatal(err)
		}
		wantTime := start.Add(48 * time.Hour).UTC().Format(TimeFormat)
		if ev["source"] != "aws.events" || ev["detail-type"] != "Scheduled Event" || ev["version"] != "0" || ev["account"] != "000000000000" ||
			ev["region"] != "us-east-1" || ev["time"] != wantTime || !uuidPattern.MatchString(ev["id"].(string)) {
			t.Errorf("rule event %v (want time %s)", ev, wantTime)
		}
		if d, ok := ev["detail"].(map[string]any); !ok || len(d) != 0 {
			t.Errorf("rule detail %#v", ev["detail"])
		}
		if r := ev["resources"].([]any); len(r) != 1 || r[0] != "arn:aws:events:us-east-1:000000000000:rule/partner-cloud-local-SweepDaily" {
			t.Errorf("resources %v", r)
		}
		// EventBridge Scheduler's: source aws.scheduler, detail the string "{}".
		if err := json.Unmarshal(byName["v2"][0].Payload, &ev); err != nil {
			t.Fatal(err)
		}
		if ev["source"] != "aws.scheduler" || ev["detail"] != "{}" || ev["resources"].([]any)[0] != "arn:aws:scheduler:us-east-1:000000000000:schedule/default/SweepNightly" {
			t.Errorf("scheduler event %v", ev)
		}
		inv, ex := f.calls()
		if len(inv) != 7 || !strings.Contains(strings.Join(inv, "\n"), `Report: {"mode":"full"}`) {
			t.Errorf("invocations %v", inv)
		}
		if len(ex) != 3 || ex[0] != `arn:aws:states:us-east-1:000000000000:stateMachine:flow: {"a":1}` || byName["sm"][0].Execution == "" {
			t.Errorf("executions %v %+v", ex, byName["sm"])
		}
	})
}

// TestScheduledInvocationRetries: a function error is retried twice, a
// scaled minute and two minutes later, as Lambda retries an asynchronous
// invocation; a third failure is given up on.
func TestScheduledInvocationRetries(t *testing.T) {
	tests := []struct {
		name      string
		failFirst int
		attempts  int
		failed    bool
	}{
		{"succeeds first", 0, 1, false},
		{"succeeds on the last retry", 2, 3, false},
		{"given up after two retries", 5, 3, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeTargets{failFirst: tc.failFirst}
				// Scale 60: the rate of 1 hour fires after 1 minute, the
				// retries come 1 and 2 seconds apart.
				s := RunSchedules([]Schedule{{Name: "r", ARN: "a", Expression: mustParse(t, "rate(1 hour)", false), Function: "F"}},
					SchedulerOptions{TimeScale: 60, Invoke: f.invoke, StartExecution: f.start})
				time.Sleep(time.Minute + 500*time.Millisecond)
				synctest.Wait()
				if inv, _ := f.calls(); len(inv) != 1 {
					t.Fatalf("%d invocations after the firing", len(inv))
				}
				time.Sleep(time.Second)
				synctest.Wait()
				if inv, _ := f.calls(); len(inv) != min(2, tc.attempts) {
					t.Fatalf("%d invocations a scaled minute later", len(inv))
				}
				time.Sleep(2 * time.Second)
				synctest.Wait()
				s.Close()
				fired := s.Fired()
				if len(fired) != 1 || fired[0].Attempts != tc.attempts || (fired[0].Err != "") != tc.failed {
					t.Errorf("fired %+v", fired)
				}
			})
		})
	}
}

// TestHeldSchedulesFireOnlyWhenAsked: with Hold, no schedule fires on its
// own however long the local clock runs; Fire fires the named one now, as
// its own firing would (a state machine's execution with the Input, a
// function with the scheduled event at the local time), and an unknown
// name is an error.
func TestHeldSchedulesFireOnlyWhenAsked(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fire     string
		wantErr  bool
		wantInv  int
		wantExec []string
	}{
		{name: "nothing asked"},
		{name: "a state machine's", fire: "sm", wantExec: []string{`arn:aws:states:us-east-1:000000000000:stateMachine:health: {"intervalMinutes": 60}`}},
		{name: "a function's", fire: "rule", wantInv: 1},
		{name: "an unknown one", fire: "nope", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeTargets{}
				start := time.Now()
				s := RunSchedules([]Schedule{
					{Name: "rule", ARN: "arn:aws:events:us-east-1:000000000000:rule/r", Expression: mustParse(t, "rate(1 hour)", false), Function: "Sweep"},
					{Name: "sm", ARN: "arn:aws:events:us-east-1:000000000000:rule/h", Expression: mustParse(t, "rate(60 minutes)", false), Input: `{"intervalMinutes": 60}`,
						StateMachineARN: "arn:aws:states:us-east-1:000000000000:stateMachine:health"},
				}, SchedulerOptions{TimeScale: 3600, Invoke: f.invoke, StartExecution: f.start, Hold: true})
				defer s.Close()
				time.Sleep(10 * time.Second) // ten local hours
				synctest.Wait()
				if inv, ex := f.calls(); len(inv)+len(ex) != 0 {
					t.Fatalf("held schedules fired: %v %v", inv, ex)
				}
				if tc.fire == "" {
					return
				}
				fr, err := s.Fire(tc.fire)
				if tc.wantErr {
					if err == nil {
						t.Fatalf("Fire(%q) = %+v, want an error", tc.fire, fr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				inv, ex := f.calls()
				if len(inv) != tc.wantInv || strings.Join(ex, "\n") != strings.Join(tc.wantExec, "\n") {
					t.Errorf("invocations %v, executions %v; want %d and %v", inv, ex, tc.wantInv, tc.wantExec)
				}
				if want := start.Add(10 * time.Hour); !fr.At.Equal(want) || fr.Schedule != tc.fire || fr.Attempts != 1 {
					t.Errorf("firing %+v, want %s at the local time %v", fr, tc.fire, want)
				}
				if len(tc.wantExec) > 0 && fr.Execution == "" {
					t.Errorf("no execution in %+v", fr)
				}
				if got := s.Fired(); len(got) != 1 {
					t.Errorf("Fired() = %+v, want the one firing", got)
				}
			})
		})
	}
}
