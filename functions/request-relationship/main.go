// Command request-relationship is the RequestRelationship task, the
// migration's first: it asks the customer for the partner's admin
// relationship (GDAP) in Microsoft Graph and locks it for approval, so that
// the invitation email and the checklist page can link to its approval.
package main

import (
	"time"

	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/awsconf/lazysecretsmanager"
	"github.com/partnercloud/azure/shared/gdap"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		partner := ownership.PartnerFromEnv(env, lazysecretsmanager.Reader(aws))
		links := gdap.LinksFromEnv(env)
		graph := gdap.FromEnv(env, partner.Credential(links.PartnerTenantID))
		h := &Handler{
			Store:         lazydynamodb.Store(env, aws),
			Graph:         graph,
			Links:         links,
			AccessGroupID: graph.Config.SecurityGroupID,
			Now:           func() time.Time { return time.Now().UTC() },
		}
		return h.Handle, nil
	})
}
