// Package samtemplate reads the parts of a SAM template (template.yaml) that the
// local cloud needs: parameters, function globals, functions with their HttpApi
// events and DynamoDB stream events, the HttpApi JWT authorizer, DynamoDB
// tables (with their streams), SQS queues (as names and ARNs only), state
// machines, Secrets Manager secrets, EventBridge event buses, and the
// functions' and state machines' Schedule and ScheduleV2 events. It keeps
// property values as yaml.v3 nodes and resolves CloudFormation intrinsic
// functions (short and long forms) through a Resolver, with local stand-ins for
// names and ARNs.
package samtemplate

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Resource types the local cloud understands.
const (
	TypeFunction     = "AWS::Serverless::Function"
	TypeHttpApi      = "AWS::Serverless::HttpApi"
	TypeTable        = "AWS::DynamoDB::Table"
	TypeStateMachine = "AWS::Serverless::StateMachine"
	TypeSecret       = "AWS::SecretsManager::Secret"
	TypeLogGroup     = "AWS::Logs::LogGroup"
	TypeQueue        = "AWS::SQS::Queue"
)

// Template is a parsed SAM template. Values are resolved with a Resolver when
// the template is loaded (see Load), so every exported field holds plain strings.
type Template struct {
	// Path is the file the template was read from; Dir is its directory, to
	// which relative paths (DefinitionUri, CodeUri) refer.
	Path, Dir string
	// Parameters by name, in file order in ParameterOrder.
	Parameters     map[string]Parameter
	ParameterOrder []string
	// Globals holds Globals.Function.
	Globals FunctionGlobals
	// Functions, HttpApis, Tables, StateMachines and Secrets are in file order.
	Functions     []Function
	HttpApis      []HttpApi
	Tables        []Table
	StateMachines []StateMachine
	Secrets       []Secret
	EventBuses    []EventBus
	// Resources maps every logical id to its raw resource.
	Resources map[string]*Resource
	// resourceOrder keeps the file order of Resources.
	resourceOrder []string
	conditions    map[string]*yaml.Node
}

// Parameter is a template parameter.
type Parameter struct {
	Name, Type string
	// Default is the parameter's default; HasDefault tells an empty default
	// from none.
	Default    string
	HasDefault bool
}

// Resource is a raw template resource.
type Resource struct {
	LogicalID  string
	Type       string
	Properties *yaml.Node
	Metadata   *yaml.Node
	Condition  string
	// DeletionPolicy and UpdateReplacePolicy as written ("Retain", ...), or "".
	DeletionPolicy      string
	UpdateReplacePolicy string
}

// FunctionGlobals is Globals.Function (the keys the local cloud uses).
type FunctionGlobals struct {
	Timeout    int
	MemorySize int
	// Environment is Globals.Function.Environment.Variables, resolved.
	Environment map[string]string
}

// Function is an AWS::Serverless::Function.
type Function struct {
	LogicalID string
	// Timeout in seconds and MemorySize in MB, with Globals and SAM's defaults
	// (3 s, 128 MB) applied.
	Timeout    int
	MemorySize int
	// Environment is Globals.Function.Environment.Variables merged with the
	// function's own (the function's win), resolved.
	Environment map[string]string
	// GoPackage is Metadata.GoPackage, e.g. "./functions/create-provider".
	GoPackage string
	// CodeURI is the CodeUri property when it is a plain string.
	CodeURI string
	// Events are the function's HttpApi events.
	Events []HttpEvent
	// StreamEvents are the function's DynamoDB events (event source
	// mappings on a table's stream), in file order.
	StreamEvents []StreamEvent
	// ScheduleEvents are the function's Schedule and ScheduleV2 events,
	// in file order.
	ScheduleEvents []ScheduleEvent
}

// HttpEvent is an HttpApi event of a function.
type HttpEvent struct {
	// Name is the event's key under Events.
	Name string
	// Path and Method as written ("/providers/{id}", "post"; Method may be "ANY").
	Path, Method string
	// ApiID is the logical id of the HttpApi the event refers to, or "" for
	// SAM's implicit API.
	ApiID string
	// AuthNone is true for Auth: {Authorizer: NONE}.
	AuthNone bool
	// Authorizer is Auth.Authorizer when it names an authorizer.
	Authorizer string
	// AuthorizationScopes are Auth.AuthorizationScopes.
	AuthorizationScopes []string
}

