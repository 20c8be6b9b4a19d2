package asl

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math/big"
	mrand "math/rand/v2"
	"strings"

	"github.com/partnercloud/azure/cmd/localcloud/internal/stepfunctions/jsonpath"
)

// intrinsicArity gives, for every supported intrinsic function, its minimum
// and maximum number of arguments (-1: no maximum).
var intrinsicArity = map[string][2]int{
	"States.Format":         {1, -1},
	"States.StringToJson":   {1, 1},
	"States.JsonToString":   {1, 1},
	"States.Array":          {0, -1},
	"States.ArrayPartition": {2, 2},
	"States.ArrayContains":  {2, 2},
	"States.ArrayRange":     {3, 3},
	"States.ArrayGetItem":   {2, 2},
	"States.ArrayLength":    {1, 1},
	"States.ArrayUnique":    {1, 1},
	"States.Base64Encode":   {1, 1},
	"States.Base64Decode":   {1, 1},
	"States.Hash":           {2, 2},
	"States.JsonMerge":      {3, 3},
	"States.MathRandom":     {2, 3},
	"States.MathAdd":        {2, 2},
	"States.StringSplit":    {2, 2},
	"States.UUID":           {0, 0},
}

// argument is one argument of an intrinsic function call.
type argument struct {
	literal any    // a string, json.Number, bool or nil literal
	raw     string // a string literal as written between its quotes
	isStr   bool   // the literal is a string
	expr    Expr   // a path or a nested call
}

// intrinsic is a parsed intrinsic function call.
type intrinsic struct {
	src  string
	name string
	args []argument
}

func (c *intrinsic) String() string { return c.src }

// ParseIntrinsic parses an intrinsic function call such as
// "States.Format('Hello, {}', $.name)". Unknown functions and wrong numbers
// of arguments are errors.
func ParseIntrinsic(src string) (Expr, error) {
	p := &intrinsicParser{s: src}
	c, err := p.call()
	if err != nil {
		return nil, fmt.Errorf("intrinsic function %q: %v", src, err)
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("intrinsic function %q: unexpected %q after the call", src, p.s[p.i:])
	}
	return c, nil
}

type intrinsicParser struct {
	s string
	i int
}

func (p *intrinsicParser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *intrinsicParser) call() (*intrinsic, error) {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != '(' {
		p.i++
	}
	name := strings.TrimSpace(p.s[start:p.i])
	arity, ok := intrinsicArity[name]
	if !ok {
		return nil, fmt.Errorf("the intrinsic function %q is not supported", name)
	}
	if p.i == len(p.s) {
		return nil, errors.New("missing '('")
	}
	p.i++ // (
	c := &intrinsic{name: name}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ')' {
		p.i++
	} else {
		for {
			a, err := p.arg()
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, a)
			p.space()
			if p.i >= len(p.s) {
				return nil, errors.New("missing ')'")
			}
			if p.s[p.i] == ')' {
				p.i++
				break
			}
			if p.s[p.i] != ',' {
				return nil, fmt.Errorf("expected ',' or ')' at %q", p.s[p.i:])
			}
			p.i++
		}
	}
	c.src = p.s[start:p.i]
	if len(c.args) < arity[0] || (arity[1] >= 0 && len(c.args) > arity[1]) {
		return nil, fmt.Errorf("%s takes %s, got %d", name, arityText(arity), len(c.args))
	}
	return c, nil
}

func arityText(a [2]int) string {
	switch {
	case a[1] < 0:
		return fmt.Sprintf("at least %d argument(s)", a[0])
	case a[0] == a[1]:
		return fmt.Sprintf("%d argument(s)", a[0])
	}
	return fmt.Sprintf("%d to %d arguments", a[0], a[1])
}

