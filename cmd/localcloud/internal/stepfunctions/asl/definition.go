// Package asl parses, validates and partly evaluates Amazon States Language
// definitions, in the JSONPath and JSONata query languages.
//
// Parse accepts exactly the fields this local engine implements and refuses
// everything else with a *DefinitionError that names the field and where it
// is (for example `The field "ItemReader" is not supported ... at
// /States/Fan`), so a definition never runs with silently ignored fields.
package asl

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/stepfunctions/jsonpath"
)

// State types.
const (
	TypePass     = "Pass"
	TypeTask     = "Task"
	TypeChoice   = "Choice"
	TypeWait     = "Wait"
	TypeSucceed  = "Succeed"
	TypeFail     = "Fail"
	TypeParallel = "Parallel"
	TypeMap      = "Map"
)

// Task resources this engine runs.
const (
	ResourceLambdaInvoke         = "arn:aws:states:::lambda:invoke"
	ResourceLambdaInvokeCallback = "arn:aws:states:::lambda:invoke.waitForTaskToken"
)

// ResourceKind says how a Task state calls its resource.
type ResourceKind int

const (
	// LambdaInvoke is the optimized integration arn:aws:states:::lambda:invoke.
	LambdaInvoke ResourceKind = iota + 1
	// LambdaInvokeCallback is lambda:invoke.waitForTaskToken.
	LambdaInvokeCallback
	// LambdaFunction is a Lambda function ARN used directly as the Resource.
	LambdaFunction
)

// DefaultTaskTimeoutSeconds is the Task timeout when none is given.
const DefaultTaskTimeoutSeconds = 99999999

// DefinitionError lists every problem found in a definition.
type DefinitionError struct {
	Problems []string
}

func (e *DefinitionError) Error() string {
	return "Invalid State Machine Definition: '" + strings.Join(e.Problems, ", ") + "'"
}

// Definition is a parsed state machine.
type Definition struct {
	Comment string
	// QueryLanguage is the top-level query language, JSONPath by default;
	// every state has its own in State.QueryLanguage.
	QueryLanguage string
	// TimeoutSeconds is the execution timeout; 0 means none.
	TimeoutSeconds int64
	// Main is the top-level StartAt and States.
	Main *Branch
}

// Branch is a set of states with a start state: the state machine itself, a
// Parallel branch or a Map item processor.
type Branch struct {
	StartAt string
	States  map[string]*State
}

// Retrier is one entry of a Retry field, with defaults applied.
type Retrier struct {
	ErrorEquals     []string
	IntervalSeconds int64
	MaxAttempts     int64
	BackoffRate     float64
	MaxDelaySeconds int64 // 0: no cap
	JitterStrategy  string
}

// Catcher is one entry of a Catch field.
type Catcher struct {
	ErrorEquals []string
	Next        string
	ResultPath  *jsonpath.Path // nil: ResultPath null (discard the error)

	// JSONata states: the state's output (default $states.errorOutput) and
	// the variables to assign when this Catcher matches.
	Output *JValue
	Assign *JValue
}

// State is one parsed state. Which fields are meaningful depends on Type.
type State struct {
	Name    string
	Type    string
	Comment string
	Next    string
	End     bool

	// QueryLanguage is JSONPath or JSONata. The fields below marked
	// JSONPath are empty in a JSONata state and the reverse.
	QueryLanguage string

	// JSONata: Arguments (Task, Parallel; nil: the state input), Output
	// (nil: the state's default output) and Assign (nil: none).
	Arguments *JValue
	Output    *JValue
	Assign    *JValue
	// JSONata numeric and string fields given as expressions; a literal
	// value is in the JSONPath field of the same name.
	TimeoutSecondsExpr   *JValue
	HeartbeatSecondsExpr *JValue
	SecondsExpr          *JValue
	TimestampExpr        *JValue
	ErrorExpr            *JValue
	CauseExpr            *JValue
	MaxConcurrencyExpr   *JValue
	// JSONata Map: Items (nil: the state input) and ItemSelector.
	Items         *JValue
	JItemSelector *JValue

	// InputPath and OutputPath: nil means null (an empty object).
	InputPath  *jsonpath.Path
	OutputPath *jsonpath.Path
	// ResultPath: nil means null (the result is discarded).
	ResultPath     *jsonpath.Path
	Parameters     *Template
	ResultSelector *Template

	// Pass
	Result    any
	HasResult bool

	// Task
	Resource             string
	Kind                 ResourceKind
	FunctionName         string // for LambdaFunction: the function ARN
	TimeoutSeconds       int64  // 0: not set
	TimeoutSecondsPath   Expr
	HeartbeatSeconds     int64 // 0: not set
	HeartbeatSecondsPath Expr

	// Task, Parallel, Map
	Retry []Retrier
	Catch []Catcher

	// Choice
	Choices []*ChoiceRule
	Default string

	// Wait: exactly one is set.
	Seconds       *int64
	SecondsPath   Expr
	Timestamp     *time.Time
	TimestampPath Expr

	// Fail
	Error     string
	Cause     string
	ErrorPath Expr
	CausePath Expr

	// Parallel
	Branches []*Branch

	// Map
	Processor      *Branch
	ItemsPath      *jsonpath.Path
	ItemSelector   *Template
	MaxConcurrency int64
}

