package provider

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/partnercloud/azure/shared/apperr"
)

// body builds a create request body from a valid migrate request with
// fields replaced (a nil value removes the field).
func body(t *testing.T, with map[string]any) []byte {
	t.Helper()
	m := map[string]any{
		"name":            "Contoso production",
		"type":            "azure",
		"option":          "migrate",
		"azureAdminEmail": "it-admin@contoso.com",
		"subscriptionIds": []string{"00000000-0000-0000-0000-000000000001"},
		"acceptedTerms":   map[string]string{"partner": "2017-08", "microsoft": "2017-08"},
	}
	for k, v := range with {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newBody builds a valid option-new request body; edit changes its company.
func newBody(t *testing.T, edit func(company map[string]any)) []byte {
	t.Helper()
	company := map[string]any{
		"name":         "Fabrikam Ltd",
		"domainPrefix": "fabrikam2026",
		"address":      map[string]any{"line1": "1 Main St", "city": "Redmond", "state": "WA", "postalCode": "98052", "country": "US"},
		"contact":      map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@fabrikam.com", "phone": "+1 425 555 0100"},
	}
	with := map[string]any{"option": "new", "azureAdminEmail": nil, "subscriptionIds": nil, "company": company}
	if edit != nil {
		edit(company)
		if v, ok := company["tenantId"]; ok {
			delete(company, "tenantId")
			with["tenantId"] = v
		}
	}
	return body(t, with)
}

func TestParseCreateRequest(t *testing.T) {
	tests := []struct {
		name       string
		body       []byte
		wantCode   apperr.Code // "" means valid
		wantFields []string    // details that must be present
	}{
		{name: "valid migrate", body: body(t, nil)},
		{name: "valid migrate without subscriptions or terms", body: body(t, map[string]any{"subscriptionIds": nil, "acceptedTerms": nil})},
		{name: "valid existing", body: existingBody(t, nil)},
		{name: "valid existing by a member, with a 1024-character secret", body: existingBody(t, map[string]any{"clientSecret": strings.Repeat("s", MaxClientSecretLen)})},
		{name: "existing without credentials", body: existingBody(t, map[string]any{"tenantId": nil, "clientId": nil, "clientSecret": nil, "subscriptionId": nil}), wantCode: apperr.InvalidRequest, wantFields: []string{"tenantId", "clientId", "clientSecret", "subscriptionId"}},
		{name: "existing with ids that are not GUIDs", body: existingBody(t, map[string]any{"tenantId": "contoso.onmicrosoft.com", "clientId": "c", "subscriptionId": "x"}), wantCode: apperr.InvalidRequest, wantFields: []string{"tenantId", "clientId", "subscriptionId"}},
		{name: "existing with a secret over 1024 characters", body: existingBody(t, map[string]any{"clientSecret": strings.Repeat("s", MaxClientSecretLen+1)}), wantCode: apperr.InvalidRequest, wantFields: []string{"clientSecret"}},
		{name: "existing with a control character in the secret", body: existingBody(t, map[string]any{"clientSecret": "abc\ndef"}), wantCode: apperr.InvalidRequest, wantFields: []string{"clientSecret"}},
		{name: "existing with a company", body: existingBody(t, map[string]any{"company": map[string]any{"name": "x"}}), wantCode: apperr.InvalidRequest, wantFields: []string{"company"}},
		{name: "existing with subscriptionIds", body: existingBody(t, map[string]any{"subscriptionIds": []string{"00000000-0000-0000-0000-000000000001"}}), wantCode: apperr.InvalidRequest, wantFields: []string{"subscriptionIds"}},
		{name: "valid new", body: newBody(t, nil)},
		{name: "new without company", body: body(t, map[string]any{"option": "new", "azureAdminEmail": nil, "subscriptionIds": nil}), wantCode: apperr.InvalidRequest, wantFields: []string{"company"}},
		{name: "new with an empty company", body: body(t, map[string]any{"option": "new", "azureAdminEmail": nil, "subscriptionIds": nil, "company": map[string]any{}}), wantCode: apperr.InvalidRequest, wantFields: []string{"company.name", "company.domainPrefix", "company.address.line1", "company.address.city", "company.address.state", "company.address.postalCode", "company.address.country", "company.contact.firstName", "company.contact.lastName", "company.contact.email", "company.contact.phone"}},
		{name: "new with credentials", body: newBody(t, func(m map[string]any) { m["tenantId"] = "00000000-0000-0000-0000-000000000001" }), wantCode: apperr.InvalidRequest, wantFields: []string{"tenantId"}},
		{name: "new with an upper-case domain prefix", body: newBody(t, func(m map[string]any) { m["domainPrefix"] = "Fabrikam" }), wantCode: apperr.InvalidRequest, wantFields: []string{"company.domainPrefix"}},
		{name: "new with a dotted domain prefix", body: newBody(t, func(m map[string]any) { m["domainPrefix"] = "fabrikam.onmicrosoft.com" }), wantCode: apperr.InvalidRequest, wantFields: []string{"company.domainPrefix"}},
		{name: "new with a short domain prefix", body: newBody(t, func(m map[string]any) { m["domainPrefix"] = "ab" }), wantCode: apperr.InvalidRequest, wantFields: []string{"company.domainPrefix"}},
		{name: "new with a 28-character domain prefix", body: newBody(t, func(m map[string]any) { m["domainPrefix"] = strings.Repeat("a", 28) }), wantCode: apperr.InvalidRequest, wantFields: []string{"company.domainPrefix"}},
		{name: "new with a 27-character domain prefix", body: newBody(t, func(m map[string]any) { m["domainPrefix"] = strings.Repeat("a", 27) })},
		{name: "new with a country name", body: newBody(t, func(m map[string]any) { m["address"].(map[string]any)["country"] = "USA" }), wantCode: apperr.InvalidRequest, wantFields: []string{"company.address.country"}},
		{name: "new with a lower-case country", body: newBody(t, func(m map[string]any) { m["address"].(map[string]any)["country"] = "us" }), wantCode: apperr.InvalidRequest, wantFields: []string{"company.address.country"}},
		{name: "new with a bad contact email", body: newBody(t, func(m map[string]any) { m["contact"].(map[string]any)["email"] = "A <a@fabrikam.com>" }), wantCode: apperr.InvalidRequest, wantFields: []string{"company.contact.email"}},
		{name: "new with a company name over 100 characters", body: newBody(t, func(m map[string]any) { m["name"] = strings.Repeat("n", 101) }), wantCode: apperr.InvalidRequest, wantFields: []string{"company.name"}},
		{name: "new with a control character in the city", body: newBody(t, func(m map[string]any) { m["address"].(map[string]any)["city"] = "Red\nmond" }), wantCode: apperr.InvalidRequest, wantFields: []string{"company.address.city"}},
		{name: "new with an unknown company field", body: newBody(t, func(m map[string]any) { m["vat"] = "x" }), wantCode: apperr.InvalidRequest, wantFields: []string{"vat"}},
		{name: "empty body", body: []byte(""), wantCode: apperr.InvalidRequest},
		{name: "white space body", body: []byte(" \n\t"), wantCode: apperr.InvalidRequest},
		{name: "malformed JSON", body: []byte(`{"name": "x",`), wantCode: apperr.InvalidRequest},
		{name: "not an object", body: []byte(`[1,2]`), wantCode: apperr.InvalidRequest},
		{name: "two objects", body: append(body(t, nil), body(t, nil)...), wantCode: apperr.InvalidRequest},
		{name: "trailing garbage", body: append(body(t, nil), []byte(" x")...), wantCode: apperr.InvalidRequest},
		{name: "invalid UTF-8", body: []byte("{\"name\": \"\xff\xfe\"}"), wantCode: apperr.InvalidRequest},
		{name: "unknown field", body: body(t, map[string]any{"color": "blue"}), wantCode: apperr.InvalidRequest, wantFields: []string{"color"}},
		{name: "wrong type name", body: body(t, map[string]any{"name": 42}), wantCode: apperr.InvalidRequest, wantFields: []string{"name"}},
		{name: "wrong type subscriptionIds", body: body(t, map[string]any{"subscriptionIds": "00000000-0000-0000-0000-000000000001"}), wantCode: apperr.InvalidRequest, wantFields: []string{"subscriptionIds"}},
		{name: "wrong type acceptedTerms", body: body(t, map[string]any{"acceptedTerms": true}), wantCode: apperr.InvalidRequest, wantFields: []string{"acceptedTerms"}},
		{name: "missing name", body: body(t, map[string]any{"name": nil}), wantCode: apperr.InvalidRequest, wantFields: []string{"name"}},
		{name: "name too long", body: body(t, map[string]any{"name": strings.Repeat("n", MaxNameRunes+1)}), wantCode: apperr.InvalidRequest, wantFields: []string{"name"}},
		{name: "wrong type", body: body(t, map[string]any{"type": "aws"}), wantCode: apperr.InvalidRequest, wantFields: []string{"type"}},
		{name: "missing type", body: body(t, map[string]any{"type": nil}), wantCode: apperr.InvalidRequest, wantFields: []string{"type"}},
		{name: "unknown option", body: body(t, map[string]any{"option": "steal"}), wantCode: apperr.InvalidRequest, wantFields: []string{"option"}},
		{name: "missing email", body: body(t, map[string]any{"azureAdminEmail": nil}), wantCode: apperr.InvalidRequest, wantFields: []string{"azureAdminEmail"}},
		{name: "email with display name", body: body(t, map[string]any{"azureAdminEmail": "IT <it@contoso.com>"}), wantCode: apperr.InvalidRequest, wantFields: []string{"azureAdminEmail"}},
		{name: "two emails", body: body(t, map[string]any{"azureAdminEmail": "a@contoso.com,b@contoso.com"}), wantCode: apperr.InvalidRequest, wantFields: []string{"azureAdminEmail"}},
		{name: "email with CRLF", body: body(t, map[string]any{"azureAdminEmail": "a@contoso.com\r\nBcc: x@evil.example"}), wantCode: apperr.InvalidRequest, wantFields: []string{"azureAdminEmail"}},
		{name: "subscription not a GUID", body: body(t, map[string]any{"subscriptionIds": []string{"sub-1"}}), wantCode: apperr.InvalidRequest, wantFields: []string{"subscriptionIds[0]"}},
		{name: "duplicate subscription (case-insensitive)", body: body(t, map[string]any{"subscriptionIds": []string{"0000000A-0000-0000-0000-000000000001", "0000000a-0000-0000-0000-000000000001"}}), wantCode: apperr.InvalidRequest, wantFields: []string{"subscriptionIds[1]"}},
		{name: "too many subscriptions", body: body(t, map[string]any{"subscriptionIds": guids(MaxSubscriptionIDs + 1)}), wantCode: apperr.InvalidRequest, wantFields: []string{"subscriptionIds"}},
		{name: "credentials with migrate", body: body(t, map[string]any{"tenantId": "t"}), wantCode: apperr.InvalidRequest, wantFields: []string{"tenantId"}},
		{name: "company with migrate", body: body(t, map[string]any{"company": map[string]any{"name": "x"}}), wantCode: apperr.InvalidRequest, wantFields: []string{"company"}},
		{name: "email with existing", body: body(t, map[string]any{"option": "existing", "subscriptionIds": nil}), wantCode: apperr.InvalidRequest, wantFields: []string{"azureAdminEmail"}},
		{name: "subscriptions with new", body: body(t, map[string]any{"option": "new", "azureAdminEmail": nil}), wantCode: apperr.InvalidRequest, wantFields: []string{"subscriptionIds"}},
		{name: "terms version too long", body: body(t, map[string]any{"acceptedTerms": map[string]string{"partner": strings.Repeat("9", 33), "microsoft": "2017-08"}}), wantCode: apperr.InvalidRequest, wantFields: []string{"acceptedTerms.partner"}},
		{name: "unknown terms document", body: body(t, map[string]any{"acceptedTerms": map[string]string{"partner": "2017-08", "aws": "1"}}), wantCode: apperr.InvalidRequest},
		{name: "every field problem at once", body: body(t, map[string]any{"name": "", "type": "gcp", "azureAdminEmail": "nope", "subscriptionIds": []string{"x"}}), wantCode: apperr.InvalidRequest, wantFields: []string{"name", "type", "azureAdminEmail", "subscriptionIds[0]"}},
		{name: "over 64 KiB", body: []byte(`{"name":"` + strings.Repeat("a", MaxBodyBytes) + `"}`), wantCode: apperr.BodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := ParseCreateRequest(tt.body)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if req.Type != TypeAzure {
					t.Fatalf("type = %q", req.Type)
				}
				return
			}
			e, ok := err.(*apperr.Error)
			if !ok {
				t.Fatalf("error %v (%T), want *apperr.Error %s", err, err, tt.wantCode)
			}
			if e.Code != tt.wantCode {
				t.Fatalf("code = %s, want %s (%v)", e.Code, tt.wantCode, e)
			}
			fields := map[string]bool{}
			for _, d := range e.Details {
				fields[d.Field] = true
			}
			for _, f := range tt.wantFields {
				if !fields[f] {
					t.Errorf("no detail for field %q in %+v", f, e.Details)
				}
			}
		})
	}
}

