package api

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/partnercloud/azure/shared/apperr"
)

func TestLimitedBody(t *testing.T) {
	const max = 16
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name     string
		req      Request
		want     string
		wantCode apperr.Code
	}{
		{name: "plain", req: Request{Body: `{"a":1}`}, want: `{"a":1}`},
		{name: "exactly max", req: Request{Body: strings.Repeat("x", max)}, want: strings.Repeat("x", max)},
		{name: "one over", req: Request{Body: strings.Repeat("x", max+1)}, wantCode: apperr.BodyTooLarge},
		{name: "base64", req: Request{Body: b64(`{"a":1}`), IsBase64Encoded: true}, want: `{"a":1}`},
		{name: "base64 of max", req: Request{Body: b64(strings.Repeat("x", max)), IsBase64Encoded: true}, want: strings.Repeat("x", max)},
		{name: "base64 one over", req: Request{Body: b64(strings.Repeat("x", max+1)), IsBase64Encoded: true}, wantCode: apperr.BodyTooLarge},
		{name: "bad base64", req: Request{Body: "!!!", IsBase64Encoded: true}, wantCode: apperr.InvalidRequest},
		{name: "huge bad base64 is too large first", req: Request{Body: strings.Repeat("!", 100), IsBase64Encoded: true}, wantCode: apperr.BodyTooLarge},
		{name: "Content-Length over", req: Request{Body: "{}", Headers: map[string]string{"Content-Length": "17"}}, wantCode: apperr.BodyTooLarge},
		{name: "Content-Length garbage is ignored", req: Request{Body: "{}", Headers: map[string]string{"content-length": "lots"}}, want: "{}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LimitedBody(tt.req, max)
			if tt.wantCode != "" {
				if !apperr.Is(err, tt.wantCode) {
					t.Fatalf("err = %v, want %s", err, tt.wantCode)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("LimitedBody = %q, %v", got, err)
			}
		})
	}
}

func TestLookupHeader(t *testing.T) {
	req := Request{Headers: map[string]string{"idempotency-key": "", "X-Mixed": "v"}}
	if v, ok := LookupHeader(req, "Idempotency-Key"); !ok || v != "" {
		t.Errorf("present empty header: %q %v", v, ok)
	}
	if v, ok := LookupHeader(req, "x-mixed"); !ok || v != "v" {
		t.Errorf("mixed case: %q %v", v, ok)
	}
	if _, ok := LookupHeader(req, "Absent"); ok {
		t.Error("absent header found")
	}
}
