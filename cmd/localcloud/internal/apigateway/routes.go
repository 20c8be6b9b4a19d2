package apigateway

import (
	"fmt"
	"sort"
	"strings"

	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
)

// Route is one HTTP API route: "METHOD /path" to a function.
type Route struct {
	// Method is upper-case, or "ANY".
	Method string
	// Path uses API Gateway's syntax: "/providers/{id}", "/files/{proxy+}",
	// or "$default" for the catch-all route.
	Path string
	// Function is the function to invoke.
	Function string
	// Auth tells whether the JWT authorizer guards the route.
	Auth bool
	// Scopes, when set, are the route's authorization scopes: the token must
	// carry one of them.
	Scopes []string

	segments []string
}

// Key is the route key as API Gateway writes it ("POST /providers", "$default").
func (r Route) Key() string {
	if r.Path == "$default" {
		return "$default"
	}
	return r.Method + " " + r.Path
}

// RoutesFromTemplate reads the HttpApi events of every function. A route is
// guarded by the JWT authorizer unless its event says Auth: {Authorizer: NONE},
// or it names no authorizer and its API has no DefaultAuthorizer while the
// template declares JWT authorizers (then, as on AWS, it is public). A
// template that declares no authorizer at all gets every route guarded: the
// product's functions expect claims, and the local issuer stands in.
func RoutesFromTemplate(t *samtemplate.Template) ([]Route, error) {
	anyAuthorizer := false
	for _, api := range t.HttpApis {
		if len(api.Authorizers) > 0 {
			anyAuthorizer = true
		}
	}
	var routes []Route
	for _, f := range t.Functions {
		for _, ev := range f.Events {
			r := Route{Method: strings.ToUpper(ev.Method), Path: ev.Path, Function: f.LogicalID, Scopes: ev.AuthorizationScopes}
			if r.Method == "X-AMAZON-APIGATEWAY-ANY-METHOD" || r.Method == "*" {
				r.Method = "ANY"
			}
			switch {
			case ev.AuthNone:
				r.Auth = false
			case ev.Authorizer != "":
				r.Auth = true
			case !anyAuthorizer:
				r.Auth = true
			default:
				api, ok := t.HttpApi(ev.ApiID)
				if !ok {
					api, ok = t.HttpApi("")
				}
				r.Auth = ok && api.DefaultAuthorizer != ""
			}
			routes = append(routes, r)
		}
	}
	return routes, nil
}

// compile validates routes and prepares them for matching.
func compile(routes []Route) ([]Route, error) {
	seen := map[string]string{}
	out := make([]Route, 0, len(routes))
	for _, r := range routes {
		r.Method = strings.ToUpper(r.Method)
		if r.Path != "$default" {
			if !strings.HasPrefix(r.Path, "/") {
				return nil, fmt.Errorf("route %q: path must start with /", r.Key())
			}
			r.segments = strings.Split(strings.TrimPrefix(r.Path, "/"), "/")
			for i, s := range r.segments {
				if strings.HasSuffix(s, "+}") && i != len(r.segments)-1 {
					return nil, fmt.Errorf("route %q: a greedy parameter must be last", r.Key())
				}
			}
		}
		if prev, dup := seen[r.Key()]; dup {
			return nil, fmt.Errorf("route %q is declared by both %s and %s", r.Key(), prev, r.Function)
		}
		seen[r.Key()] = r.Function
		out = append(out, r)
	}
	// Most specific first: literal segments beat parameters, parameters beat
	// greedy ones, a specific method beats ANY, and $default comes last.
	sort.SliceStable(out, func(i, j int) bool { return specificity(out[i]) > specificity(out[j]) })
	return out, nil
}

// specificity orders routes for matching; see compile.
func specificity(r Route) string {
	if r.Path == "$default" {
		return ""
	}
	var b strings.Builder
	for _, s := range r.segments {
		switch {
		case strings.HasSuffix(s, "+}"):
			b.WriteByte('1')
		case strings.HasPrefix(s, "{"):
			b.WriteByte('2')
		default:
			b.WriteByte('3')
		}
	}
	b.WriteByte('~') // ends the segments; only routes of equal length can tie
	if r.Method != "ANY" {
		b.WriteByte('1')
	} else {
		b.WriteByte('0')
	}
	return b.String()
}

// match finds the route for method and the request's path segments (each
// already percent-decoded), with its path parameters.
func match(routes []Route, method string, segs []string) (*Route, map[string]string) {
	for i := range routes {
		r := &routes[i]
		if r.Method != "ANY" && r.Method != method {
			continue
		}
		if r.Path == "$default" {
			return r, nil
		}
		if params, ok := matchSegments(r.segments, segs); ok {
			return r, params
		}
	}
	return nil, nil
}

func matchSegments(pattern, segs []string) (map[string]string, bool) {
	params := map[string]string{}
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}") {
			if i >= len(segs) {
				return nil, false
			}
			rest := strings.Join(segs[i:], "/")
			if rest == "" {
				return nil, false
			}
			params[p[1:len(p)-2]] = rest
			return params, true
		}
		if i >= len(segs) {
			return nil, false
		}
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if segs[i] == "" {
				return nil, false
			}
			params[p[1:len(p)-1]] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	if len(pattern) != len(segs) {
		return nil, false
	}
	return params, true
}
