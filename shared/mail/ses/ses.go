// Package ses sends the product's emails (mail.Message) through SES v2.
package ses

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/mail"
)

// SESAPI is the part of the SES v2 client the mailer uses.
type SESAPI interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

var _ SESAPI = (*sesv2.Client)(nil)

// SES sends messages through SES v2 from one verified address.
type SES struct {
	Client SESAPI
	From   string
	// ConfigurationSet is optional (event publishing, suppression).
	ConfigurationSet string
}

// Send sends m and returns SES's message id. Its errors are neutral: an
// address or message SES refuses for good is apperr.EmailRejected; throttling,
// SES faults and the network are apperr.Unavailable (worth sending again).
func (s *SES) Send(ctx context.Context, m mail.Message) (string, error) {
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.From),
		Destination:      &types.Destination{ToAddresses: []string{m.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(m.Subject), Charset: aws.String("UTF-8")},
			Body: &types.Body{
				Text: &types.Content{Data: aws.String(m.Text), Charset: aws.String("UTF-8")},
				Html: &types.Content{Data: aws.String(m.HTML), Charset: aws.String("UTF-8")},
			},
		}},
	}
	if s.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.ConfigurationSet)
	}
	out, err := s.Client.SendEmail(ctx, in)
	if err != nil {
		return "", classify(err)
	}
	return aws.ToString(out.MessageId), nil
}

// classify turns an SES error into a neutral one, keeping it as the cause.
func classify(err error) error {
	var rejected *types.MessageRejected
	var notVerified *types.MailFromDomainNotVerifiedException
	var badRequest *types.BadRequestException
	switch {
	case errors.As(err, &rejected):
		return &apperr.Error{Code: apperr.EmailRejected, Message: "SES rejected the message: the address cannot receive email from us.", Cause: err}
	case errors.As(err, &notVerified), errors.As(err, &badRequest):
		return &apperr.Error{Code: apperr.EmailRejected, Message: "SES refused the message: " + apiCode(err), Cause: err}
	}
	return &apperr.Error{Code: apperr.Unavailable, Message: fmt.Sprintf("SES send failed (%s); will retry", apiCode(err)), Cause: err}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "network error"
}
