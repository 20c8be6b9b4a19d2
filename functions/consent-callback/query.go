package main

import (
	"errors"
	"net/url"
	"strings"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/msid"
)

// callbackQuery is Microsoft's redirect, checked for shape only: the state's
// signature, the tenant and the records are checked by the handler. It is
// one of: an error; a sign-in response (Code); an admin-consent response
// (Tenant).
type callbackQuery struct {
	State string
	// Code is the authorization code of a sign-in response.
	Code string
	// Tenant is the lower-cased tenant GUID of a success response.
	Tenant string
	// Error is Microsoft's error code (a-z and _ only), empty on success.
	Error string
	// AADSTS is the AADSTS code found in error_description, if any.
	AADSTS string
}

// Bounds on what is read at all.
const (
	maxQueryLen       = 8192
	maxDescriptionLen = 4096
	maxScopeLen       = 2048
	maxErrorLen       = 64
	maxCodeLen        = 4096
)

// errMalformed is a query that no real redirect from Microsoft carries.
var errMalformed = errors.New("malformed callback query")

// queryParams returns the query parameters: API Gateway's decoded map, or
// the raw query string when the map is absent (repeated parameters are
// joined with commas, as API Gateway does).
func queryParams(req api.Request) (map[string]string, error) {
	if len(req.RawQueryString) > maxQueryLen {
		return nil, errMalformed
	}
	if req.QueryStringParameters != nil {
		total := 0
		for k, v := range req.QueryStringParameters {
			total += len(k) + len(v)
		}
		if total > maxQueryLen {
			return nil, errMalformed
		}
		return req.QueryStringParameters, nil
	}
	vals, err := url.ParseQuery(req.RawQueryString)
	if err != nil {
		return nil, errMalformed
	}
	out := make(map[string]string, len(vals))
	for k, v := range vals {
		out[k] = strings.Join(v, ",")
	}
	return out, nil
}

// parseCallback checks the shape of Microsoft's redirect. A response is an
// error (error, optional error_description), a sign-in success (code), or
// an admin-consent success (admin_consent=True and a tenant GUID); anything
// else, including a mix of the two successes, is malformed.
func parseCallback(req api.Request) (callbackQuery, error) {
	params, err := queryParams(req)
	if err != nil {
		return callbackQuery{}, err
	}
	var q callbackQuery
	q.State = params["state"]
	if len(q.State) > consent.MaxStateLen || hasControl(q.State) {
		return callbackQuery{}, errMalformed
	}
	if len(params["scope"]) > maxScopeLen || hasControl(params["scope"]) {
		return callbackQuery{}, errMalformed
	}
	if e, ok := params["error"]; ok && e != "" {
		if len(e) > maxErrorLen || !errorCode(e) {
			return callbackQuery{}, errMalformed
		}
		desc := params["error_description"]
		if len(desc) > maxDescriptionLen {
			return callbackQuery{}, errMalformed
		}
		q.Error = e
		q.AADSTS = msid.AADSTS(desc)
		return q, nil
	}
	if code, ok := params["code"]; ok {
		if _, mixed := params["admin_consent"]; mixed || code == "" || len(code) > maxCodeLen || !authorizationCode(code) {
			return callbackQuery{}, errMalformed
		}
		q.Code = code
		return q, nil
	}
	if !strings.EqualFold(params["admin_consent"], "true") {
		return callbackQuery{}, errMalformed
	}
	tenant := params["tenant"]
	if !msid.IsGUID(tenant) {
		return callbackQuery{}, errMalformed
	}
	q.Tenant = strings.ToLower(tenant)
	return q, nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// errorCode reports whether e looks like an OAuth error code: lower-case
// letters and underscores (a loop: a bounded repetition in a regular
// expression compiles to a large program on the request path).
func errorCode(e string) bool {
	if e == "" {
		return false
	}
	for i := 0; i < len(e); i++ {
		if c := e[i]; !('a' <= c && c <= 'z' || c == '_') {
			return false
		}
	}
	return true
}

// authorizationCode reports whether code is URL-safe text, as Entra ID's
// authorization codes are: letters, digits and ._~+/=*!-.
func authorizationCode(code string) bool {
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("._~+/=*!-", c) >= 0) {
			return false
		}
	}
	return code != ""
}
