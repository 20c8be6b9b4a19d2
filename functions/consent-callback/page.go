package main

import (
	"net/http"

	"github.com/partnercloud/azure/shared/api"
)

// ContentSecurityPolicy allows no scripts, no frames, no external resources;
// inline styles only. The only navigation off the site is a plain link.
const ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action https: ; frame-ancestors 'none'; base-uri 'none'"

// chrome is what every page shows around its content.
type chrome struct {
	Title        string
	PartnerName  string
	ContactEmail string
	RequestID    string
}

// pageHeaders are the headers of every HTML response.
func pageHeaders(req api.Request) map[string]string {
	return api.PageHeaders(req, ContentSecurityPolicy)
}

// render answers a page (pages.go).
func render(req api.Request, status int, page string) api.Response {
	return api.Response{StatusCode: status, Headers: pageHeaders(req), Body: page}
}

// errorPage is the static 500 page, for what went wrong in the code itself.
func errorPage(req api.Request) api.Response {
	return api.Response{StatusCode: http.StatusInternalServerError, Headers: pageHeaders(req), Body: fallbackPage}
}

const fallbackPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Something went wrong</title></head>
<body><main><h1>Something went wrong</h1><p>Please try again in a few minutes. If it keeps happening, contact the partner who sent you the link.</p></main></body></html>`

// redirect sends the browser on to Microsoft's next step.
func redirect(req api.Request, location string) api.Response {
	h := pageHeaders(req)
	h["Location"] = location
	delete(h, "Content-Type")
	return api.Response{StatusCode: http.StatusFound, Headers: h}
}
