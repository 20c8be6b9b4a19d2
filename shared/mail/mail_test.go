package mail

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/partnercloud/azure/shared/workflow"
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

type fakeSES struct {
	err error
	in  *sesv2.SendEmailInput
}

func (f *fakeSES) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	f.in = in
	if f.err != nil {
		return nil, f.err
	}
	id := "msg-1"
	return &sesv2.SendEmailOutput{MessageId: &id}, nil
}

func TestSESClassifiesErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"ok", nil, ""},
		{"throttled", &types.TooManyRequestsException{}, "TransientError"},
		{"limit", &types.LimitExceededException{}, "TransientError"},
		{"network", errors.New("dial tcp: refused"), "TransientError"},
		{"rejected", &types.MessageRejected{}, "EmailRejected"},
		{"unverified", &types.MailFromDomainNotVerifiedException{}, "EmailRejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSES{err: tt.err}
			s := &SES{Client: f, From: "noreply@partner.example"}
			id, err := s.Send(context.Background(), Message{To: "a@b.example", Subject: "s", Text: "t", HTML: "<p>h</p>"})
			if tt.want == "" {
				if err != nil || id != "msg-1" {
					t.Fatalf("Send = %q, %v", id, err)
				}
				if got := f.in.Destination.ToAddresses; len(got) != 1 || got[0] != "a@b.example" {
					t.Fatalf("destination = %v", got)
				}
				if f.in.Content.Simple.Body.Html == nil || f.in.Content.Simple.Body.Text == nil {
					t.Fatal("message is not multipart HTML and text")
				}
				return
			}
			if got := workflow.ErrorName(err); got != tt.want {
				t.Fatalf("error name = %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}
