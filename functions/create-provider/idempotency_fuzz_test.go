package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/apperr"
)

// FuzzIdempotencyKey checks the Idempotency-Key header rule on any value and
// header-name spelling: absent is no key; present, the key is accepted
// exactly when it is 1 to 128 printable ASCII characters (no CR, LF or other
// control character, nothing beyond ASCII) and comes back unchanged;
// otherwise the error is an invalid_request *apperr.Error (400) naming the
// header, whose text does not echo the value.
func FuzzIdempotencyKey(f *testing.F) {
	for _, s := range []string{"key-1", "", " ", "a\tb", "a\r\nX-Injected: 1", "ключ", strings.Repeat("k", 128), strings.Repeat("k", 129),
		"' OR 1=1 --", "{{.}}", "${jndi:ldap://x/a}", "\x00", "\x7f"} {
		f.Add(s, "Idempotency-Key", true)
	}
	f.Add("key-1", "idempotency-key", true)
	f.Add("key-1", "IDEMPOTENCY-KEY", true)
	f.Add("key-1", "Idempotency-Key", false)
	f.Fuzz(func(t *testing.T, value, name string, present bool) {
		if !strings.EqualFold(name, "Idempotency-Key") {
			name = "Idempotency-Key"
		}
		req := apitest.Request("POST /providers", apitest.Admin("acct-1"))
		if present {
			req.Headers[name] = value
		}
		key, has, err := idempotencyKey(req)
		valid := len(value) >= 1 && len(value) <= MaxIdempotencyKeyLen
		for i := 0; valid && i < len(value); i++ {
			valid = value[i] >= 0x20 && value[i] < 0x7f
		}
		switch {
		case !present:
			if has || key != "" || err != nil {
				t.Fatalf("no header: %q %v %v", key, has, err)
			}
		case valid:
			if err != nil || !has || key != value {
				t.Fatalf("valid key %q: %q %v %v", value, key, has, err)
			}
		default:
			var e *apperr.Error
			if !errors.As(err, &e) || e.Code != apperr.InvalidRequest || api.HTTPStatus(e.Code) != 400 || has || key != "" {
				t.Fatalf("invalid key %q: %q %v %v", value, key, has, err)
			}
			if len(e.Details) != 1 || e.Details[0].Field != "Idempotency-Key" {
				t.Fatalf("details %+v", e.Details)
			}
			if len(value) >= 4 && strings.Contains(e.Message+e.Details[0].Message, value) {
				t.Fatalf("the error echoes the key %q", value)
			}
		}
	})
}
