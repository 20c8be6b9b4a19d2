// Package minidynwire serves the embedded DynamoDB (github.com/truora/minidyn)
// so that every attribute value comes back with the type it was written with,
// as DynamoDB does. The local cloud (cmd/localcloud) and the store's tests
// (storetest) both put it in front of minidyn.
//
// minidyn loses the type of empty values. Its JSON omits an empty list, map or
// binary ({"L":[]} is answered as {}), its engine drops empty lists and maps
// when it copies an item (an update, the rollback of a cancelled
// transaction), and its expression evaluator refuses any item holding an
// empty binary (every Query, conditional write and update of that item
// fails). The AWS SDK then reads the untyped {} as the value of the attribute
// before it in the same map (its map deserializer reuses one variable), so
// an empty list can come back as another attribute's string.
//
// Wrap keeps empty values away from minidyn: in each request an empty list
// becomes a list holding one marker element, an empty map a map holding one
// marker key and an empty binary a marker binary; in each response the
// markers are taken out again. The one visible difference from DynamoDB:
// an expression that looks inside such a value sees the marker (size() of an
// empty list is 1 here, an index [0] finds the marker).
package minidynwire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Markers standing in for empty values inside minidyn. NUL-prefixed and
// named, so no real value is mistaken for one.
const (
	markerElement = "\x00minidynwire:empty-list"
	markerKey     = "\x00minidynwire:empty-map"
)

var (
	markerBinary = base64.StdEncoding.EncodeToString([]byte("\x00minidynwire:empty-binary"))
	// markerSign is in every response that holds a marker.
	markerSign = []byte("minidynwire:empty")
)

// itemOperations are the operations whose requests or responses carry
// attribute values.
var itemOperations = map[string]bool{
	"PutItem": true, "GetItem": true, "UpdateItem": true, "DeleteItem": true,
	"Query": true, "Scan": true, "BatchGetItem": true, "BatchWriteItem": true,
	"TransactGetItems": true, "TransactWriteItems": true,
}

// Wrap returns next (a minidyn server) with empty values kept away from it.
// Requests of other operations pass through untouched.
func Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := r.Header.Get("X-Amz-Target")
		if i := strings.LastIndexByte(op, '.'); i >= 0 {
			op = op[i+1:]
		}
		if !itemOperations[op] || r.Body == nil {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			http.Error(w, "cannot read the request", http.StatusBadRequest)
			return
		}
		body = rewrite(body, markEmpty)
		in := r.Clone(r.Context())
		in.Body = io.NopCloser(bytes.NewReader(body))
		in.ContentLength = int64(len(body))
		in.Header.Set("Content-Length", strconv.Itoa(len(body)))

		rec := &recorder{header: http.Header{}, code: http.StatusOK}
		next.ServeHTTP(rec, in)
		out := rec.body.Bytes()
		if bytes.Contains(out, markerSign) || bytes.Contains(out, []byte(markerBinary)) {
			out = rewrite(out, unmarkEmpty)
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		w.WriteHeader(rec.code)
		_, _ = w.Write(out)
	})
}

// rewrite applies f to the JSON document body; a body that is not JSON is
// returned as it is (minidyn answers it).
func rewrite(body []byte, f func(any) any) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return body
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f(doc)); err != nil {
		return body
	}
	return buf.Bytes()
}

// markEmpty replaces each empty list, map and binary attribute value in v by
// its marker. An attribute value is an object with one key naming its type;
// no other object of a valid request has the shape {"L":[]}, {"M":{}} or
// {"B":""}.
func markEmpty(v any) any {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 1 {
			if l, ok := t["L"].([]any); ok && len(l) == 0 {
				return map[string]any{"L": []any{map[string]any{"S": markerElement}}}
			}
			if m, ok := t["M"].(map[string]any); ok && len(m) == 0 {
				return map[string]any{"M": map[string]any{markerKey: map[string]any{"NULL": true}}}
			}
			if b, ok := t["B"].(string); ok && b == "" {
				return map[string]any{"B": markerBinary}
			}
		}
		for k, e := range t {
			t[k] = markEmpty(e)
		}
	case []any:
		for i, e := range t {
			t[i] = markEmpty(e)
		}
	}
	return v
}

// unmarkEmpty takes the markers out of v: marker elements out of lists (also
// when an update appended to a marked list), marker keys out of maps, and
// turns the marker binary back into an empty one.
func unmarkEmpty(v any) any {
	switch t := v.(type) {
	case map[string]any:
		if b, ok := t["B"].(string); ok && len(t) == 1 && b == markerBinary {
			return map[string]any{"B": ""}
		}
		delete(t, markerKey)
		for k, e := range t {
			t[k] = unmarkEmpty(e)
		}
	case []any:
		out := t[:0]
		for _, e := range t {
			if isMarkerElement(e) {
				continue
			}
			out = append(out, unmarkEmpty(e))
		}
		return out
	}
	return v
}

func isMarkerElement(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false
	}
	s, ok := m["S"].(string)
	return ok && s == markerElement
}

// recorder holds a whole response so it can be rewritten.
type recorder struct {
	header      http.Header
	body        bytes.Buffer
	code        int
	wroteHeader bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) Write(p []byte) (int, error) {
	r.wroteHeader = true
	return r.body.Write(p)
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.code, r.wroteHeader = code, true
	}
}
