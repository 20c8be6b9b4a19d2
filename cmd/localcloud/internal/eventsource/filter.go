package eventsource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Filter is one of an event source mapping's FilterCriteria patterns. Lambda
// matches stream records against them with EventBridge's pattern syntax; the
// local cloud implements the part of it a DynamoDB filter uses: nested
// objects, arrays of alternatives, exact strings, numbers, booleans and
// null, and the operators exists, prefix, suffix, equals-ignore-case,
// anything-but and numeric. A pattern using anything else is refused when
// the mapping starts, naming the operator, rather than matched wrongly.
//
// Hand-written: no Go library implements EventBridge patterns with Lambda's
// semantics for DynamoDB JSON (where every attribute value is an object such
// as {"S": "..."}, so `exists` is written on the type key, the leaf).
type Filter struct {
	source  string
	pattern map[string]any
}

// CompileFilter parses and checks a pattern (JSON).
func CompileFilter(pattern string) (*Filter, error) {
	var p map[string]any
	if err := decode([]byte(pattern), &p); err != nil || p == nil {
		return nil, fmt.Errorf("filter pattern %s: not a JSON object", pattern)
	}
	if err := checkObject(p, ""); err != nil {
		return nil, fmt.Errorf("filter pattern %s: %w", pattern, err)
	}
	return &Filter{source: pattern, pattern: p}, nil
}

// String is the pattern as written.
func (f *Filter) String() string { return f.source }

// Match tells whether the event (a JSON document decoded with decode)
// matches the pattern: every key of the pattern must match.
func (f *Filter) Match(event map[string]any) bool { return matchObject(f.pattern, event) }

// MatchAny tells whether event matches one of filters (OR, as Lambda
// applies a mapping's filters); no filters match everything.
func MatchAny(filters []*Filter, event map[string]any) bool {
	if len(filters) == 0 {
		return true
	}
	for _, f := range filters {
		if f.Match(event) {
			return true
		}
	}
	return false
}

// decode reads JSON keeping numbers as json.Number, so that they compare
// exactly.
func decode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

