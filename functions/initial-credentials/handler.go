package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"regexp"
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

// Handler serves GET /providers/{id}/initial-credentials?token=…: the new
// tenant's initial administrator credentials, shown once. The token is the
// authentication (the route has no JWT authorizer): random 256 bits, of
// which only the SHA-256 hash is stored. The first valid use shows the
// credentials (no-store) and deletes the secret; later uses, and uses
// after the expiry, answer 410.
type Handler struct {
	Store   Store
	Secrets Secrets
	Now     func() time.Time
}

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{22,128}$`)

var errUsed = errors.New("the link was used already")

// Handle answers one request.
func (h *Handler) Handle(ctx context.Context, req api.Request) (api.Response, error) {
	log := logging.From(ctx)
	token := req.QueryStringParameters["token"]
	id := req.PathParameters["id"]
	if !tokenRE.MatchString(token) {
		return page(req, http.StatusNotFound, "Link not found", "This link is not valid. Open the link from your email exactly as it was sent.", nil), nil
	}
	p, err := h.Store.FindProvider(ctx, id)
	if err != nil || p.InitialAdmin == nil || p.InitialAdmin.TokenHash == "" {
		return page(req, http.StatusNotFound, "Link not found", "This link is not valid. Open the link from your email exactly as it was sent.", nil), nil
	}
	ia := p.InitialAdmin
	sum := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(ia.TokenHash)) != 1 {
		return page(req, http.StatusNotFound, "Link not found", "This link is not valid. Open the link from your email exactly as it was sent.", nil), nil
	}
	now := h.Now().UTC()
	gone := func(reason string) (api.Response, error) {
		if ia.SecretARN != "" {
			if err := h.Secrets.Delete(ctx, ia.SecretARN); err != nil {
				log.Error("initial admin secret not deleted", "provider_id", p.ID, "error", err.Error())
			}
		}
		return page(req, http.StatusGone, "Link no longer available", reason, nil), nil
	}
	if ia.ViewedAt != nil {
		return gone("These credentials were already shown once and are no longer available. The administrator can reset the password at Microsoft.")
	}
	if ia.ExpiresAt == nil || !now.Before(*ia.ExpiresAt) || ia.SecretARN == "" {
		return gone("This link has expired. The administrator can reset the password at Microsoft.")
	}
	raw, err := h.Secrets.Get(ctx, ia.SecretARN)
	if err != nil {
		log.Error("initial admin secret unreadable", "provider_id", p.ID, "error", err.Error())
		return page(req, http.StatusServiceUnavailable, "Try again later", "The credentials cannot be shown right now. Try the same link again in a few minutes.", nil), nil
	}
	var creds struct {
		UserName string `json:"userName"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal(raw, &creds); err != nil || creds.Password == "" {
		log.Error("initial admin secret malformed", "provider_id", p.ID)
		return gone("These credentials are no longer available. The administrator can reset the password at Microsoft.")
	}
	// Claim the single use before showing anything: of concurrent uses,
	// one wins the conditional write.
	_, err = h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		if q.InitialAdmin == nil || q.InitialAdmin.ViewedAt != nil || q.InitialAdmin.TokenHash != ia.TokenHash {
			return errUsed
		}
		t := now
		q.InitialAdmin.ViewedAt = &t
		q.Timeline = append(q.Timeline, provider.Event{At: now, Status: q.Status, What: "The initial administrator's credentials were shown once through the emailed link.", By: "requester-link"})
		return nil
	})
	switch {
	case errors.Is(err, errUsed):
		return gone("These credentials were already shown once and are no longer available. The administrator can reset the password at Microsoft.")
	case err != nil:
		log.Error("link use not recorded", "provider_id", p.ID, "error", err.Error())
		return page(req, http.StatusServiceUnavailable, "Try again later", "The credentials cannot be shown right now. Try the same link again in a few minutes.", nil), nil
	}
	if err := h.Secrets.Delete(ctx, ia.SecretARN); err != nil {
		log.Error("initial admin secret not deleted", "provider_id", p.ID, "error", err.Error())
	}
	log.Info("initial credentials shown", "provider_id", p.ID)
	return page(req, http.StatusOK, "Your new Azure administrator", "Sign in at https://portal.azure.com with these credentials and change the password at once. This page is shown only once: copy the password now.", &creds), nil
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.Title}}</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem;"><main>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{with .Creds}}<dl>
<dt>User name</dt><dd><code id="user-name">{{.UserName}}</code></dd>
<dt>Initial password</dt><dd><code id="password">{{.Password}}</code></dd>
</dl>{{end}}
</main></body></html>`))

// page renders an HTML answer that is never cached, framed or indexed.
func page(req api.Request, status int, title, message string, creds any) api.Response {
	var buf bytes.Buffer
	_ = pageTemplate.Execute(&buf, map[string]any{"Title": title, "Message": message, "Creds": creds})
	return api.Response{StatusCode: status, Body: buf.String(), Headers: map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
		"Pragma":                  "no-cache",
		"X-Content-Type-Options":  "nosniff",
		"X-Robots-Tag":            "noindex, nofollow",
		"X-Request-Id":            api.RequestID(req),
	}}
}