func (p *intrinsicParser) arg() (argument, error) {
	p.space()
	if p.i >= len(p.s) {
		return argument{}, errors.New("missing argument")
	}
	rest := p.s[p.i:]
	switch {
	case rest[0] == '\'':
		p.i++
		var raw, val strings.Builder
		for p.i < len(p.s) {
			c := p.s[p.i]
			if c == '\\' && p.i+1 < len(p.s) {
				raw.WriteByte(c)
				raw.WriteByte(p.s[p.i+1])
				val.WriteByte(p.s[p.i+1])
				p.i += 2
				continue
			}
			if c == '\'' {
				p.i++
				return argument{literal: val.String(), raw: raw.String(), isStr: true}, nil
			}
			raw.WriteByte(c)
			val.WriteByte(c)
			p.i++
		}
		return argument{}, errors.New("unterminated string literal")
	case strings.HasPrefix(rest, "States."):
		c, err := p.call()
		if err != nil {
			return argument{}, err
		}
		return argument{expr: c}, nil
	case rest[0] == '$':
		start := p.i
		depth := 0
		var quote byte
	scan:
		for ; p.i < len(p.s); p.i++ {
			c := p.s[p.i]
			switch {
			case quote != 0:
				if c == '\\' {
					p.i++
				} else if c == quote {
					quote = 0
				}
			case c == '\'' || c == '"':
				quote = c
			case c == '[':
				depth++
			case c == ']':
				depth--
			case depth == 0 && (c == ',' || c == ')'):
				break scan
			}
		}
		src := strings.TrimSpace(p.s[start:p.i])
		e, err := ParsePathExpr(src, false)
		if err != nil {
			return argument{}, err
		}
		return argument{expr: e}, nil
	}
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != ',' && p.s[p.i] != ')' {
		p.i++
	}
	tok := strings.TrimSpace(p.s[start:p.i])
	switch tok {
	case "true":
		return argument{literal: true}, nil
	case "false":
		return argument{literal: false}, nil
	case "null":
		return argument{literal: nil}, nil
	}
	v, err := jsonpath.Decode([]byte(tok))
	if _, ok := v.(json.Number); err != nil || !ok {
		return argument{}, fmt.Errorf("invalid argument %q", tok)
	}
	return argument{literal: v}, nil
}

// failf returns a States.IntrinsicFailure error for call c.
func (c *intrinsic) failf(format string, args ...any) error {
	return Errorf(ErrIntrinsicFailure, "Invalid arguments in %s: %s", c.name, fmt.Sprintf(format, args...))
}

// Eval evaluates the call.
func (c *intrinsic) Eval(env Env) (any, error) {
	vals := make([]any, len(c.args))
	for i, a := range c.args {
		if a.expr == nil {
			vals[i] = a.literal
			continue
		}
		v, err := a.expr.Eval(env)
		if err != nil {
			var se *Error
			if errors.As(err, &se) {
				return nil, se
			}
			return nil, Errorf(ErrRuntime, "The JSONPath '%s' in the intrinsic function %s could not be found", a.expr.String(), c.name)
		}
		vals[i] = v
	}
	switch c.name {
	case "States.Format":
		return c.format(vals)
	case "States.StringToJson":
		s, ok := vals[0].(string)
		if !ok {
			return nil, c.failf("the argument must be a string")
		}
		v, err := jsonpath.Decode([]byte(s))
		if err != nil {
			return nil, c.failf("the string is not JSON: %v", err)
		}
		return v, nil
	case "States.JsonToString":
		return jsonpath.Encode(vals[0]), nil
	case "States.Array":
		return append([]any{}, vals...), nil
	case "States.ArrayPartition":
		a, ok1 := vals[0].([]any)
		n, ok2 := toInt(vals[1])
		if !ok1 || !ok2 || n <= 0 {
			return nil, c.failf("expected an array and a positive integer chunk size")
		}
		out := []any{}
		for i := 0; i < len(a); i += int(n) {
			out = append(out, append([]any{}, a[i:min(len(a), i+int(n))]...))
		}
		return out, nil
	case "States.ArrayContains":
		a, ok := vals[0].([]any)
		if !ok {
			return nil, c.failf("the first argument must be an array")
		}
		for _, e := range a {
			if Equal(e, vals[1]) {
				return true, nil
			}
		}
		return false, nil
	case "States.ArrayRange":
		start, ok1 := toInt(vals[0])
		end, ok2 := toInt(vals[1])
		step, ok3 := toInt(vals[2])
		if !ok1 || !ok2 || !ok3 || step == 0 {
			return nil, c.failf("expected integers and a non-zero step")
		}
		out := []any{}
		for i := start; (step > 0 && i <= end) || (step < 0 && i >= end); i += step {
			if len(out) == 1000 {
				return nil, c.failf("the range has more than 1000 items")
			}
			out = append(out, json.Number(fmt.Sprint(i)))
		}
		return out, nil
	case "States.ArrayGetItem":
		a, ok1 := vals[0].([]any)
		i, ok2 := toInt(vals[1])
		if !ok1 || !ok2 || i < 0 || i >= int64(len(a)) {
			return nil, c.failf("expected an array and an index within it")
		}
		return a[i], nil
	case "States.ArrayLength":
		a, ok := vals[0].([]any)
		if !ok {
			return nil, c.failf("the argument must be an array")
		}
		return json.Number(fmt.Sprint(len(a))), nil
	case "States.ArrayUnique":
		a, ok := vals[0].([]any)
		if !ok {
			return nil, c.failf("the argument must be an array")
		}
		out := []any{}
	next:
		for _, e := range a {
			for _, o := range out {
				if Equal(e, o) {
					continue next
				}
			}
			out = append(out, e)
		}
		return out, nil
	case "States.Base64Encode":
		s, ok := vals[0].(string)
		if !ok {
			return nil, c.failf("the argument must be a string")
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "States.Base64Decode":
		s, ok := vals[0].(string)
		if !ok {
			return nil, c.failf("the argument must be a string")
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, c.failf("the argument is not base64: %v", err)
		}
		return string(b), nil
	case "States.Hash":
		return c.hash(vals)
	case "States.JsonMerge":
		a, ok1 := vals[0].(map[string]any)
		b, ok2 := vals[1].(map[string]any)
		deep, ok3 := vals[2].(bool)
		if !ok1 || !ok2 || !ok3 || deep {
			return nil, c.failf("expected two objects and false (deep merging is not supported)")
		}
		out := jsonpath.DeepCopy(a).(map[string]any)
		for k, v := range b {
			out[k] = v
		}
		return out, nil
	case "States.MathRandom":
		lo, ok1 := toInt(vals[0])
		hi, ok2 := toInt(vals[1])
		if !ok1 || !ok2 || hi <= lo {
			return nil, c.failf("expected integers start < end")
		}
		r := mrand.Int64N(hi - lo)
		if len(vals) == 3 {
			seed, ok := toInt(vals[2])
			if !ok {
				return nil, c.failf("the seed must be an integer")
			}
			r = mrand.New(mrand.NewPCG(uint64(seed), 0)).Int64N(hi - lo)
		}
		return json.Number(fmt.Sprint(lo + r)), nil
	case "States.MathAdd":
		a, ok1 := toRat(vals[0])
		b, ok2 := toRat(vals[1])
		if !ok1 || !ok2 {
			return nil, c.failf("both arguments must be numbers")
		}
		return ratNumber(new(big.Rat).Add(a, b)), nil
	case "States.StringSplit":
		s, ok1 := vals[0].(string)
		d, ok2 := vals[1].(string)
		if !ok1 || !ok2 {
			return nil, c.failf("both arguments must be strings")
		}
		out := []any{}
		for _, part := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(d, r) }) {
			out = append(out, part)
		}
		return out, nil
	case "States.UUID":
		return uuid4(), nil
	}
	return nil, c.failf("unsupported function")
}

