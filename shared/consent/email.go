package consent

import (
	"fmt"
	"strings"
	"time"

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
	subs := make([]string, 0, len(p.Subscriptions))
	for _, s := range p.Subscriptions {
		subs = append(subs, s.ID)
	}
	requester := p.RequesterName
	if requester == "" {
		requester = "An administrator"
	}
	msg, err := mail.RenderInvitation(p.AzureAdminEmail, mail.Invitation{
		Brand: brand, Kind: kind, OrgName: orgName, ProviderName: p.Name, Requester: requester,
		Link: k.Link(baseURL, p), ExpiresAt: expires, Subscriptions: subs,
	})
	if err != nil {
		return mail.Message{}, fmt.Errorf("render invitation: %w", err)
	}
	return msg, nil
}