func TestParseCreateRequestLowerCasesSubscriptions(t *testing.T) {
	req, err := ParseCreateRequest(body(t, map[string]any{"subscriptionIds": []string{"ABCDEF00-0000-0000-0000-00000000000A"}}))
	if err != nil {
		t.Fatal(err)
	}
	if got := req.SubscriptionIDs[0]; got != "abcdef00-0000-0000-0000-00000000000a" {
		t.Fatalf("subscription id = %q", got)
	}
}

// existingBody is a valid existing request with fields replaced (nil removes one).
func existingBody(t *testing.T, with map[string]any) []byte {
	t.Helper()
	m := map[string]any{"azureAdminEmail": nil, "subscriptionIds": nil, "acceptedTerms": nil, "option": "existing",
		"tenantId": "20000000-0000-4000-8000-000000000001", "clientId": "00000000-0000-0000-0000-00000000c0de",
		"clientSecret": "contoso~local.secret_1", "subscriptionId": "20000000-0000-4000-8000-000000000101"}
	for k, v := range with {
		m[k] = v
	}
	return body(t, m)
}

func TestParseCreateRequestLowerCasesCredentialIDs(t *testing.T) {
	req, err := ParseCreateRequest(existingBody(t, map[string]any{"tenantId": "ABCDEF00-0000-0000-0000-00000000000A", "clientId": "ABCDEF00-0000-0000-0000-00000000000B", "subscriptionId": "ABCDEF00-0000-0000-0000-00000000000C", "clientSecret": "Keep~Case"}))
	if err != nil {
		t.Fatal(err)
	}
	if req.TenantID != "abcdef00-0000-0000-0000-00000000000a" || req.ClientID != "abcdef00-0000-0000-0000-00000000000b" || req.SubscriptionID != "abcdef00-0000-0000-0000-00000000000c" || req.ClientSecret != "Keep~Case" {
		t.Fatalf("credentials = %+v", req.ExistingCredentials)
	}
}