// fields lists, per state type, the fields this engine implements.
var fields = map[string][]string{
	TypePass:     {"Next", "End", "InputPath", "OutputPath", "Parameters", "Result", "ResultPath"},
	TypeTask:     {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Retry", "Catch"},
	TypeChoice:   {"InputPath", "OutputPath", "Choices", "Default"},
	TypeWait:     {"Next", "End", "InputPath", "OutputPath", "Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
	TypeSucceed:  {"InputPath", "OutputPath"},
	TypeFail:     {"Error", "Cause", "ErrorPath", "CausePath"},
	TypeParallel: {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Branches", "Retry", "Catch"},
	TypeMap:      {"Next", "End", "InputPath", "OutputPath", "Parameters", "ItemSelector", "ItemsPath", "Iterator", "ItemProcessor", "MaxConcurrency", "ResultSelector", "ResultPath", "Retry", "Catch"},
}

// jsonataFields lists, per state type, the fields of a JSONata state.
var jsonataFields = map[string][]string{
	TypePass:     {"Next", "End", "Output", "Assign"},
	TypeTask:     {"Next", "End", "Resource", "Arguments", "Output", "Assign", "TimeoutSeconds", "HeartbeatSeconds", "Retry", "Catch"},
	TypeChoice:   {"Choices", "Default", "Output", "Assign"},
	TypeWait:     {"Next", "End", "Seconds", "Timestamp", "Output", "Assign"},
	TypeSucceed:  {"Output"},
	TypeFail:     {"Error", "Cause"},
	TypeParallel: {"Next", "End", "Branches", "Arguments", "Output", "Assign", "Retry", "Catch"},
	TypeMap:      {"Next", "End", "Items", "ItemSelector", "ItemProcessor", "MaxConcurrency", "Output", "Assign", "Retry", "Catch"},
}

// jsonPathOnly are the fields that only JSONPath states have.
var jsonPathOnly = []string{"InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Result",
	"TimeoutSecondsPath", "HeartbeatSecondsPath", "SecondsPath", "TimestampPath", "ErrorPath", "CausePath", "ItemsPath", "Iterator"}

// jsonataOnly are the fields that only JSONata states have.
var jsonataOnly = []string{"Arguments", "Output", "Items"}

// lambdaParameters are the lambda:invoke parameters this engine implements.
var lambdaParameters = []string{"FunctionName", "Payload", "InvocationType", "Qualifier"}

// lambdaARN matches a Lambda function ARN, with an optional qualifier.
var lambdaARN = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9_-]+(:[a-zA-Z0-9_$-]+)?$`)

// stateName limits: 1 to 80 characters.
const maxNameLength = 80

// checker collects problems while parsing.
type checker struct {
	ql       string // the top-level query language
	problems []string
	names    map[string]string // state name -> where it is defined
}

func (c *checker) add(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *checker) unsupported(field, where string) {
	c.add("SCHEMA_VALIDATION_FAILED: The field \"%s\" is not supported by Step Functions at %s", field, where)
}

// Parse parses and validates a definition.
func Parse(text string) (*Definition, error) {
	doc, err := jsonpath.Decode([]byte(text))
	if err != nil {
		return nil, &DefinitionError{Problems: []string{"INVALID_JSON_DESCRIPTION: " + err.Error()}}
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, &DefinitionError{Problems: []string{"INVALID_JSON_DESCRIPTION: the definition must be a JSON object"}}
	}
	c := &checker{names: map[string]string{}, ql: JSONPath}
	d := &Definition{QueryLanguage: JSONPath}
	for _, k := range sortedKeys(m) {
		switch k {
		case "StartAt", "States":
		case "Comment":
			d.Comment = c.str(m, k, "")
		case "Version":
			if v := c.str(m, k, ""); v != "1.0" {
				c.add("SCHEMA_VALIDATION_FAILED: The value of \"Version\" must be \"1.0\" at /Version")
			}
		case "QueryLanguage":
			switch v := c.str(m, k, ""); v {
			case JSONPath, JSONata:
				c.ql, d.QueryLanguage = v, v
			default:
				c.add("SCHEMA_VALIDATION_FAILED: The value of \"QueryLanguage\" must be JSONPath or JSONata at /QueryLanguage")
			}
		case "TimeoutSeconds":
			d.TimeoutSeconds = c.positiveInt(m, k, "")
		default:
			c.unsupported(k, "/"+k)
		}
	}
	d.Main = c.branch(m, "")
	if len(c.problems) > 0 {
		return nil, &DefinitionError{Problems: c.problems}
	}
	return d, nil
}

// branch parses StartAt and States at where.
func (c *checker) branch(m map[string]any, where string) *Branch {
	b := &Branch{StartAt: c.str(m, "StartAt", where), States: map[string]*State{}}
	if _, ok := m["StartAt"]; !ok {
		c.add("SCHEMA_VALIDATION_FAILED: The field \"StartAt\" is required at %s", orRoot(where))
	}
	states, ok := m["States"].(map[string]any)
	if !ok || len(states) == 0 {
		c.add("SCHEMA_VALIDATION_FAILED: The field \"States\" must be a non-empty object at %s", orRoot(where))
		return b
	}
	for _, name := range sortedKeys(states) {
		at := where + "/States/" + name
		if len(name) == 0 || len(name) > maxNameLength {
			c.add("SCHEMA_VALIDATION_FAILED: State names must be 1 to %d characters at %s", maxNameLength, at)
		}
		if prev, dup := c.names[name]; dup {
			c.add("DUPLICATE_STATE_NAME: Duplicate State name: '%s' at %s and %s", name, prev, at)
		}
		c.names[name] = at
		sm, ok := states[name].(map[string]any)
		if !ok {
			c.add("SCHEMA_VALIDATION_FAILED: A state must be an object at %s", at)
			continue
		}
		b.States[name] = c.state(name, sm, at)
	}
	if _, ok := b.States[b.StartAt]; b.StartAt != "" && !ok {
		c.add("MISSING_TRANSITION_TARGET: Missing 'Next' target: %s at %s/StartAt", b.StartAt, orRoot(where))
	}
	c.checkTransitions(b, where)
	return b
}

func orRoot(where string) string {
	if where == "" {
		return "/"
	}
	return where
}

// checkTransitions checks that every target exists and every state is
// reachable from StartAt.
func (c *checker) checkTransitions(b *Branch, where string) {
	targets := func(s *State) []string {
		var t []string
		if s.Next != "" {
			t = append(t, s.Next)
		}
		for _, r := range s.Choices {
			t = append(t, r.Next)
		}
		if s.Default != "" {
			t = append(t, s.Default)
		}
		for _, k := range s.Catch {
			t = append(t, k.Next)
		}
		return t
	}
	for _, name := range sortedStateNames(b) {
		for _, t := range targets(b.States[name]) {
			if _, ok := b.States[t]; !ok {
				c.add("MISSING_TRANSITION_TARGET: Missing 'Next' target: %s at %s/States/%s", t, where, name)
			}
		}
	}
	seen := map[string]bool{}
	queue := []string{b.StartAt}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		s, ok := b.States[n]
		if !ok || seen[n] {
			continue
		}
		seen[n] = true
		queue = append(queue, targets(s)...)
	}
	for _, name := range sortedStateNames(b) {
		if !seen[name] && b.States[b.StartAt] != nil {
			c.add("MISSING_TRANSITION_TARGET: State \"%s\" is not reachable at %s/States/%s", name, where, name)
		}
	}
}

func sortedStateNames(b *Branch) []string {
	names := make([]string, 0, len(b.States))
	for n := range b.States {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// state parses one state.
func (c *checker) state(name string, m map[string]any, at string) *State {
	s := &State{Name: name}
	s.Type = c.str(m, "Type", at)
	allowed, known := fields[s.Type]
	if !known {
		if _, ok := m["Type"]; !ok {
			c.add("SCHEMA_VALIDATION_FAILED: The field \"Type\" is required at %s", at)
		} else {
			c.add("SCHEMA_VALIDATION_FAILED: The state type %q is not supported at %s/Type", s.Type, at)
		}
		return s
	}
	s.Comment = c.str(m, "Comment", at)
	s.QueryLanguage = c.queryLanguage(m, at)
	if s.QueryLanguage == JSONata {
		c.jsonataState(s, m, at)
		return s
	}
	for _, k := range sortedKeys(m) {
		if k == "Type" || k == "Comment" || k == "QueryLanguage" || slices.Contains(allowed, k) {
			continue
		}
		switch {
		case k == "Assign":
			c.add("SCHEMA_VALIDATION_FAILED: The field \"Assign\" is not supported by this engine in a JSONPath state (only in JSONata states) at %s", at)
		case slices.Contains(jsonataOnly, k) || (k == "Condition"):
			c.add("SCHEMA_VALIDATION_FAILED: The field \"%s\" is not supported when the query language is JSONPath (it is a JSONata field) at %s", k, at)
		default:
			c.unsupported(k, at)
		}
	}
	c.transitions(s, m, at, allowed)

	// Input and output processing.
	s.InputPath = c.ioPath(m, "InputPath", at)
	s.OutputPath = c.ioPath(m, "OutputPath", at)
	s.ResultPath = c.resultPath(m, "ResultPath", at)
	s.Parameters = c.template(m, "Parameters", at)
	s.ResultSelector = c.template(m, "ResultSelector", at)
	if s.ResultSelector != nil && !s.ResultSelector.IsObject() {
		c.add("SCHEMA_VALIDATION_FAILED: The field \"ResultSelector\" must be an object at %s/ResultSelector", at)
	}
	s.Result, s.HasResult = m["Result"]

	s.Retry = c.retry(m, at)
	s.Catch = c.catch(m, at)

	switch s.Type {
	case TypeTask:
		c.task(s, m, at)
	case TypeChoice:
		c.choice(s, m, at)
	case TypeWait:
		c.wait(s, m, at)
	case TypeFail:
		s.Error = c.str(m, "Error", at)
		s.Cause = c.str(m, "Cause", at)
		s.ErrorPath = c.dynamicString(m, "ErrorPath", at)
		s.CausePath = c.dynamicString(m, "CausePath", at)
		for _, p := range [][2]string{{"Error", "ErrorPath"}, {"Cause", "CausePath"}} {
			if _, a := m[p[0]]; a {
				if _, b := m[p[1]]; b {
					c.add("SCHEMA_VALIDATION_FAILED: Only one of \"%s\" or \"%s\" can be set at %s", p[0], p[1], at)
				}
			}
		}
	case TypeParallel:
		c.branches(s, m, at)
	case TypeMap:
		c.mapState(s, m, at)
	}
	return s
}

// onlyFields reports every field of m not in allowed.
func (c *checker) onlyFields(m map[string]any, where string, allowed ...string) {
	for _, k := range sortedKeys(m) {
		if !slices.Contains(allowed, k) {
			c.unsupported(k, where)
		}
	}
}

func (c *checker) task(s *State, m map[string]any, at string) {
	c.resource(s, m, at)
	if s.Kind == LambdaInvoke || s.Kind == LambdaInvokeCallback {
		if s.Parameters == nil || !s.Parameters.IsObject() {
			c.add("SCHEMA_VALIDATION_FAILED: The field \"Parameters\" must be an object with \"FunctionName\" for %s at %s", s.Resource, at)
		} else {
			keys := s.Parameters.Keys()
			for _, k := range keys {
				if !slices.Contains(lambdaParameters, k) {
					c.add("SCHEMA_VALIDATION_FAILED: The field \"%s\" is not supported by Step Functions at %s/Parameters", k, at)
				}
			}
			if !slices.Contains(keys, "FunctionName") {
				c.add("SCHEMA_VALIDATION_FAILED: The field \"FunctionName\" is required at %s/Parameters", at)
			}
		}
	}
	s.TimeoutSeconds = c.positiveInt(m, "TimeoutSeconds", at)
	s.HeartbeatSeconds = c.positiveInt(m, "HeartbeatSeconds", at)
	s.TimeoutSecondsPath = c.refPath(m, "TimeoutSecondsPath", at)
	s.HeartbeatSecondsPath = c.refPath(m, "HeartbeatSecondsPath", at)
	for _, p := range [][2]string{{"TimeoutSeconds", "TimeoutSecondsPath"}, {"HeartbeatSeconds", "HeartbeatSecondsPath"}} {
		if _, a := m[p[0]]; a {
			if _, b := m[p[1]]; b {
				c.add("SCHEMA_VALIDATION_FAILED: Only one of \"%s\" or \"%s\" can be set at %s", p[0], p[1], at)
			}
		}
	}
	if s.HeartbeatSeconds > 0 && s.TimeoutSeconds > 0 && s.HeartbeatSeconds >= s.TimeoutSeconds {
		c.add("SCHEMA_VALIDATION_FAILED: \"HeartbeatSeconds\" must be smaller than \"TimeoutSeconds\" at %s", at)
	}
}

func (c *checker) choice(s *State, m map[string]any, at string) {
	list, ok := m["Choices"].([]any)
	if !ok || len(list) == 0 {
		c.add("SCHEMA_VALIDATION_FAILED: The field \"Choices\" must be a non-empty array at %s", at)
	}
	for i, e := range list {
		r, err := compileChoiceRule(e, fmt.Sprintf("%s/Choices[%d]", at, i), true)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				c.problems = append(c.problems, line)
			}
			continue
		}
		s.Choices = append(s.Choices, r)
	}
	s.Default = c.str(m, "Default", at)
}

func (c *checker) wait(s *State, m map[string]any, at string) {
	n := 0
	if _, ok := m["Seconds"]; ok {
		n++
		v, ok := toInt(m["Seconds"])
		if !ok || v < 0 {
			c.add("SCHEMA_VALIDATION_FAILED: The value of \"Seconds\" must be a non-negative integer at %s/Seconds", at)
		}
		s.Seconds = &v
	}
	if _, ok := m["Timestamp"]; ok {
		n++
		str, _ := m["Timestamp"].(string)
		t, ok := parseTimestamp(str)
		if !ok {
			c.add("SCHEMA_VALIDATION_FAILED: The value of \"Timestamp\" must be an RFC 3339 timestamp at %s/Timestamp", at)
		}
		s.Timestamp = &t
	}
	if _, ok := m["SecondsPath"]; ok {
		n++
		s.SecondsPath = c.refPath(m, "SecondsPath", at)
	}
	if _, ok := m["TimestampPath"]; ok {
		n++
		s.TimestampPath = c.refPath(m, "TimestampPath", at)
	}
	if n != 1 {
		c.add("SCHEMA_VALIDATION_FAILED: Exactly one of \"Seconds\", \"SecondsPath\", \"Timestamp\" or \"TimestampPath\" is required at %s", at)
	}
}

func (c *checker) mapState(s *State, m map[string]any, at string) {
	if _, ok := m["ItemsPath"]; ok {
		s.ItemsPath = c.refPath2(m, "ItemsPath", at)
	} else {
		s.ItemsPath = jsonpath.MustParse("$")
	}
	s.ItemSelector = c.template(m, "ItemSelector", at)
	if s.ItemSelector != nil && s.Parameters != nil {
		c.add("SCHEMA_VALIDATION_FAILED: Only one of \"ItemSelector\" or \"Parameters\" can be set at %s", at)
	}
	if s.ItemSelector == nil {
		// In a Map state, the legacy Parameters field is the item selector.
		s.ItemSelector, s.Parameters = s.Parameters, nil
	}
	if _, ok := m["MaxConcurrency"]; ok {
		v, ok := toInt(m["MaxConcurrency"])
		if !ok || v < 0 {
			c.add("SCHEMA_VALIDATION_FAILED: The value of \"MaxConcurrency\" must be a non-negative integer at %s/MaxConcurrency", at)
		}
		s.MaxConcurrency = v
	}
	c.processor(s, m, at)
}

// retry parses the Retry field.
func (c *checker) retry(m map[string]any, at string) []Retrier {
	raw, ok := m["Retry"]
	if !ok {
		return nil
	}
	list, ok := raw.([]any)
	if !ok {
		c.add("SCHEMA_VALIDATION_FAILED: The field \"Retry\" must be an array at %s", at)
		return nil
	}
	var out []Retrier
	for i, e := range list {
		where := fmt.Sprintf("%s/Retry[%d]", at, i)
		rm, ok := e.(map[string]any)
		if !ok {
			c.add("SCHEMA_VALIDATION_FAILED: A Retrier must be an object at %s", where)
			continue
		}
		c.onlyFields(rm, where, "ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment")
		r := Retrier{IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2.0, JitterStrategy: "NONE"}
		r.ErrorEquals = c.errorEquals(rm, where, i == len(list)-1)
		if _, ok := rm["IntervalSeconds"]; ok {
			r.IntervalSeconds = c.positiveInt(rm, "IntervalSeconds", where)
		}
		if v, ok := rm["MaxAttempts"]; ok {
			n, ok := toInt(v)
			if !ok || n < 0 || n > 99999999 {
				c.add("SCHEMA_VALIDATION_FAILED: The value of \"MaxAttempts\" must be an integer from 0 to 99999999 at %s/MaxAttempts", where)
			}
			r.MaxAttempts = n
		}
		if v, ok := rm["BackoffRate"]; ok {
			f, ok := toRat(v)
			fv, _ := f.Float64()
			if !ok || fv < 1.0 {
				c.add("SCHEMA_VALIDATION_FAILED: The value of \"BackoffRate\" must be a number not less than 1.0 at %s/BackoffRate", where)
			}
			r.BackoffRate = fv
		}
		if _, ok := rm["MaxDelaySeconds"]; ok {
			r.MaxDelaySeconds = c.positiveInt(rm, "MaxDelaySeconds", where)
		}
		if _, ok := rm["JitterStrategy"]; ok {
			r.JitterStrategy = c.str(rm, "JitterStrategy", where)
			if r.JitterStrategy != "NONE" && r.JitterStrategy != "FULL" {
				c.add("SCHEMA_VALIDATION_FAILED: The value of \"JitterStrategy\" must be FULL or NONE at %s/JitterStrategy", where)
			}
		}
		out = append(out, r)
	}
	return out
}

// catch parses the Catch field.
func (c *checker) catch(m map[string]any, at string) []Catcher {
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
		c.onlyFields(cm, where, "ErrorEquals", "Next", "ResultPath", "Comment")
		k := Catcher{ErrorEquals: c.errorEquals(cm, where, i == len(list)-1)}
		k.Next = c.str(cm, "Next", where)
		if k.Next == "" {
			c.add("SCHEMA_VALIDATION_FAILED: The field \"Next\" is required at %s", where)
		}
		k.ResultPath = c.resultPath(cm, "ResultPath", where)
		out = append(out, k)
	}
	return out
}

// errorEquals parses ErrorEquals; States.ALL must be alone and in the last
// Retrier or Catcher.
func (c *checker) errorEquals(m map[string]any, where string, last bool) []string {
	list, ok := m["ErrorEquals"].([]any)
	if !ok || len(list) == 0 {
		c.add("SCHEMA_VALIDATION_FAILED: The field \"ErrorEquals\" must be a non-empty array at %s", where)
		return nil
	}
	var out []string
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			c.add("SCHEMA_VALIDATION_FAILED: The entries of \"ErrorEquals\" must be strings at %s/ErrorEquals", where)
			continue
		}
		out = append(out, s)
	}
	if slices.Contains(out, ErrAll) && (len(out) > 1 || !last) {
		c.add("SCHEMA_VALIDATION_FAILED: %s must appear alone in ErrorEquals and in the last Retrier or Catcher at %s/ErrorEquals", ErrAll, where)
	}
	return out
}

// str returns m[key] as a string; a present non-string is a problem.
func (c *checker) str(m map[string]any, key, at string) string {
	v, ok := m[key]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		c.add("SCHEMA_VALIDATION_FAILED: The value of \"%s\" must be a string at %s/%s", key, at, key)
	}
	return s
}

// positiveInt returns m[key] as a positive integer (0 when absent).
func (c *checker) positiveInt(m map[string]any, key, at string) int64 {
	v, ok := m[key]
	if !ok {
		return 0
	}
	n, ok := toInt(v)
	if !ok || n <= 0 || n > 99999999 {
		c.add("SCHEMA_VALIDATION_FAILED: The value of \"%s\" must be a positive integer at %s/%s", key, at, key)
	}
	return n
}

// ioPath parses InputPath or OutputPath: absent is "$", null is nil.
func (c *checker) ioPath(m map[string]any, key, at string) *jsonpath.Path {
	v, ok := m[key]
	if !ok {
		return jsonpath.MustParse("$")
	}
	if v == nil {
		return nil
	}
	return c.refPath2(m, key, at)
}

// refPath2 parses a general Path on the input.
func (c *checker) refPath2(m map[string]any, key, at string) *jsonpath.Path {
	s, ok := m[key].(string)
	if !ok {
		c.add("SCHEMA_VALIDATION_FAILED: The value of \"%s\" must be a JSONPath string at %s/%s", key, at, key)
		return jsonpath.MustParse("$")
	}
	p, err := jsonpath.Parse(s)
	if err != nil {
		c.add("INVALID_JSON_PATH: %v at %s/%s", err, at, key)
		return jsonpath.MustParse("$")
	}
	return p
}

// resultPath parses a ResultPath: absent is "$", null is nil, and it must
// be a Reference Path.
func (c *checker) resultPath(m map[string]any, key, at string) *jsonpath.Path {
	v, ok := m[key]
	if !ok {
		return jsonpath.MustParse("$")
	}
	if v == nil {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		c.add("SCHEMA_VALIDATION_FAILED: The value of \"%s\" must be a Reference Path string at %s/%s", key, at, key)
		return nil
	}
	p, err := jsonpath.ParseReference(s)
	if err != nil {
		c.add("INVALID_JSON_PATH: %v at %s/%s", err, at, key)
	}
	return p
}

// refPath parses a Reference Path on the input or the context object.
func (c *checker) refPath(m map[string]any, key, at string) Expr {
	v, ok := m[key]
	if !ok {
		return nil
	}
	s, ok := v.(string)
	var e Expr
	var err error = errors.New("must be a string")
	if ok {
		e, err = ParsePathExpr(s, true)
	}
	if err != nil {
		c.add("INVALID_JSON_PATH: The value of \"%s\" must be a Reference Path (%v) at %s/%s", key, err, at, key)
		return nil
	}
	return e
}

// dynamicString parses ErrorPath or CausePath: a Reference Path or an
// intrinsic function.
func (c *checker) dynamicString(m map[string]any, key, at string) Expr {
	v, ok := m[key]
	if !ok {
		return nil
	}
	s, _ := v.(string)
	if strings.HasPrefix(s, "States.") {
		e, err := ParseIntrinsic(s)
		if err != nil {
			c.add("SCHEMA_VALIDATION_FAILED: %v at %s/%s", err, at, key)
		}
		return e
	}
	return c.refPath(m, key, at)
}

// template compiles a payload template field.
func (c *checker) template(m map[string]any, key, at string) *Template {
	v, ok := m[key]
	if !ok {
		return nil
	}
	t, err := CompileTemplate(v, at+"/"+key)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			c.add("INVALID_JSON_PATH: %s", line)
		}
		return nil
	}
	return t
}

// transitions parses Next and End for the state types that have them.
func (c *checker) transitions(s *State, m map[string]any, at string, allowed []string) {
	if slices.Contains(allowed, "Next") {
		_, hasNext := m["Next"]
		end, hasEnd := m["End"].(bool)
		if _, present := m["End"]; present && !hasEnd {
			c.add("SCHEMA_VALIDATION_FAILED: The field \"End\" must be a boolean at %s/End", at)
		}
		s.Next = c.str(m, "Next", at)
		s.End = hasEnd && end
		switch {
		case hasNext && s.End:
			c.add("SCHEMA_VALIDATION_FAILED: Only one of \"Next\" or \"End\" can be set at %s", at)
		case !hasNext && !s.End:
			c.add("SCHEMA_VALIDATION_FAILED: One of \"Next\" or \"End\" is required at %s", at)
		}
	}
}

// branches parses a Parallel state's Branches.
func (c *checker) branches(s *State, m map[string]any, at string) {
	list, ok := m["Branches"].([]any)
	if !ok || len(list) == 0 {
		c.add("SCHEMA_VALIDATION_FAILED: The field \"Branches\" must be a non-empty array at %s", at)
	}
	for i, e := range list {
		bm, ok := e.(map[string]any)
		where := fmt.Sprintf("%s/Branches[%d]", at, i)
		if !ok {
			c.add("SCHEMA_VALIDATION_FAILED: A branch must be an object at %s", where)
			continue
		}
		c.onlyFields(bm, where, "StartAt", "States", "Comment")
		s.Branches = append(s.Branches, c.branch(bm, where))
	}
}

// processor parses a Map state's ItemProcessor (or its older name,
// Iterator).
func (c *checker) processor(s *State, m map[string]any, at string) {
	_, hasIt := m["Iterator"]
	_, hasIP := m["ItemProcessor"]
	switch {
	case hasIt && hasIP:
		c.add("SCHEMA_VALIDATION_FAILED: Only one of \"Iterator\" or \"ItemProcessor\" can be set at %s", at)
	case hasIt:
		bm, ok := m["Iterator"].(map[string]any)
		if !ok {
			c.add("SCHEMA_VALIDATION_FAILED: The field \"Iterator\" must be an object at %s", at)
			return
		}
		c.onlyFields(bm, at+"/Iterator", "StartAt", "States", "Comment")
		s.Processor = c.branch(bm, at+"/Iterator")
	case hasIP:
		bm, ok := m["ItemProcessor"].(map[string]any)
		if !ok {
			c.add("SCHEMA_VALIDATION_FAILED: The field \"ItemProcessor\" must be an object at %s", at)
			return
		}
		where := at + "/ItemProcessor"
		c.onlyFields(bm, where, "StartAt", "States", "Comment", "ProcessorConfig")
		if pc, ok := bm["ProcessorConfig"]; ok {
			pcm, _ := pc.(map[string]any)
			c.onlyFields(pcm, where+"/ProcessorConfig", "Mode")
			if mode, ok := pcm["Mode"]; ok && mode != "INLINE" {
				c.add("SCHEMA_VALIDATION_FAILED: The Map mode %v is not supported by this engine (only INLINE) at %s/ProcessorConfig/Mode", mode, where)
			}
		}
		s.Processor = c.branch(bm, where)
	default:
		c.add("SCHEMA_VALIDATION_FAILED: The field \"ItemProcessor\" is required at %s", at)
	}
}

// resource parses a Task state's Resource.
func (c *checker) resource(s *State, m map[string]any, at string) {
	s.Resource = c.str(m, "Resource", at)
	switch {
	case s.Resource == ResourceLambdaInvoke:
		s.Kind = LambdaInvoke
	case s.Resource == ResourceLambdaInvokeCallback:
		s.Kind = LambdaInvokeCallback
	case lambdaARN.MatchString(s.Resource):
		s.Kind = LambdaFunction
		s.FunctionName = s.Resource
	case s.Resource == "":
		c.add("SCHEMA_VALIDATION_FAILED: The field \"Resource\" is required at %s", at)
	default:
		c.add("SCHEMA_VALIDATION_FAILED: The resource %q is not supported by this engine (only %s, %s and Lambda function ARNs) at %s/Resource", s.Resource, ResourceLambdaInvoke, ResourceLambdaInvokeCallback, at)
	}
}
