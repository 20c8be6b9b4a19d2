package asl

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// queryLanguage returns a state's query language: its own QueryLanguage
// field, else the top level's. A state machine whose top level is JSONata
// cannot have JSONPath states (the reverse is allowed).
func (c *checker) queryLanguage(m map[string]any, at string) string {
	if _, ok := m["QueryLanguage"]; !ok {
		return c.ql
	}
	switch v := c.str(m, "QueryLanguage", at); v {
	case JSONata:
		return JSONata
	case JSONPath:
		if c.ql == JSONata {
			c.add("SCHEMA_VALIDATION_FAILED: A state cannot use the JSONPath query language when the state machine's top-level QueryLanguage is JSONata at %s/QueryLanguage", at)
			return JSONata
		}
		return JSONPath
	default:
		c.add("SCHEMA_VALIDATION_FAILED: The value of \"QueryLanguage\" must be JSONPath or JSONata at %s/QueryLanguage", at)
		return c.ql
	}
}

// jsonata compiles a JSONata field value, if present.
func (c *checker) jsonata(m map[string]any, key, at string) *JValue {
	v, ok := m[key]
	if !ok {
		return nil
	}
	jv, problems := CompileJSONata(v, at+"/"+key)
	c.problems = append(c.problems, problems...)
	return jv
}

// variableName is what a workflow variable may be called.
var variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// assign compiles an Assign field: an object of variable names.
func (c *checker) assign(m map[string]any, at string) *JValue {
	v, ok := m["Assign"]
	if !ok {
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		c.add("SCHEMA_VALIDATION_FAILED: The field \"Assign\" must be an object at %s/Assign", at)
		return nil
	}
	for _, k := range sortedKeys(obj) {
		switch {
		case k == "states":
			c.add("SCHEMA_VALIDATION_FAILED: The variable name \"states\" is reserved at %s/Assign/%s", at, k)
		case !variableName.MatchString(k):
			c.add("SCHEMA_VALIDATION_FAILED: The variable name %q must start with a letter or underscore and hold only letters, digits and underscores at %s/Assign", k, at)
		}
	}
	return c.jsonata(m, "Assign", at)
}

// intOrExpr parses a numeric field of a JSONata state: an integer of at
// least min, or an expression.
func (c *checker) intOrExpr(m map[string]any, key, at string, min int64) (int64, *JValue) {
	v, ok := m[key]
	if !ok {
		return 0, nil
	}
	if s, ok := v.(string); ok && IsJSONataExpression(s) {
		return 0, c.jsonata(m, key, at)
	}
	n, ok := toInt(v)
	if !ok || n < min || n > 99999999 {
		c.add("SCHEMA_VALIDATION_FAILED: The value of \"%s\" must be an integer from %d to 99999999 or a JSONata expression at %s/%s", key, min, at, key)
	}
	return n, nil
}

// strOrExpr parses a string field of a JSONata state: a string, or an
// expression.
func (c *checker) strOrExpr(m map[string]any, key, at string) (string, *JValue) {
	s := c.str(m, key, at)
	if IsJSONataExpression(s) {
		return "", c.jsonata(m, key, at)
	}
	return s, nil
}

