package main

import (
	"strings"
	"testing"
)

func TestDemoPageParsing(t *testing.T) {
	landing := []byte(`<html><head><title>Approve &amp; move | Partner</title></head><body>
<a href="https://admin.microsoft.com/x?a=1">reseller</a>
<a href="https://127.0.0.1:8443/contoso/v2.0/adminconsent?client_id=c">not this one</a>
<a class="button" href="https://127.0.0.1:8443/organizations/oauth2/v2.0/authorize?client_id=c&amp;response_type=code&amp;state=s%2B1">Sign in</a></body></html>`)
	if got := findLink(landing, "https://127.0.0.1:8443", "/oauth2/v2.0/authorize"); got != "https://127.0.0.1:8443/organizations/oauth2/v2.0/authorize?client_id=c&response_type=code&state=s%2B1" {
		t.Errorf("findLink = %q", got)
	}
	if got := findLink(landing, "https://127.0.0.1:9999", "/oauth2/v2.0/authorize"); got != "" {
		t.Errorf("findLink on another host = %q", got)
	}
	if got := pageTitle(landing); got != "Approve & move | Partner" {
		t.Errorf("title %q", got)
	}
	form := []byte(`<form method="post" action="">
<input type="hidden" name="client_id" value="c">
<input type="hidden" name="state" value="a&amp;b">
<input type="email" id="login" name="login" value="">
<button name="decision" value="accept">Accept</button></form>`)
	v := hiddenFields(form)
	if v.Get("client_id") != "c" || v.Get("state") != "a&b" || v.Has("login") {
		t.Errorf("hidden fields %v", v)
	}
	if got := inputValue(form, "login"); got != "" {
		t.Errorf("empty login = %q", got)
	}
	page := "https://127.0.0.1:8443/contoso/v2.0/adminconsent?client_id=c"
	if got := formAction(form, page); got != page {
		t.Errorf("action %q", got)
	}
	if got := formAction([]byte(`<form action="/post">`), page); got != "https://127.0.0.1:8443/post" {
		t.Errorf("action %q", got)
	}

	// The admin-consent page after the sign-in: the session fills the login.
	signedIn := []byte(`<form method="post" action=""><input type="hidden" name="state" value="s">
<input type="email" id="login" name="login" value="admin@contoso.example" autocomplete="username"></form>`)
	if got := inputValue(signedIn, "login"); got != "admin@contoso.example" {
		t.Errorf("prefilled login = %q", got)
	}
	if got := inputValue(signedIn, "state"); got != "s" {
		t.Errorf("state = %q", got)
	}

	// A form shown again with Microsoft's error.
	refused := []byte(`<html><head><title>Sign in</title><style>p{}</style></head><body><h1>Sign in</h1>
<p class="error" role="alert">AADSTS50034: The user account <b>x@y</b> does not exist &amp; more.</p><form></form></body></html>`)
	if got := formError(refused); got != "AADSTS50034: The user account x@y does not exist & more." {
		t.Errorf("formError = %q", got)
	}
	if got := formError(form); got != "" {
		t.Errorf("formError without error = %q", got)
	}
	if got := pageText(refused, 20); got != "Sign in AADSTS50034:..." {
		t.Errorf("pageText = %q", got)
	}
}

func TestDemoTenantRelease(t *testing.T) {
	for _, c := range []struct {
		tenant, status, want string
	}{
		{demoTenantID, "pending_consent", "cancel"},
		{demoTenantID, "provisioning", "cancel"},
		{demoTenantID, "awaiting_owner_access", "cancel"},
		{demoTenantID, "active", "delete"},
		{"20000000-0000-4000-8000-000000000001", "active", "delete"},
		{"20000000-0000-4000-8000-00000000000A", "active", ""},
		{demoTenantID, "failed", ""},
		{demoTenantID, "cancelled", ""},
		{demoTenantID, "declined", ""},
		{demoTenantID, "expired", ""},
		{"", "pending_consent", ""}, // not signed in yet: holds no tenant
		{"30000000-0000-4000-8000-000000000001", "active", ""},
	} {
		if got := tenantRelease(demoProvider{ID: "p", TenantID: c.tenant, Status: c.status}, demoTenantID); got != c.want {
			t.Errorf("tenantRelease(%s, %s) = %q, want %q", c.tenant, c.status, got, c.want)
		}
	}
}

func TestDemoAttentionEvent(t *testing.T) {
	list := []byte(`[
 {"detail-type":"Provider Health Changed","detail":{"providerId":"p1","newHealth":"ok"}},
 {"detail-type":"Provider Status Changed","detail":{"providerId":"p1","newStatus":"active"}},
 {"detail-type":"Provider Health Changed","detail":{"providerId":"p2","newHealth":"attention"}},
 {"detail-type":"Provider Health Changed","detail":{"providerId":"p1","newHealth":"attention","findings":[{"what":"consent"}]}}]`)
	got := string(attentionEvent(list, "p1"))
	if !strings.Contains(got, `"newHealth": "attention"`) || !strings.Contains(got, `"providerId": "p1"`) || !strings.Contains(got, "consent") {
		t.Errorf("attentionEvent(p1) = %s", got)
	}
	if got := attentionEvent(list, "p3"); got != nil {
		t.Errorf("attentionEvent(p3) = %s, want none", got)
	}
	if got := attentionEvent([]byte("not json"), "p1"); got != nil {
		t.Errorf("attentionEvent of garbage = %s", got)
	}
}