// HttpApi is an AWS::Serverless::HttpApi (or Globals.HttpApi, with LogicalID "").
type HttpApi struct {
	LogicalID         string
	DefaultAuthorizer string
	// Authorizers by name; only JWT authorizers are kept.
	Authorizers map[string]JWTAuthorizer
}

// JWTAuthorizer is an HttpApi JWT authorizer's configuration.
type JWTAuthorizer struct {
	Issuer         string
	Audience       []string
	IdentitySource string
	// Err records why Issuer or Audience could not be resolved, if so.
	Err error
}

// Table is an AWS::DynamoDB::Table.
type Table struct {
	LogicalID string
	// Name is TableName, or the logical id when TableName is absent.
	Name                   string
	AttributeDefinitions   []AttributeDefinition
	KeySchema              []KeyElement
	GlobalSecondaryIndexes []SecondaryIndex
	LocalSecondaryIndexes  []SecondaryIndex
	BillingMode            string
	// TTLAttribute is TimeToLiveSpecification.AttributeName when Enabled.
	TTLAttribute string
	// StreamViewType is StreamSpecification.StreamViewType (KEYS_ONLY,
	// NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES), or "" when the table has
	// no stream; StreamARN is then the stream's local ARN (StreamARN(Name)).
	StreamViewType string
	StreamARN      string
}

// AttributeDefinition is one of a table's AttributeDefinitions.
type AttributeDefinition struct{ Name, Type string }

// KeyElement is one element of a KeySchema.
type KeyElement struct{ Name, KeyType string }

// SecondaryIndex is a global or local secondary index.
type SecondaryIndex struct {
	Name             string
	KeySchema        []KeyElement
	ProjectionType   string
	NonKeyAttributes []string
}

// StateMachine is an AWS::Serverless::StateMachine.
type StateMachine struct {
	LogicalID string
	// Name is the Name property, resolved, or the logical id when absent;
	// ARN is the local ARN `!Ref` gives (StateMachineARN(Name)).
	Name, ARN string
	// DefinitionURI is DefinitionUri as written; DefinitionPath is it joined
	// to the template's directory.
	DefinitionURI  string
	DefinitionPath string
	// DefinitionSubstitutions, resolved to strings.
	DefinitionSubstitutions map[string]string
	// Type is STANDARD (the default) or EXPRESS.
	Type string
	// ScheduleEvents are the state machine's Schedule and ScheduleV2
	// events, in file order.
	ScheduleEvents []ScheduleEvent
}

// Secret is an AWS::SecretsManager::Secret.
type Secret struct {
	LogicalID string
	// Name is the Name property, resolved, or the logical id when absent;
	// ARN is the local (partial, suffix-less) ARN `!Ref` gives (SecretARN(Name)).
	Name, ARN string
	// SecretString is the SecretString property, if any.
	SecretString string
	// Generate is true when GenerateSecretString is present; PasswordLength
	// is its PasswordLength (0 when not given: AWS's default is 32).
	Generate       bool
	PasswordLength int
}

// Load reads and resolves the template at path. params override parameter
// defaults (Parameter name → value).
func Load(path string, params map[string]string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	t, err := Parse(data, params)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", path, err)
	}
	t.Path = path
	t.Dir = filepath.Dir(path)
	for i := range t.StateMachines {
		sm := &t.StateMachines[i]
		if sm.DefinitionURI != "" {
			sm.DefinitionPath = filepath.Join(t.Dir, sm.DefinitionURI)
		}
	}
	return t, nil
}

