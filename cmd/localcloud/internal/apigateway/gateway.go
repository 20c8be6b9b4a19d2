// Package apigateway emulates an API Gateway HTTP API with Lambda proxy
// integrations (payload format 2.0) and a JWT authorizer, in front of the
// local Lambda host.
//
// Deviation from AWS, on purpose: API Gateway answers its own errors with
// {"message": "..."} bodies (401 {"message":"Unauthorized"}, 404 {"message":"Not Found"},
// 500 {"message":"Internal Server Error"}, 413 {"message":"Request Entity Too Large"}).
// The product's contract (the README's API section) is that every response
// carries X-Request-Id and every error body is {"error":{"code","message","requestId","details"}}, and
// in production a custom gateway response mapping gives that shape. The
// local gateway therefore answers with the product's shape and codes
// (unauthenticated, forbidden, not_found, body_too_large, internal), with the
// same status codes as API Gateway.
package apigateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"
)

// MaxBody is API Gateway's payload limit for HTTP APIs (10 MB).
const MaxBody = 10 * 1024 * 1024

// Invoker invokes a function synchronously; *lambdahost.Host implements it.
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) ([]byte, error)
}

// Verifier validates a bearer token and returns its claims;
// *jwtissuer.Issuer implements it.
type Verifier interface {
	Verify(token string) (jwt.MapClaims, error)
}

// Config configures a Gateway.
type Config struct {
	Routes   []Route
	Invoker  Invoker
	Verifier Verifier
	// APIID is requestContext.apiId ("local" if empty).
	APIID string
	// AccountID is requestContext.accountId ("000000000000" if empty).
	AccountID string
	// Log receives one line per request; nil discards.
	Log *slog.Logger
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	// CORS is the API's CorsConfiguration; nil sends no CORS header and
	// routes OPTIONS like any other method.
	CORS *CORS
}

// Gateway is an http.Handler that routes requests to Lambda functions.
type Gateway struct {
	cfg    Config
	routes []Route
}

// New validates the routes and returns a Gateway.
func New(cfg Config) (*Gateway, error) {
	if cfg.Invoker == nil {
		return nil, errors.New("apigateway: an Invoker is required")
	}
	routes, err := compile(cfg.Routes)
	if err != nil {
		return nil, fmt.Errorf("apigateway: %w", err)
	}
	for _, r := range routes {
		if r.Auth && cfg.Verifier == nil {
			return nil, fmt.Errorf("apigateway: route %q needs the JWT authorizer but no Verifier is configured", r.Key())
		}
	}
	if cfg.APIID == "" {
		cfg.APIID = "local"
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Gateway{cfg: cfg, routes: routes}, nil
}

// Routes returns the routes in matching order.
func (g *Gateway) Routes() []Route { return append([]Route(nil), g.routes...) }

// ServeHTTP handles one request as API Gateway would.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.cfg.Now()
	reqID := newRequestID()
	w.Header().Set("Apigw-Requestid", reqID)
	var status int
	switch c := g.cfg.CORS; {
	case c != nil && isPreflight(r):
		status = c.preflight(w, r)
	case c != nil && r.Header.Get("Origin") != "":
		allow, _ := c.allowsOrigin(r.Header.Get("Origin"))
		status = g.serve(&corsWriter{ResponseWriter: w, cors: c, allow: allow}, r, reqID, start)
	default:
		status = g.serve(w, r, reqID, start)
	}
	g.cfg.Log.Info("api", "method", r.Method, "path", r.URL.Path, "status", status,
		"ms", g.cfg.Now().Sub(start).Milliseconds(), "requestId", reqID)
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, reqID string, start time.Time) int {
	rawPath := r.URL.EscapedPath()
	segs := strings.Split(strings.TrimPrefix(rawPath, "/"), "/")
	for i, s := range segs {
		if d, err := url.PathUnescape(s); err == nil {
			segs[i] = d
		}
	}
	route, params := match(g.routes, r.Method, segs)
	if route == nil {
		return writeError(w, reqID, http.StatusNotFound, "not_found", "No route matches "+r.Method+" "+r.URL.Path+".")
	}

	var authorizer *events.APIGatewayV2HTTPRequestContextAuthorizerDescription
	if route.Auth {
		claims, scopes, err := g.authorize(r)
		if err != nil {
			return writeError(w, reqID, http.StatusUnauthorized, "unauthenticated", "A valid bearer token is required.")
		}
		if len(route.Scopes) > 0 && !anyIn(route.Scopes, scopes) {
			return writeError(w, reqID, http.StatusForbidden, "forbidden", "The token lacks the scope this route requires.")
		}
		authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims, Scopes: scopes}}
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return writeError(w, reqID, http.StatusRequestEntityTooLarge, "body_too_large", "The request body is larger than 10 MB.")
		}
		return writeError(w, reqID, http.StatusBadRequest, "invalid_request", "The request body could not be read.")
	}

	ev := g.event(r, route, params, body, reqID, start)
	ev.RequestContext.Authorizer = authorizer
	payload, err := json.Marshal(ev)
	if err != nil {
		return writeError(w, reqID, http.StatusInternalServerError, "internal", "Internal Server Error")
	}
	// As on AWS, the invocation runs to its end even if the client goes away.
	out, err := g.cfg.Invoker.Invoke(context.WithoutCancel(r.Context()), route.Function, payload)
	if err != nil {
		g.cfg.Log.Error("integration failed", "route", route.Key(), "function", route.Function, "err", err, "requestId", reqID)
		return writeError(w, reqID, http.StatusInternalServerError, "internal", "Internal Server Error")
	}
	status, err := writeResponse(w, out, reqID)
	if err != nil {
		g.cfg.Log.Error("malformed Lambda proxy response", "function", route.Function, "err", err, "requestId", reqID)
		return writeError(w, reqID, http.StatusInternalServerError, "internal", "Internal Server Error")
	}
	return status
}

