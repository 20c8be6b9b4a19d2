// Command consent-callback serves the public consent pages: the landing page
// behind the email link (GET /consent/{invitationId}) and Microsoft's
// admin-consent redirect (GET /consent/callback).
package main

import (
	"time"

	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/awsconf/lazysecretsmanager"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/signin"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		secrets := lazysecretsmanager.Reader(aws) // the partner credential and the signing key
		partner := ownership.PartnerFromEnv(env, secrets)
		site := SiteFromEnv(env, partner.Settings)
		h := &Handler{
			Store:    lazydynamodb.Store(env, aws),
			Tenants:  partner.Azure(),
			SignIn:   signin.NewPartner(signin.Microsoft{Authority: site.AuthorityHost, ClientID: site.ClientID, RedirectURI: site.RedirectURI()}, partner.Load),
			Key:      consent.KeyFromEnv(env, secrets),
			Site:     site,
			StateTTL: env.Duration("STATE_TTL", 30*time.Minute),
			Now:      func() time.Time { return time.Now().UTC() },
			// Verifying a new tenant: the first pause between attempts,
			// the bound, and a replay's wait.
			RetryDelay: 500 * time.Millisecond, VerifyTimeout: 5 * time.Second, ReplayWait: 2 * time.Second,
		}
		return h.Handle, site.Validate()
	})
}
