package eventbridge

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Expression is a parsed schedule expression: `rate(N unit)`,
// `cron(minutes hours day-of-month month day-of-week year)` or (EventBridge
// Scheduler only) `at(yyyy-mm-ddThh:mm:ss)`, with the syntax and rules
// EventBridge documents.
//
// The cron parser is hand-written: EventBridge's six-field syntax (a year
// field, `?`, days of the week numbered 1-7 from Sunday) is not what the
// usual Go cron libraries parse, and the local cloud adds no module for it.
// It supports `*`, `?`, numbers and names, lists, ranges and increments;
// `L`, `W` and `#` are refused with an UnsupportedError naming them.
type Expression struct {
	raw  string
	rate time.Duration
	cron *cronSpec
	at   time.Time
	loc  *time.Location
}

// UnsupportedError is a schedule expression EventBridge accepts that the
// local cloud does not run; What names the part it lacks.
type UnsupportedError struct {
	Expression, What string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("schedule expression %q: %s is not supported by the local cloud", e.Expression, e.What)
}

// ParseExpression parses a schedule expression. timezone is an IANA zone
// for cron and at expressions (EventBridge Scheduler's
// ScheduleExpressionTimezone; "" is UTC); scheduler allows at(), which only
// EventBridge Scheduler has.
func ParseExpression(expr, timezone string, scheduler bool) (Expression, error) {
	e := Expression{raw: expr, loc: time.UTC}
	if timezone != "" {
		loc, err := time.LoadLocation(timezone)
		if err != nil {
			return e, fmt.Errorf("schedule expression timezone %q: %w", timezone, err)
		}
		e.loc = loc
	}
	invalid := func(format string, a ...any) error {
		return fmt.Errorf("schedule expression %q is not valid: %s", expr, fmt.Sprintf(format, a...))
	}
	kind, arg, ok := strings.Cut(strings.TrimSpace(expr), "(")
	if !ok || !strings.HasSuffix(arg, ")") {
		return e, invalid("want rate(...), cron(...)%s", map[bool]string{true: " or at(...)"}[scheduler])
	}
	arg = strings.TrimSuffix(arg, ")")
	switch kind {
	case "rate":
		n, unit, ok := strings.Cut(strings.TrimSpace(arg), " ")
		v, err := strconv.Atoi(n)
		if !ok || err != nil || v <= 0 {
			return e, invalid("rate takes a positive whole number and a unit, e.g. rate(5 minutes)")
		}
		units := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}
		unit = strings.TrimSpace(unit)
		base := strings.TrimSuffix(unit, "s")
		d, known := units[base]
		if !known {
			return e, invalid("the unit %q is not minute(s), hour(s) or day(s)", unit)
		}
		// EventBridge wants the singular for 1 and the plural otherwise.
		if (v == 1) != (unit == base) {
			return e, invalid("write rate(1 %s) or rate(%d %ss)", base, max(v, 2), base)
		}
		e.rate = time.Duration(v) * d
	case "cron":
		c, err := parseCron(arg)
		if err != nil {
			var u *UnsupportedError
			if errors.As(err, &u) {
				u.Expression = expr
				return e, u
			}
			return e, invalid("%v", err)
		}
		e.cron = c
	case "at":
		if !scheduler {
			return e, invalid("at() is an EventBridge Scheduler expression (ScheduleV2)")
		}
		t, err := time.ParseInLocation("2006-01-02T15:04:05", strings.TrimSpace(arg), e.loc)
		if err != nil {
			return e, invalid("at() takes yyyy-mm-ddThh:mm:ss")
		}
		e.at = t
	default:
		return e, invalid("unknown expression type %q", kind)
	}
	return e, nil
}

// String is the expression as written.
func (e Expression) String() string { return e.raw }

// Rate is the period of a rate expression, or 0.
func (e Expression) Rate() time.Duration { return e.rate }

// Next is the first time the schedule fires after t (strictly), and false
// when it never fires again. A rate schedule fires every period from start
// (its creation); cron and at expressions fire at the times they name.
func (e Expression) Next(start, t time.Time) (time.Time, bool) {
	switch {
	case e.rate > 0:
		if t.Before(start) {
			return start.Add(e.rate), true
		}
		n := t.Sub(start)/e.rate + 1
		return start.Add(n * e.rate), true
	case e.cron != nil:
		return e.cron.next(t.In(e.loc))
	default:
		if e.at.After(t) {
			return e.at, true
		}
		return time.Time{}, false
	}
}

