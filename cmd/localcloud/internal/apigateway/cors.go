package apigateway

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
)

// CORS is an HTTP API's CorsConfiguration. With one, the gateway behaves as
// API Gateway HTTP APIs do: it answers preflight OPTIONS requests itself
// (204, no route, no authorizer, no function invoked), adds the configured
// headers to the integration's responses for an allowed Origin, ignores the
// CORS headers the integration returns, and sends no CORS header at all to
// an origin it does not allow.
type CORS struct {
	AllowOrigins     []string
	AllowMethods     []string
	AllowHeaders     []string
	ExposeHeaders    []string
	MaxAge           int
	AllowCredentials bool
}

// CORSFromTemplate reads the CorsConfiguration of the template's HttpApi
// resources, resolved with r (a condition that leaves AWS::NoValue means
// none). It returns nil when no API configures CORS; the gateway serves
// every route of the template, so two APIs configuring different CORS is an
// error.
func CORSFromTemplate(t *samtemplate.Template, r *samtemplate.Resolver) (*CORS, error) {
	ids := make([]string, 0, len(t.Resources))
	for id, res := range t.Resources {
		if res.Type == samtemplate.TypeHttpApi {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var found *CORS
	var foundIn string
	for _, id := range ids {
		n := mappingValue(t.Resources[id].Properties, "CorsConfiguration")
		if n == nil {
			continue
		}
		v, err := r.Resolve(n)
		if err != nil {
			return nil, fmt.Errorf("%s CorsConfiguration: %w", id, err)
		}
		c, err := corsFrom(v)
		if err != nil {
			return nil, fmt.Errorf("%s CorsConfiguration: %w", id, err)
		}
		if c == nil {
			continue
		}
		if found != nil && fmt.Sprint(*found) != fmt.Sprint(*c) {
			return nil, fmt.Errorf("HttpApis %s and %s configure CORS differently; the local gateway serves both on one address", foundIn, id)
		}
		found, foundIn = c, id
	}
	return found, nil
}

// corsFrom reads a resolved CorsConfiguration: true (every origin), a
// mapping of the HttpApiCorsConfiguration keys, or NoValue/false (none).
func corsFrom(v any) (*CORS, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		if b, err := strconv.ParseBool(v); err == nil {
			if !b {
				return nil, nil
			}
			return &CORS{AllowOrigins: []string{"*"}}, nil
		}
		return nil, fmt.Errorf("%q is neither a boolean nor a configuration", v)
	case map[string]any:
		c := &CORS{}
		for k, val := range v {
			var err error
			switch k {
			case "AllowOrigins":
				c.AllowOrigins, err = stringList(val)
			case "AllowMethods":
				c.AllowMethods, err = stringList(val)
			case "AllowHeaders":
				c.AllowHeaders, err = stringList(val)
			case "ExposeHeaders":
				c.ExposeHeaders, err = stringList(val)
			case "MaxAge":
				c.MaxAge, err = strconv.Atoi(fmt.Sprint(val))
			case "AllowCredentials":
				c.AllowCredentials, err = strconv.ParseBool(fmt.Sprint(val))
			default:
				err = fmt.Errorf("unknown key")
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
		}
		return c, nil
	}
	if v == samtemplate.NoValue {
		return nil, nil
	}
	return nil, fmt.Errorf("unexpected %T", v)
}

func stringList(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want a list, got %T", v)
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("want strings, got %T", e)
		}
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// mappingValue is the value of key in a YAML mapping node, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// allowsOrigin tells whether origin is allowed and the value of
// Access-Control-Allow-Origin to send: "*" for a wildcard configuration
// (the origin itself when credentials are allowed, as browsers refuse "*"
// then), else the origin as the browser sent it. Origins compare without
// regard to case, as API Gateway compares them.
func (c *CORS) allowsOrigin(origin string) (string, bool) {
	if origin == "" {
		return "", false
	}
	for _, o := range c.AllowOrigins {
		if o == "*" {
			if c.AllowCredentials {
				return origin, true
			}
			return "*", true
		}
		if strings.EqualFold(o, origin) {
			return origin, true
		}
	}
	return "", false
}

// isPreflight tells a CORS preflight request: OPTIONS with an Origin and an
// Access-Control-Request-Method.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// preflight answers a preflight request: 204, with the configured methods,
// headers and max age for an allowed origin, and no CORS header otherwise.
func (c *CORS) preflight(w http.ResponseWriter, r *http.Request) int {
	h := w.Header()
	h.Add("Vary", "Origin")
	if allow, ok := c.allowsOrigin(r.Header.Get("Origin")); ok {
		h.Set("Access-Control-Allow-Origin", allow)
		if len(c.AllowMethods) > 0 {
			h.Set("Access-Control-Allow-Methods", strings.Join(c.AllowMethods, ","))
		}
		if len(c.AllowHeaders) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ","))
		}
		if c.MaxAge > 0 {
			h.Set("Access-Control-Max-Age", strconv.Itoa(c.MaxAge))
		}
		if c.AllowCredentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

// corsWriter puts the configured headers on an actual request's response,
// in place of any CORS header the integration set.
type corsWriter struct {
	http.ResponseWriter
	cors        *CORS
	allow       string // Access-Control-Allow-Origin, "" for a refused origin
	wroteHeader bool
}

func (cw *corsWriter) WriteHeader(code int) {
	if !cw.wroteHeader {
		cw.wroteHeader = true
		h := cw.Header()
		for k := range h {
			if strings.HasPrefix(strings.ToLower(k), "access-control-") {
				delete(h, k)
			}
		}
		h.Add("Vary", "Origin")
		if cw.allow != "" {
			h.Set("Access-Control-Allow-Origin", cw.allow)
			if len(cw.cors.ExposeHeaders) > 0 {
				h.Set("Access-Control-Expose-Headers", strings.Join(cw.cors.ExposeHeaders, ","))
			}
			if cw.cors.AllowCredentials {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
		}
	}
	cw.ResponseWriter.WriteHeader(code)
}

func (cw *corsWriter) Write(b []byte) (int, error) {
	if !cw.wroteHeader {
		cw.WriteHeader(http.StatusOK)
	}
	return cw.ResponseWriter.Write(b)
}
