package mailing

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/fakes"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/provider"
)

type accounts map[string]*account.Account

func (a accounts) GetAccount(_ context.Context, id string) (*account.Account, error) {
	if acc, ok := a[id]; ok {
		return acc, nil
	}
	return nil, errors.New("no such account")
}

func TestSend(t *testing.T) {
	key := consent.Key("0123456789abcdef0123456789abcdef")
	expires := time.Date(2026, 12, 9, 10, 0, 0, 0, time.UTC)
	p := &provider.Provider{ID: "prv_01", AccountID: "acct-1", Name: "Contoso production",
		AzureAdminEmail: "admin@contoso.example", Invitation: &provider.Invitation{Nonce: "n1"}}
	for _, tc := range []struct {
		name     string
		accounts accounts
		wantOrg  string
	}{
		{"the account's name", accounts{"acct-1": {Name: "Fabrikam Ltd"}}, "Fabrikam Ltd"},
		{"the account id when the account cannot be read", accounts{}, "acct-1"},
		{"the account id when the account has no name", accounts{"acct-1": {}}, "acct-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &fakes.Mailer{}
			err := Mailing{Key: key, BaseURL: "https://api.example/", Brand: mail.Brand{PartnerName: "Partner"},
				Accounts: tc.accounts, Mailer: m}.Send(context.Background(), p, "invitation", expires)
			if err != nil {
				t.Fatal(err)
			}
			if m.Count() != 1 {
				t.Fatalf("sent %d messages, want 1", m.Count())
			}
			msg := m.Sent[0]
			link := key.Link("https://api.example/", p)
			if msg.To != p.AzureAdminEmail || !strings.Contains(msg.Text, link) || !strings.Contains(msg.HTML, link) {
				t.Errorf("message to %q does not carry the invitation link %s", msg.To, link)
			}
			if !strings.Contains(msg.Text, tc.wantOrg) {
				t.Errorf("message does not name the organization %q:\n%s", tc.wantOrg, msg.Text)
			}
		})
	}
	t.Run("the sender's error is returned", func(t *testing.T) {
		boom := errors.New("ses down")
		err := Mailing{Key: key, BaseURL: "https://api.example", Accounts: accounts{}, Mailer: &fakes.Mailer{Err: boom}}.
			Send(context.Background(), p, "reminder", expires)
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want the sender's", err)
		}
	})
}

// TestRelationshipLinks: once the admin relationship was requested, the
// email links to the reseller invitation and to the relationship's approval
// page, in both parts; before, it names the steps without links.
func TestRelationshipLinks(t *testing.T) {
	key := consent.Key("0123456789abcdef0123456789abcdef")
	p := &provider.Provider{ID: "prv_01", AccountID: "acct-1", Name: "Contoso", AzureAdminEmail: "admin@contoso.example", Invitation: &provider.Invitation{Nonce: "n1"}}
	msg, err := Email(key, "https://api.example", mail.Brand{PartnerName: "Partner"}, p, "Fabrikam", "invitation", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg.Text, "approves Partner's admin relationship") || strings.Contains(msg.Text, "granularAdminRelationships") {
		t.Errorf("before the request:\n%s", msg.Text)
	}
	approval := "https://admin.example/AdminPortal/Home#/partners/invitation/granularAdminRelationships/rel-1"
	reseller := "https://admin.example/Adminportal/Home?invType=ResellerRelationship&partnerId=p"
	p.Relationships = &provider.Relationships{GDAPID: "rel-1", ApprovalURL: approval, ResellerURL: reseller}
	if msg, err = Email(key, "https://api.example", mail.Brand{PartnerName: "Partner"}, p, "Fabrikam", "reminder", time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{msg.Text, msg.HTML} {
		if !strings.Contains(part, approval) || !strings.Contains(part, strings.ReplaceAll(reseller, "&", "&amp;")) && !strings.Contains(part, reseller) {
			t.Errorf("the links are missing:\n%s", part)
		}
	}
}

// TestReminderNamesOpenSteps: a reminder lists the steps still open, with
// who must do each, and those Microsoft already reports done (here the
// reseller relationship, accepted before the sign-in); the invitation
// itself does not.
func TestReminderNamesOpenSteps(t *testing.T) {
	key := consent.Key("0123456789abcdef0123456789abcdef")
	p := &provider.Provider{ID: "prv_01", AccountID: "acct-1", Name: "Contoso", Option: provider.OptionMigrate, Status: provider.StatusPendingConsent,
		AzureAdminEmail: "admin@contoso.example", Invitation: &provider.Invitation{Nonce: "n1"},
		Relationships: &provider.Relationships{GDAPID: "rel-1", Reseller: "reseller", ApprovalURL: "https://admin.example/gdap"},
		Subscriptions: []provider.Subscription{{ID: "sub-1", State: provider.SubscriptionPending}}}
	brand := mail.Brand{PartnerName: "Partner"}
	msg, err := Email(key, "https://api.example", brand, p, "Fabrikam", "reminder", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	todo, done, ok := strings.Cut(msg.Text, "Already done, as Microsoft reports it:")
	if !ok {
		t.Fatalf("no done list:\n%s", msg.Text)
	}
	for _, want := range []string{"Still to do:", "- Sign in with Microsoft (the Azure administrator", "- Approve the admin relationship (GDAP) (a Global Administrator", "- Grant Owner on subscription sub-1"} {
		if !strings.Contains(todo, want) {
			t.Errorf("reminder lacks %q:\n%s", want, msg.Text)
		}
	}
	if strings.Contains(todo, "Accept the reseller relationship") || !strings.Contains(done, "- Accept the reseller relationship") {
		t.Errorf("the reseller relationship must be listed done:\n%s", msg.Text)
	}
	if !strings.Contains(msg.HTML, "<h2 style=\"font-size: 18px;\">Still to do</h2>") {
		t.Errorf("HTML reminder lacks the list")
	}
	inv, err := Email(key, "https://api.example", brand, p, "Fabrikam", "invitation", time.Now())
	if err != nil || strings.Contains(inv.Text, "Still to do") {
		t.Fatalf("the invitation lists steps: %v\n%s", err, inv.Text)
	}
}