func TestParseCreateRequestDoesNotEchoInput(t *testing.T) {
	secret := "s3cr3t-value-in-body"
	_, err := ParseCreateRequest([]byte(`{"name": "` + secret + `", "clientSecret": 7}`))
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("error echoes the input: %v", err)
	}
	// An invalid client secret is refused without echoing it.
	bad := strings.Repeat("z", MaxClientSecretLen) + secret
	_, err = ParseCreateRequest(existingBody(t, map[string]any{"clientSecret": bad}))
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("error echoes the secret: %v", err)
	}
}

func guids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "00000000-0000-0000-0000-" + strings.Repeat("0", 12-len(itoa(i))) + itoa(i)
	}
	return out
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		valid bool
	}{
		{"simple", "Contoso production", true},
		{"one character", "x", true},
		{"exactly 100 runes", strings.Repeat("é", MaxNameRunes), true},
		{"unicode letters", "Contoso 生産", true},
		{"empty", "", false},
		{"only spaces", "   ", false},
		{"101 runes", strings.Repeat("é", MaxNameRunes+1), false},
		{"newline", "Contoso\nproduction", false},
		{"tab", "Contoso\tproduction", false},
		{"NUL", "Contoso\x00", false},
		{"leading space", " Contoso", false},
		{"trailing space", "Contoso ", false},
		{"invalid UTF-8", "Contoso\xff", false},
		{"zero-width joiner (format char)", "Con\u200dtoso", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := ValidateName(tt.in)
			if (msg == "") != tt.valid {
				t.Fatalf("ValidateName(%q) = %q, want valid=%v", tt.in, msg, tt.valid)
			}
		})
	}
}

