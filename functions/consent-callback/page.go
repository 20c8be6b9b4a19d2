package main

import (
	"bytes"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"sync"

	"github.com/partnercloud/azure/shared/api"
)

//go:embed templates/*.html
var templateFS embed.FS

// Page templates: each is the shared layout plus one "content" block,
// parsed when first shown (a cold start shows one page, not all three).
var pages = map[string]func() *template.Template{
	"landing":   parsePage("landing"),
	"consented": parsePage("consented"),
	"message":   parsePage("message"),
}

func parsePage(name string) func() *template.Template {
	return sync.OnceValue(func() *template.Template {
		return template.Must(template.New(name).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	})
}

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

// render executes a page template into an API Gateway response. A template
// failure (a programming error) becomes the static error page.
func render(req api.Request, status int, name string, data any) api.Response {
	var buf bytes.Buffer
	page, ok := pages[name]
	if !ok {
		return errorPage(req)
	}
	if err := page().ExecuteTemplate(&buf, "layout", data); err != nil {
		slog.Error("page template failed", "page", name, "error", err.Error())
		return errorPage(req)
	}
	return api.Response{StatusCode: status, Headers: pageHeaders(req), Body: buf.String()}
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