// jsonataState parses a state whose query language is JSONata.
func (c *checker) jsonataState(s *State, m map[string]any, at string) {
	allowed := jsonataFields[s.Type]
	for _, k := range sortedKeys(m) {
		if k == "Type" || k == "Comment" || k == "QueryLanguage" || slices.Contains(allowed, k) {
			continue
		}
		if slices.Contains(jsonPathOnly, k) || slices.Contains(fields[s.Type], k) {
			c.add("SCHEMA_VALIDATION_FAILED: The field \"%s\" is not supported when the query language is JSONata (it is a JSONPath field) at %s", k, at)
			continue
		}
		c.unsupported(k, at)
	}
	c.transitions(s, m, at, allowed)
	s.Output = c.jsonata(m, "Output", at)
	s.Assign = c.assign(m, at)
	s.Retry = c.retry(m, at)
	s.Catch = c.jsonataCatch(m, at)

	switch s.Type {
	case TypeTask:
		c.jsonataTask(s, m, at)
	case TypeChoice:
		c.jsonataChoice(s, m, at)
	case TypeWait:
		n := 0
		if _, ok := m["Seconds"]; ok {
			n++
			v, e := c.intOrExpr(m, "Seconds", at, 0)
			if e == nil {
				s.Seconds = &v
			}
			s.SecondsExpr = e
		}
		if _, ok := m["Timestamp"]; ok {
			n++
			str, e := c.strOrExpr(m, "Timestamp", at)
			if e == nil {
				t, ok := parseTimestamp(str)
				if !ok {
					c.add("SCHEMA_VALIDATION_FAILED: The value of \"Timestamp\" must be an RFC 3339 timestamp or a JSONata expression at %s/Timestamp", at)
				}
				s.Timestamp = &t
			}
			s.TimestampExpr = e
		}
		if n != 1 {
			c.add("SCHEMA_VALIDATION_FAILED: Exactly one of \"Seconds\" or \"Timestamp\" is required at %s", at)
		}
	case TypeFail:
		s.Error, s.ErrorExpr = c.strOrExpr(m, "Error", at)
		s.Cause, s.CauseExpr = c.strOrExpr(m, "Cause", at)
	case TypeParallel:
		s.Arguments = c.jsonata(m, "Arguments", at)
		c.branches(s, m, at)
	case TypeMap:
		s.Items = c.jsonata(m, "Items", at)
		if s.Items != nil && !s.Items.IsExpression() && !s.Items.root.isArr {
			c.add("SCHEMA_VALIDATION_FAILED: The field \"Items\" must be an array or a JSONata expression at %s/Items", at)
		}
		s.JItemSelector = c.jsonata(m, "ItemSelector", at)
		s.MaxConcurrency, s.MaxConcurrencyExpr = c.intOrExpr(m, "MaxConcurrency", at, 0)
		if _, ok := m["ItemProcessor"]; !ok {
			c.add("SCHEMA_VALIDATION_FAILED: The field \"ItemProcessor\" is required at %s", at)
		} else {
			c.processor(s, m, at)
		}
	}
}

// jsonataTask parses the fields of a JSONata Task state.
func (c *checker) jsonataTask(s *State, m map[string]any, at string) {
	s.Arguments = c.jsonata(m, "Arguments", at)
	c.resource(s, m, at)
	if s.Kind == LambdaInvoke || s.Kind == LambdaInvokeCallback {
		switch {
		case s.Arguments == nil:
			c.add("SCHEMA_VALIDATION_FAILED: The field \"Arguments\" is required, with \"FunctionName\", for %s at %s", s.Resource, at)
		case s.Arguments.IsObject():
			keys := s.Arguments.Keys()
			for _, k := range keys {
				if !slices.Contains(lambdaParameters, k) {
					c.add("SCHEMA_VALIDATION_FAILED: The field \"%s\" is not supported by Step Functions at %s/Arguments", k, at)
				}
			}
			if !slices.Contains(keys, "FunctionName") {
				c.add("SCHEMA_VALIDATION_FAILED: The field \"FunctionName\" is required at %s/Arguments", at)
			}
		case !s.Arguments.IsExpression():
			c.add("SCHEMA_VALIDATION_FAILED: The field \"Arguments\" must be an object or a JSONata expression at %s/Arguments", at)
		}
	}
	s.TimeoutSeconds, s.TimeoutSecondsExpr = c.intOrExpr(m, "TimeoutSeconds", at, 1)
	s.HeartbeatSeconds, s.HeartbeatSecondsExpr = c.intOrExpr(m, "HeartbeatSeconds", at, 1)
	if s.HeartbeatSeconds > 0 && s.TimeoutSeconds > 0 && s.HeartbeatSeconds >= s.TimeoutSeconds {
		c.add("SCHEMA_VALIDATION_FAILED: \"HeartbeatSeconds\" must be smaller than \"TimeoutSeconds\" at %s", at)
	}
}

