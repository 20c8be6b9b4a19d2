package asl

// JSONata query language: field values in which every string written
// "{% expression %}" is a JSONata expression, evaluated against the
// reserved variable $states (input, context, result, errorOutput) and the
// workflow variables.
//
// The expressions run on github.com/xiatechs/jsonata-go rather than
// github.com/blues/jsonata-go, the other Go port. xiatechs is the maintained
// fork of blues (same API, releases after blues stopped at v1.5.4) and, unlike
// blues, keeps an empty array that a path selects (`$states.result` with a
// result of [] is [], as in JSONata 2.0.6, the version Step Functions runs;
// blues turns it into "nothing", which would silently drop an empty list from
// an Output). Its departures from JSONata 2.0.6 are handled here: the
// functions it adds that Step Functions lacks are refused as Step Functions
// refuses them, and the functions Step Functions adds are provided. Its
// arithmetic rounds to 8 decimal places, which no integer (seconds, counts)
// notices.

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	jsonata "github.com/xiatechs/jsonata-go"

	"github.com/partnercloud/azure/cmd/localcloud/internal/stepfunctions/jsonpath"
)

// Query languages.
const (
	JSONPath = "JSONPath"
	JSONata  = "JSONata"
)

// IsJSONataExpression reports whether a string is written "{% ... %}".
func IsJSONataExpression(s string) bool {
	return len(s) >= 4 && strings.HasPrefix(s, "{%") && strings.HasSuffix(s, "%}")
}

// JEnv is what the JSONata expressions of a state are evaluated against.
type JEnv struct {
	// State and EnteredEventID name the state in error causes.
	State          string
	EnteredEventID int64
	// States is the reserved variable $states: "input", "context" and,
	// where the field may read them, "result" and "errorOutput".
	States map[string]any
	// Variables are the workflow variables the state sees.
	Variables map[string]any
}

// JValue is a compiled JSONata field value: a JSON value whose strings
// written "{% ... %}" are expressions, at any depth of objects and arrays.
type JValue struct {
	root jnode
}

type jnode struct {
	literal any
	expr    string // the expression inside {% %}; "" for other nodes
	src     string // the string as written
	isObj   bool
	keys    []string
	fields  []jnode
	isArr   bool
	items   []jnode
}

// CompileJSONata compiles a field value; where names it in error messages
// (e.g. "/States/Invoke/Arguments"). Every expression is parsed now, so a
// syntax error refuses the definition.
func CompileJSONata(v any, where string) (*JValue, []string) {
	var problems []string
	n := compileJNode(v, where, &problems)
	return &JValue{root: n}, problems
}

func compileJNode(v any, where string, problems *[]string) jnode {
	switch t := v.(type) {
	case string:
		if !IsJSONataExpression(t) {
			return jnode{literal: t}
		}
		body := strings.TrimSpace(t[2 : len(t)-2])
		if body == "" {
			*problems = append(*problems, fmt.Sprintf("SCHEMA_VALIDATION_FAILED: The JSONata expression '%s' is empty at %s", t, where))
			return jnode{literal: t}
		}
		if _, err := jsonata.Compile(body); err != nil {
			*problems = append(*problems, fmt.Sprintf("SCHEMA_VALIDATION_FAILED: The JSONata expression '%s' is not valid (%v) at %s", body, err, where))
		}
		return jnode{expr: body, src: t}
	case map[string]any:
		n := jnode{isObj: true}
		for _, k := range sortedKeys(t) {
			n.keys = append(n.keys, k)
			n.fields = append(n.fields, compileJNode(t[k], where+"/"+k, problems))
		}
		return n
	case []any:
		n := jnode{isArr: true}
		for i, e := range t {
			n.items = append(n.items, compileJNode(e, fmt.Sprintf("%s[%d]", where, i), problems))
		}
		return n
	}
	return jnode{literal: v}
}

// IsObject reports whether the value is a JSON object (not an expression).
func (v *JValue) IsObject() bool { return v.root.isObj }

// IsExpression reports whether the whole value is one expression.
func (v *JValue) IsExpression() bool { return v.root.expr != "" }

// Literal returns the value when it holds no expression at all.
func (v *JValue) Literal() (any, bool) {
	if v.root.expr != "" || v.root.isObj || v.root.isArr {
		return nil, false
	}
	return v.root.literal, true
}

// Keys returns the keys of an object value.
func (v *JValue) Keys() []string { return v.root.keys }

// Field returns the value of one key of an object value.
func (v *JValue) Field(key string) (*JValue, bool) {
	for i, k := range v.root.keys {
		if k == key {
			return &JValue{root: v.root.fields[i]}, true
		}
	}
	return nil, false
}

