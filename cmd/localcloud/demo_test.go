package main

import "testing"

func TestDemoPageParsing(t *testing.T) {
	landing := []byte(`<html><head><title>Approve &amp; move | Partner</title></head><body>
<a href="https://admin.microsoft.com/x?a=1">reseller</a>
<a class="button" href="https://127.0.0.1:8443/organizations/v2.0/adminconsent?client_id=c&amp;state=s%2B1">Sign in</a></body></html>`)
	if got := findLink(landing, "https://127.0.0.1:8443", "adminconsent"); got != "https://127.0.0.1:8443/organizations/v2.0/adminconsent?client_id=c&state=s%2B1" {
		t.Errorf("findLink = %q", got)
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
	page := "https://127.0.0.1:8443/contoso/v2.0/adminconsent?client_id=c"
	if got := formAction(form, page); got != page {
		t.Errorf("action %q", got)
	}
	if got := formAction([]byte(`<form action="/post">`), page); got != "https://127.0.0.1:8443/post" {
		t.Errorf("action %q", got)
	}
}