// Parse parses template text; see Load.
func Parse(data []byte, params map[string]string) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not a YAML mapping")
	}
	root := doc.Content[0]
	t := &Template{Parameters: map[string]Parameter{}, Resources: map[string]*Resource{}, conditions: map[string]*yaml.Node{}}

	if n := get(root, "Parameters"); n != nil {
		for _, kv := range pairs(n) {
			p := Parameter{Name: kv.key}
			if v := get(kv.val, "Type"); v != nil {
				p.Type = v.Value
			}
			if v := get(kv.val, "Default"); v != nil {
				if v.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("parameter %s: Default must be a scalar", kv.key)
				}
				p.Default, p.HasDefault = v.Value, true
			}
			t.Parameters[p.Name] = p
			t.ParameterOrder = append(t.ParameterOrder, p.Name)
		}
	}
	for name := range params {
		if _, ok := t.Parameters[name]; !ok {
			return nil, fmt.Errorf("parameter override %q: no such parameter in the template", name)
		}
	}
	if n := get(root, "Conditions"); n != nil {
		for _, kv := range pairs(n) {
			t.conditions[kv.key] = kv.val
		}
	}
	resources := get(root, "Resources")
	if resources == nil {
		return nil, fmt.Errorf("no Resources")
	}
	for _, kv := range pairs(resources) {
		r := &Resource{LogicalID: kv.key, Properties: get(kv.val, "Properties"), Metadata: get(kv.val, "Metadata")}
		if v := get(kv.val, "Type"); v != nil {
			r.Type = v.Value
		}
		if v := get(kv.val, "Condition"); v != nil {
			r.Condition = v.Value
		}
		if v := get(kv.val, "DeletionPolicy"); v != nil {
			r.DeletionPolicy = v.Value
		}
		if v := get(kv.val, "UpdateReplacePolicy"); v != nil {
			r.UpdateReplacePolicy = v.Value
		}
		t.Resources[r.LogicalID] = r
		t.resourceOrder = append(t.resourceOrder, r.LogicalID)
	}

	res := NewResolver(t, params)
	globals := get(root, "Globals")
	if err := t.loadGlobals(res, globals); err != nil {
		return nil, err
	}
	if g := get(globals, "HttpApi"); g != nil {
		api, err := loadHttpApi(res, "", g)
		if err != nil {
			return nil, err
		}
		t.HttpApis = append(t.HttpApis, api)
	}
	for _, id := range t.resourceOrder {
		r := t.Resources[id]
		if r.Condition != "" {
			ok, err := res.Condition(r.Condition)
			if err != nil {
				return nil, fmt.Errorf("resource %s: %w", id, err)
			}
			if !ok {
				continue
			}
		}
		var err error
		switch r.Type {
		case TypeFunction:
			var f Function
			f, err = t.loadFunction(res, r)
			t.Functions = append(t.Functions, f)
		case TypeHttpApi:
			var api HttpApi
			api, err = loadHttpApi(res, id, r.Properties)
			t.HttpApis = append(t.HttpApis, api)
		case TypeTable:
			var tb Table
			tb, err = loadTable(res, r)
			t.Tables = append(t.Tables, tb)
		case TypeStateMachine:
			var sm StateMachine
			sm, err = loadStateMachine(res, r)
			t.StateMachines = append(t.StateMachines, sm)
		case TypeSecret:
			var sec Secret
			sec, err = loadSecret(res, r)
			t.Secrets = append(t.Secrets, sec)
		case TypeEventBus:
			var b EventBus
			b, err = loadEventBus(res, r)
			t.EventBuses = append(t.EventBuses, b)
		}
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", id, err)
		}
	}
	t.linkStreamEvents()
	return t, nil
}

// Function returns the function with the given logical id.
func (t *Template) Function(logicalID string) (*Function, bool) {
	for i := range t.Functions {
		if t.Functions[i].LogicalID == logicalID {
			return &t.Functions[i], true
		}
	}
	return nil, false
}

// HttpApi returns the HttpApi with the given logical id; "" is Globals.HttpApi
// (SAM's implicit API).
func (t *Template) HttpApi(logicalID string) (*HttpApi, bool) {
	for i := range t.HttpApis {
		if t.HttpApis[i].LogicalID == logicalID {
			return &t.HttpApis[i], true
		}
	}
	return nil, false
}

