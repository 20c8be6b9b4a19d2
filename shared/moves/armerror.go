package moves

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// ARMError is Resource Manager's error body: a code, a message, an
// optional target (a resource id or a resource type) and nested details of
// the same shape. A failed move validation answers
// ResourceMoveProviderValidationFailed (or ResourceMoveNotSupported,
// MissingMoveDependentResources, …) with the resources that cannot move in
// its details, sometimes two levels deep: a detail per resource type, and
// under it one per resource.
type ARMError struct {
	Code    string     `json:"code"`
	Message string     `json:"message"`
	Target  string     `json:"target,omitempty"`
	Details []ARMError `json:"details,omitempty"`
}

// maxDepth bounds how deep details are read: Microsoft nests two levels;
// a deeper body is read no further.
const maxDepth = 8

// ParseARMError reads an error body, wrapped in {"error": …} as Resource
// Manager sends it or bare; ok false when it is neither.
func ParseARMError(body []byte) (e ARMError, ok bool) {
	var wrapped struct {
		Error *ARMError `json:"error"`
	}
	if json.Unmarshal(body, &wrapped) == nil && wrapped.Error != nil && wrapped.Error.Code != "" {
		return *wrapped.Error, true
	}
	if json.Unmarshal(body, &e) == nil && e.Code != "" {
		return e, true
	}
	return ARMError{}, false
}

// responseError is the ARM error of a failed answer, or one made of its
// status when the body is not one.
func responseError(re *azcore.ResponseError) ARMError {
	if re.RawResponse != nil {
		if body, err := runtime.Payload(re.RawResponse); err == nil {
			if e, ok := ParseARMError(body); ok {
				return e
			}
		}
	}
	code := re.ErrorCode
	if code == "" {
		code = http.StatusText(re.StatusCode)
	}
	return ARMError{Code: code}
}

// BlockedBy names the resources among ids that e says cannot move, each
// with the most specific code and message that names it:
//   - a detail whose target is the resource's id;
//   - else a detail whose target is the resource's type and that names no
//     resource below it;
//   - else a detail whose message quotes the resource's id.
//
// When e names none of them, all of ids are blocked with e's own code and
// message: a validation is all or nothing, and nothing can be said to move.
// The result follows the order of ids.
func BlockedBy(e ARMError, ids []string) []Blocked {
	type reason struct{ code, msg string }
	byID := map[string]reason{}
	lower := make([]string, len(ids))
	types := make([]string, len(ids))
	for i, id := range ids {
		lower[i] = strings.ToLower(id)
		if rid, err := arm.ParseResourceID(id); err == nil {
			types[i] = strings.ToLower(rid.ResourceType.String())
		}
	}
	var nodes []ARMError
	var walk func(n ARMError, depth int)
	walk = func(n ARMError, depth int) {
		nodes = append(nodes, n)
		if depth >= maxDepth {
			return
		}
		for _, d := range n.Details {
			walk(d, depth+1)
		}
	}
	walk(e, 0)
	// By id: deeper details come later and win.
	for _, n := range nodes {
		t := strings.ToLower(strings.TrimSpace(n.Target))
		for i := range ids {
			if t != "" && t == lower[i] {
				byID[lower[i]] = reason{n.Code, n.Message}
			}
		}
	}
	// By type: only details that name no resource below them.
	for _, n := range nodes {
		t := strings.ToLower(strings.TrimSpace(n.Target))
		if t == "" || strings.HasPrefix(t, "/") || namesResource(n, 0) {
			continue
		}
		for i := range ids {
			if _, done := byID[lower[i]]; !done && types[i] != "" && types[i] == t {
				byID[lower[i]] = reason{n.Code, n.Message}
			}
		}
	}
	// By quotation in a message.
	for _, n := range nodes {
		msg := strings.ToLower(n.Message)
		for i := range ids {
			if _, done := byID[lower[i]]; !done && lower[i] != "" && strings.Contains(msg, lower[i]) {
				byID[lower[i]] = reason{n.Code, n.Message}
			}
		}
	}
	out := []Blocked{}
	seen := map[string]bool{}
	for i, id := range ids {
		if seen[lower[i]] {
			continue
		}
		seen[lower[i]] = true
		if r, ok := byID[lower[i]]; ok {
			out = append(out, Blocked{ID: id, Code: r.code, Message: r.msg})
		}
	}
	if len(out) == 0 {
		all := map[string]bool{}
		for i, id := range ids {
			if !all[lower[i]] {
				all[lower[i]] = true
				out = append(out, Blocked{ID: id, Code: e.Code, Message: e.Message})
			}
		}
	}
	return out
}

// namesResource reports whether a detail below n targets a resource id.
func namesResource(n ARMError, depth int) bool {
	if depth >= maxDepth {
		return false
	}
	for _, d := range n.Details {
		if strings.HasPrefix(strings.TrimSpace(d.Target), "/") || namesResource(d, depth+1) {
			return true
		}
	}
	return false
}

// Named lists the resources e names by id (a detail's target), each with
// the deepest detail's code and message, in the order they first appear.
// Follow uses it: a resumed move no longer knows which resources it moves.
func Named(e ARMError) []Blocked {
	out := []Blocked{}
	at := map[string]int{}
	var walk func(n ARMError, depth int)
	walk = func(n ARMError, depth int) {
		if t := strings.TrimSpace(n.Target); strings.HasPrefix(t, "/") {
			b := Blocked{ID: t, Code: n.Code, Message: n.Message}
			if i, ok := at[strings.ToLower(t)]; ok {
				out[i] = b
			} else {
				at[strings.ToLower(t)] = len(out)
				out = append(out, b)
			}
		}
		if depth >= maxDepth {
			return
		}
		for _, d := range n.Details {
			walk(d, depth+1)
		}
	}
	walk(e, 0)
	return out
}