func TestValidateEmail(t *testing.T) {
	tests := []struct {
		in    string
		valid bool
	}{
		{"it-admin@contoso.com", true},
		{"first.last+tag@sub.contoso.co.uk", true},
		{"admin@contoso.example", true},
		{"", false},
		{"no-at-sign", false},
		{"@contoso.com", false},
		{"admin@contoso", false},
		{"admin@contoso.", false},
		{"IT Admin <it-admin@contoso.com>", false},
		{"<it-admin@contoso.com>", false},
		{"a@contoso.com, b@contoso.com", false},
		{"a@contoso.com;b@contoso.com", false},
		{"a@contoso.com\r\nBcc: b@evil.example", false},
		{"a@contoso.com\n", false},
		{"a b@contoso.com", false},
		{"\"quoted\"@contoso.com", false},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com", true},  // 254
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com", false}, // 255
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			msg := ValidateEmail(tt.in)
			if (msg == "") != tt.valid {
				t.Fatalf("ValidateEmail(%q) = %q, want valid=%v", tt.in, msg, tt.valid)
			}
		})
	}
}

func TestDecodeStrict(t *testing.T) {
	var v struct {
		A *bool `json:"a"`
	}
	for _, in := range []string{`{"a":true,"b":1}`, `{"a":"yes"}`, `{"a":true}{}`, ``, `{`} {
		if err := DecodeStrict([]byte(in), &v); !apperr.Is(err, apperr.InvalidRequest) {
			t.Errorf("DecodeStrict(%q) = %v, want invalid_request", in, err)
		}
	}
	if err := DecodeStrict([]byte(`{"a":false}`), &v); err != nil || v.A == nil || *v.A {
		t.Fatalf("DecodeStrict valid = %v, %v", err, v.A)
	}
}