func (t *Template) loadGlobals(res *Resolver, globals *yaml.Node) error {
	t.Globals = FunctionGlobals{Timeout: 3, MemorySize: 128, Environment: map[string]string{}}
	g := get(globals, "Function")
	if g == nil {
		return nil
	}
	var err error
	if t.Globals.Timeout, err = intProp(res, g, "Timeout", 3); err != nil {
		return fmt.Errorf("Globals.Function: %w", err)
	}
	if t.Globals.MemorySize, err = intProp(res, g, "MemorySize", 128); err != nil {
		return fmt.Errorf("Globals.Function: %w", err)
	}
	if err := envInto(res, g, t.Globals.Environment); err != nil {
		return fmt.Errorf("Globals.Function: %w", err)
	}
	return nil
}

func (t *Template) loadFunction(res *Resolver, r *Resource) (Function, error) {
	f := Function{LogicalID: r.LogicalID, Environment: map[string]string{}}
	p := r.Properties
	var err error
	if f.Timeout, err = intProp(res, p, "Timeout", t.Globals.Timeout); err != nil {
		return f, err
	}
	if f.MemorySize, err = intProp(res, p, "MemorySize", t.Globals.MemorySize); err != nil {
		return f, err
	}
	for k, v := range t.Globals.Environment {
		f.Environment[k] = v
	}
	if err := envInto(res, p, f.Environment); err != nil {
		return f, err
	}
	if m := get(r.Metadata, "GoPackage"); m != nil {
		if f.GoPackage, err = res.String(m); err != nil {
			return f, fmt.Errorf("Metadata.GoPackage: %w", err)
		}
	}
	if c := get(p, "CodeUri"); c != nil && c.Kind == yaml.ScalarNode {
		f.CodeURI, _ = res.String(c)
	}
	events := get(p, "Events")
	for _, kv := range pairs(events) {
		typ := get(kv.val, "Type")
		if typ != nil && typ.Value == "DynamoDB" {
			ev, err := loadStreamEvent(res, kv.key, get(kv.val, "Properties"))
			if err != nil {
				return f, fmt.Errorf("event %s: %w", kv.key, err)
			}
			f.StreamEvents = append(f.StreamEvents, ev)
			continue
		}
		if typ == nil || typ.Value != "HttpApi" {
			continue
		}
		ep := get(kv.val, "Properties")
		ev := HttpEvent{Name: kv.key, Path: "$default", Method: "ANY"}
		if n := get(ep, "Path"); n != nil {
			if ev.Path, err = res.String(n); err != nil {
				return f, fmt.Errorf("event %s Path: %w", kv.key, err)
			}
		}
		if n := get(ep, "Method"); n != nil {
			if ev.Method, err = res.String(n); err != nil {
				return f, fmt.Errorf("event %s Method: %w", kv.key, err)
			}
		}
		if n := get(ep, "ApiId"); n != nil {
			ev.ApiID = refTarget(n)
		}
		if auth := get(ep, "Auth"); auth != nil {
			if n := get(auth, "Authorizer"); n != nil {
				name, err := res.String(n)
				if err != nil {
					return f, fmt.Errorf("event %s Auth.Authorizer: %w", kv.key, err)
				}
				if name == "NONE" {
					ev.AuthNone = true
				} else {
					ev.Authorizer = name
				}
			}
			if n := get(auth, "AuthorizationScopes"); n != nil {
				if ev.AuthorizationScopes, err = res.Strings(n); err != nil {
					return f, fmt.Errorf("event %s Auth.AuthorizationScopes: %w", kv.key, err)
				}
			}
		}
		f.Events = append(f.Events, ev)
	}
	if f.ScheduleEvents, err = loadScheduleEvents(res, r); err != nil {
		return f, err
	}
	return f, nil
}

func loadHttpApi(res *Resolver, id string, p *yaml.Node) (HttpApi, error) {
	api := HttpApi{LogicalID: id, Authorizers: map[string]JWTAuthorizer{}}
	auth := get(p, "Auth")
	if n := get(auth, "DefaultAuthorizer"); n != nil {
		api.DefaultAuthorizer, _ = res.String(n)
	}
	for _, kv := range pairs(get(auth, "Authorizers")) {
		cfg := get(kv.val, "JwtConfiguration")
		if cfg == nil {
			continue
		}
		a := JWTAuthorizer{IdentitySource: "$request.header.Authorization"}
		if n := get(kv.val, "IdentitySource"); n != nil {
			a.IdentitySource, _ = res.String(n)
		}
		if n := getFold(cfg, "issuer"); n != nil {
			if a.Issuer, a.Err = res.String(n); a.Err != nil {
				a.Err = fmt.Errorf("authorizer %s issuer: %w", kv.key, a.Err)
			}
		}
		if n := getFold(cfg, "audience"); n != nil && a.Err == nil {
			if a.Audience, a.Err = res.Strings(n); a.Err != nil {
				a.Err = fmt.Errorf("authorizer %s audience: %w", kv.key, a.Err)
			}
		}
		api.Authorizers[kv.key] = a
	}
	return api, nil
}

