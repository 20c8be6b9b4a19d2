package consent

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/provider"
)

// Link is the invitation link of a provider: BaseURL + "/consent/" + the id
// derived from its stored nonce (the same link for every send).
func (k Key) Link(baseURL string, p *provider.Provider) string {
	return strings.TrimRight(baseURL, "/") + "/consent/" + k.InvitationID(p.ID, p.Invitation.Nonce)
}

// Email renders the consent email of a provider whose invitation has a
// nonce: kind is "invitation", "reminder" or "resend"; orgName names the
// requesting organization.
func (k Key) Email(baseURL string, brand mail.Brand, p *provider.Provider, orgName, kind string, expires time.Time) (mail.Message, error) {
	requester := p.RequesterName
	if requester == "" {
		requester = "An administrator"
	}
	msg, err := mail.RenderInvitation(p.AzureAdminEmail, mail.Invitation{
		Brand: brand, Kind: kind, OrgName: orgName, ProviderName: p.Name, Requester: requester,
		Link: k.Link(baseURL, p), ExpiresAt: expires, Subscriptions: p.SubscriptionIDs(),
	})
	if err != nil {
		return mail.Message{}, fmt.Errorf("render invitation: %w", err)
	}
	return msg, nil
}

// AccountReader reads the account that asked for a migration (store.Store).
type AccountReader interface {
	GetAccount(ctx context.Context, accountID string) (*account.Account, error)
}

// Sender sends one email (ses.SES).
type Sender interface {
	Send(ctx context.Context, m mail.Message) (string, error)
}

// Mailing is how the consent emails go out: the key their links derive
// from, the API's public base URL, who sends them, the accounts they name,
// and the sender.
type Mailing struct {
	Key      KeySource
	BaseURL  string
	Brand    mail.Brand
	Accounts AccountReader
	Mailer   Sender
}

// Send sends the consent email of kind ("invitation", "reminder" or
// "resend") for p, whose invitation has a nonce: the same link every time,
// expiring at expires. The requesting organization is named by its
// account's name, or by its id when it has none (or cannot be read). Its
// errors are the mail adapter's (neutral).
func (m Mailing) Send(ctx context.Context, p *provider.Provider, kind string, expires time.Time) error {
	org := p.AccountID
	if a, err := m.Accounts.GetAccount(ctx, p.AccountID); err == nil && a != nil && a.Name != "" {
		org = a.Name
	}
	key, err := m.Key.SigningKey(ctx)
	if err != nil {
		return err
	}
	msg, err := key.Email(m.BaseURL, m.Brand, p, org, kind, expires)
	if err != nil {
		return err
	}
	_, err = m.Mailer.Send(ctx, msg)
	return err
}
