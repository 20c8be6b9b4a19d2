// Package logging sets up structured JSON logs (log/slog to stdout) and
// carries the request's logger in the context. It never logs secrets; use
// MaskEmail for addresses.
package logging

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
)

type ctxKey struct{}

// Setup installs a JSON handler on w (stdout when nil) as the default logger.
func Setup(w io.Writer) *slog.Logger {
	if w == nil {
		w = os.Stdout
	}
	l := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
	slog.SetDefault(l)
	return l
}

// With returns a context carrying l.
func With(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// From returns the context's logger, or the default one.
func From(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(ctxKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// MaskEmail keeps the first character of the local part and the domain:
// "it-admin@contoso.com" → "i***@contoso.com".
func MaskEmail(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 1 {
		return "***"
	}
	return email[:1] + "***" + email[at:]
}
