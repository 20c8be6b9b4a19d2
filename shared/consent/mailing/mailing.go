// Package mailing sends the consent emails (invitation, reminder, resend).
//
// It is apart from package consent, which every function links through the
// store, because it links the email templates: text/template's reflective
// method calls keep every exported method of every linked type in a binary,
// so a function that sends no email should not link them.
package mailing

import (
	"context"
	"fmt"
	"time"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/provider"
)

// Email renders, with the key k, the consent email of a provider whose invitation has a
// nonce: kind is "invitation", "reminder" or "resend"; orgName names the
// requesting organization.
func Email(k consent.Key, baseURL string, brand mail.Brand, p *provider.Provider, orgName, kind string, expires time.Time) (mail.Message, error) {
	requester := p.RequesterName
	if requester == "" {
		requester = "An administrator"
	}
	inv := mail.Invitation{
		Brand: brand, Kind: kind, OrgName: orgName, ProviderName: p.Name, Requester: requester,
		Link: k.Link(baseURL, p), ExpiresAt: expires, Subscriptions: p.SubscriptionIDs(),
	}
	if r := p.Relationships; r != nil {
		inv.ResellerLink, inv.ApprovalLink = r.ResellerURL, r.ApprovalURL
	}
	if kind == "reminder" {
		inv.StillToDo, inv.Done = p.StepSentences()
	}
	msg, err := mail.RenderInvitation(p.AzureAdminEmail, inv)
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
	Key      consent.KeySource
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
	msg, err := Email(key, m.BaseURL, m.Brand, p, org, kind, expires)
	if err != nil {
		return err
	}
	_, err = m.Mailer.Send(ctx, msg)
	return err
}
