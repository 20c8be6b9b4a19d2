package api

import (
	"testing"

	"github.com/partnercloud/azure/shared/apperr"
)

// TestErrorWWWAuthenticate: a 401 names the Bearer scheme (as the gateway's
// own 401 does); other errors do not.
func TestErrorWWWAuthenticate(t *testing.T) {
	req := Request{}
	req.RequestContext.RequestID = "req-1"
	for code, want := range map[apperr.Code]string{apperr.Unauthenticated: "Bearer", apperr.AdminRequired: "", apperr.NotFound: ""} {
		resp := Error(req, apperr.New(code, "x"))
		if got := resp.Headers["WWW-Authenticate"]; got != want {
			t.Errorf("%s: WWW-Authenticate %q, want %q", code, got, want)
		}
		if resp.Headers["X-Request-Id"] != "req-1" {
			t.Errorf("%s: X-Request-Id %q", code, resp.Headers["X-Request-Id"])
		}
	}
}