// authorize validates the bearer token and returns the claims as API
// Gateway renders them (every value a string) and the token's scopes.
func (g *Gateway) authorize(r *http.Request) (map[string]string, []string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, nil, errors.New("no Authorization header")
	}
	token := h
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		token = strings.TrimSpace(h[7:])
	}
	mc, err := g.cfg.Verifier.Verify(token)
	if err != nil {
		return nil, nil, err
	}
	claims := make(map[string]string, len(mc))
	for k, v := range mc {
		claims[k] = claimString(v)
	}
	var scopes []string
	if s, ok := mc["scope"].(string); ok && s != "" {
		scopes = strings.Fields(s)
	} else if s, ok := mc["scp"].(string); ok && s != "" {
		scopes = strings.Fields(s)
	} else if list, ok := mc["scp"].([]any); ok {
		for _, e := range list {
			scopes = append(scopes, fmt.Sprint(e))
		}
	}
	return claims, scopes, nil
}

// claimString renders a claim value as a string. Numbers keep their integer
// form; arrays and objects are rendered as JSON (the product accepts a
// JSON-array string for roles, api.ParseRoles).
func claimString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// event builds the payload format 2.0 event.
func (g *Gateway) event(r *http.Request, route *Route, params map[string]string, body []byte, reqID string, start time.Time) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	var cookies []string
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			for _, line := range r.Header[k] {
				for _, c := range strings.Split(line, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lk] = strings.Join(r.Header[k], ",")
	}
	host := r.Host
	headers["host"] = host
	sourceIP, port := "127.0.0.1", "80"
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		sourceIP = h
	}
	if _, p, err := net.SplitHostPort(host); err == nil {
		port = p
	}
	if xff := headers["x-forwarded-for"]; xff != "" {
		headers["x-forwarded-for"] = xff + ", " + sourceIP
	} else {
		headers["x-forwarded-for"] = sourceIP
	}
	headers["x-forwarded-port"] = port
	headers["x-forwarded-proto"] = "http"
	headers["x-amzn-trace-id"] = fmt.Sprintf("Root=1-%08x-%s", start.Unix(), randomHex(12))

	var query map[string]string
	if r.URL.RawQuery != "" {
		query = map[string]string{}
		for _, part := range strings.Split(r.URL.RawQuery, "&") {
			if part == "" {
				continue
			}
			k, v, _ := strings.Cut(part, "=")
			if dk, err := url.QueryUnescape(k); err == nil {
				k = dk
			}
			if dv, err := url.QueryUnescape(v); err == nil {
				v = dv
			}
			if prev, ok := query[k]; ok {
				query[k] = prev + "," + v
			} else {
				query[k] = v
			}
		}
	}
	domain, _, err := net.SplitHostPort(host)
	if err != nil {
		domain = host
	}
	prefix, _, _ := strings.Cut(domain, ".")

	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route.Key(),
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     route.Key(),
			AccountID:    g.cfg.AccountID,
			Stage:        "$default",
			RequestID:    reqID,
			APIID:        g.cfg.APIID,
			DomainName:   domain,
			DomainPrefix: prefix,
			Time:         start.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    start.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(params) == 0 {
		ev.PathParameters = nil
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type")) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// isText tells whether a body of this content type is passed as text rather
// than base64.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt == "" {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript", mt == "application/x-www-form-urlencoded",
		mt == "application/graphql", mt == "application/yaml", mt == "application/x-yaml":
		return true
	}
	return false
}

