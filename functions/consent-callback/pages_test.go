package main

import (
	"html/template"
	"strings"
	"testing"
)

// The pages escape values as html/template did when they were templates:
// the same bytes for text, for a link's target and for the address after
// "mailto:". html/template is the reference here, in the test only.
func TestEscapingMatchesHTMLTemplate(t *testing.T) {
	oracle := func(t *testing.T, tmpl string, v string) string {
		t.Helper()
		var b strings.Builder
		if err := template.Must(template.New("").Parse(tmpl)).Execute(&b, v); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for _, v := range []string{
		"",
		"Partner Cloud",
		`<script>alert(1)</script> O'Brien & "Co" +1`,
		"NUL \x00 and invalid UTF-8 \xff\xfe, é, 名前",
		"https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize?client_id=x&state=a+b%2Fc&scope=openid+profile",
		"https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship&partnerId=p&msppId=0&DAP=false#/BillingAccounts/partner-invitation",
		"https://example.com/a b/'quoted'(paren)<x>\"y\"%41%zz%4",
		"javascript:alert(1)",
		"JavaScript:alert(1)",
		" javascript:alert(1)",
		"data:text/html,<script>alert(1)</script>",
		"MAILTO:someone@example.com",
		"HTTP://EXAMPLE.COM",
		"/relative/path:with-colon?q=1",
		"o'brien+tag(x)@partner.example",
	} {
		if got, want := escape(v), oracle(t, `{{.}}`, v); got != want {
			t.Errorf("escape(%q) = %q, html/template %q", v, got, want)
		}
		if got, want := `<a href="`+attrURL(v)+`">`, oracle(t, `<a href="{{.}}">`, v); got != want {
			t.Errorf("attrURL(%q): %s, html/template %s", v, got, want)
		}
		if got, want := `<a href="mailto:`+escape(normalizeURL(v))+`">`, oracle(t, `<a href="mailto:{{.}}">`, v); got != want {
			t.Errorf("mailto %q: %s, html/template %s", v, got, want)
		}
	}
}