// Eval evaluates the value; field is its location in the state for error
// causes (e.g. "Arguments" or "Catch[0]/Output"). Errors are *Error values
// named States.QueryEvaluationError.
func (v *JValue) Eval(env JEnv, field string) (any, error) {
	vars, err := env.bindings()
	if err != nil {
		return nil, err
	}
	return v.root.eval(env, vars, field)
}

func (n jnode) eval(env JEnv, vars map[string]any, field string) (any, error) {
	switch {
	case n.expr != "":
		return evalExpr(n.expr, env, vars, field)
	case n.isObj:
		out := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			v, err := n.fields[i].eval(env, vars, field+"/"+k)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	case n.isArr:
		out := make([]any, len(n.items))
		for i, it := range n.items {
			v, err := it.eval(env, vars, fmt.Sprintf("%s[%d]", field, i))
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	return jsonpath.DeepCopy(n.literal), nil
}

// bindings converts $states and the variables to the library's values.
func (env JEnv) bindings() (map[string]any, error) {
	vars := make(map[string]any, len(env.Variables)+1)
	for k, v := range env.Variables {
		vars[k] = toJSONata(v)
	}
	vars["states"] = toJSONata(env.States)
	return vars, nil
}

// queryError builds a States.QueryEvaluationError about one expression.
func (env JEnv) queryError(expr, field, format string, args ...any) *Error {
	return Errorf(ErrQueryEvaluation, "An error occurred while executing the state '%s' (entered at the event id #%d). The JSONata expression '%s' specified for the field '%s' %s",
		env.State, env.EnteredEventID, expr, field, fmt.Sprintf(format, args...))
}

// evalExpr evaluates one expression. An expression is compiled again for
// each evaluation because the library binds variables into the compiled
// expression, which executions running at once would otherwise share.
func evalExpr(src string, env JEnv, vars map[string]any, field string) (any, error) {
	registerFunctions()
	e, err := jsonata.Compile(src)
	if err != nil {
		return nil, env.queryError(src, field, "could not be parsed: %v", err)
	}
	if err := e.RegisterVars(vars); err != nil {
		return nil, env.queryError(src, field, "could not bind its variables: %v", err)
	}
	v, err := evalSafely(e)
	if errors.Is(err, jsonata.ErrUndefined) {
		return nil, env.queryError(src, field, "returned nothing (undefined).")
	}
	if err != nil {
		return nil, env.queryError(src, field, "threw an error during evaluation: %v", err)
	}
	out, err := fromJSONata(v)
	if err != nil {
		return nil, env.queryError(src, field, "returned an unexpected result type (%v).", err)
	}
	return out, nil
}

// evalSafely turns a panic of the library into an evaluation error.
func evalSafely(e *jsonata.Expr) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return e.Eval(nil)
}

// jnull is how the library represents JSON null.
var jnull *any

// toJSONata converts a document (json.Number numbers) to the library's
// values (float64 numbers, typed-nil null).
func toJSONata(v any) any {
	switch x := v.(type) {
	case nil:
		return jnull
	case json.Number:
		f, _ := x.Float64()
		return f
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = toJSONata(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toJSONata(e)
		}
		return out
	}
	return v
}

// fromJSONata converts a result to a document; functions and numbers that
// JSON cannot hold are refused.
func fromJSONata(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case *any:
		if x == nil {
			return nil, nil
		}
		return fromJSONata(*x)
	case string, bool:
		return x, nil
	case float64:
		return jsonNumber(x)
	case int:
		return json.Number(strconv.Itoa(x)), nil
	case int64:
		return json.Number(strconv.FormatInt(x, 10)), nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := fromJSONata(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := fromJSONata(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range rv.Len() {
			c, err := fromJSONata(rv.Index(i).Interface())
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			out := make(map[string]any, rv.Len())
			for _, k := range rv.MapKeys() {
				c, err := fromJSONata(rv.MapIndex(k).Interface())
				if err != nil {
					return nil, err
				}
				out[k.String()] = c
			}
			return out, nil
		}
	case reflect.Float32, reflect.Float64:
		return jsonNumber(rv.Float())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return json.Number(strconv.FormatInt(rv.Int(), 10)), nil
	}
	return nil, fmt.Errorf("a %s is not a JSON value", describe(v))
}

// describe names a library value's type for error messages.
func describe(v any) string {
	if strings.Contains(fmt.Sprintf("%T", v), "allable") {
		return "function"
	}
	return fmt.Sprintf("%T", v)
}

// jsonNumber writes a number as JSONata does: integers without a fraction.
func jsonNumber(f float64) (json.Number, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("%v is not a JSON number", f)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return json.Number(strconv.FormatFloat(f, 'f', -1, 64)), nil
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
}

// JSONType names a document value's JSON type for error causes.
func JSONType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	if isNumber(v) {
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

// EvalTyped evaluates the value and checks its JSON type with ok; want
// names the expected type in the error cause.
func (v *JValue) EvalTyped(env JEnv, field, want string, ok func(any) bool) (any, error) {
	out, err := v.Eval(env, field)
	if err != nil {
		return nil, err
	}
	if !ok(out) {
		src := v.root.src
		if src == "" {
			src = jsonpath.Encode(out)
		} else {
			src = v.root.expr
		}
		return nil, env.queryError(src, field, "returned an unexpected result type. Expected '%s', but was '%s' for value: %s", want, JSONType(out), jsonpath.Encode(out))
	}
	return out, nil
}

// EvalInteger evaluates an integer field (TimeoutSeconds, Seconds, ...)
// whose value must be at least min.
func (v *JValue) EvalInteger(env JEnv, field string, min int64) (int64, error) {
	out, err := v.EvalTyped(env, field, "integer", func(x any) bool {
		n, ok := toInt(x)
		return ok && n >= min
	})
	if err != nil {
		return 0, err
	}
	n, _ := toInt(out)
	return n, nil
}

// EvalString evaluates a string field.
func (v *JValue) EvalString(env JEnv, field string) (string, error) {
	out, err := v.EvalTyped(env, field, "string", func(x any) bool { _, ok := x.(string); return ok })
	if err != nil {
		return "", err
	}
	return out.(string), nil
}

// EvalBool evaluates a boolean field (a Choice rule's Condition).
func (v *JValue) EvalBool(env JEnv, field string) (bool, error) {
	out, err := v.EvalTyped(env, field, "boolean", func(x any) bool { _, ok := x.(bool); return ok })
	if err != nil {
		return false, err
	}
	return out.(bool), nil
}

var registerOnce sync.Once

// registerFunctions adds the functions Step Functions provides on top of
// JSONata and refuses those the library adds that Step Functions lacks
// ($eval is refused by Step Functions too: $parse replaces it).
func registerFunctions() {
	registerOnce.Do(func() {
		exts := map[string]jsonata.Extension{
			"partition": {Func: sfnPartition},
			"range":     {Func: sfnRange},
			"hash":      {Func: sfnHash},
			"uuid":      {Func: func() string { return uuid4() }},
			"parse":     {Func: sfnParse},
		}
		for _, name := range []string{"eval", "accumulatingSlice", "dateTimeDim", "dateTimeDimLite", "objectsToDocument",
			"objmerge", "oneToManyJoin", "renameKeys", "sjoin", "timeSince", "unescape"} {
			exts[name] = jsonata.Extension{Func: func(...any) (any, error) {
				return nil, fmt.Errorf("the function $%s is not available in Step Functions", name)
			}}
		}
		if err := jsonata.RegisterExts(exts); err != nil {
			panic(err) // the names and signatures above are fixed
		}
	})
}

// sfnPartition is $partition(array, size): the array in chunks of size.
func sfnPartition(arr []any, size float64) ([]any, error) {
	if size < 1 || size != math.Trunc(size) {
		return nil, fmt.Errorf("$partition: the chunk size must be a positive integer")
	}
	n := int(size)
	out := []any{}
	for i := 0; i < len(arr); i += n {
		out = append(out, append([]any(nil), arr[i:min(i+n, len(arr))]...))
	}
	return out, nil
}

// sfnRange is $range(start, end, step): the numbers from start to end
// (inclusive) in steps of step.
func sfnRange(start, end, step float64) ([]any, error) {
	if step == 0 || (end-start)/step > 1000 {
		return nil, fmt.Errorf("$range: the step must be non-zero and give at most 1000 items")
	}
	out := []any{}
	for x := start; (step > 0 && x <= end) || (step < 0 && x >= end); x += step {
		out = append(out, x)
	}
	return out, nil
}

// sfnHash is $hash(value, algorithm): the hexadecimal digest of a string.
func sfnHash(value, algorithm string) (string, error) {
	hashes := map[string]func() hash.Hash{"MD5": md5.New, "SHA-1": sha1.New, "SHA-256": sha256.New, "SHA-384": sha512.New384, "SHA-512": sha512.New}
	h, ok := hashes[algorithm]
	if !ok {
		names := make([]string, 0, len(hashes))
		for k := range hashes {
			names = append(names, k)
		}
		sort.Strings(names)
		return "", fmt.Errorf("$hash: the algorithm must be one of %s", strings.Join(names, ", "))
	}
	d := h()
	d.Write([]byte(value))
	return hex.EncodeToString(d.Sum(nil)), nil
}

// sfnParse is $parse(text): the JSON value text holds.
func sfnParse(text string) (any, error) {
	v, err := jsonpath.Decode([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("$parse: %v", err)
	}
	return toJSONata(v), nil
}