// format implements States.Format: each "{}" in the template is replaced by
// the next argument; "\{" and "\}" are literal braces.
func (c *intrinsic) format(vals []any) (any, error) {
	tmpl, ok := vals[0].(string)
	if !ok {
		return nil, c.failf("the template must be a string")
	}
	if c.args[0].isStr {
		tmpl = c.args[0].raw
	}
	var b strings.Builder
	next := 1
	for i := 0; i < len(tmpl); i++ {
		ch := tmpl[i]
		switch {
		case ch == '\\' && c.args[0].isStr && i+1 < len(tmpl):
			i++
			b.WriteByte(tmpl[i])
		case ch == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}':
			if next >= len(vals) {
				return nil, c.failf("the template has more placeholders than arguments")
			}
			switch v := vals[next].(type) {
			case string:
				b.WriteString(v)
			case map[string]any, []any:
				return nil, c.failf("argument %d is not a string, number, boolean or null", next+1)
			default:
				b.WriteString(jsonpath.Encode(v))
			}
			next++
			i++
		default:
			b.WriteByte(ch)
		}
	}
	if next != len(vals) {
		return nil, c.failf("the template has %d placeholder(s) for %d argument(s)", next-1, len(vals)-1)
	}
	return b.String(), nil
}

// hash implements States.Hash.
func (c *intrinsic) hash(vals []any) (any, error) {
	s, ok1 := vals[0].(string)
	alg, ok2 := vals[1].(string)
	if !ok1 || !ok2 {
		return nil, c.failf("both arguments must be strings")
	}
	var h hash.Hash
	switch alg {
	case "MD5":
		h = md5.New()
	case "SHA-1":
		h = sha1.New()
	case "SHA-256":
		h = sha256.New()
	case "SHA-384":
		h = sha512.New384()
	case "SHA-512":
		h = sha512.New()
	default:
		return nil, c.failf("unknown algorithm %q", alg)
	}
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// uuid4 returns a random version 4 UUID.
func uuid4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
