package cloud

import (
	"fmt"
	"strings"
	"time"
)

// ScaledEnv lists the function environment variables that hold durations of
// the workflow's own clocks (Go duration strings; a comma list for
// INVITATION_REMINDERS). With a time scale N the cloud divides them by N
// before giving them to the functions, so that invitation expiry, reminders
// and the ownership deadline pass N times faster, as Step Functions' waits
// do. Function timeouts are not scaled: they bound real work.
var ScaledEnv = []string{
	"INVITATION_EXPIRY",
	"INVITATION_REMINDERS",
	"OWNERSHIP_DEADLINE",
	"OWNERSHIP_WARNING",
	"STUCK_AFTER",
	"OPERATOR_STUCK_AFTER",
}

// HumanPacedEnv lists the durations that bound what a person does in one
// sitting in a browser: the sign-in and admin-consent state lives from the
// landing page's button to Microsoft's second redirect, however long the
// person takes to read and type. The time scale never shortens them, so a
// walk-through in a browser works at any scale; a test that wants such a
// state to expire sets the value itself (Options.EnvOverrides).
var HumanPacedEnv = []string{
	"STATE_TTL",
}

// minScaled is the shortest scaled duration.
const minScaled = time.Millisecond

// Time scales the ready screen suggests: a person in a browser needs the
// invitation to outlive a coffee break and the ownership re-checks to come
// within seconds; scripts want the whole flow over in seconds.
const (
	BrowserTimeScale    = 100
	MaxBrowserTimeScale = 300
	ScriptTimeScale     = 2000
)

// ScaleEnv returns a copy of env with the ScaledEnv values divided by scale
// (formatted by time.Duration.String, at least 1ms; 0 stays 0). The
// HumanPacedEnv values and everything else are copied unchanged. Scale 1
// changes nothing.
func ScaleEnv(env map[string]string, scale float64) (map[string]string, error) {
	out := make(map[string]string, len(env))
	for k, v := range env {
		out[k] = v
	}
	if scale == 1 {
		return out, nil
	}
	for _, k := range ScaledEnv {
		v, ok := env[k]
		if !ok || strings.TrimSpace(v) == "" {
			continue
		}
		parts := strings.Split(v, ",")
		for i, p := range parts {
			d, err := time.ParseDuration(strings.TrimSpace(p))
			if err != nil {
				return nil, fmt.Errorf("%s=%q: scaling it by the time scale: %w", k, v, err)
			}
			if d > 0 {
				d = max(time.Duration(float64(d)/scale), minScaled)
			}
			parts[i] = d.String()
		}
		out[k] = strings.Join(parts, ",")
	}
	return out, nil
}

// FunctionDuration is the duration a function environment variable holds as
// the functions see it (scaled, overrides applied), from the first function
// that sets it; false when none does or it is not a duration.
func (c *Cloud) FunctionDuration(name string) (time.Duration, bool) {
	if v, ok := c.hostEnv[name]; ok {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		return d, err == nil
	}
	for _, f := range c.functions {
		if v, ok := f.Env[name]; ok {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			return d, err == nil
		}
	}
	return 0, false
}
