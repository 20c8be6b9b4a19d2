package samtemplate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Local stand-ins for the pseudo parameters.
const (
	Region    = "us-east-1"
	AccountID = "000000000000"
	Partition = "aws"
	StackName = "partner-cloud-local"
)

// NoValue is what Resolve returns for `!Ref AWS::NoValue`; callers drop the key.
var NoValue = noValue{}

type noValue struct{}

// Resolver resolves intrinsic functions in template values for local use:
// a function's name is its logical id, a table's name its TableName, a state
// machine's or secret's name its Name property (else its logical id), and ARNs
// use Region and AccountID.
type Resolver struct {
	t      *Template
	params map[string]string
}

// NewResolver returns a Resolver for t; params override parameter defaults.
func NewResolver(t *Template, params map[string]string) *Resolver {
	return &Resolver{t: t, params: params}
}

// Resolver returns a resolver for t with the given parameter overrides.
func (t *Template) Resolver(params map[string]string) *Resolver { return NewResolver(t, params) }

// Resolve turns a node into a Go value: scalars become strings (as
// CloudFormation passes them), sequences []any, mappings map[string]any, and
// intrinsic functions their local value. Keys whose value is AWS::NoValue are
// dropped from mappings and sequences.
func (r *Resolver) Resolve(n *yaml.Node) (any, error) {
	if n == nil {
		return nil, fmt.Errorf("missing value")
	}
	if n.Kind == yaml.AliasNode {
		return r.Resolve(n.Alias)
	}
	if fn, arg, ok := intrinsic(n); ok {
		return r.call(fn, arg)
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, nil
		}
		return n.Value, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := r.Resolve(c)
			if err != nil {
				return nil, err
			}
			if v != NoValue {
				out = append(out, v)
			}
		}
		return out, nil
	case yaml.MappingNode:
		out := map[string]any{}
		for _, p := range pairs(n) {
			v, err := r.Resolve(p.val)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.key, err)
			}
			if v != NoValue {
				out[p.key] = v
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported YAML node at line %d", n.Line)
}

// String resolves n and requires a scalar result.
func (r *Resolver) String(n *yaml.Node) (string, error) {
	v, err := r.Resolve(n)
	if err != nil {
		return "", err
	}
	return scalarString(v)
}

// Strings resolves n to a list of strings; a single scalar is a one-element list.
func (r *Resolver) Strings(n *yaml.Node) ([]string, error) {
	v, err := r.Resolve(n)
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			if out[i], err = scalarString(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("expected a list of strings, got %T", v)
}

func scalarString(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case nil:
		return "", nil
	case noValue:
		return "", fmt.Errorf("AWS::NoValue where a value is required")
	}
	return "", fmt.Errorf("expected a string, got %T", v)
}

// intrinsic recognises `!Fn arg` and `{"Fn::X": arg}` / `{Ref: arg}`.
func intrinsic(n *yaml.Node) (fn string, arg *yaml.Node, ok bool) {
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		name := n.Tag[1:]
		if name != "Ref" && name != "Condition" {
			name = "Fn::" + name
		}
		// The short form's argument is the node itself without its tag.
		c := *n
		c.Tag = ""
		c.Style &^= yaml.TaggedStyle
		switch c.Kind {
		case yaml.ScalarNode:
			c.Tag = "!!str"
		case yaml.SequenceNode:
			c.Tag = "!!seq"
		case yaml.MappingNode:
			c.Tag = "!!map"
		}
		return name, &c, true
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		k := n.Content[0].Value
		if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return k, n.Content[1], true
		}
	}
	return "", nil, false
}

