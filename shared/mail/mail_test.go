package mail

import (
	"strings"
	"testing"
	"time"
)

var brand = Brand{PartnerName: "Partner Cloud", ContactEmail: "cloudintegration@partner.example"}

func TestRenderInvitation(t *testing.T) {
	exp := time.Date(2026, 12, 9, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		kind, subjectPrefix string
	}{
		{"invitation", "Eligible Org: approve"},
		{"reminder", "Reminder: Eligible Org"},
		{"resend", "Resent: Eligible Org"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			m, err := RenderInvitation("admin@contoso.example", Invitation{Brand: brand, Kind: tt.kind, OrgName: "Eligible Org", Requester: "Dana Admin", Link: "https://api.example/consent/abc", ExpiresAt: exp, Subscriptions: []string{"sub-1"}})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(m.Subject, tt.subjectPrefix) {
				t.Errorf("subject %q does not start with %q", m.Subject, tt.subjectPrefix)
			}
			for _, part := range []string{m.Text, m.HTML} {
				for _, want := range []string{"Eligible Org", "Dana Admin", "https://api.example/consent/abc", "9 December 2026", "Partner relationships", "cloudintegration@partner.example", "sub-1"} {
					if !strings.Contains(part, want) {
						t.Errorf("%s part lacks %q", tt.kind, want)
					}
				}
			}
		})
	}
}

func TestRenderEscapesAndOneLineSubject(t *testing.T) {
	m, err := RenderInvitation("a@b.example", Invitation{Brand: brand, Kind: "invitation", OrgName: "<script>alert(1)</script>\r\nBcc: x@evil.example", Requester: "r", Link: "https://x/consent/1", ExpiresAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "<script>") {
		t.Error("HTML part did not escape the organization name")
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		t.Errorf("subject %q spans lines", m.Subject)
	}
}
