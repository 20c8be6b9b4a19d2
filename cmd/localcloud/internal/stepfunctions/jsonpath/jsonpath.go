// Package jsonpath implements the subset of JSONPath that the Amazon States
// Language uses with its JSONPath query language: Paths (which may select
// several nodes) and Reference Paths (which select exactly one node and can
// be used to write into a document).
//
// Documents are the values produced by encoding/json decoding into any with
// UseNumber: map[string]any, []any, json.Number, string, bool and nil.
//
// Supported syntax: the root "$", member access ".name" and "['name']",
// array indexes "[n]" (negative counts from the end), the wildcards ".*" and
// "[*]", slices "[start:end]", unions "[0,1]" and "['a','b']", and deep scan
// "..name". Filter expressions ("[?(...)]") and functions (".length()") are
// not supported and are rejected by Parse with an error that says so.
package jsonpath

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// segmentKind is the kind of one step of a path.
type segmentKind int

const (
	segName     segmentKind = iota // .name or ['name']
	segIndex                       // [n]
	segWildcard                    // .* or [*]
	segSlice                       // [start:end]
	segUnion                       // ['a','b'] or [0,1]
)

// segment is one step of a path.
type segment struct {
	kind       segmentKind
	name       string
	index      int
	start, end *int
	names      []string
	indexes    []int
	deep       bool // reached through ".." (deep scan)
}

// Path is a parsed JSONPath expression.
type Path struct {
	src  string
	segs []segment
}

// String returns the path as written.
func (p *Path) String() string { return p.src }

// IsReference reports whether the path is a Reference Path: it names a
// single node, using only member names and array indexes.
func (p *Path) IsReference() bool {
	for _, s := range p.segs {
		if s.deep || (s.kind != segName && s.kind != segIndex) {
			return false
		}
	}
	return true
}

// definite reports whether the path can select at most one node; an
// indefinite path always yields an array of its matches.
func (p *Path) definite() bool { return p.IsReference() }

// Parse parses a JSONPath expression that must start with "$".
func Parse(src string) (*Path, error) {
	if !strings.HasPrefix(src, "$") {
		return nil, fmt.Errorf("JSONPath %q must begin with '$'", src)
	}
	p := &Path{src: src}
	s := src[1:]
	for len(s) > 0 {
		deep := false
		switch {
		case strings.HasPrefix(s, ".."):
			deep = true
			s = s[2:]
			if strings.HasPrefix(s, "[") {
				seg, rest, err := parseBracket(src, s)
				if err != nil {
					return nil, err
				}
				seg.deep = true
				p.segs = append(p.segs, seg)
				s = rest
				continue
			}
			fallthrough
		case s[0] == '.':
			if !deep {
				s = s[1:]
			}
			end := strings.IndexAny(s, ".[")
			if end < 0 {
				end = len(s)
			}
			name := s[:end]
			s = s[end:]
			switch {
			case name == "":
				return nil, fmt.Errorf("JSONPath %q has an empty member name", src)
			case name == "*":
				p.segs = append(p.segs, segment{kind: segWildcard, deep: deep})
			case strings.HasSuffix(name, ")"):
				return nil, fmt.Errorf("JSONPath %q uses the function %q, which is not supported", src, name)
			default:
				p.segs = append(p.segs, segment{kind: segName, name: name, deep: deep})
			}
		case s[0] == '[':
			seg, rest, err := parseBracket(src, s)
			if err != nil {
				return nil, err
			}
			p.segs = append(p.segs, seg)
			s = rest
		default:
			return nil, fmt.Errorf("JSONPath %q: unexpected %q", src, s)
		}
	}
	return p, nil
}

// ParseReference parses a Reference Path, refusing wildcards, slices,
// unions and deep scan.
func ParseReference(src string) (*Path, error) {
	p, err := Parse(src)
	if err != nil {
		return nil, err
	}
	if !p.IsReference() {
		return nil, fmt.Errorf("%q is not a Reference Path (it must select a single node, without wildcards, slices, unions or '..')", src)
	}
	return p, nil
}

// MustParse is Parse that panics on error; for tests and constants.
func MustParse(src string) *Path {
	p, err := Parse(src)
	if err != nil {
		panic(err)
	}
	return p
}