func (r *Resolver) call(fn string, arg *yaml.Node) (any, error) {
	switch fn {
	case "Ref":
		if arg.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("Ref: expected a name")
		}
		return r.ref(arg.Value)
	case "Fn::GetAtt":
		var id, attr string
		switch arg.Kind {
		case yaml.ScalarNode:
			var ok bool
			id, attr, ok = strings.Cut(arg.Value, ".")
			if !ok {
				return nil, fmt.Errorf("GetAtt %q: expected Resource.Attribute", arg.Value)
			}
		case yaml.SequenceNode:
			if len(arg.Content) != 2 {
				return nil, fmt.Errorf("GetAtt: expected [Resource, Attribute]")
			}
			id = arg.Content[0].Value
			a, err := r.String(arg.Content[1])
			if err != nil {
				return nil, fmt.Errorf("GetAtt %s: %w", id, err)
			}
			attr = a
		default:
			return nil, fmt.Errorf("GetAtt: unexpected argument")
		}
		return r.getAtt(id, attr)
	case "Fn::Sub":
		return r.sub(arg)
	case "Fn::Join":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return nil, fmt.Errorf("Join: expected [delimiter, [values]]")
		}
		delim, err := r.String(arg.Content[0])
		if err != nil {
			return nil, fmt.Errorf("Join: %w", err)
		}
		parts, err := r.Strings(arg.Content[1])
		if err != nil {
			return nil, fmt.Errorf("Join: %w", err)
		}
		return strings.Join(parts, delim), nil
	case "Fn::Select":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return nil, fmt.Errorf("Select: expected [index, list]")
		}
		is, err := r.String(arg.Content[0])
		if err != nil {
			return nil, fmt.Errorf("Select: %w", err)
		}
		i, err := strconv.Atoi(is)
		if err != nil {
			return nil, fmt.Errorf("Select: index %q", is)
		}
		list, err := r.Strings(arg.Content[1])
		if err != nil {
			return nil, fmt.Errorf("Select: %w", err)
		}
		if i < 0 || i >= len(list) {
			return nil, fmt.Errorf("Select: index %d out of range", i)
		}
		return list[i], nil
	case "Fn::Split":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return nil, fmt.Errorf("Split: expected [delimiter, string]")
		}
		delim, err1 := r.String(arg.Content[0])
		s, err2 := r.String(arg.Content[1])
		if err := firstErr(err1, err2); err != nil {
			return nil, fmt.Errorf("Split: %w", err)
		}
		var out []any
		for _, p := range strings.Split(s, delim) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::If":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
			return nil, fmt.Errorf("If: expected [condition, then, else]")
		}
		ok, err := r.Condition(arg.Content[0].Value)
		if err != nil {
			return nil, fmt.Errorf("If: %w", err)
		}
		if ok {
			return r.Resolve(arg.Content[1])
		}
		return r.Resolve(arg.Content[2])
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition":
		ok, err := r.evalCondition(fn, arg, 0)
		if err != nil {
			return nil, err
		}
		return strconv.FormatBool(ok), nil
	case "Fn::ToJsonString":
		v, err := r.Resolve(arg)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(v)
		return string(b), err
	}
	return nil, fmt.Errorf("intrinsic function %s is not supported by the local cloud", fn)
}

// Condition evaluates the named entry of the template's Conditions.
func (r *Resolver) Condition(name string) (bool, error) {
	return r.evalCondition("Condition", &yaml.Node{Kind: yaml.ScalarNode, Value: name}, 0)
}

