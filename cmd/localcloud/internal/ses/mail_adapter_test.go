package ses

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/mail"
	mailses "github.com/partnercloud/azure/shared/mail/ses"
	"github.com/partnercloud/azure/shared/workflow"
)

// The product's SES adapter (shared/mail/ses) with the real sesv2 client against
// this emulator: the request it sends is accepted as SES accepts it, stored
// as a multipart message, and SES's refusals reach it as named errors.
func TestMailAdapter(t *testing.T) {
	f := newFixture(t, 1)
	m, err := mail.RenderInvitation("admin@contoso.example", mail.Invitation{
		Brand: mail.Brand{PartnerName: "Partner Cloud", ContactEmail: "help@partner.example"}, Kind: "invitation",
		OrgName: "Eligible Org", ProviderName: "Contoso production", Requester: "Dana", Link: "http://127.0.0.1:3000/consent/abc", ExpiresAt: time.Now().Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &mailses.SES{Client: f.client, From: "no-reply@partner.example"}
	id, err := s.Send(context.Background(), m)
	if err != nil || id == "" {
		t.Fatalf("Send = %q, %v", id, err)
	}
	got := f.listMessages(t)
	if len(got) != 1 || got[0].ID != id || got[0].To[0] != "admin@contoso.example" || got[0].Subject != m.Subject {
		t.Fatalf("outbox %+v", got)
	}
	if !strings.Contains(got[0].Text, "Contoso production") || !strings.Contains(got[0].HTML, "<a href=\"http://127.0.0.1:3000/consent/abc\"") {
		t.Fatal("the stored message lost a part")
	}
	eml, err := os.ReadFile(got[0].File)
	if err != nil || !strings.Contains(string(eml), "multipart/alternative") {
		t.Fatalf("the .eml is not multipart/alternative: %v", err)
	}

	f.outbox.ThrottleNext(1)
	if _, err := s.Send(context.Background(), m); workflow.ErrorName(err) != "TransientError" {
		t.Fatalf("throttled: %v, want TransientError", err)
	}
	f.outbox.Reject("admin@contoso.example")
	if _, err := s.Send(context.Background(), m); workflow.ErrorName(err) != "EmailRejected" {
		t.Fatalf("rejected: %v, want EmailRejected", err)
	}
}
