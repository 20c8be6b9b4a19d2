package cloud

import (
	"fmt"
	"strings"
	"time"
)

// ScaledEnv lists the function environment variables that hold durations of
// the product's own clocks (Go duration strings; a comma list for
// INVITATION_REMINDERS). With a time scale N the cloud divides them by N
// before giving them to the functions, so that invitation expiry, reminders,
// consent state lifetime and the ownership deadline pass N times faster, as
// Step Functions' waits do. Function timeouts are not scaled: they bound
// real work.
var ScaledEnv = []string{
	"INVITATION_EXPIRY",
	"INVITATION_REMINDERS",
	"STATE_TTL",
	"OWNERSHIP_DEADLINE",
	"OWNERSHIP_WARNING",
}

// minScaled is the shortest scaled duration.
const minScaled = time.Millisecond

// ScaleEnv returns a copy of env with the ScaledEnv values divided by scale
// (formatted by time.Duration.String, at least 1ms; 0 stays 0). Scale 1
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
