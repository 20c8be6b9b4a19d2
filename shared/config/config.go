// Package config reads a function's configuration from environment variables
// once, at start-up, and reports every missing or invalid variable by name.
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Env collects values and problems; call Err after reading everything.
type Env struct {
	lookup func(string) (string, bool)
	errs   []error
}

// FromOS reads the process environment.
func FromOS() *Env { return &Env{lookup: os.LookupEnv} }

// FromMap reads a map (for tests).
func FromMap(m map[string]string) *Env {
	return &Env{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

// Required returns the variable's value, recording an error when it is unset or empty.
func (e *Env) Required(name string) string {
	v, ok := e.lookup(name)
	if !ok || v == "" {
		e.errs = append(e.errs, fmt.Errorf("environment variable %s is required", name))
	}
	return v
}

// Optional returns the variable's value or def.
func (e *Env) Optional(name, def string) string {
	if v, ok := e.lookup(name); ok && v != "" {
		return v
	}
	return def
}

// Duration parses a Go duration ("336h", "15m"), or def when unset.
func (e *Env) Duration(name string, def time.Duration) time.Duration {
	v, ok := e.lookup(name)
	if !ok || v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		e.errs = append(e.errs, fmt.Errorf("environment variable %s must be a positive duration such as 336h, got %q", name, v))
		return def
	}
	return d
}

// Int parses a positive integer, or def when unset.
func (e *Env) Int(name string, def int) int {
	v, ok := e.lookup(name)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		e.errs = append(e.errs, fmt.Errorf("environment variable %s must be a positive integer, got %q", name, v))
		return def
	}
	return n
}

// Invalid records that the variable's value cannot be used: why says what
// it must be ("must be secret, certificate or assertion").
func (e *Env) Invalid(name, why, value string) {
	e.errs = append(e.errs, fmt.Errorf("environment variable %s %s, got %q", name, why, value))
}

// Check returns the variable's value, or def when unset, and records the
// problem check finds with it: check returns "" for a good value, else what
// is wrong ("must be a single address").
func (e *Env) Check(name, def string, check func(string) string) string {
	v := e.Optional(name, def)
	if why := check(v); why != "" {
		e.Invalid(name, why, v)
	}
	return v
}

// Add records a problem found by other means (nil is ignored); its message
// should name the variable.
func (e *Env) Add(err error) {
	if err != nil {
		e.errs = append(e.errs, err)
	}
}

// Err returns every problem found, joined, or nil.
func (e *Env) Err() error { return errors.Join(e.errs...) }

// Durations parses a comma-separated list of positive durations ("72h,168h"), or def when unset.
func (e *Env) Durations(name string, def []time.Duration) []time.Duration {
	v, ok := e.lookup(name)
	if !ok || v == "" {
		return def
	}
	var out []time.Duration
	for _, part := range strings.Split(v, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d <= 0 {
			e.errs = append(e.errs, fmt.Errorf("environment variable %s must be a comma-separated list of positive durations such as 72h,168h, got %q", name, v))
			return def
		}
		out = append(out, d)
	}
	return out
}