func (r *Resolver) evalCondition(fn string, arg *yaml.Node, depth int) (bool, error) {
	if depth > 32 {
		return false, fmt.Errorf("conditions nest too deeply (a cycle?)")
	}
	sub := func(n *yaml.Node) (bool, error) {
		f, a, ok := intrinsic(n)
		if !ok {
			return false, fmt.Errorf("%s: expected a condition function", fn)
		}
		return r.evalCondition(f, a, depth+1)
	}
	switch fn {
	case "Condition":
		body, ok := r.t.conditions[arg.Value]
		if !ok {
			return false, fmt.Errorf("no condition named %q", arg.Value)
		}
		return sub(body)
	case "Fn::Equals":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return false, fmt.Errorf("Equals: expected two values")
		}
		a, err1 := r.String(arg.Content[0])
		b, err2 := r.String(arg.Content[1])
		if err := firstErr(err1, err2); err != nil {
			return false, fmt.Errorf("Equals: %w", err)
		}
		return a == b, nil
	case "Fn::Not":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 1 {
			return false, fmt.Errorf("Not: expected one condition")
		}
		v, err := sub(arg.Content[0])
		return !v, err
	case "Fn::And", "Fn::Or":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) == 0 {
			return false, fmt.Errorf("%s: expected a list of conditions", fn)
		}
		and := fn == "Fn::And"
		for _, c := range arg.Content {
			v, err := sub(c)
			if err != nil {
				return false, err
			}
			if and && !v {
				return false, nil
			}
			if !and && v {
				return true, nil
			}
		}
		return and, nil
	}
	return false, fmt.Errorf("%s is not a condition function", fn)
}

func (r *Resolver) ref(name string) (any, error) {
	switch name {
	case "AWS::Region":
		return Region, nil
	case "AWS::AccountId":
		return AccountID, nil
	case "AWS::Partition":
		return Partition, nil
	case "AWS::StackName":
		return StackName, nil
	case "AWS::StackId":
		return "arn:aws:cloudformation:" + Region + ":" + AccountID + ":stack/" + StackName + "/00000000-0000-0000-0000-000000000000", nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::NoValue":
		return NoValue, nil
	}
	if p, ok := r.t.Parameters[name]; ok {
		if v, ok := r.params[name]; ok {
			return v, nil
		}
		if !p.HasDefault {
			return nil, fmt.Errorf("parameter %s has no Default and no value was given", name)
		}
		return p.Default, nil
	}
	res, ok := r.t.Resources[name]
	if !ok {
		return nil, fmt.Errorf("Ref %s: no such parameter or resource", name)
	}
	switch res.Type {
	case TypeTable:
		return r.tableName(res)
	case TypeStateMachine:
		n, err := r.resourceName(res)
		if err != nil {
			return nil, err
		}
		return StateMachineARN(n), nil
	case TypeSecret:
		n, err := r.resourceName(res)
		if err != nil {
			return nil, err
		}
		return SecretARN(n), nil
	case TypeLogGroup:
		return r.logGroupName(res)
	case TypeQueue:
		n, err := r.queueName(res)
		if err != nil {
			return nil, err
		}
		return QueueURL(n), nil
	case TypeEventBus:
		return r.resourceName(res)
	}
	// Functions (local function name = logical id) and every other type.
	return name, nil
}

// resourceName is a state machine's, secret's or event bus's Name property, resolved, or
// its logical id when it has none (CloudFormation would generate one).
func (r *Resolver) resourceName(res *Resource) (string, error) {
	if n := get(res.Properties, "Name"); n != nil {
		s, err := r.String(n)
		if err != nil {
			return "", fmt.Errorf("%s Name: %w", res.LogicalID, err)
		}
		return s, nil
	}
	return res.LogicalID, nil
}

// logGroupName is a log group's LogGroupName, resolved, or its logical id.
func (r *Resolver) logGroupName(res *Resource) (string, error) {
	if n := get(res.Properties, "LogGroupName"); n != nil {
		return r.String(n)
	}
	return res.LogicalID, nil
}

// queueName is a queue's QueueName, resolved, or its logical id
// (CloudFormation would generate one).
func (r *Resolver) queueName(res *Resource) (string, error) {
	if n := get(res.Properties, "QueueName"); n != nil {
		return r.String(n)
	}
	return res.LogicalID, nil
}

func (r *Resolver) tableName(res *Resource) (string, error) {
	if n := get(res.Properties, "TableName"); n != nil {
		return r.String(n)
	}
	return res.LogicalID, nil
}