func loadTable(res *Resolver, r *Resource) (Table, error) {
	p := r.Properties
	tb := Table{LogicalID: r.LogicalID, Name: r.LogicalID}
	if n := get(p, "TableName"); n != nil {
		name, err := res.String(n)
		if err != nil {
			return tb, fmt.Errorf("TableName: %w", err)
		}
		tb.Name = name
	}
	if n := get(p, "BillingMode"); n != nil {
		tb.BillingMode, _ = res.String(n)
	}
	for _, a := range items(get(p, "AttributeDefinitions")) {
		name, err1 := res.String(get(a, "AttributeName"))
		typ, err2 := res.String(get(a, "AttributeType"))
		if err := firstErr(err1, err2); err != nil {
			return tb, fmt.Errorf("AttributeDefinitions: %w", err)
		}
		tb.AttributeDefinitions = append(tb.AttributeDefinitions, AttributeDefinition{Name: name, Type: typ})
	}
	var err error
	if tb.KeySchema, err = keySchema(res, get(p, "KeySchema")); err != nil {
		return tb, err
	}
	for _, field := range []string{"GlobalSecondaryIndexes", "LocalSecondaryIndexes"} {
		for _, ix := range items(get(p, field)) {
			si := SecondaryIndex{}
			if si.Name, err = res.String(get(ix, "IndexName")); err != nil {
				return tb, fmt.Errorf("%s IndexName: %w", field, err)
			}
			if si.KeySchema, err = keySchema(res, get(ix, "KeySchema")); err != nil {
				return tb, fmt.Errorf("%s %s: %w", field, si.Name, err)
			}
			proj := get(ix, "Projection")
			si.ProjectionType = "ALL"
			if n := get(proj, "ProjectionType"); n != nil {
				si.ProjectionType, _ = res.String(n)
			}
			if n := get(proj, "NonKeyAttributes"); n != nil {
				if si.NonKeyAttributes, err = res.Strings(n); err != nil {
					return tb, fmt.Errorf("%s %s NonKeyAttributes: %w", field, si.Name, err)
				}
			}
			if field == "GlobalSecondaryIndexes" {
				tb.GlobalSecondaryIndexes = append(tb.GlobalSecondaryIndexes, si)
			} else {
				tb.LocalSecondaryIndexes = append(tb.LocalSecondaryIndexes, si)
			}
		}
	}
	if ttl := get(p, "TimeToLiveSpecification"); ttl != nil {
		enabled, _ := res.String(get(ttl, "Enabled"))
		if enabled == "true" {
			tb.TTLAttribute, _ = res.String(get(ttl, "AttributeName"))
		}
	}
	if spec := get(p, "StreamSpecification"); spec != nil {
		if tb.StreamViewType, err = streamViewType(res, spec); err != nil {
			return tb, err
		}
		tb.StreamARN = StreamARN(tb.Name)
	}
	return tb, nil
}

func keySchema(res *Resolver, n *yaml.Node) ([]KeyElement, error) {
	var ks []KeyElement
	for _, k := range items(n) {
		name, err1 := res.String(get(k, "AttributeName"))
		typ, err2 := res.String(get(k, "KeyType"))
		if err := firstErr(err1, err2); err != nil {
			return nil, fmt.Errorf("KeySchema: %w", err)
		}
		ks = append(ks, KeyElement{Name: name, KeyType: typ})
	}
	if len(ks) == 0 {
		return nil, fmt.Errorf("KeySchema is missing")
	}
	return ks, nil
}

