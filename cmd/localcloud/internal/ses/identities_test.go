package ses

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

func identityClient(t *testing.T, identities ...string) (*sesv2.Client, *Outbox) {
	t.Helper()
	o, err := NewOutbox(Options{Dir: t.TempDir(), Identities: identities})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(o.APIHandler())
	t.Cleanup(api.Close)
	return sesv2.New(sesv2.Options{Region: "us-east-1", BaseEndpoint: aws.String(api.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret-key", "")}), o
}

func TestGetAccount(t *testing.T) {
	c, _ := identityClient(t, "partner.example")
	ctx := context.Background()
	send := func() {
		t.Helper()
		_, err := c.SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("no-reply@partner.example"),
			Destination: &types.Destination{ToAddresses: []string{"a@contoso.example"}},
			Content: &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("s")},
				Body: &types.Body{Text: &types.Content{Data: aws.String("b")}}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	send()
	send()
	out, err := c.GetAccount(ctx, &sesv2.GetAccountInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !out.SendingEnabled || !out.ProductionAccessEnabled || aws.ToString(out.EnforcementStatus) != "HEALTHY" {
		t.Errorf("account: sending %v production %v status %s", out.SendingEnabled, out.ProductionAccessEnabled, aws.ToString(out.EnforcementStatus))
	}
	if q := out.SendQuota; q == nil || q.SentLast24Hours != 2 || q.Max24HourSend != max24HourSend || q.MaxSendRate != maxSendRate {
		t.Errorf("quota: %+v", q)
	}
	if out.SuppressionAttributes == nil || len(out.SuppressionAttributes.SuppressedReasons) != 2 {
		t.Errorf("suppression: %+v", out.SuppressionAttributes)
	}
}

func TestSentLast24HoursCountsOnlyTheLastDay(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	o, err := NewOutbox(Options{Dir: t.TempDir(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	o.messages = []*Message{{Date: now.Add(-25 * time.Hour)}, {Date: now.Add(-23 * time.Hour)}, {Date: now}}
	rec := httptest.NewRecorder()
	o.getAccount(rec)
	if !strings.Contains(rec.Body.String(), `"SentLast24Hours":2`) {
		t.Errorf("got %s", rec.Body.String())
	}
}

func TestEmailIdentities(t *testing.T) {
	c, _ := identityClient(t, "partner.example", "ops@other.example", "b.example")
	ctx := context.Background()

	var names []string
	p := sesv2.NewListEmailIdentitiesPaginator(c, &sesv2.ListEmailIdentitiesInput{PageSize: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, id := range page.EmailIdentities {
			if !id.SendingEnabled || id.VerificationStatus != types.VerificationStatusSuccess {
				t.Errorf("%s: sending %v status %s", aws.ToString(id.IdentityName), id.SendingEnabled, id.VerificationStatus)
			}
			names = append(names, aws.ToString(id.IdentityName)+":"+string(id.IdentityType))
		}
	}
	if got := strings.Join(names, ","); got != "b.example:DOMAIN,ops@other.example:EMAIL_ADDRESS,partner.example:DOMAIN" || pages != 2 {
		t.Errorf("identities %s in %d pages", got, pages)
	}

	tests := []struct {
		name     string
		kind     types.IdentityType
		wantDKIM bool
	}{
		{"partner.example", types.IdentityTypeDomain, true},
		{"PARTNER.example", types.IdentityTypeDomain, true},
		{"ops@other.example", types.IdentityTypeEmailAddress, false},
	}
	for _, tt := range tests {
		out, err := c.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String(tt.name)})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if out.IdentityType != tt.kind || !out.VerifiedForSendingStatus || out.VerificationStatus != types.VerificationStatusSuccess {
			t.Errorf("%s: type %s verified %v status %s", tt.name, out.IdentityType, out.VerifiedForSendingStatus, out.VerificationStatus)
		}
		if hasDKIM := out.DkimAttributes != nil && out.DkimAttributes.SigningEnabled && len(out.DkimAttributes.Tokens) == 3; hasDKIM != tt.wantDKIM {
			t.Errorf("%s: DKIM %+v", tt.name, out.DkimAttributes)
		}
	}
	var nf *types.NotFoundException
	if _, err := c.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String("nobody.example")}); !errors.As(err, &nf) {
		t.Errorf("unknown identity: %v", err)
	}
}
