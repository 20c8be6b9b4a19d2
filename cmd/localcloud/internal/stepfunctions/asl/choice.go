package asl

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// operandKind is the type of the literal a comparison operator takes.
type operandKind int

const (
	opString operandKind = iota
	opNumber
	opBool
	opTimestamp
)

// comparisons lists every comparison operator without its "Path" variant.
var comparisons = map[string]operandKind{
	"StringEquals": opString, "StringLessThan": opString, "StringGreaterThan": opString,
	"StringLessThanEquals": opString, "StringGreaterThanEquals": opString, "StringMatches": opString,
	"NumericEquals": opNumber, "NumericLessThan": opNumber, "NumericGreaterThan": opNumber,
	"NumericLessThanEquals": opNumber, "NumericGreaterThanEquals": opNumber,
	"BooleanEquals":   opBool,
	"TimestampEquals": opTimestamp, "TimestampLessThan": opTimestamp, "TimestampGreaterThan": opTimestamp,
	"TimestampLessThanEquals": opTimestamp, "TimestampGreaterThanEquals": opTimestamp,
	"IsNull": opBool, "IsPresent": opBool, "IsNumeric": opBool, "IsString": opBool,
	"IsBoolean": opBool, "IsTimestamp": opBool,
}

// ChoiceRule is a compiled Choice Rule: a boolean combination (And, Or,
// Not) or a comparison of Variable against a literal or another path.
type ChoiceRule struct {
	// Next is the state to go to when a top-level rule matches.
	Next string

	And []*ChoiceRule
	Or  []*ChoiceRule
	Not *ChoiceRule

	Variable Expr   // the compared path
	Operator string // the operator without its "Path" suffix
	Value    any    // the literal operand
	Path     Expr   // the operand of a "...Path" operator

	// JSONata rules: a boolean Condition, and the Output and Assign that
	// apply when the rule matches.
	Condition *JValue
	Output    *JValue
	Assign    *JValue
}

// compileChoiceRule compiles one rule. Top-level rules must have Next and
// nested rules must not.
func compileChoiceRule(v any, where string, top bool) (*ChoiceRule, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("SCHEMA_VALIDATION_FAILED: A Choice Rule must be an object at %s", where)
	}
	r := &ChoiceRule{}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	var ops []string
	for _, k := range sortedKeys(m) {
		val := m[k]
		switch k {
		case "Next":
			s, ok := val.(string)
			if !ok || !top {
				bad("SCHEMA_VALIDATION_FAILED: The field \"Next\" is only allowed, as a string, in a top-level Choice Rule at %s", where)
				continue
			}
			r.Next = s
		case "Comment":
		case "Variable":
			s, ok := val.(string)
			if !ok {
				bad("SCHEMA_VALIDATION_FAILED: The field \"Variable\" must be a JSONPath string at %s", where)
				continue
			}
			e, err := ParsePathExpr(s, false)
			if err != nil {
				bad("INVALID_JSON_PATH: %v at %s/Variable", err, where)
				continue
			}
			r.Variable = e
		case "And", "Or":
			list, ok := val.([]any)
			if !ok || len(list) == 0 {
				bad("SCHEMA_VALIDATION_FAILED: The field %q must be a non-empty array of Choice Rules at %s", k, where)
				continue
			}
			ops = append(ops, k)
			for i, sub := range list {
				c, err := compileChoiceRule(sub, fmt.Sprintf("%s/%s[%d]", where, k, i), false)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				if k == "And" {
					r.And = append(r.And, c)
				} else {
					r.Or = append(r.Or, c)
				}
			}
		case "Not":
			ops = append(ops, k)
			c, err := compileChoiceRule(val, where+"/Not", false)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			r.Not = c
		default:
			base := strings.TrimSuffix(k, "Path")
			kind, known := comparisons[base]
			isPath := base != k
			if !known || (isPath && (strings.HasPrefix(base, "Is") || base == "StringMatches")) {
				bad("SCHEMA_VALIDATION_FAILED: The field %q is not supported by Step Functions at %s", k, where)
				continue
			}
			ops = append(ops, k)
			r.Operator = base
			if isPath {
				s, ok := val.(string)
				var e Expr
				var err error
				if ok {
					e, err = ParsePathExpr(s, false)
				}
				if !ok || err != nil {
					bad("INVALID_JSON_PATH: The value of %q must be a valid JSONPath at %s/%s", k, where, k)
					continue
				}
				r.Path = e
				continue
			}
			if err := checkOperand(kind, val); err != nil {
				bad("SCHEMA_VALIDATION_FAILED: The value of %q %v at %s/%s", k, err, where, k)
				continue
			}
			r.Value = val
		}
	}
	switch {
	case len(ops) == 0:
		bad("SCHEMA_VALIDATION_FAILED: The Choice Rule has no comparison operator, And, Or or Not at %s", where)
	case len(ops) > 1:
		bad("SCHEMA_VALIDATION_FAILED: The Choice Rule has more than one operator (%s) at %s", strings.Join(ops, ", "), where)
	case r.Operator != "" && r.Variable == nil:
		bad("SCHEMA_VALIDATION_FAILED: The Choice Rule needs a \"Variable\" at %s", where)
	case r.Operator == "" && r.Variable != nil:
		bad("SCHEMA_VALIDATION_FAILED: The field \"Variable\" is not allowed with And, Or or Not at %s", where)
	}
	if top && r.Next == "" {
		bad("SCHEMA_VALIDATION_FAILED: The top-level Choice Rule needs a \"Next\" at %s", where)
	}
	return r, errors.Join(errs...)
}

