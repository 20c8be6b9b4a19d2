package main

import (
	"time"

	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/awsconf/lazysecretsmanager"
	"github.com/partnercloud/azure/shared/gdap"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/partnercenter"
	"github.com/partnercloud/azure/shared/startup"
	"github.com/partnercloud/azure/shared/throttle"
)

// fromEnv is the Handler the function builds at start-up: the partner's
// Microsoft clients, each service's calls paced by its gate (throttle), the
// clients and secrets made on first use.
func fromEnv(env *startup.Env, aws *startup.AWS) *Handler {
	gates := throttle.FromEnv(env)
	read := lazysecretsmanager.Reader(aws)
	partner := ownership.PartnerFromEnv(env, read)
	// Every token request (the partner tenant's for Partner Center and
	// Graph, each customer tenant's for the consent and Owner checks)
	// is an Entra ID call.
	partner.Transport = gates.Client(throttle.EntraID, 0)
	azure := partner.Azure()
	azure.Options.Transport = gates.Client(throttle.ResourceManager, 0)
	pc := partnercenter.FromEnv(env, partner)
	pc.HTTP = gates.Client(throttle.PartnerCenter, 20*time.Second)
	graph := gdap.FromEnv(env, partner.Credential(env.Required("PARTNER_TENANT_ID")))
	graph.HTTP = gates.Client(throttle.Graph, 20*time.Second)
	h := &Handler{
		Store:         lazydynamodb.Store(env, aws),
		Azure:         azure,
		PartnerCenter: pc,
		Graph:         graph,
		Credentials: &ownership.CustomerCredentials{Settings: partner.Settings,
			Transport: gates.Client(throttle.ResourceManager, 0), TokenTransport: gates.Client(throttle.EntraID, 0)},
		Secret:     read,
		WantGroup:  graph.Config.SecurityGroupID,
		Now:        func() time.Time { return time.Now().UTC() },
		BatchStart: gates.Restart,
	}
	return h
}