// proxyResponse is the structured Lambda response of payload format 2.0.
type proxyResponse struct {
	StatusCode        *int                `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Cookies           []string            `json:"cookies"`
	Body              *string             `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

// writeResponse translates the function's output as API Gateway does for
// format 2.0: a JSON object with statusCode is a structured response;
// anything else valid JSON is returned as the body of a 200 application/json
// response.
func writeResponse(w http.ResponseWriter, out []byte, reqID string) (int, error) {
	var probe map[string]json.RawMessage
	structured := json.Unmarshal(out, &probe) == nil && probe["statusCode"] != nil
	if !structured {
		if !json.Valid(out) {
			return 0, errors.New("function output is not JSON")
		}
		w.Header().Set("Content-Type", "application/json")
		setRequestID(w, reqID)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(out)
		return http.StatusOK, nil
	}
	var pr proxyResponse
	if err := json.Unmarshal(out, &pr); err != nil {
		return 0, err
	}
	if *pr.StatusCode < 100 || *pr.StatusCode > 599 {
		return 0, fmt.Errorf("statusCode %d out of range", *pr.StatusCode)
	}
	var body []byte
	if pr.Body != nil {
		if pr.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(*pr.Body)
			if err != nil {
				return 0, fmt.Errorf("body: %w", err)
			}
			body = b
		} else {
			body = []byte(*pr.Body)
		}
	}
	h := w.Header()
	for k, vs := range pr.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for k, v := range pr.Headers {
		h.Set(k, v)
	}
	for _, c := range pr.Cookies {
		h.Add("Set-Cookie", c)
	}
	if h.Get("Content-Type") == "" {
		h["Content-Type"] = nil // no sniffing: API Gateway adds none
	}
	setRequestID(w, reqID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(*pr.StatusCode)
	_, _ = io.Copy(w, bytes.NewReader(body))
	return *pr.StatusCode, nil
}

func setRequestID(w http.ResponseWriter, reqID string) {
	if w.Header().Get("X-Request-Id") == "" {
		w.Header().Set("X-Request-Id", reqID)
	}
}

// errorBody is the product's error shape (api.Error).
type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"requestId"`
		Details   []any  `json:"details"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, reqID string, status int, code, msg string) int {
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.RequestID, b.Error.Details = code, msg, reqID, []any{}
	data, _ := json.Marshal(b)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", reqID)
	if status == http.StatusUnauthorized {
		w.Header().Set("Www-Authenticate", `Bearer`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(data)
	return status
}

// newRequestID makes an id shaped like API Gateway's ("JKJaXmPLvHcESHA=").
func newRequestID() string {
	var b [11]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

func anyIn(want, have []string) bool {
	for _, w := range want {
		for _, h := range have {
			if w == h {
				return true
			}
		}
	}
	return false
}
