package main

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/ownership"
)

// unavailableTenant makes the fuzz verifier answer ErrUnavailable.
const unavailableTenant = "eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee"

// FuzzCallbackQuery feeds arbitrary query parameters, and arbitrary raw
// query strings, to the callback: it never panics, every answer is a
// well-formed page with the security headers, nothing from the query is
// echoed as markup, and the only 5xx is the 503 of an unavailable verifier.
// A state of "fresh" is replaced by a newly signed, valid state.
func FuzzCallbackQuery(f *testing.F) {
	e := newEnv(f)
	e.verifier.answer = func(_ int, tenant string) (string, string, error) {
		if strings.EqualFold(tenant, unavailableTenant) {
			return "", "", fmt.Errorf("%w: fuzz", ownership.ErrUnavailable)
		}
		return tenant, appOID, nil
	}
	f.Add("True", unavailableTenant, "fresh", "", "", "")
	f.Add("True", tenantID, "fresh", "", "", "")
	f.Add("", "", "fresh", "consent_required", "AADSTS65004: <script>alert(1)</script>", "")
	f.Add("", "", "fresh", "access_denied", "AADSTS65004: declined", "")
	f.Add("True", tenantID, e.state(f), "", "", "")
	f.Add("True", tenantID, "", "", "", "admin_consent=True&state=%zz")
	f.Add("true", "common", "a.b", "<b>", "\x00\r\n", "state=a.b&state=c.d")
	f.Add("True", strings.Repeat("f", 5000), strings.Repeat("A", 600), "", "", "")
	_, signInState := e.signInState(f)
	f.Add("", "", "", "", "", "code=0.AXoA-abc_def&state="+signInState)
	f.Add("", "", "", "", "", "code=<b>&admin_consent=True&tenant="+tenantID+"&state="+signInState)
	f.Fuzz(func(t *testing.T, adminConsent, tenant, state, errCode, errDesc, raw string) {
		if state == "fresh" {
			state = e.state(t)
		}
		params := map[string]string{}
		for k, v := range map[string]string{"admin_consent": adminConsent, "tenant": tenant, "state": state, "error": errCode, "error_description": errDesc} {
			if v != "" {
				params[k] = v
			}
		}
		resp := e.callback(t, params)
		checkFuzzed(t, resp.StatusCode, resp.Body, tenant, errDesc, errCode)

		req := apitest.Request(RouteCallback, nil)
		req.RawQueryString = raw
		resp, err := e.handle(context.Background(), req)
		if err != nil {
			t.Fatalf("Handle returned an error: %v", err)
		}
		checkPage(t, resp)
		checkFuzzed(t, resp.StatusCode, resp.Body, unavailableTenantIn(raw), raw, raw)
	})
}

func unavailableTenantIn(raw string) string {
	if strings.Contains(strings.ToLower(raw), unavailableTenant) {
		return unavailableTenant
	}
	return ""
}

var (
	tagNameRE     = regexp.MustCompile(`<\s*/?\s*([A-Za-z][A-Za-z0-9]*)`)
	handlerAttrRE = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	allowedTags   = map[string]bool{"html": true, "head": true, "meta": true, "title": true, "style": true, "body": true, "header": true,
		"main": true, "footer": true, "div": true, "p": true, "h1": true, "h2": true, "h3": true, "ul": true, "ol": true, "li": true,
		"a": true, "code": true, "strong": true}
)

func checkFuzzed(t *testing.T, status int, body, tenant string, echoes ...string) {
	t.Helper()
	switch status {
	case http.StatusOK, http.StatusBadRequest:
	case http.StatusServiceUnavailable:
		if !strings.EqualFold(tenant, unavailableTenant) {
			t.Fatalf("503 for tenant %q", tenant)
		}
	default:
		t.Fatalf("status %d: %s", status, text(body))
	}
	// Nothing from the query becomes markup: only the templates' own tags
	// appear, and no event-handler attribute.
	for _, m := range tagNameRE.FindAllStringSubmatch(body, -1) {
		if !allowedTags[strings.ToLower(m[1])] {
			t.Fatalf("page has a <%s> tag (echoed from %q)", m[1], echoes)
		}
	}
	if handlerAttrRE.MatchString(body) {
		t.Fatalf("page has an event-handler attribute (echoed from %q)", echoes)
	}
}
