package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/provider"
)

// Store is what the credentials page reads and writes.
type Store interface {
	// FindProvider finds a provider by id alone (the link carries no account).
	FindProvider(ctx context.Context, providerID string) (*provider.Provider, error)
	UpdateProvider(ctx context.Context, accountID, providerID string, mutate func(*provider.Provider) error) (*provider.Provider, error)
}

// Secrets reads and deletes the initial admin secret.
type Secrets interface {
	Get(ctx context.Context, arn string) ([]byte, error)
	Delete(ctx context.Context, arn string) error
}

// Handler serves the single-use link to a new tenant's initial administrator
// credentials. The token is the authentication (the routes have no JWT
// authorizer): random 256 bits, of which only the SHA-256 hash is stored.
//
//   - GET /providers/{id}/initial-credentials?token=… (the emailed link)
//     answers a page with one button and uses nothing up: mail scanners and
//     link previews open links, a person chooses to see the password.
//   - POST /providers/{id}/initial-credentials, the page's form (the token
//     in the form body, application/x-www-form-urlencoded), shows the
//     credentials (no-store) and deletes the secret; later uses, and uses
//     after the expiry, answer 410.
//
// The POST is refused from another site: a Sec-Fetch-Site other than
// same-origin (or none), or an Origin that is not this API's. No cookie is
// involved, so the token in the body is the only thing a forged request
// could carry, and it is the credential itself.
type Handler struct {
	Store   Store
	Secrets Secrets
	Now     func() time.Time
	// PublicBaseURL is the API's public base URL (PUBLIC_BASE_URL); a POST
	// whose Origin is its origin is the page's own, as is one whose Origin
	// is the Host the request came to. Optional.
	PublicBaseURL string
}

