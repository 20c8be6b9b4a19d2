package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
)

// FuzzParseRoles: whatever the roles claim holds, ParseRoles never panics
// and returns only non-empty, trimmed roles without quotes or separators;
// a role list it returns, rendered in each form API Gateway may pass
// (JSON array, its flattened "[a b]", space- or comma-separated), parses
// back to the same list.
func FuzzParseRoles(f *testing.F) {
	for _, s := range []string{`["admin","operator"]`, `[admin operator]`, "admin operator", "admin,operator", "", "[]", `[""]`,
		`["ad min"]`, `[1,2]`, `"admin"`, "\tadmin\t", `["admin"`, `[[["admin"]]]`, "adm\x00in", `{"admin":true}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		roles := ParseRoles(s)
		for _, r := range roles {
			if r == "" || r != strings.TrimSpace(r) || strings.Trim(r, `"`) != r {
				t.Fatalf("ParseRoles(%q) returned the role %q", s, r)
			}
		}
		// Round trips: only roles that survive every rendering (no separators
		// or brackets inside) can be expected back from each.
		for _, r := range roles {
			if strings.ContainsAny(r, " ,\t[]\"") || strings.IndexFunc(r, unicode.IsSpace) >= 0 || !utf8.ValidString(r) {
				return
			}
		}
		arr, _ := json.Marshal(roles)
		if len(roles) == 0 {
			arr = []byte("[]")
		}
		forms := map[string]string{
			"json":      string(arr),
			"flattened": "[" + strings.Join(roles, " ") + "]",
			"spaces":    strings.Join(roles, " "),
			"commas":    strings.Join(roles, ","),
		}
		for form, rendered := range forms {
			got := ParseRoles(rendered)
			if strings.Join(got, "\x00") != strings.Join(roles, "\x00") {
				t.Fatalf("roles %q rendered as %s (%q) parse to %q", roles, form, rendered, got)
			}
		}
	})
}

// FuzzCallerFrom: any claims give either a caller whose ids satisfy the
// account_id and sub rules (the account id one the store keys safely) and
// whose name and email are clean, or an unauthenticated *apperr.Error
// (401). An accepted caller's claims, passed again, give the same caller.
func FuzzCallerFrom(f *testing.F) {
	f.Add("user-1", "acct-1", `["admin"]`, "Ada Lovelace", "ada@example.com")
	f.Add("", "acct-1", "admin", "", "")
	f.Add("user-1", "", "", "", "")
	f.Add("user-1", "acct#PROVIDER#x", "", "", "")
	f.Add("user-1", "[acct-1]", "", "", "")
	f.Add("user-1", `["acct-1"]`, "", "", "")
	f.Add("user-1", "acct\x00", "", "", "")
	f.Add("user-1", "acct\u202e1", "", "", "")
	f.Add("  user-1 ", " acct-1 ", "admin operator", "Eve\r\nBcc: x", "Eve <eve@example.com>")
	f.Add("user-1", strings.Repeat("a", 129), "", strings.Repeat("n", 300), "a@b")
	f.Fuzz(func(t *testing.T, sub, accountID, roles, name, email string) {
		claims := map[string]string{"sub": sub, "account_id": accountID, "roles": roles, "name": name, "email": email}
		req := Request{RequestContext: events.APIGatewayV2HTTPRequestContext{Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims}}}}
		c, err := CallerFrom(req)
		if err != nil {
			var e *apperr.Error
			if !errors.As(err, &e) || e.Code != apperr.Unauthenticated || HTTPStatus(e.Code) != http.StatusUnauthorized {
				t.Fatalf("error %v, want unauthenticated", err)
			}
			if ValidAccountID(strings.TrimSpace(accountID)) && validClaimID(strings.TrimSpace(sub), MaxUserIDLen) {
				t.Fatalf("refused valid claims sub %q account_id %q", sub, accountID)
			}
			return
		}
		if c.AccountID != strings.TrimSpace(accountID) || c.UserID != strings.TrimSpace(sub) {
			t.Fatalf("caller %+v from sub %q account_id %q", c, sub, accountID)
		}
		if !ValidAccountID(c.AccountID) || strings.ContainsAny(c.AccountID, "#\x00\r\n") || len(c.AccountID) > MaxAccountIDLen {
			t.Fatalf("accepted account_id %q", c.AccountID)
		}
		if c.UserID == "" || len(c.UserID) > MaxUserIDLen || strings.IndexFunc(c.UserID, unicode.IsControl) >= 0 {
			t.Fatalf("accepted sub %q", c.UserID)
		}
		if strings.IndexFunc(c.Name, unicode.IsControl) >= 0 || utf8.RuneCountInString(c.Name) > MaxCallerNameLen || !utf8.ValidString(c.Name) {
			t.Fatalf("kept name %q", c.Name)
		}
		if c.Email != "" && provider.ValidateEmail(c.Email) != "" {
			t.Fatalf("kept email %q", c.Email)
		}
		again, err := CallerFrom(Request{RequestContext: events.APIGatewayV2HTTPRequestContext{Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{
				"sub": c.UserID, "account_id": c.AccountID, "roles": strings.Join(c.Roles, " "), "name": c.Name, "email": c.Email}}}}})
		if err != nil || again.UserID != c.UserID || again.AccountID != c.AccountID || again.Name != c.Name || again.Email != c.Email {
			t.Fatalf("caller %+v does not round-trip: %+v, %v", c, again, err)
		}
	})
}

// FuzzLimitedBody: a body (plain or base64) is returned only when it fits,
// decoded exactly; otherwise the error is body_too_large or invalid_request.
func FuzzLimitedBody(f *testing.F) {
	f.Add("hello", false, "")
	f.Add("aGVsbG8=", true, "")
	f.Add("not base64!", true, "")
	f.Add(strings.Repeat("a", 40), false, "")
	f.Add("x", false, "99999999999999999999")
	f.Add("x", false, "-1")
	const max = 32
	f.Fuzz(func(t *testing.T, body string, b64 bool, contentLength string) {
		req := Request{Body: body, IsBase64Encoded: b64, Headers: map[string]string{"content-length": contentLength}}
		got, err := LimitedBody(req, max)
		if err != nil {
			var e *apperr.Error
			if !errors.As(err, &e) || (e.Code != apperr.BodyTooLarge && e.Code != apperr.InvalidRequest) {
				t.Fatalf("error %v", err)
			}
			if e.Code == apperr.InvalidRequest && !b64 {
				t.Fatalf("invalid_request for a plain body")
			}
			return
		}
		if len(got) > max {
			t.Fatalf("returned %d bytes over the limit %d", len(got), max)
		}
		if !b64 && string(got) != body {
			t.Fatalf("plain body changed: %q -> %q", body, got)
		}
	})
}