// jsonataChoice parses the Choices and Default of a JSONata Choice state:
// each rule has a Condition, a Next and optionally Assign and Output.
func (c *checker) jsonataChoice(s *State, m map[string]any, at string) {
	list, ok := m["Choices"].([]any)
	if !ok || len(list) == 0 {
		c.add("SCHEMA_VALIDATION_FAILED: The field \"Choices\" must be a non-empty array at %s", at)
	}
	for i, e := range list {
		where := fmt.Sprintf("%s/Choices[%d]", at, i)
		rm, ok := e.(map[string]any)
		if !ok {
			c.add("SCHEMA_VALIDATION_FAILED: A Choice Rule must be an object at %s", where)
			continue
		}
		for _, k := range sortedKeys(rm) {
			switch {
			case k == "Condition" || k == "Next" || k == "Comment" || k == "Assign" || k == "Output":
			case k == "Variable" || k == "And" || k == "Or" || k == "Not" || isComparison(k):
				c.add("SCHEMA_VALIDATION_FAILED: The field \"%s\" is not supported when the query language is JSONata (it is a JSONPath field; use \"Condition\") at %s", k, where)
			default:
				c.unsupported(k, where)
			}
		}
		r := &ChoiceRule{Next: c.str(rm, "Next", where)}
		if r.Next == "" {
			c.add("SCHEMA_VALIDATION_FAILED: The field \"Next\" is required at %s", where)
		}
		if _, ok := rm["Condition"]; !ok {
			c.add("SCHEMA_VALIDATION_FAILED: The field \"Condition\" is required at %s", where)
		} else {
			r.Condition = c.jsonata(rm, "Condition", where)
			if _, isBool := rm["Condition"].(bool); !isBool && !r.Condition.IsExpression() {
				c.add("SCHEMA_VALIDATION_FAILED: The value of \"Condition\" must be a boolean or a JSONata expression at %s/Condition", where)
			}
		}
		r.Output = c.jsonata(rm, "Output", where)
		r.Assign = c.assign(rm, where)
		s.Choices = append(s.Choices, r)
	}
	s.Default = c.str(m, "Default", at)
}

// jsonataCatch parses the Catch field of a JSONata state.
func (c *checker) jsonataCatch(m map[string]any, at string) []Catcher {
	raw, ok := m["Catch"]
	if !ok {
		return nil
	}
	list, ok := raw.([]any)
	if !ok {
		c.add("SCHEMA_VALIDATION_FAILED: The field \"Catch\" must be an array at %s", at)
		return nil
	}
	var out []Catcher
	for i, e := range list {
		where := fmt.Sprintf("%s/Catch[%d]", at, i)
		cm, ok := e.(map[string]any)
		if !ok {
			c.add("SCHEMA_VALIDATION_FAILED: A Catcher must be an object at %s", where)
			continue
		}
		for _, k := range sortedKeys(cm) {
			switch k {
			case "ErrorEquals", "Next", "Output", "Assign", "Comment":
			case "ResultPath":
				c.add("SCHEMA_VALIDATION_FAILED: The field \"ResultPath\" is not supported when the query language is JSONata (it is a JSONPath field) at %s", where)
			default:
				c.unsupported(k, where)
			}
		}
		k := Catcher{ErrorEquals: c.errorEquals(cm, where, i == len(list)-1)}
		k.Next = c.str(cm, "Next", where)
		if k.Next == "" {
			c.add("SCHEMA_VALIDATION_FAILED: The field \"Next\" is required at %s", where)
		}
		k.Output = c.jsonata(cm, "Output", where)
		k.Assign = c.assign(cm, where)
		out = append(out, k)
	}
	return out
}

// isComparison reports whether k is a JSONPath Choice Rule operator.
func isComparison(k string) bool {
	_, ok := comparisons[strings.TrimSuffix(k, "Path")]
	return ok
}