func (r *Resolver) getAtt(id, attr string) (any, error) {
	res, ok := r.t.Resources[id]
	if !ok {
		return nil, fmt.Errorf("GetAtt %s.%s: no such resource", id, attr)
	}
	switch {
	case res.Type == TypeFunction && attr == "Arn":
		return FunctionARN(id), nil
	case res.Type == TypeStateMachine && (attr == "Arn" || attr == "Name"):
		name, err := r.resourceName(res)
		if err != nil {
			return nil, err
		}
		if attr == "Name" {
			return name, nil
		}
		return StateMachineARN(name), nil
	case res.Type == TypeTable && (attr == "Arn" || attr == "StreamArn"):
		name, err := r.tableName(res)
		if err != nil {
			return nil, err
		}
		if attr == "Arn" {
			return TableARN(name), nil
		}
		if get(res.Properties, "StreamSpecification") == nil {
			return nil, fmt.Errorf("GetAtt %s.StreamArn: the table has no StreamSpecification", id)
		}
		return StreamARN(name), nil
	case res.Type == TypeQueue && (attr == "Arn" || attr == "QueueName" || attr == "QueueUrl"):
		name, err := r.queueName(res)
		if err != nil {
			return nil, err
		}
		switch attr {
		case "Arn":
			return QueueARN(name), nil
		case "QueueUrl":
			return QueueURL(name), nil
		}
		return name, nil
	case res.Type == TypeEventBus && (attr == "Arn" || attr == "Name"):
		name, err := r.resourceName(res)
		if err != nil {
			return nil, err
		}
		if attr == "Name" {
			return name, nil
		}
		return EventBusARN(name), nil
	case res.Type == TypeLogGroup && attr == "Arn":
		name, err := r.logGroupName(res)
		if err != nil {
			return nil, err
		}
		return "arn:aws:logs:" + Region + ":" + AccountID + ":log-group:" + name + ":*", nil
	}
	return nil, fmt.Errorf("GetAtt %s.%s: attribute not supported locally for %s", id, attr, res.Type)
}

// FunctionARN is the local ARN of the function with the given logical id.
func FunctionARN(logicalID string) string {
	return "arn:aws:lambda:" + Region + ":" + AccountID + ":function:" + logicalID
}

// StateMachineARN is the local ARN of the state machine with the given logical id.
func StateMachineARN(logicalID string) string {
	return "arn:aws:states:" + Region + ":" + AccountID + ":stateMachine:" + logicalID
}

// SecretARN is the local ARN of the secret with the given name. It is a
// partial ARN (without the random six-character suffix AWS appends), which
// Secrets Manager, and the local emulator, accept wherever a secret id goes.
func SecretARN(name string) string {
	return "arn:aws:secretsmanager:" + Region + ":" + AccountID + ":secret:" + name
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

func (r *Resolver) sub(arg *yaml.Node) (any, error) {
	var tmpl string
	vars := map[string]string{}
	switch arg.Kind {
	case yaml.ScalarNode:
		tmpl = arg.Value
	case yaml.SequenceNode:
		if len(arg.Content) != 2 || arg.Content[0].Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("Sub: expected [template, {variables}]")
		}
		tmpl = arg.Content[0].Value
		for _, p := range pairs(arg.Content[1]) {
			v, err := r.String(p.val)
			if err != nil {
				return nil, fmt.Errorf("Sub variable %s: %w", p.key, err)
			}
			vars[p.key] = v
		}
	default:
		return nil, fmt.Errorf("Sub: unexpected argument")
	}
	var firstErr error
	out := subVar.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") { // ${!Literal} is written as ${Literal}
			return "${" + name[1:] + "}"
		}
		if v, ok := vars[name]; ok {
			return v
		}
		var v any
		var err error
		if id, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
			v, err = r.getAtt(id, attr)
		} else {
			v, err = r.ref(name)
		}
		if err == nil {
			var s string
			s, err = scalarString(v)
			if err == nil {
				return s
			}
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("Sub %q: %w", tmpl, err)
		}
		return m
	})
	return out, firstErr
}