// parseBracket parses a "[...]" segment at the start of s.
func parseBracket(src, s string) (segment, string, error) {
	if strings.HasPrefix(s, "[?") {
		return segment{}, "", fmt.Errorf("JSONPath %q uses a filter expression, which is not supported", src)
	}
	// Find the closing bracket, skipping quoted strings.
	var quote byte
	end := -1
	for i := 1; i < len(s) && end < 0; i++ {
		c := s[i]
		switch {
		case quote != 0 && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '\'' || c == '"'):
			quote = c
		case quote == 0 && c == ']':
			end = i
		}
	}
	if end < 0 {
		return segment{}, "", fmt.Errorf("JSONPath %q has an unclosed '['", src)
	}
	body := strings.TrimSpace(s[1:end])
	rest := s[end+1:]
	if body == "*" {
		return segment{kind: segWildcard}, rest, nil
	}
	if body == "" {
		return segment{}, "", fmt.Errorf("JSONPath %q has an empty '[]'", src)
	}
	if body[0] == '\'' || body[0] == '"' {
		names, err := splitQuoted(body)
		if err != nil {
			return segment{}, "", fmt.Errorf("JSONPath %q: %v", src, err)
		}
		if len(names) == 1 {
			return segment{kind: segName, name: names[0]}, rest, nil
		}
		return segment{kind: segUnion, names: names}, rest, nil
	}
	if strings.Contains(body, ":") {
		parts := strings.Split(body, ":")
		if len(parts) > 3 {
			return segment{}, "", fmt.Errorf("JSONPath %q has a bad slice %q", src, body)
		}
		if len(parts) == 3 && strings.TrimSpace(parts[2]) != "" && strings.TrimSpace(parts[2]) != "1" {
			return segment{}, "", fmt.Errorf("JSONPath %q: slice steps are not supported", src)
		}
		seg := segment{kind: segSlice}
		for i, ref := range []**int{&seg.start, &seg.end} {
			t := strings.TrimSpace(parts[i])
			if t == "" {
				continue
			}
			n, err := strconv.Atoi(t)
			if err != nil {
				return segment{}, "", fmt.Errorf("JSONPath %q has a bad slice bound %q", src, t)
			}
			*ref = &n
		}
		return seg, rest, nil
	}
	var idx []int
	for _, t := range strings.Split(body, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(t))
		if err != nil {
			return segment{}, "", fmt.Errorf("JSONPath %q has a bad index %q", src, t)
		}
		idx = append(idx, n)
	}
	if len(idx) == 1 {
		return segment{kind: segIndex, index: idx[0]}, rest, nil
	}
	return segment{kind: segUnion, indexes: idx}, rest, nil
}

// splitQuoted splits "'a','b'" into its unquoted names.
func splitQuoted(body string) ([]string, error) {
	var names []string
	for len(body) > 0 {
		q := body[0]
		if q != '\'' && q != '"' {
			return nil, fmt.Errorf("expected a quoted name in %q", body)
		}
		var b strings.Builder
		i := 1
		closed := false
		for ; i < len(body); i++ {
			c := body[i]
			if c == '\\' && i+1 < len(body) {
				i++
				b.WriteByte(body[i])
				continue
			}
			if c == q {
				closed = true
				i++
				break
			}
			b.WriteByte(c)
		}
		if !closed {
			return nil, fmt.Errorf("unterminated quoted name in %q", body)
		}
		names = append(names, b.String())
		body = strings.TrimSpace(body[i:])
		if body == "" {
			break
		}
		if body[0] != ',' {
			return nil, fmt.Errorf("expected ',' in %q", body)
		}
		body = strings.TrimSpace(body[1:])
	}
	return names, nil
}

// ErrNotFound is returned (wrapped) when a definite path selects nothing.
var ErrNotFound = errors.New("path not found")

// Get evaluates the path against doc. A definite path returns the single
// node it selects, or an error wrapping ErrNotFound; an indefinite path
// returns a []any of every match, which may be empty.
func (p *Path) Get(doc any) (any, error) {
	nodes := []any{doc}
	for _, s := range p.segs {
		var next []any
		for _, n := range nodes {
			if s.deep {
				for _, d := range descendants(n) {
					next = append(next, step(s, d)...)
				}
			} else {
				next = append(next, step(s, n)...)
			}
		}
		nodes = next
	}
	if p.definite() {
		if len(nodes) == 0 {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, p.src)
		}
		return nodes[0], nil
	}
	if nodes == nil {
		nodes = []any{}
	}
	return nodes, nil
}

