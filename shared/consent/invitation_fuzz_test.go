package consent

import (
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzWellFormedID checks the landing page's id check on any path segment:
// it accepts exactly 43 base64url characters (what InvitationID makes), so
// traversal, encoded slashes, markup and padding never reach a lookup; and
// every id InvitationID derives is accepted and hashes to 64 hex digits.
func FuzzWellFormedID(f *testing.F) {
	k := Key(strings.Repeat("k", 32))
	f.Add(k.InvitationID("prv_1", "nonce"), "prv_1", "nonce")
	f.Add("../../etc/passwd", "", "")
	f.Add(strings.Repeat("A", 43), "", "")
	f.Add(strings.Repeat("A", 42)+"=", "", "")
	f.Add(strings.Repeat("A", 42)+"/", "", "")
	f.Add("<script>alert(1)</script>", "", "")
	f.Fuzz(func(t *testing.T, id, providerID, nonce string) {
		ok := WellFormedID(id)
		_, err := base64.RawURLEncoding.DecodeString(id)
		if want := len(id) == 43 && err == nil && !strings.ContainsAny(id, "=/+.%\x00"); ok != want {
			t.Fatalf("WellFormedID(%q) = %v", id, ok)
		}
		made := k.InvitationID(providerID, nonce)
		if !WellFormedID(made) {
			t.Fatalf("InvitationID made %q, not well formed", made)
		}
		if h := Hash(id); len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
			t.Fatalf("Hash(%q) = %q", id, h)
		}
	})
}
