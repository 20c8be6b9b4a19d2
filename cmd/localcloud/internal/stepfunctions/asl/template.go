package asl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/partnercloud/azure/cmd/localcloud/internal/stepfunctions/jsonpath"
)

// Env is what a path or intrinsic function is evaluated against: the
// state's (effective) input and the context object ("$$").
type Env struct {
	Input   any
	Context any
}

// Expr is a value expression: a Path on the input ("$..."), a Path on the
// context object ("$$..."), or an intrinsic function call ("States.X(...)").
type Expr interface {
	// Eval evaluates the expression. Errors are *Error values.
	Eval(env Env) (any, error)
	// String returns the expression as written.
	String() string
}

// pathExpr selects from the input or from the context object.
type pathExpr struct {
	src     string
	context bool
	path    *jsonpath.Path
}

func (p *pathExpr) String() string { return p.src }

func (p *pathExpr) Eval(env Env) (any, error) {
	doc := env.Input
	if p.context {
		doc = env.Context
	}
	v, err := p.path.Get(doc)
	if err != nil {
		return nil, err
	}
	return jsonpath.DeepCopy(v), nil
}

// ParsePathExpr parses "$..." (input) or "$$..." (context object) paths.
// With reference set, the path must be a Reference Path.
func ParsePathExpr(src string, reference bool) (Expr, error) {
	p := &pathExpr{src: src}
	body := src
	if strings.HasPrefix(src, "$$") {
		p.context = true
		body = src[1:]
	}
	var err error
	if reference {
		p.path, err = jsonpath.ParseReference(body)
	} else {
		p.path, err = jsonpath.Parse(body)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ParseValueExpr parses the value of a "key.$" field: a path on the input,
// a path on the context object, or an intrinsic function call.
func ParseValueExpr(src string) (Expr, error) {
	if strings.HasPrefix(src, "$") {
		return ParsePathExpr(src, false)
	}
	if strings.HasPrefix(src, "States.") {
		return ParseIntrinsic(src)
	}
	return nil, fmt.Errorf("%q is neither a JSONPath nor an intrinsic function call", src)
}

// Template is a compiled payload template (Parameters, ResultSelector,
// ItemSelector): a JSON value whose object fields named "key.$" are
// replaced by the value of their expression under the name "key".
type Template struct {
	root tnode
}

// tnode is one node of a compiled template.
type tnode struct {
	literal any // used when fields, items and expr are all nil
	isObj   bool
	fields  []tfield
	isArr   bool
	items   []tnode
}

// tfield is one field of an object in a template.
type tfield struct {
	key  string // the output name (without ".$")
	raw  string // the name as written
	expr Expr   // set for "key.$" fields
	val  tnode  // set otherwise
}

// CompileTemplate compiles a payload template. where names the field for
// error messages, e.g. "/States/Invoke/Parameters".
func CompileTemplate(v any, where string) (*Template, error) {
	n, err := compileNode(v, where)
	if err != nil {
		return nil, err
	}
	return &Template{root: n}, nil
}

func compileNode(v any, where string) (tnode, error) {
	switch t := v.(type) {
	case map[string]any:
		n := tnode{isObj: true}
		var errs []error
		for _, k := range sortedKeys(t) {
			f := tfield{key: k, raw: k}
			if strings.HasSuffix(k, ".$") {
				f.key = strings.TrimSuffix(k, ".$")
				s, ok := t[k].(string)
				if !ok {
					errs = append(errs, fmt.Errorf("The value for the field '%s' must be a STRING that contains a JSONPath or an intrinsic function at %s/%s", k, where, k))
					continue
				}
				e, err := ParseValueExpr(s)
				if err != nil {
					errs = append(errs, fmt.Errorf("The value for the field '%s' must be a valid JSONPath or a valid intrinsic function call (%v) at %s/%s", k, err, where, k))
					continue
				}
				f.expr = e
			} else {
				c, err := compileNode(t[k], where+"/"+k)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				f.val = c
			}
			n.fields = append(n.fields, f)
		}
		return n, errors.Join(errs...)
	case []any:
		n := tnode{isArr: true}
		for i, e := range t {
			c, err := compileNode(e, fmt.Sprintf("%s[%d]", where, i))
			if err != nil {
				return n, err
			}
			n.items = append(n.items, c)
		}
		return n, nil
	}
	return tnode{literal: v}, nil
}

// Eval instantiates the template. A path that selects nothing fails the
// state with States.Runtime, as Step Functions does; a failing intrinsic
// function fails it with States.IntrinsicFailure.
func (t *Template) Eval(env Env) (any, error) { return t.root.eval(env) }

func (n tnode) eval(env Env) (any, error) {
	switch {
	case n.isObj:
		out := make(map[string]any, len(n.fields))
		for _, f := range n.fields {
			if f.expr == nil {
				v, err := f.val.eval(env)
				if err != nil {
					return nil, err
				}
				out[f.key] = v
				continue
			}
			v, err := f.expr.Eval(env)
			if err != nil {
				var se *Error
				if errors.As(err, &se) {
					return nil, se
				}
				src := "input"
				doc := env.Input
				if strings.HasPrefix(f.expr.String(), "$$") {
					src, doc = "context object", env.Context
				}
				return nil, Errorf(ErrRuntime, "The JSONPath '%s' specified for the field '%s' could not be found in the %s '%s'", f.expr.String(), f.raw, src, jsonpath.Encode(doc))
			}
			out[f.key] = v
		}
		return out, nil
	case n.isArr:
		out := make([]any, len(n.items))
		for i, it := range n.items {
			v, err := it.eval(env)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	return jsonpath.DeepCopy(n.literal), nil
}

// Keys returns the top-level output names of an object template, for
// validating the parameters of a service integration.
func (t *Template) Keys() []string {
	var keys []string
	for _, f := range t.root.fields {
		keys = append(keys, f.key)
	}
	return keys
}

// IsObject reports whether the template's top level is a JSON object.
func (t *Template) IsObject() bool { return t.root.isObj }