// checkOperand validates a comparison's literal.
func checkOperand(kind operandKind, v any) error {
	switch kind {
	case opString:
		if _, ok := v.(string); !ok {
			return errors.New("must be a string")
		}
	case opNumber:
		if !isNumber(v) {
			return errors.New("must be a number")
		}
	case opBool:
		if _, ok := v.(bool); !ok {
			return errors.New("must be a boolean")
		}
	case opTimestamp:
		s, ok := v.(string)
		if _, isTS := parseTimestamp(s); !ok || !isTS {
			return errors.New("must be an RFC 3339 timestamp string")
		}
	}
	return nil
}

// parseTimestamp parses an RFC 3339 timestamp (uppercase T and Z).
func parseTimestamp(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// ParseTimestamp parses a timestamp as the States Language defines them.
func ParseTimestamp(s string) (time.Time, bool) { return parseTimestamp(s) }

// Eval evaluates the rule against the state's effective input. A Variable
// (or a "...Path" operand) that selects nothing is a States.Runtime error,
// except for IsPresent, which is then false.
func (r *ChoiceRule) Eval(env Env) (bool, error) {
	switch {
	case r.And != nil:
		for _, c := range r.And {
			ok, err := c.Eval(env)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case r.Or != nil:
		for _, c := range r.Or {
			ok, err := c.Eval(env)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case r.Not != nil:
		ok, err := r.Not.Eval(env)
		return !ok && err == nil, err
	}
	v, err := r.Variable.Eval(env)
	if err != nil {
		if r.Operator == "IsPresent" {
			return r.Value == false, nil
		}
		return false, Errorf(ErrRuntime, "Invalid path '%s': The choice state's condition path references an invalid value.", r.Variable.String())
	}
	operand := r.Value
	if r.Path != nil {
		operand, err = r.Path.Eval(env)
		if err != nil {
			return false, Errorf(ErrRuntime, "Invalid path '%s': The choice state's condition path references an invalid value.", r.Path.String())
		}
	}
	return compare(r.Operator, v, operand), nil
}

// compare applies an operator. A value of the wrong type never matches.
func compare(op string, v, operand any) bool {
	switch op {
	case "IsPresent":
		return operand == true
	case "IsNull":
		return (v == nil) == (operand == true)
	case "IsNumeric":
		return isNumber(v) == (operand == true)
	case "IsString":
		_, ok := v.(string)
		return ok == (operand == true)
	case "IsBoolean":
		_, ok := v.(bool)
		return ok == (operand == true)
	case "IsTimestamp":
		s, ok := v.(string)
		_, ts := parseTimestamp(s)
		return (ok && ts) == (operand == true)
	case "BooleanEquals":
		b, ok := v.(bool)
		o, ok2 := operand.(bool)
		return ok && ok2 && b == o
	case "StringMatches":
		s, ok := v.(string)
		p, ok2 := operand.(string)
		return ok && ok2 && stringMatches(s, p)
	}
	var c int
	switch comparisons[op] {
	case opString:
		s, ok := v.(string)
		o, ok2 := operand.(string)
		if !ok || !ok2 {
			return false
		}
		c = strings.Compare(s, o)
	case opNumber:
		a, ok := toRat(v)
		b, ok2 := toRat(operand)
		if !ok || !ok2 {
			return false
		}
		c = a.Cmp(b)
	case opTimestamp:
		s, ok := v.(string)
		o, ok2 := operand.(string)
		a, ok3 := parseTimestamp(s)
		b, ok4 := parseTimestamp(o)
		if !ok || !ok2 || !ok3 || !ok4 {
			return false
		}
		c = a.Compare(b)
	}
	switch {
	case strings.HasSuffix(op, "GreaterThanEquals"):
		return c >= 0
	case strings.HasSuffix(op, "LessThanEquals"):
		return c <= 0
	case strings.HasSuffix(op, "GreaterThan"):
		return c > 0
	case strings.HasSuffix(op, "LessThan"):
		return c < 0
	}
	return c == 0 // ...Equals
}

// stringMatches implements StringMatches: "*" matches any run of
// characters, "\*" a literal star and "\\" a literal backslash.
func stringMatches(s, pattern string) bool {
	// Split the pattern into literal pieces separated by unescaped stars.
	var pieces []string
	var cur strings.Builder
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case c == '\\' && i+1 < len(pattern):
			i++
			cur.WriteByte(pattern[i])
		case c == '*':
			pieces = append(pieces, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	pieces = append(pieces, cur.String())
	if len(pieces) == 1 {
		return s == pieces[0]
	}
	if !strings.HasPrefix(s, pieces[0]) {
		return false
	}
	s = s[len(pieces[0]):]
	last := pieces[len(pieces)-1]
	for _, p := range pieces[1 : len(pieces)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}
