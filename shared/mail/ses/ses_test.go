package ses

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/workflow"
)

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
			id, err := s.Send(context.Background(), mail.Message{To: "a@b.example", Subject: "s", Text: "t", HTML: "<p>h</p>"})
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
