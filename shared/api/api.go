// Package api adapts the product's HTTP routes to API Gateway HTTP API
// (payload format 2.0): the caller from the JWT authorizer's claims, JSON
// responses and HTML pages, the error body
// ({"error":{"code","message","requestId","details"}}) with the one table
// from error codes to HTTP statuses (HTTPStatus), and the X-Request-Id header.
package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/provider"
)

// Request and Response are API Gateway HTTP API payload format 2.0 events.
type (
	Request  = events.APIGatewayV2HTTPRequest
	Response = events.APIGatewayV2HTTPResponse
)

// Caller is who makes a UI request, from the JWT authorizer's claims.
type Caller struct {
	UserID    string
	AccountID string
	Roles     []string
	// Name and Email are the optional "name" and "email" claims: a name with
	// control characters is dropped (it is shown in emails) and a long one is
	// cut to MaxCallerNameLen characters; an email that is not a single plain
	// address (provider.ValidateEmail) is dropped.
	Name  string
	Email string
}

// MaxCallerNameLen bounds the name claim kept in Caller.Name, in characters.
const MaxCallerNameLen = 100

// Has reports whether the caller has a role.
func (c Caller) Has(role string) bool {
	for _, r := range c.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// IsAdmin reports whether the caller is an organization administrator.
func (c Caller) IsAdmin() bool { return c.Has("admin") }

// Requester is the caller as a provider records who asked for it.
func (c Caller) Requester() provider.Requester {
	return provider.Requester{AccountID: c.AccountID, UserID: c.UserID, Name: c.Name, Email: c.Email}
}

// Bounds on the identity claims, in bytes.
const (
	MaxAccountIDLen = 128
	MaxUserIDLen    = 256
)

// CallerFrom reads the caller from the authorizer context. A missing or
// malformed sub or account_id is unauthenticated: the route cannot act for
// nobody, nor for an id the store could not tell from another.
func CallerFrom(req Request) (Caller, error) {
	var claims map[string]string
	if a := req.RequestContext.Authorizer; a != nil && a.JWT != nil {
		claims = a.JWT.Claims
	}
	c := Caller{UserID: strings.TrimSpace(claims["sub"]), AccountID: strings.TrimSpace(claims["account_id"]), Roles: ParseRoles(claims["roles"])}
	if !ValidAccountID(c.AccountID) || !validClaimID(c.UserID, MaxUserIDLen) {
		return Caller{}, apperr.New(apperr.Unauthenticated, "A valid token with the sub and account_id claims is required.")
	}
	c.Name = cleanName(claims["name"])
	if email := strings.TrimSpace(claims["email"]); provider.ValidateEmail(email) == "" {
		c.Email = email
	}
	return c, nil
}

// ValidAccountID reports whether id can be an account id: 1 to
// MaxAccountIDLen bytes of printable characters without '#' (the store's key
// separator), and not an array or object claim as the authorizer renders one
// ("[a b]", `["a"]`, "{...}"). Surrounding white space is the caller's to trim.
func ValidAccountID(id string) bool {
	return validClaimID(id, MaxAccountIDLen) && !strings.Contains(id, "#")
}

// validClaimID: 1 to max bytes of valid UTF-8, every character printable,
// not starting with '[' or '{' (a non-string claim rendered as text).
func validClaimID(s string, max int) bool {
	if s == "" || len(s) > max || !utf8.ValidString(s) || s[0] == '[' || s[0] == '{' {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// cleanName returns the name claim trimmed and cut to MaxCallerNameLen
// characters, or "" when it is not valid UTF-8 or holds control characters.
func cleanName(s string) string {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return ""
	}
	if r := []rune(s); len(r) > MaxCallerNameLen {
		s = strings.TrimSpace(string(r[:MaxCallerNameLen]))
	}
	return s
}

// ParseRoles accepts the roles claim as API Gateway passes it: a JSON-array
// string (`["admin","operator"]`), API Gateway's flattened array (`[admin operator]`),
// or a space- or comma-separated string.
func ParseRoles(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	var arr []string
	if strings.HasPrefix(s, "[") && json.Unmarshal([]byte(s), &arr) == nil {
		return clean(arr)
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	return clean(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }))
}

func clean(in []string) []string {
	out := make([]string, 0, len(in))
	for _, r := range in {
		if r = strings.Trim(strings.TrimSpace(r), `"`); r != "" {
			out = append(out, r)
		}
	}
	return out
}

// Body returns the request body, decoding base64 when API Gateway encoded it.
func Body(req Request) ([]byte, error) {
	if !req.IsBase64Encoded {
		return []byte(req.Body), nil
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, apperr.New(apperr.InvalidRequest, "The request body is not valid base64.")
	}
	return b, nil
}

// LimitedBody returns the request body (base64-decoded when API Gateway
// encoded it), or body_too_large when it is over max bytes: by its
// Content-Length header, its encoded size or its decoded size, checked in
// that order so an oversized body is never decoded.
func LimitedBody(req Request, max int) ([]byte, error) {
	tooLarge := apperr.New(apperr.BodyTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", max))
	if cl := strings.TrimSpace(Header(req, "Content-Length")); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n > int64(max) {
			return nil, tooLarge
		}
	}
	limit := max
	if req.IsBase64Encoded {
		limit = base64.StdEncoding.EncodedLen(max)
	}
	if len(req.Body) > limit {
		return nil, tooLarge
	}
	b, err := Body(req)
	if err != nil {
		return nil, err
	}
	if len(b) > max {
		return nil, tooLarge
	}
	return b, nil
}

// Header returns a request header by case-insensitive name.
func Header(req Request, name string) string {
	v, _ := LookupHeader(req, name)
	return v
}

// LookupHeader returns a request header by case-insensitive name and whether
// the request carries it at all (an empty value is still present).
func LookupHeader(req Request, name string) (string, bool) {
	if v, ok := req.Headers[strings.ToLower(name)]; ok {
		return v, true
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// RequestID is API Gateway's request id, or "unknown".
func RequestID(req Request) string {
	if id := req.RequestContext.RequestID; id != "" {
		return id
	}
	return "unknown"
}

// JSON returns a JSON response with the request id header.
func JSON(req Request, status int, v any) Response {
	b, err := json.Marshal(v)
	if err != nil {
		return Error(req, apperr.Wrap(err, "marshal response"))
	}
	return Response{StatusCode: status, Headers: jsonHeaders(req), Body: string(b)}
}

// jsonHeaders are the headers of every JSON answer: never cached or
// sniffed, with the request id.
func jsonHeaders(req Request) map[string]string {
	return map[string]string{
		"Content-Type":           "application/json",
		"X-Request-Id":           RequestID(req),
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	}
}

// NoContent returns a 204 response (no body) with the request id header.
func NoContent(req Request) Response {
	h := jsonHeaders(req)
	delete(h, "Content-Type")
	return Response{StatusCode: http.StatusNoContent, Headers: h}
}

// errorBody is the error shape of every error answer:
// {"error":{"code","message","requestId","details",…}}.
type errorBody struct {
	Error map[string]any `json:"error"`
}

// Error maps any error to the error body and its status (HTTPStatus). The
// detail of an internal error is logged, never returned.
func Error(req Request, err error) Response {
	e := apperr.As(err)
	status := HTTPStatus(e.Code)
	body := map[string]any{"code": e.Code, "message": e.Message, "requestId": RequestID(req)}
	details := e.Details
	if details == nil {
		details = []apperr.Detail{}
	}
	body["details"] = details
	for k, v := range e.Extra {
		if _, taken := body[k]; !taken {
			body[k] = v
		}
	}
	b, _ := json.Marshal(errorBody{Error: body})
	resp := Response{StatusCode: status, Headers: jsonHeaders(req), Body: string(b)}
	if status == http.StatusUnauthorized {
		// RFC 9110 §15.5.2: a 401 names the scheme, as the gateway's own 401 does.
		resp.Headers["WWW-Authenticate"] = "Bearer"
	}
	return resp
}

// HandlerFunc is a route's logic: it returns a response or an error.
type HandlerFunc func(ctx context.Context, req Request) (Response, error)

// Handle wraps a JSON route: it puts the request id in the context's logger,
// maps errors to the error body (HTTPStatus), logs every outcome once, and
// never panics out.
func Handle(h HandlerFunc) func(context.Context, Request) (Response, error) {
	return serve(func(ctx context.Context, req Request) Response {
		log := logging.From(ctx)
		resp, err := h(ctx, req)
		if err != nil {
			e := apperr.As(err)
			level := slog.LevelInfo
			if e.Code == apperr.Internal {
				level = slog.LevelError
			}
			// err, not e: a wrapped product error keeps its context in the log.
			log.Log(ctx, level, "request failed", "code", e.Code, "status", HTTPStatus(e.Code), "error", err.Error())
			return Error(req, e)
		}
		log.Info("request served", "status", resp.StatusCode)
		return resp
	}, func(req Request) Response {
		return Error(req, apperr.New(apperr.Internal, "An internal error occurred."))
	})
}

// PageFunc is an HTML route's logic: every outcome is a page, so it
// returns no error.
type PageFunc func(ctx context.Context, req Request) Response

// HandlePage wraps an HTML route as Handle wraps a JSON one: the request id
// in the context's logger, the page's status logged once, and a panic
// answered with failed(req) (a static error page) instead of escaping.
func HandlePage(h PageFunc, failed func(Request) Response) func(context.Context, Request) (Response, error) {
	return serve(func(ctx context.Context, req Request) Response {
		resp := h(ctx, req)
		logging.From(ctx).Info("page served", "status", resp.StatusCode)
		return resp
	}, failed)
}

// serve runs h with the request id and route in the context's logger; a
// panic is logged and answered with failed(req).
func serve(h PageFunc, failed func(Request) Response) func(context.Context, Request) (Response, error) {
	return func(ctx context.Context, req Request) (resp Response, _ error) {
		log := logging.From(ctx).With("request_id", RequestID(req), "route", req.RouteKey)
		ctx = logging.With(ctx, log)
		defer func() {
			if r := recover(); r != nil {
				log.Error("handler panicked", "panic", fmt.Sprint(r))
				resp = failed(req)
			}
		}()
		return h(ctx, req), nil
	}
}

// PageHeaders are the headers of every HTML page: never cached, framed,
// sniffed, indexed or followed by a referrer, HTTPS only, with the content
// security policy csp and the request id.
func PageHeaders(req Request, csp string) map[string]string {
	return map[string]string{
		"Content-Type":              "text/html; charset=utf-8",
		"Content-Security-Policy":   csp,
		"X-Frame-Options":           "DENY",
		"Referrer-Policy":           "no-referrer",
		"Cache-Control":             "no-store",
		"X-Content-Type-Options":    "nosniff",
		"X-Robots-Tag":              "noindex, nofollow",
		"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
		"X-Request-Id":              RequestID(req),
	}
}

// StatusAccepted and friends are re-exported for handler readability.
const (
	StatusOK       = http.StatusOK
	StatusAccepted = http.StatusAccepted
	StatusCreated  = http.StatusCreated
)