func loadStateMachine(res *Resolver, r *Resource) (StateMachine, error) {
	p := r.Properties
	sm := StateMachine{LogicalID: r.LogicalID, Type: "STANDARD", DefinitionSubstitutions: map[string]string{}}
	var err error
	if sm.Name, err = res.resourceName(r); err != nil {
		return sm, err
	}
	sm.ARN = StateMachineARN(sm.Name)
	if n := get(p, "DefinitionUri"); n != nil {
		if n.Kind != yaml.ScalarNode {
			return sm, fmt.Errorf("DefinitionUri: only a local path is supported")
		}
		sm.DefinitionURI = n.Value
	}
	if n := get(p, "Type"); n != nil {
		sm.Type, _ = res.String(n)
	}
	for _, kv := range pairs(get(p, "DefinitionSubstitutions")) {
		v, err := res.String(kv.val)
		if err != nil {
			return sm, fmt.Errorf("DefinitionSubstitutions.%s: %w", kv.key, err)
		}
		sm.DefinitionSubstitutions[kv.key] = v
	}
	if sm.ScheduleEvents, err = loadScheduleEvents(res, r); err != nil {
		return sm, err
	}
	return sm, nil
}

func loadSecret(res *Resolver, r *Resource) (Secret, error) {
	p := r.Properties
	sec := Secret{LogicalID: r.LogicalID}
	var err error
	if sec.Name, err = res.resourceName(r); err != nil {
		return sec, err
	}
	sec.ARN = SecretARN(sec.Name)
	if n := get(p, "SecretString"); n != nil {
		if sec.SecretString, err = res.String(n); err != nil {
			return sec, fmt.Errorf("SecretString: %w", err)
		}
	}
	if g := get(p, "GenerateSecretString"); g != nil {
		sec.Generate = true
		if sec.PasswordLength, err = intProp(res, g, "PasswordLength", 0); err != nil {
			return sec, fmt.Errorf("GenerateSecretString: %w", err)
		}
	}
	return sec, nil
}

// envInto resolves Environment.Variables of a function (or globals) into dst.
// A variable resolving to AWS::NoValue is left out.
func envInto(res *Resolver, props *yaml.Node, dst map[string]string) error {
	vars := get(get(props, "Environment"), "Variables")
	for _, kv := range pairs(vars) {
		v, err := res.Resolve(kv.val)
		if err != nil {
			return fmt.Errorf("Environment.Variables.%s: %w", kv.key, err)
		}
		if v == NoValue {
			delete(dst, kv.key)
			continue
		}
		s, err := scalarString(v)
		if err != nil {
			return fmt.Errorf("Environment.Variables.%s: %w", kv.key, err)
		}
		dst[kv.key] = s
	}
	return nil
}

func intProp(res *Resolver, props *yaml.Node, key string, def int) (int, error) {
	n := get(props, key)
	if n == nil {
		return def, nil
	}
	s, err := res.String(n)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not an integer", key, s)
	}
	return v, nil
}

// SortedKeys returns the keys of m in order; a small helper for callers
// printing environments.
func SortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type kv struct {
	key string
	val *yaml.Node
}

// pairs lists a mapping node's entries in order; nil or a non-mapping gives none.
func pairs(n *yaml.Node) []kv {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]kv, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, kv{n.Content[i].Value, n.Content[i+1]})
	}
	return out
}

// get returns the value of key in mapping n, or nil.
func get(n *yaml.Node, key string) *yaml.Node {
	for _, p := range pairs(n) {
		if p.key == key {
			return p.val
		}
	}
	return nil
}

// getFold is get with a case-insensitive key (JwtConfiguration accepts
// "issuer" and "Issuer").
func getFold(n *yaml.Node, key string) *yaml.Node {
	for _, p := range pairs(n) {
		if len(p.key) == len(key) && (p.key == key || equalFold(p.key, key)) {
			return p.val
		}
	}
	return nil
}

func equalFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		ca, cb := a[i]|0x20, b[i]|0x20
		if ca != cb {
			return false
		}
	}
	return true
}

func items(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// refTarget returns the logical id named by `!Ref X` / `{Ref: X}` or a plain name.
func refTarget(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	if r := get(n, "Ref"); r != nil {
		return r.Value
	}
	return ""
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