// descendants returns n and every node below it, in document order.
func descendants(n any) []any {
	out := []any{n}
	switch v := n.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			out = append(out, descendants(v[k])...)
		}
	case []any:
		for _, e := range v {
			out = append(out, descendants(e)...)
		}
	}
	return out
}

// step applies one segment to one node.
func step(s segment, n any) []any {
	switch s.kind {
	case segName:
		if m, ok := n.(map[string]any); ok {
			if v, ok := m[s.name]; ok {
				return []any{v}
			}
		}
	case segIndex:
		if a, ok := n.([]any); ok {
			i := s.index
			if i < 0 {
				i += len(a)
			}
			if i >= 0 && i < len(a) {
				return []any{a[i]}
			}
		}
	case segWildcard:
		switch v := n.(type) {
		case map[string]any:
			var out []any
			for _, k := range sortedKeys(v) {
				out = append(out, v[k])
			}
			return out
		case []any:
			return append([]any(nil), v...)
		}
	case segSlice:
		if a, ok := n.([]any); ok {
			start, end := 0, len(a)
			if s.start != nil {
				start = clampIndex(*s.start, len(a))
			}
			if s.end != nil {
				end = clampIndex(*s.end, len(a))
			}
			if start < end {
				return append([]any(nil), a[start:end]...)
			}
		}
	case segUnion:
		var out []any
		if m, ok := n.(map[string]any); ok {
			for _, name := range s.names {
				if v, ok := m[name]; ok {
					out = append(out, v)
				}
			}
		}
		if a, ok := n.([]any); ok {
			for _, i := range s.indexes {
				if i < 0 {
					i += len(a)
				}
				if i >= 0 && i < len(a) {
					out = append(out, a[i])
				}
			}
		}
		return out
	}
	return nil
}

func clampIndex(i, n int) int {
	if i < 0 {
		i += n
	}
	return max(0, min(i, n))
}

// sortedKeys returns the keys of m in a stable order. Decoded JSON objects
// lose their member order, so wildcards visit members sorted by name.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Set returns a copy of doc in which the node named by the Reference Path p
// is replaced by value. Missing objects along the path are created, as the
// States Language specifies for ResultPath; an existing node of the wrong
// type (for example a string where an object is needed) is an error. The
// path "$" replaces the whole document.
func (p *Path) Set(doc, value any) (any, error) {
	if !p.IsReference() {
		return nil, fmt.Errorf("%q is not a Reference Path", p.src)
	}
	return set(DeepCopy(doc), p.segs, value, p.src)
}

func set(node any, segs []segment, value any, src string) (any, error) {
	if len(segs) == 0 {
		return value, nil
	}
	s := segs[0]
	switch s.kind {
	case segName:
		m, ok := node.(map[string]any)
		if !ok {
			if node != nil {
				return nil, fmt.Errorf("cannot set %s: the value at member %q's parent is not an object", src, s.name)
			}
			m = map[string]any{}
		}
		child, err := set(m[s.name], segs[1:], value, src)
		if err != nil {
			return nil, err
		}
		m[s.name] = child
		return m, nil
	case segIndex:
		a, ok := node.([]any)
		if !ok {
			return nil, fmt.Errorf("cannot set %s: the value at index [%d]'s parent is not an array", src, s.index)
		}
		i := s.index
		if i < 0 {
			i += len(a)
		}
		if i < 0 || i >= len(a) {
			return nil, fmt.Errorf("cannot set %s: index [%d] is out of range", src, s.index)
		}
		child, err := set(a[i], segs[1:], value, src)
		if err != nil {
			return nil, err
		}
		a[i] = child
		return a, nil
	}
	return nil, fmt.Errorf("cannot set %s", src)
}

// DeepCopy returns a copy of a JSON document that shares no maps or slices
// with the original.
func DeepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = DeepCopy(e)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, e := range t {
			a[i] = DeepCopy(e)
		}
		return a
	}
	return v
}

// Decode parses JSON text into a document, keeping numbers as json.Number
// so that they are written back exactly as they came.
func Decode(data []byte) (any, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

// Encode writes a document as compact JSON without HTML escaping, as Step
// Functions does.
func Encode(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Documents built from decoded JSON always encode.
		panic(fmt.Sprintf("jsonpath: encode: %v", err))
	}
	return strings.TrimSuffix(b.String(), "\n")
}