// cronSpec holds the allowed values of each field; days is nil when the
// day of the month is `?` (the day of the week decides) and weekdays nil
// when the day of the week is `?`.
type cronSpec struct {
	minutes, hours, days, months, weekdays, years map[int]bool
}

var monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
var dayNames = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

// unsupportedIn are the special characters EventBridge allows in a field
// that the local cloud does not run (the last day, the nearest weekday,
// the nth weekday of the month). No day name has an L or a #.
var unsupportedIn = map[string]string{"day-of-month": "LW", "day-of-week": "L#"}

func parseCron(s string) (*cronSpec, error) {
	f := strings.Fields(s)
	if len(f) != 6 {
		return nil, fmt.Errorf("cron takes six fields (minutes hours day-of-month month day-of-week year), got %d", len(f))
	}
	if (f[2] == "?") == (f[4] == "?") {
		return nil, errors.New("one of day-of-month and day-of-week must be ?, and only one")
	}
	c := &cronSpec{}
	fields := []struct {
		name     string
		src      string
		dst      *map[int]bool
		lo, hi   int
		names    map[string]int
		question bool
	}{
		{"minutes", f[0], &c.minutes, 0, 59, nil, false},
		{"hours", f[1], &c.hours, 0, 23, nil, false},
		{"day-of-month", f[2], &c.days, 1, 31, nil, true},
		{"month", f[3], &c.months, 1, 12, monthNames, false},
		{"day-of-week", f[4], &c.weekdays, 1, 7, dayNames, true},
		{"year", f[5], &c.years, 1970, 2199, nil, false},
	}
	for _, fd := range fields {
		if fd.src == "?" {
			if !fd.question {
				return nil, fmt.Errorf("? is only allowed in day-of-month and day-of-week, not in %s", fd.name)
			}
			continue
		}
		if special := unsupportedIn[fd.name]; special != "" {
			up := strings.ToUpper(fd.src)
			for _, ch := range special {
				if strings.ContainsRune(up, ch) {
					return nil, &UnsupportedError{What: fmt.Sprintf("%q in the %s field", string(ch), fd.name)}
				}
			}
		}
		set, err := parseField(fd.src, fd.lo, fd.hi, fd.names)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", fd.name, fd.src, err)
		}
		*fd.dst = set
	}
	return c, nil
}

// parseField parses one cron field: a comma list of `*`, `v`, `a-b`, each
// optionally followed by `/step`.
func parseField(s string, lo, hi int, names map[string]int) (map[int]bool, error) {
	set := map[int]bool{}
	value := func(v string) (int, error) {
		if n, ok := names[strings.ToUpper(v)]; ok {
			return n, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("%q is not a value from %d to %d", v, lo, hi)
		}
		return n, nil
	}
	for _, part := range strings.Split(s, ",") {
		rng, stepStr, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("increment %q is not a positive number", stepStr)
			}
			step = n
		}
		from, to := lo, hi
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if from, err = value(a); err != nil {
				return nil, err
			}
			if to, err = value(b); err != nil {
				return nil, err
			}
			if to < from {
				return nil, fmt.Errorf("range %s is backwards", rng)
			}
		default:
			v, err := value(rng)
			if err != nil {
				return nil, err
			}
			from = v
			if !hasStep {
				to = v
			}
		}
		for v := from; v <= to; v += step {
			set[v] = true
		}
	}
	return set, nil
}

// next is the first minute after t that the spec matches.
func (c *cronSpec) next(t time.Time) (time.Time, bool) {
	loc := t.Location()
	t = t.Truncate(time.Minute).Add(time.Minute)
	for t.Year() <= 2199 {
		switch {
		case !c.years[t.Year()]:
			t = time.Date(t.Year()+1, 1, 1, 0, 0, 0, 0, loc)
		case !c.months[int(t.Month())]:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc)
		case !c.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
		case !c.hours[t.Hour()]:
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, loc)
		case !c.minutes[t.Minute()]:
			t = t.Add(time.Minute)
		default:
			return t, true
		}
	}
	return time.Time{}, false
}

func (c *cronSpec) dayMatches(t time.Time) bool {
	if c.days != nil {
		return c.days[t.Day()]
	}
	return c.weekdays[int(t.Weekday())+1]
}