func checkObject(p map[string]any, path string) error {
	if len(p) == 0 {
		return fmt.Errorf("%s: an empty object matches nothing", orRoot(path))
	}
	for k, v := range p {
		at := path + "." + k
		if strings.HasPrefix(k, "$") {
			return fmt.Errorf("%s: %s is not implemented by the local cloud", at, k)
		}
		switch v := v.(type) {
		case map[string]any:
			if err := checkObject(v, at); err != nil {
				return err
			}
		case []any:
			if len(v) == 0 {
				return fmt.Errorf("%s: an empty array matches nothing", at)
			}
			for _, m := range v {
				if err := checkMatcher(m, at); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("%s: a value must be an object or an array of matches", at)
		}
	}
	return nil
}

func orRoot(path string) string {
	if path == "" {
		return "pattern"
	}
	return path
}

func checkMatcher(m any, at string) error {
	op, ok := m.(map[string]any)
	if !ok {
		return nil // a literal
	}
	if len(op) != 1 {
		return fmt.Errorf("%s: a match object holds one operator", at)
	}
	for name, arg := range op {
		bad := func() error { return fmt.Errorf("%s: %s: unexpected argument %v", at, name, arg) }
		switch name {
		case "exists":
			if _, ok := arg.(bool); !ok {
				return bad()
			}
		case "prefix", "suffix", "equals-ignore-case":
			if _, ok := arg.(string); !ok {
				return bad()
			}
		case "anything-but":
			switch a := arg.(type) {
			case map[string]any:
				if s, ok := a["prefix"].(string); len(a) != 1 || !ok || s == "" {
					return bad()
				}
			case []any:
				for _, e := range a {
					if !isScalar(e) {
						return bad()
					}
				}
			default:
				if !isScalar(a) {
					return bad()
				}
			}
		case "numeric":
			if _, err := numericRange(arg); err != nil {
				return fmt.Errorf("%s: numeric: %w", at, err)
			}
		default:
			return fmt.Errorf("%s: the %q operator is not implemented by the local cloud", at, name)
		}
	}
	return nil
}

func isScalar(v any) bool {
	switch v.(type) {
	case string, json.Number, bool:
		return true
	}
	return false
}

func matchObject(p, event map[string]any) bool {
	for k, pv := range p {
		v, present := event[k]
		switch pv := pv.(type) {
		case map[string]any:
			// A missing or non-object field matches only {"exists": false} leaves.
			sub, _ := v.(map[string]any)
			if !matchObject(pv, sub) {
				return false
			}
		case []any:
			if !matchLeaf(pv, v, present) {
				return false
			}
		}
	}
	return true
}

// matchLeaf tells whether the field's value v matches one of the matchers.
// An array value matches when one of its elements does.
func matchLeaf(matchers []any, v any, present bool) bool {
	values := []any{v}
	if list, ok := v.([]any); ok {
		values = list
	}
	for _, m := range matchers {
		if op, ok := m.(map[string]any); ok {
			if want, ok := op["exists"].(bool); ok {
				// exists applies to leaves only: an object is not one.
				_, isObject := v.(map[string]any)
				if want == (present && !isObject) {
					return true
				}
				continue
			}
		}
		if !present {
			continue
		}
		for _, val := range values {
			if matchOne(m, val) {
				return true
			}
		}
	}
	return false
}

func matchOne(m, v any) bool {
	op, ok := m.(map[string]any)
	if !ok {
		return equalScalar(m, v)
	}
	for name, arg := range op {
		s, isString := v.(string)
		switch name {
		case "prefix":
			return isString && strings.HasPrefix(s, arg.(string))
		case "suffix":
			return isString && strings.HasSuffix(s, arg.(string))
		case "equals-ignore-case":
			return isString && strings.EqualFold(s, arg.(string))
		case "anything-but":
			switch a := arg.(type) {
			case map[string]any:
				return isString && !strings.HasPrefix(s, a["prefix"].(string))
			case []any:
				for _, e := range a {
					if equalScalar(e, v) {
						return false
					}
				}
				return true
			default:
				return !equalScalar(a, v)
			}
		case "numeric":
			n, ok := v.(json.Number)
			if !ok {
				return false
			}
			f, err := n.Float64()
			if err != nil {
				return false
			}
			r, _ := numericRange(arg)
			return r(f)
		}
	}
	return false
}

// equalScalar compares a pattern literal with a value: strings and
// booleans exactly, numbers by value, null with null.
func equalScalar(p, v any) bool {
	switch p := p.(type) {
	case nil:
		return v == nil
	case string:
		s, ok := v.(string)
		return ok && s == p
	case bool:
		b, ok := v.(bool)
		return ok && b == p
	case json.Number:
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		a, err1 := p.Float64()
		b, err2 := n.Float64()
		return err1 == nil && err2 == nil && a == b
	}
	return false
}

// numericRange turns ["<", 5, ">=", 1] into a test.
func numericRange(arg any) (func(float64) bool, error) {
	list, ok := arg.([]any)
	if !ok || len(list) == 0 || len(list)%2 != 0 || len(list) > 4 {
		return nil, fmt.Errorf("want [op, number] or [op, number, op, number]")
	}
	var tests []func(float64) bool
	for i := 0; i < len(list); i += 2 {
		op, _ := list[i].(string)
		num, ok := list[i+1].(json.Number)
		if !ok {
			return nil, fmt.Errorf("%v is not a number", list[i+1])
		}
		x, err := strconv.ParseFloat(num.String(), 64)
		if err != nil {
			return nil, err
		}
		switch op {
		case "<":
			tests = append(tests, func(f float64) bool { return f < x })
		case "<=":
			tests = append(tests, func(f float64) bool { return f <= x })
		case ">":
			tests = append(tests, func(f float64) bool { return f > x })
		case ">=":
			tests = append(tests, func(f float64) bool { return f >= x })
		case "=":
			tests = append(tests, func(f float64) bool { return f == x })
		default:
			return nil, fmt.Errorf("unknown comparison %q", op)
		}
	}
	return func(f float64) bool {
		for _, t := range tests {
			if !t(f) {
				return false
			}
		}
		return true
	}, nil
}