// wellFormedToken reports whether token is 22 to 128 base64url characters.
// A loop, not a regular expression: the bounded repetition compiles to a
// large program, which every cold start would build on its first request.
func wellFormedToken(token string) bool {
	if len(token) < 22 || len(token) > 128 {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// maxFormBytes bounds the POST body: one token field.
const maxFormBytes = 4 << 10

const (
	msgNotFound  = "This link is not valid. Open the link from your email exactly as it was sent."
	msgUsed      = "These credentials were already shown once and are no longer available. The administrator can reset the password at Microsoft."
	msgExpired   = "This link has expired. The administrator can reset the password at Microsoft."
	msgTryLater  = "The credentials cannot be shown right now. Try the same link again in a few minutes."
	msgConfirm   = "The user name and initial password of your new Azure tenant's administrator are shown once, when you select the button. Have a safe place ready to keep the password: afterwards this link no longer works."
	msgShown     = "Sign in at https://portal.azure.com with these credentials and change the password at once. This page is shown only once: copy the password now."
	msgCrossSite = "The credentials can only be shown from the page of the emailed link. Open the link from your email again."
	msgForm      = "The request was not sent by the page of the emailed link. Open the link from your email again."
)

// Handle answers one request.
func (h *Handler) Handle(ctx context.Context, req api.Request) (api.Response, error) {
	switch req.RequestContext.HTTP.Method {
	case http.MethodGet:
		return h.confirm(ctx, req), nil
	case http.MethodPost:
		return h.reveal(ctx, req), nil
	}
	resp := page(req, http.StatusMethodNotAllowed, "Not allowed", msgForm, nil)
	resp.Headers["Allow"] = "GET, POST"
	return resp, nil
}

// confirm is GET: the page with the button, for a valid and unused link.
// It reads the provider only; an expired link's secret is deleted (the link
// can no longer be used, so nothing is used up).
func (h *Handler) confirm(ctx context.Context, req api.Request) api.Response {
	token := req.QueryStringParameters["token"]
	_, resp, ok := h.link(ctx, req, token)
	if !ok {
		return resp
	}
	return page(req, http.StatusOK, "Your new Azure administrator", msgConfirm, nil, withForm(token))
}

// reveal is POST: shows the credentials once and uses the link up.
func (h *Handler) reveal(ctx context.Context, req api.Request) api.Response {
	log := logging.From(ctx)
	if !h.sameOrigin(req) {
		log.Warn("initial credentials: cross-site request refused", "sec_fetch_site", api.Header(req, "Sec-Fetch-Site"))
		return page(req, http.StatusForbidden, "Not allowed", msgCrossSite, nil)
	}
	if mt, _, err := mime.ParseMediaType(api.Header(req, "Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return page(req, http.StatusUnsupportedMediaType, "Not allowed", msgForm, nil)
	}
	raw, err := api.LimitedBody(req, maxFormBytes)
	if err != nil {
		return page(req, http.StatusRequestEntityTooLarge, "Not allowed", msgForm, nil)
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil || len(form["token"]) != 1 {
		return page(req, http.StatusNotFound, "Link not found", msgNotFound, nil)
	}
	token := form.Get("token")
	p, resp, ok := h.link(ctx, req, token)
	if !ok {
		return resp
	}
	ia := p.InitialAdmin
	now := h.Now().UTC()
	raw, err = h.Secrets.Get(ctx, ia.SecretARN)
	if err != nil {
		log.Error("initial admin secret unreadable", "provider_id", p.ID, "error", err.Error())
		return page(req, http.StatusServiceUnavailable, "Try again later", msgTryLater, nil)
	}
	var creds struct {
		UserName string `json:"userName"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal(raw, &creds); err != nil || creds.Password == "" {
		log.Error("initial admin secret malformed", "provider_id", p.ID)
		return h.gone(ctx, req, p, "These credentials are no longer available. The administrator can reset the password at Microsoft.")
	}
	// Claim the single use before showing anything: of concurrent uses,
	// one wins the conditional write.
	claim := provider.NewClaimID()
	_, err = h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		return q.RecordCredentialsShown(ia.TokenHash, claim, now)
	})
	switch {
	case errors.Is(err, provider.ErrLinkUsed):
		return h.gone(ctx, req, p, msgUsed)
	case err != nil:
		log.Error("link use not recorded", "provider_id", p.ID, "error", err.Error())
		return page(req, http.StatusServiceUnavailable, "Try again later", msgTryLater, nil)
	}
	if err := h.Secrets.Delete(ctx, ia.SecretARN); err != nil {
		log.Error("initial admin secret not deleted", "provider_id", p.ID, "error", err.Error())
	}
	log.Info("initial credentials shown", "provider_id", p.ID)
	return page(req, http.StatusOK, "Your new Azure administrator", msgShown, &creds)
}

// link finds the provider of a valid, unused and unexpired link; otherwise
// it returns the page to answer (404 for an unknown token, 410 for a used or
// expired link, whose secret it deletes) and false.
func (h *Handler) link(ctx context.Context, req api.Request, token string) (*provider.Provider, api.Response, bool) {
	notFound := page(req, http.StatusNotFound, "Link not found", msgNotFound, nil)
	if !wellFormedToken(token) {
		return nil, notFound, false
	}
	p, err := h.Store.FindProvider(ctx, req.PathParameters["id"])
	if err != nil {
		return nil, notFound, false
	}
	switch err := p.CheckCredentialsLink(token, h.Now().UTC()); {
	case errors.Is(err, provider.ErrLinkUsed):
		return nil, h.gone(ctx, req, p, msgUsed), false
	case errors.Is(err, provider.ErrLinkExpired):
		return nil, h.gone(ctx, req, p, msgExpired), false
	case err != nil:
		return nil, notFound, false
	}
	return p, api.Response{}, true
}

// gone answers 410 and deletes the secret of a link that can no longer be used.
func (h *Handler) gone(ctx context.Context, req api.Request, p *provider.Provider, reason string) api.Response {
	if arn := p.InitialAdmin.SecretARN; arn != "" {
		if err := h.Secrets.Delete(ctx, arn); err != nil {
			logging.From(ctx).Error("initial admin secret not deleted", "provider_id", p.ID, "error", err.Error())
		}
	}
	return page(req, http.StatusGone, "Link no longer available", reason, nil)
}

// sameOrigin reports whether a POST comes from the link's own page. A
// browser's Sec-Fetch-Site decides when sent: same-origin, or none (the
// user's own action), passes. Otherwise an Origin, when sent, must be the
// Host the request came to or PublicBaseURL's origin; "null" passes, since
// browsers send it for a form on a no-referrer page (ours). A request with
// neither header is not from a browser that could be tricked into it.
func (h *Handler) sameOrigin(req api.Request) bool {
	if site, ok := api.LookupHeader(req, "Sec-Fetch-Site"); ok {
		site = strings.ToLower(strings.TrimSpace(site))
		return site == "same-origin" || site == "none"
	}
	origin, ok := api.LookupHeader(req, "Origin")
	origin = strings.TrimSpace(origin)
	if !ok || origin == "null" {
		return true
	}
	o, err := url.Parse(origin)
	if err != nil || o.Host == "" || (o.Scheme != "https" && o.Scheme != "http") {
		return false
	}
	if host := api.Header(req, "Host"); host != "" && strings.EqualFold(o.Host, host) {
		return true
	}
	if b, err := url.Parse(h.PublicBaseURL); err == nil && h.PublicBaseURL != "" {
		return strings.EqualFold(o.Scheme, b.Scheme) && strings.EqualFold(o.Host, b.Host)
	}
	return false
}

// pageTemplate is parsed on first use, not at every cold start.
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer"><title>{{.Title}}</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem;"><main>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{with .Token}}<form method="post" action="initial-credentials">
<input type="hidden" name="token" value="{{.}}">
<button type="submit" style="font-size: 1rem; padding: 0.75rem 1.25rem;">Show the credentials once</button>
</form>{{end}}
{{with .Creds}}<dl>
<dt>User name</dt><dd><code id="user-name">{{.UserName}}</code></dd>
<dt>Initial password</dt><dd><code id="password">{{.Password}}</code></dd>
</dl>{{end}}
</main></body></html>`))
})

// ContentSecurityPolicy allows no scripts, frames or external resources;
// inline styles, and forms posting to this origin only.
const ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

type pageOption func(map[string]any)

// withForm adds the button's form, which posts the token back.
func withForm(token string) pageOption {
	return func(d map[string]any) { d["Token"] = token }
}

// page renders an HTML answer that is never cached, framed or indexed.
func page(req api.Request, status int, title, message string, creds any, opts ...pageOption) api.Response {
	var buf bytes.Buffer
	data := map[string]any{"Title": title, "Message": message, "Creds": creds}
	for _, o := range opts {
		o(data)
	}
	_ = pageTemplate().Execute(&buf, data)
	headers := api.PageHeaders(req, ContentSecurityPolicy)
	headers["Pragma"] = "no-cache"
	return api.Response{StatusCode: status, Body: buf.String(), Headers: headers}
}
